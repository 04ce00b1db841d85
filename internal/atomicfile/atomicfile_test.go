package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	for _, want := range []string{"first\n", "second, longer\n", ""} {
		if err := Write(path, []byte(want)); err != nil {
			t.Fatalf("Write(%q): %v", want, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("after Write(%q) the file holds %q; want %q", want, got, want)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o644); got != want {
			t.Errorf("mode %v; want %v", got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Write; want only run.json (no temporary files left)", len(entries))
	}
}

func TestWriteRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := Write("report.md", []byte("x")); err != nil {
		t.Fatalf("Write to a bare file name: %v", err)
	}
	if got, err := os.ReadFile("report.md"); err != nil || string(got) != "x" {
		t.Errorf("report.md = %q, %v; want \"x\"", got, err)
	}
}

// TestWriteError: a path whose directory is a regular file fails, leaving
// the file as it was.
func TestWriteError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(file, "sub"), []byte("x")); err == nil {
		t.Error("Write under a regular file: got nil error")
	}
	if got, _ := os.ReadFile(file); string(got) != "keep" {
		t.Errorf("the regular file now holds %q; want \"keep\"", got)
	}
}
