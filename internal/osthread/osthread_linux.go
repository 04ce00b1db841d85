// Package osthread runs a function on an OS thread of its own, and gives
// such a thread a file descriptor table of its own.
//
// Why a table of its own: in a process with more than one thread the fd
// table is shared, and the kernel's fdget then takes and drops a reference
// on every file it looks up (an atomic increment and decrement on the
// file's count); a thread whose table no other thread uses skips both,
// as a single-threaded process does. poll and select look up every
// watched fd on every call, so for them the difference grows with the
// fds; read, write, accept and epoll_wait look up one file per call. A Go
// process always has several threads, so a Go event loop pays the shared
// table's price unless its thread unshares the table (UnshareFiles).
//
// Why a thread of its own (Go): such a thread is in a state no other
// goroutine may inherit, so it must run only the one goroutine and end
// with it, and it must not be the process's main thread, which the Go
// runtime never ends (it parks it, keeping its table, and /proc/PID/fd
// lists the main thread's table).
package osthread

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Go runs f in a new goroutine locked to an OS thread that is not the
// process's main thread, and ends that thread when f returns: the
// goroutine exits still locked, so the runtime destroys the thread
// instead of handing it to other goroutines (a locked goroutine that
// exits takes its thread with it). The runtime never clones a new thread
// from a locked one either (it asks its template thread to), so nothing
// f does to its thread — pinning it, unsharing its fd table — outlives f
// or leaks into another thread.
//
// The main thread is the exception the runtime makes: a goroutine that
// exits locked to it parks it for good, keeping its state. A goroutine
// that finds itself there starts another and holds the main thread
// locked until that one has locked a thread of its own, which therefore
// is not the main thread.
func Go(f func()) { go run(f) }

// run is Go's goroutine.
func run(f func()) {
	runtime.LockOSThread() // never unlocked on a thread that runs f
	if unix.Gettid() != unix.Getpid() {
		f()
		return
	}
	started := make(chan struct{})
	Go(func() {
		close(started)
		f()
	})
	<-started
	runtime.UnlockOSThread() // the main thread goes back, unchanged
}

// The Go runtime's network poller (an epoll set and an eventfd in this
// runtime, netpoll_epoll.go) is used on any thread that stops and starts
// the world — a goroutine that triggers a garbage collection does so on
// its own thread — so a thread with a private table must keep both.
const (
	linkEpoll   = "anon_inode:[eventpoll]"
	linkEventfd = "anon_inode:[eventfd]"
)

// UnshareFiles gives the calling thread a file descriptor table of its
// own (unshare(CLONE_FILES)). Call it only on a thread started by Go: the
// table must not outlive the goroutine or pass to another.
//
// The new table is a copy of the process's. UnshareFiles keeps in it, open
// on the same files, stdin, stdout and stderr (the runtime writes a crash
// to fd 2), the fds in keep (the caller's own: a listener, its poller) and
// every epoll set and eventfd (the runtime's network poller among them;
// another's costs nothing kept). Every other fd it points at /dev/null:
// the thread's reference to that file is dropped — a socket or a pipe
// that the rest of the process closes is closed, its peer sees the end —
// while the fd number stays taken, so the thread's next fds get the
// numbers they would get in the shared table (select's cost follows the
// highest fd; a server's hello predicts its connections' numbers from its
// open fds). Were /dev/null not to open (out of fds), those fds are closed
// instead.
//
// After it returns, fds the thread opens exist in its table only, and fds
// the rest of the process opens are not in it: each side reaches the
// other's files only through a file both tables hold (an eventfd to wake
// the thread). /proc/PID/fd lists the main thread's table;
// /proc/PID/task/TID/fd lists this thread's.
//
// The runtime's network poller must exist before the copy is made, or
// the thread would lack it, and the runtime starts it lazily: UnshareFiles
// starts it first, with a timer (the runtime's timers rely on the
// poller: runtime.(*timers).addHeap starts it).
//
// private reports whether the table is the thread's own, even when err is
// not nil (the copy was made, dropping a copied fd failed): the caller
// then owns what it kept in both tables.
func UnshareFiles(keep []int) (private bool, err error) {
	time.AfterFunc(time.Hour, func() {}).Stop()
	if err := unix.Unshare(unix.CLONE_FILES); err != nil {
		return false, fmt.Errorf("unshare the fd table (CLONE_FILES): %w", err)
	}
	return true, dropCopies(keep)
}

// dropCopies points every fd of the calling thread's table that
// UnshareFiles does not keep at /dev/null (or closes it). The table is
// the thread's alone now, so nothing opens or closes fds in it meanwhile.
func dropCopies(keep []int) error {
	dir, err := unix.Open("/proc/thread-self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("list the thread's fds: %w", err)
	}
	defer unix.Close(dir)
	fds, err := readFDs(dir)
	if err != nil {
		return err
	}
	null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		null = -1
	} else {
		defer unix.Close(null)
	}
	var link [64]byte
	for _, fd := range fds {
		if fd <= 2 || fd == dir || fd == null || slices.Contains(keep, fd) {
			continue
		}
		if n, err := unix.Readlinkat(dir, strconv.Itoa(fd), link[:]); err == nil {
			if l := string(link[:n]); l == linkEpoll || l == linkEventfd {
				continue
			}
		}
		if null < 0 {
			err = unix.Close(fd)
		} else {
			err = unix.Dup3(null, fd, unix.O_CLOEXEC)
		}
		if err != nil {
			return fmt.Errorf("drop the thread's copy of fd %d: %w", fd, err)
		}
	}
	return nil
}

// readFDs lists the fd numbers in the directory dir (/proc/.../fd).
func readFDs(dir int) ([]int, error) {
	var fds []int
	buf := make([]byte, 8<<10)
	for {
		n, err := unix.Getdents(dir, buf)
		if err != nil {
			return nil, fmt.Errorf("list the thread's fds: %w", err)
		}
		if n <= 0 {
			return fds, nil
		}
		var names []string
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
		for _, name := range names {
			if fd, err := strconv.Atoi(name); err == nil {
				fds = append(fds, fd)
			}
		}
	}
}
