package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

// Default is the name of the built-in scenario `muxbench run` uses when it
// is given none.
const Default = "quick"

// builtin holds the built-in scenario files; a file's name without ".yaml"
// is the scenario's name.
//
//go:embed *.yaml
var builtin embed.FS

// knownBackends lists the backend names a scenario may use: every built-in
// backend, variants included.
var knownBackends = lineup.Order

// KnownBackends returns the backends a scenario without a backends field
// runs, in that order (the variants are left out: name them to run them).
func KnownBackends() []string { return slices.Clone(lineup.Default) }

// Info names and describes a built-in scenario.
type Info struct {
	Name        string
	Description string
}

// List returns the built-in scenarios sorted by name.
func List() []Info {
	var out []Info
	for _, name := range builtinNames() {
		info := Info{Name: name}
		s, err := loadBuiltin(name)
		if err != nil {
			// The tests load every built-in, so this only shows up in a
			// broken build; say so instead of hiding the scenario.
			info.Description = "invalid built-in scenario: " + err.Error()
		} else {
			info.Description = s.Description
		}
		out = append(out, info)
	}
	return out
}

// builtinNames returns the names of the embedded scenarios, sorted.
func builtinNames() []string {
	entries, err := fs.ReadDir(builtin, ".")
	if err != nil {
		return nil // cannot happen for an embed.FS root
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func loadBuiltin(name string) (results.Scenario, error) {
	file := name + ".yaml"
	data, err := builtin.ReadFile(file)
	if err != nil {
		return results.Scenario{}, fmt.Errorf("read built-in scenario %s: %w", name, err)
	}
	// Error messages name the file as it sits in the source tree.
	return Parse(path.Join("scenarios", file), data)
}

// Load returns the scenario nameOrPath names: a built-in scenario when it is
// a bare name ("quick"), otherwise the YAML file at that path. An argument
// with a path separator or a .yaml/.yml extension is always a path.
func Load(nameOrPath string) (results.Scenario, error) {
	looksLikePath := strings.ContainsRune(nameOrPath, '/') ||
		strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml")
	if !looksLikePath && slices.Contains(builtinNames(), nameOrPath) {
		return loadBuiltin(nameOrPath)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		if !looksLikePath && errors.Is(err, fs.ErrNotExist) {
			return results.Scenario{}, fmt.Errorf("load scenario %q: not a built-in scenario (%s) and no such file",
				nameOrPath, strings.Join(builtinNames(), ", "))
		}
		return results.Scenario{}, fmt.Errorf("load scenario: %w", err)
	}
	return Parse(nameOrPath, data)
}
