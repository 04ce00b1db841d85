// Command importgroups checks that the imports of every Go file under the
// current directory stand in up to three groups, in this order and
// separated by a blank line: the standard library, other modules, and this
// module (go.mod's module path). gofmt sorts imports within a group but
// never moves one into the right group, so an import added in the wrong
// one stays there; scripts/ci.sh runs this to catch it. It prints each
// file that breaks the rule and why, and exits 1 if any does.
//
//	go run ./scripts/importgroups
package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "importgroups:", err)
		os.Exit(1)
	}
}

func run(out *os.File) error {
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		return fmt.Errorf("run from the module's root: %w", err)
	}
	module := modulePath(gomod)
	if module == "" {
		return errors.New("go.mod names no module")
	}
	bad := 0
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		problem, err := check(path, src, module)
		if err != nil {
			return err
		}
		if problem != "" {
			fmt.Fprintf(out, "%s: %s\n", path, problem)
			bad++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%d file(s) with imports out of their groups (standard library, other modules, %s)", bad, module)
	}
	return nil
}

// modulePath is the path of go.mod's module line.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// Import classes, in the order their groups must come.
const (
	stdlib = iota
	other
	local
)

var className = [...]string{"standard library", "other modules", "this module"}

func class(path, module string) int {
	switch {
	case path == module || strings.HasPrefix(path, module+"/"):
		return local
	case strings.Contains(strings.SplitN(path, "/", 2)[0], "."):
		return other
	}
	return stdlib
}

// check returns what is wrong with src's import grouping, or "".
func check(name string, src []byte, module string) (string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
	if err != nil {
		return "", err
	}
	type imp struct {
		path  string
		class int
	}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.IMPORT {
			continue
		}
		// Groups are runs of specs without a blank line between them.
		var groups [][]imp
		prevEnd := 0
		for _, spec := range gen.Specs {
			is := spec.(*ast.ImportSpec)
			path, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return "", fmt.Errorf("%s: import %s: %w", name, is.Path.Value, err)
			}
			start := fset.Position(is.Pos()).Line
			if is.Doc != nil {
				start = fset.Position(is.Doc.Pos()).Line
			}
			if len(groups) == 0 || start > prevEnd+1 {
				groups = append(groups, nil)
			}
			prevEnd = fset.Position(is.End()).Line
			groups[len(groups)-1] = append(groups[len(groups)-1], imp{path, class(path, module)})
		}
		last := -1
		for _, g := range groups {
			for _, x := range g[1:] {
				if x.class != g[0].class {
					return fmt.Sprintf("one group mixes %s (%q) and %s (%q)", className[g[0].class], g[0].path, className[x.class], x.path), nil
				}
			}
			if g[0].class <= last {
				return fmt.Sprintf("%q (%s) starts a group after the %s group", g[0].path, className[g[0].class], className[last]), nil
			}
			last = g[0].class
		}
	}
	return "", nil
}
