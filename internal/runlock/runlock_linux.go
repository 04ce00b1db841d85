package runlock

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Lock is a set of held CPU locks. Release, or the process's exit, drops them.
type Lock struct {
	files []*os.File
}

// Acquire takes the lock of every CPU in cpus, in dir (see Dir), without
// waiting. If any is held it releases the ones it took and returns a
// *HeldError for the first held CPU (lowest number), so a refused run
// holds nothing.
func Acquire(dir string, cpus []int) (*Lock, error) {
	cpus = slices.Clone(cpus)
	slices.Sort(cpus)
	cpus = slices.Compact(cpus)
	l := &Lock{}
	for _, cpu := range cpus {
		f, err := lockOne(File(dir, cpu), cpu)
		if err != nil {
			l.Release()
			return nil, err
		}
		l.files = append(l.files, f)
	}
	return l, nil
}

func lockOne(path string, cpu int) (*os.File, error) {
	// 0666: the lock directory is shared by every user of the machine.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock CPU %d: %w", cpu, err)
	}
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &HeldError{CPU: cpu, PID: readPID(f), File: path}
		}
		return nil, fmt.Errorf("lock CPU %d: flock %s: %w", cpu, path, err)
	}
	// Only the holder writes, so a reader sees this PID or, for the
	// moment between lock and write, an empty file (PID unknown).
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock CPU %d: write PID to %s: %w", cpu, path, err)
	}
	return f, nil
}

// flock is flock(2) retried on EINTR.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Release drops every lock. The files stay, so the next run reuses them.
func (l *Lock) Release() {
	if l == nil {
		return
	}
	for _, f := range l.files {
		f.Close() // closing the last fd of the open file drops the flock
	}
	l.files = nil
}

// writable reports whether this process may create files in dir.
func writable(dir string) bool {
	return unix.Access(dir, unix.W_OK|unix.X_OK) == nil
}
