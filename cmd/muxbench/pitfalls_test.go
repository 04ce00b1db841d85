package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The pitfalls command refuses bad flags and a used -out before any
// server starts (the runs themselves are tested in package pitfalls).
func TestPitfallsRefusesBadInput(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("old", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("old", "pitfalls.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"pitfalls", "-force"}, []string{"-force needs -out"}},
		{[]string{"pitfalls", "-only", "et-accept-once,nope"}, []string{`unknown pitfall "nope"`, "sleep-send"}},
		{[]string{"pitfalls", "-out", "old"}, []string{"-out old is not empty", "-force"}},
		{[]string{"pitfalls", "extra"}, []string{`unexpected argument "extra"`}},
	}
	for _, tt := range tests {
		code, _, stderr := execMuxbench(t, tt.args...)
		if code != 2 {
			t.Errorf("%v: exit %d; want 2 (stderr %q)", tt.args, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", tt.args, stderr, w)
			}
		}
		if strings.Contains(stderr, "writing") {
			t.Errorf("%v: a refused run went on: %s", tt.args, stderr)
		}
	}
	if _, err := os.Stat("results"); err == nil {
		t.Error("a refused run created a results directory")
	}
}
