// Package backends defines the contract every I/O multiplexer backend
// implements — the Poller — and the registry that maps poller names to
// their Info. The poller packages live below it; each exports its names as
// constants and describes its backends, and package lineup registers the
// built-in ones, so importing a poller package (for a name or a limit)
// registers nothing.
//
// A Poller only tracks interest and reports readiness. Accepting, reading,
// writing, buffering and closing live once, in package server, so every
// poller runs the identical server loop and differs only in how it waits.
// Whole servers of their own (gonet) are not pollers and are not here:
// package lineup lists every backend, both kinds, in order.
package backends

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Interest is the set of readiness conditions a caller wants to hear about.
type Interest uint8

const (
	// Read asks for readability (data, EOF, or a pending connection on a listener).
	Read Interest = 1 << iota
	// Write asks for writability (room in the socket's send buffer).
	Write
)

// Ready is the set of conditions an Event reports.
type Ready uint8

const (
	// Readable: a read will not block (it may return data, EOF or an error).
	Readable Ready = 1 << iota
	// Writable: a write will not block.
	Writable
	// Hangup: the peer shut down its write side or the connection is gone
	// (POLLHUP, POLLRDHUP, EPOLLRDHUP). Data may still be waiting to be read.
	Hangup
	// Failed: an error is pending on the socket (POLLERR/EPOLLERR).
	Failed
)

// Event is one ready file descriptor returned by Poller.Wait.
type Event struct {
	FD    int32
	Ready Ready
}

// Poller is an I/O multiplexer: a set of file descriptors with read/write
// interest, and a way to wait until some of them are ready.
//
// A Poller is used from one goroutine (the server's event loop); it is not
// safe for concurrent use.
type Poller interface {
	// Add starts watching fd for in. Adding an fd twice is an error.
	Add(fd int, in Interest) error
	// Modify replaces the interest of an fd already added.
	Modify(fd int, in Interest) error
	// Remove stops watching fd. Call it before closing fd.
	Remove(fd int) error
	// Wait blocks until at least one watched fd is ready or timeoutMs
	// milliseconds pass (-1 waits forever), fills events from the start and
	// returns how many it filled. It never allocates and never returns more
	// than len(events); readiness it could not report is reported again by a
	// later call (level-triggered) or was consumed (edge-triggered). A signal
	// interrupting the wait returns 0, nil.
	Wait(events []Event, timeoutMs int) (int, error)
	// Close releases the poller's own resources (not the watched fds).
	Close() error
}

// ReadBufferSize is the size of the server loop's one read buffer: the
// most one read takes from a connection, what a short read is short of
// (Info.EdgeTriggered), and so the most a connection can have pending
// while it waits for write readiness. It is here, beside the loop policies
// that depend on it, so that clients of the loop (the pitfalls' read-once
// stall) know it without linking the server.
const ReadBufferSize = 64 << 10

// ErrFDLimit is returned (wrapped) by Add when the backend cannot watch an
// fd that large — select(2) and FD_SETSIZE. The server closes that
// connection and counts it as rejected.
var ErrFDLimit = errors.New("fd beyond the backend's limit")

// Info describes a registered poller: how to make it and which policies
// of the one server loop run over it.
type Info struct {
	// Name is the backend's name everywhere: CLI, results, charts.
	Name string
	// Description is one line for `muxbench list`.
	Description string
	// EdgeTriggered tells the server to register read and write interest
	// once per fd, never modify it, accept until EAGAIN, and read until
	// the socket is drained: a short read (less than the buffer) means the
	// receive queue is empty (epoll(7)), unless the event also reported a
	// hang-up or an error — then it reads on to EOF or EAGAIN, so a close
	// that arrived together with data is not lost.
	EdgeTriggered bool
	// DrainReads makes an edge-triggered loop read until EAGAIN even after
	// a short read: one extra read per request, the cost the short-read
	// rule saves (variant epoll-et-drain).
	DrainReads bool
	// AcceptOnce makes a level-triggered loop accept one connection per
	// listener readiness instead of a bounded batch: every accept then
	// costs a whole wait call, O(watched fds) for select and poll.
	AcceptOnce bool
	// ModPerRequest makes a level-triggered loop write each reply only
	// when a wait reports the fd writable: Modify to write interest after
	// each read, back to read after the write. The notes' framework loop:
	// two epoll_ctl per request (variant epoll-mod).
	ModPerRequest bool
	// Oneshot says the poller disarms an fd once it reports it
	// (EPOLLONESHOT): the loop re-arms every fd it handled with Modify, to
	// the interest it wants then — one epoll_ctl per event (variant
	// epoll-oneshot). Level-triggered otherwise.
	Oneshot bool
	// BusyPoll makes the loop wait with timeout 0, in a spin, instead of
	// blocking (variant epoll-busy). An empty poll is counted as a wait
	// (Waits: events per wait shows the spin), never as interrupted.
	BusyPoll bool
	// Sharing is how several loops of one server share the listener and
	// the ready list (see Sharing); NoSharing, the zero value, runs one
	// loop only. Its variants (epoll-reuseport, epoll-shared-listener,
	// epoll-exclusive, epoll-shared-epoll) run one loop unless asked for
	// more.
	Sharing Sharing
	// SharedFDTable keeps the loop's thread in the process's fd table,
	// shared by every thread of the Go runtime, instead of a table of its
	// own (unshare(CLONE_FILES), the default: see package server). In a
	// shared table the kernel's fdget takes and drops a reference on
	// every file a wait looks up — for poll and select every watched fd,
	// every call — which a single-threaded C server never pays. The
	// -sharedfd variants measure that difference side by side with their
	// backend. (SharingEpoll's loops always share the process's table:
	// they handle each other's connections.)
	SharedFDTable bool
	// Variant marks a backend that changes one policy of another for a
	// claim or setup measurement: listed apart and left out of default
	// sweeps.
	Variant bool
	// MaxFD is the largest fd number the backend can watch plus one
	// (FD_SETSIZE for select); 0 means no limit of its own.
	MaxFD int
	// Pitfall, when not NoPitfall, makes the loop over this poller
	// deliberately wrong in the one way it names (see Pitfall): for
	// `muxbench pitfalls` only.
	Pitfall Pitfall
	// Check, when set, reports whether the backend can run on this kernel
	// and in this process (io_uring: not disabled, not blocked by seccomp,
	// new enough); an error says why not and how to fix it. nil: always.
	Check func() error
	// New constructs a Poller.
	New func() (Poller, error)
}

var registry = map[string]Info{}

// Register adds a poller. Package lineup calls it for every built-in
// poller, tests for their own; registering a name twice is a programming
// error and is reported by Lookup as a conflict rather than a panic.
func Register(info Info) {
	if _, dup := registry[info.Name]; dup {
		conflicts = append(conflicts, info.Name)
		return
	}
	registry[info.Name] = info
}

var conflicts []string

// Lookup returns the poller registered under name, or an error listing the
// names that are known.
func Lookup(name string) (Info, error) {
	if len(conflicts) > 0 {
		return Info{}, fmt.Errorf("backend registry: %s registered twice", strings.Join(conflicts, ", "))
	}
	info, ok := registry[name]
	if !ok {
		return Info{}, fmt.Errorf("unknown backend %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return info, nil
}

// Names returns the registered poller names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
