package procfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadSelf reads this process's own values: they exist on any Linux
// with /proc mounted.
func TestReadSelf(t *testing.T) {
	n, err := OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if m, err := OpenFDs(); err != nil || m != n+1 {
		t.Errorf("OpenFDs after opening one file = %d, %v; want %d", m, err, n+1)
	}
	if th, err := Threads(); err != nil || th < 1 {
		t.Errorf("Threads() = %d, %v; want >= 1", th, err)
	}
	if ns, err := ThreadCPU(unix.Gettid()); err != nil || ns <= 0 {
		t.Errorf("ThreadCPU(own tid) = %d, %v; want > 0", ns, err)
	}
	if _, err := ThreadCPU(-1); err == nil {
		t.Error("ThreadCPU(-1): got nil error")
	}
	if soft, hard, err := NoFile(); err != nil || soft == 0 || soft > hard {
		t.Errorf("NoFile() = %d, %d, %v; want 0 < soft <= hard", soft, hard, err)
	}
}

// TestComm: this process's command name is its executable's, cut to 15
// bytes as the kernel keeps it; a process that does not exist is an error.
func TestComm(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Base(exe)
	if len(want) > 15 {
		want = want[:15]
	}
	if got, err := Comm(os.Getpid()); err != nil || got != want {
		t.Errorf("Comm(self) = %q, %v; want %q", got, err, want)
	}
	if got, err := Comm(-1); err == nil {
		t.Errorf("Comm(-1) = %q; want an error", got)
	}
}
