// Package golden compares test output with golden files, the expected
// output kept under a package's testdata. Each test package declares its
// own -update flag (a flag belongs to the test binary that parses it) and
// passes its value to Check.
package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Check compares got with the golden file at path and reports the lines
// that differ. With update set it rewrites the file instead, creating its
// directory if needed: run `go test -update` after a deliberate change and
// review the diff before committing it.
func Check(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it; check the diff):\n%s", path, Diff(string(want), string(got)))
	}
}

// Diff lists the lines of got that differ from want, each with its line
// number: enough to see what changed without an external diff tool.
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
		}
	}
	return b.String()
}
