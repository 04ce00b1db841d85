package server

import (
	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/osthread"
)

// A loop's private fd table.
//
// A Go process has several threads, so its fd table is shared, and the
// kernel's fdget takes and drops a reference on every file a system call
// looks up in it: poll and select look up every watched fd on every call,
// which a single-threaded C server of the same loop never pays. So the
// loop's thread unshares the table (osthread.UnshareFiles) before it
// serves, unless the backend is a -sharedfd variant (Info.SharedFDTable),
// kept to measure the difference, or its loops share one epoll set
// (SharingEpoll: they serve each other's connections, by number, so they
// must see one table).
//
// Why this is safe:
//   - The thread is osthread.Go's: locked, never the main thread, and it
//     ends when the loop returns (the goroutine exits locked), so no other
//     goroutine ever runs with the private table, and the runtime never
//     clones a thread from it.
//   - The copy keeps what the loop and the runtime use: the listener, the
//     wake-up eventfd, the spare, the loop's poller, and the runtime's
//     network poller (its epoll set and eventfd: a thread that stops and
//     starts the world polls it). Every other copied fd is pointed at
//     /dev/null, so a socket the rest of the process closes is closed.
//   - The loop touches no fd but those: it reads and writes its
//     connections, which it accepts into its table, and Shutdown writes
//     the eventfd, whose number is the same file in every table.
//
// What no longer sees the loop's connections: the process's table, that
// is /proc/PID/fd and everything that counts it (OpenFDs, the hello's
// OpenFDs, a stats reader listing fds); /proc/PID/task/TID/fd lists the
// loop's. Counts stay an upper bound where they predict numbers: the
// private table starts as a copy, so its connections take the numbers
// they would have taken in the shared one, or lower (fds the process opens
// afterwards are not in it). The fd limit (RLIMIT_NOFILE) bounds each
// table's numbers alike, so the loop sheds at the limit through its own
// spare.

// privateTable reports whether the loop's thread gets an fd table of its
// own.
func (s *loop) privateTable() bool {
	return !s.info.SharedFDTable && s.info.Sharing != backends.SharingEpoll
}

// unshareTable gives the calling thread, the loop's, an fd table of its
// own, keeping the loop's fds open in it. From then on the loop's spare
// is the private table's copy; the process table's is mainSpare, which
// closeAll closes.
func (s *loop) unshareTable() error {
	keep := []int{s.lnFD, s.wakeFD}
	s.mainSpare = -1
	if s.spare.Held() {
		keep = append(keep, s.spare.fd)
		s.mainSpare = s.spare.fd
	}
	if h, ok := s.poller.(fdHolder); ok {
		keep = append(keep, h.FD())
	}
	private, err := osthread.UnshareFiles(keep)
	s.ownTable = private // even on error: the kept fds are in both tables
	return err
}

// release closes what the loop holds in its private table once it has
// stopped: its connections (their peers see them closed before Serve
// returns, not when the thread ends), its copy of the listener (or the
// port would listen until then) and its spare. The kernel closes the
// rest of the table, the poller's and the eventfd's copies, when the
// thread ends.
func (s *loop) release() {
	s.closeConns()
	unix.Close(s.lnFD)
	s.spare.Close()
}

// fdHolder is a poller whose wait goes through an fd of its own (an
// epoll set, an io_uring ring), which a private table must keep.
type fdHolder interface{ FD() int }
