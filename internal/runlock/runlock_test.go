package runlock

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

// TestLockFileShared: a lock file is made mode 0666 whatever the umask,
// so a later run of another user can open it; and one an older muxbench
// made 0644 is shared again by its owner's next run.
func TestLockFileShared(t *testing.T) {
	old := unix.Umask(0o022) // the usual umask, which made lock files 0644
	t.Cleanup(func() { unix.Umask(old) })
	dir := t.TempDir()
	l, err := Acquire(dir, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	if fi, err := os.Stat(File(dir, 0)); err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("new lock file %v, %v; want mode 0666 under umask 022", fi.Mode(), err)
	}
	if err := os.Chmod(File(dir, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err = Acquire(dir, []int{0}); err != nil {
		t.Fatal(err)
	}
	l.Release()
	if fi, err := os.Stat(File(dir, 0)); err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("lock file made 0644 earlier is %v, %v after its owner's run; want 0666", fi.Mode(), err)
	}
}

// nobody is the user the cross-user tests act as.
const nobody = 65534

// asUser runs f on a thread whose file system identity is uid and gid
// (setfsuid(2) and setfsgid(2) are per thread), as another user's run
// would open the lock files. It skips the test unless this process may
// change identity (root).
func asUser(t *testing.T, uid, gid int, f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	runtime.LockOSThread()
	if err := unix.Setfsgid(gid); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setfsuid(uid); err != nil {
		t.Fatal(err)
	}
	f()
	unix.Setfsuid(0)
	unix.Setfsgid(0)
	// Back to root, or the thread is not fit for other goroutines: it
	// ends with this one if still locked.
	if got, _ := unix.SetfsuidRetUid(-1); got == 0 {
		runtime.UnlockOSThread()
	}
}

// sharedDir returns a directory like /run/lock: sticky and writable by
// everyone, reachable by nobody.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir makes both 0700
		if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestAcrossUsers: a CPU's lock file made by one user's run (root here,
// under the usual umask) locks and unlocks for another user's run in a
// shared directory, and the two still exclude each other.
func TestAcrossUsers(t *testing.T) {
	old := unix.Umask(0o022)
	t.Cleanup(func() { unix.Umask(old) })
	dir := sharedDir(t)
	first, err := Acquire(dir, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	asUser(t, nobody, nobody, func() {
		_, err := Acquire(dir, []int{0})
		var held *HeldError
		if !errors.As(err, &held) {
			t.Errorf("another user's run while CPU 0 is held: %v; want a *HeldError", err)
		}
	})
	first.Release()
	asUser(t, nobody, nobody, func() {
		l, err := Acquire(dir, []int{0, 1})
		if err != nil {
			t.Errorf("another user's run after the first released its lock: %v; want the lock", err)
			return
		}
		l.Release()
	})
}

// TestPermissionError: a lock file another user may not open (an older
// muxbench made them 0644) is refused with the fix: how to share it, and
// MUXBENCH_LOCK_DIR; so is a directory the user may not write.
func TestPermissionError(t *testing.T) {
	dir := sharedDir(t)
	if err := os.WriteFile(File(dir, 0), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(File(dir, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	closed := t.TempDir() // 0700, root's
	asUser(t, nobody, nobody, func() {
		_, err := Acquire(dir, []int{0})
		for _, want := range []string{"permission denied", "chmod 666 " + File(dir, 0), DirEnv} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("another user's 0644 lock file: %v; want it to say %q", err, want)
			}
		}
		_, err = Acquire(closed, []int{0})
		for _, want := range []string{"may not create lock files in " + closed, DirEnv} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("a directory this user cannot write: %v; want it to say %q", err, want)
			}
		}
	})
}
