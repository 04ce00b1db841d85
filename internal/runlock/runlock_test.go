package runlock

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// flock locks belong to open files, so a second Acquire in the same process
// conflicts just as another process's would.
func TestAcquire(t *testing.T) {
	dir := t.TempDir()
	first, err := Acquire(dir, []int{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.Release)
	pid, err := os.ReadFile(File(dir, 1))
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q (%v); want this PID %d", pid, err, os.Getpid())
	}

	_, err = Acquire(dir, []int{1, 0}) // takes 0, then finds 1 held
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire on CPU 1: %v; want a *HeldError", err)
	}
	if held.CPU != 1 || held.PID != os.Getpid() || held.File != File(dir, 1) {
		t.Errorf("HeldError %+v; want CPU 1, PID %d, file %s", held, os.Getpid(), File(dir, 1))
	}
	if msg := err.Error(); !strings.Contains(msg, "PID "+strconv.Itoa(os.Getpid())) || !strings.Contains(msg, "CPU 1") {
		t.Errorf("message %q; want the CPU and the holder's PID", msg)
	}

	// The refused Acquire took CPU 0 before failing on 1: it must not keep it.
	other, err := Acquire(dir, []int{0})
	if err != nil {
		t.Fatalf("CPU 0 after a refused Acquire: %v; want it free", err)
	}
	other.Release()

	first.Release()
	again, err := Acquire(dir, []int{0, 1, 2})
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	again.Release()
}

func TestDirEnv(t *testing.T) {
	t.Setenv(DirEnv, "/somewhere")
	if got := Dir(); got != "/somewhere" {
		t.Errorf("Dir() = %q with %s set; want /somewhere", got, DirEnv)
	}
	t.Setenv(DirEnv, "")
	if got := Dir(); got != "/run/lock" && got != os.TempDir() {
		t.Errorf("Dir() = %q; want /run/lock or %s", got, os.TempDir())
	}
}
