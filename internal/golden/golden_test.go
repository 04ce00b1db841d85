package golden

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		want, got, diff string
	}{
		{"a\nb\n", "a\nb\n", ""},
		{"a\nb\n", "a\nc\n", "line 2:\n  want: b\n  got:  c\n"},
		{"a\n", "a\nb\n", "line 2:\n  want: \n  got:  b\n"},
	}
	for _, tt := range tests {
		if got := Diff(tt.want, tt.got); got != tt.diff {
			t.Errorf("Diff(%q, %q) = %q; want %q", tt.want, tt.got, got, tt.diff)
		}
	}
}

// TestCheckUpdate: with update set Check writes the file, creating its
// directory; without, the same output then matches.
func TestCheckUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "sub", "out.golden")
	Check(t, path, []byte("hello\n"), true)
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "hello\n" {
		t.Fatalf("after Check with update the file holds %q, %v; want \"hello\\n\"", got, err)
	}
	Check(t, path, []byte("hello\n"), false)
}
