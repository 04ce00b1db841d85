// Package runlock keeps two muxbench runs off the same CPUs. A run holds an
// exclusive flock(2) on one file per CPU it uses, with its PID written in
// the file, for as long as it runs; a second run asking for any of those
// CPUs is refused with a *HeldError naming the first run's PID. The kernel
// drops the locks when the process exits, however it exits, so a crashed
// run never leaves a CPU locked. The files are mode 0666 whatever the
// umask, so runs of every user of the machine lock the same files.
package runlock

import (
	"fmt"
	"os"
	"path/filepath"
)

// DirEnv names the environment variable that, when set, replaces the lock
// directory (tests use it to stay out of real runs' way).
const DirEnv = "MUXBENCH_LOCK_DIR"

// Dir is where the lock files live: $MUXBENCH_LOCK_DIR when set, else
// /run/lock (shared by every user on the machine, emptied at boot) when it
// is a writable directory, else os.TempDir().
func Dir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	const runLock = "/run/lock"
	if fi, err := os.Stat(runLock); err == nil && fi.IsDir() && writable(runLock) {
		return runLock
	}
	return os.TempDir()
}

// File is the lock file of one CPU in dir.
func File(dir string, cpu int) string {
	return filepath.Join(dir, fmt.Sprintf("muxbench-cpu-%d.lock", cpu))
}

// HeldError reports a CPU another process holds.
type HeldError struct {
	CPU  int
	PID  int    // the holder's PID as it wrote it; 0 if it could not be read
	File string // the lock file
}

func (e *HeldError) Error() string {
	who := "another muxbench run (PID unknown)"
	if e.PID > 0 {
		who = fmt.Sprintf("another muxbench run (PID %d)", e.PID)
	}
	return fmt.Sprintf("CPU %d is in use by %s, which holds %s", e.CPU, who, e.File)
}
