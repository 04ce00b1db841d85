package runlock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	f, err := openShared(path)
	if err != nil {
		return nil, fmt.Errorf("lock CPU %d: %w", cpu, permissionFix(err, path))
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

// permissionFix adds to a permission error what to do about it.
func permissionFix(err error, path string) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	if _, serr := os.Lstat(path); serr == nil {
		return fmt.Errorf("%w: another user's run made this lock file and this user may not open it: its owner or root can share it (chmod 666 %s), or set %s to a directory of your own (runs that lock in different directories do not keep off each other's CPUs)", err, path, DirEnv)
	}
	return fmt.Errorf("%w: this user may not create lock files in %s: set %s to a directory every user running muxbench on this machine can write (e.g. one made with mode 1777)", err, filepath.Dir(path), DirEnv)
}

// openShared opens the lock file at path for every user of the machine:
// an existing one as it is, a new one created and then made mode 0666
// whatever the umask (flock needs only an open fd, but a later run of
// another user must be able to open the file). It does not pass O_CREAT
// for a file that exists: in a sticky world-writable directory such as
// /run/lock, fs.protected_regular refuses O_CREAT on another user's file
// even when its mode would allow the open. An existing file of this user
// that is not shared (an older muxbench made it 0644) is made so.
func openShared(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err == nil {
			if fi, serr := f.Stat(); serr == nil && fi.Mode().Perm() != fileMode {
				f.Chmod(fileMode) // fails unless this user owns it (or is root): then its owner must
			}
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, fileMode)
		if errors.Is(err, fs.ErrExist) {
			continue // another run created it meanwhile: open that one
		}
		if err != nil {
			return nil, err
		}
		if err := f.Chmod(fileMode); err != nil { // the umask took bits away
			f.Close()
			return nil, fmt.Errorf("make %s shared: %w", path, err)
		}
		return f, nil
	}
}

// fileMode lets every user open a lock file: the lock directory is shared
// by every user of the machine.
const fileMode = 0o666

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
