// Package backends defines the contract every I/O multiplexer backend
// implements — the Poller — and the registry that maps backend names
// ("select", "poll", "epoll-lt", "epoll-et", "gonet") to constructors.
//
// A Poller only tracks interest and reports readiness. Accepting, reading,
// writing, buffering and closing live once, in package server, so every
// backend runs the identical server loop and differs only in how it waits.
package backends

import (
	"errors"
	"fmt"
	"slices"
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

// ErrFDLimit is returned (wrapped) by Add when the backend cannot watch an
// fd that large — select(2) and FD_SETSIZE. The server closes that
// connection and counts it as rejected.
var ErrFDLimit = errors.New("fd beyond the backend's limit")

// Info describes a registered backend.
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
	// Variant marks a backend that changes one policy of another for a
	// claim or setup measurement: listed apart and left out of default
	// sweeps.
	Variant bool
	// MaxFD is the largest fd number the backend can watch plus one
	// (FD_SETSIZE for select); 0 means no limit of its own.
	MaxFD int
	// New constructs a Poller. It is nil for backends that are whole servers
	// of their own rather than pollers (gonet: Go's runtime netpoller).
	New func() (Poller, error)
}

var registry = map[string]Info{}

// Register adds a backend. It is called from the init functions of the
// backend packages; registering a name twice is a programming error and is
// reported by Lookup as a conflict rather than a panic.
func Register(info Info) {
	if _, dup := registry[info.Name]; dup {
		conflicts = append(conflicts, info.Name)
		return
	}
	registry[info.Name] = info
}

var conflicts []string

// Lookup returns the backend registered under name, or an error listing the
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

// Default is the backends a sweep runs unless told otherwise, in the
// canonical order: from the oldest mechanism to the Go baseline.
var Default = []string{"select", "poll", "epoll-lt", "epoll-et", "gonet"}

// Order is every built-in backend in canonical order: Default, then the
// variants (Info.Variant). Listings, scenarios and charts use it; a test in
// backends/all checks it against the registry.
var Order = append(slices.Clone(Default), "epoll-et-drain", "poll-accept1")

// Names returns the registered backend names, built-ins in Order first.
func Names() []string {
	var names []string
	for _, n := range Order {
		if _, ok := registry[n]; ok {
			names = append(names, n)
		}
	}
	var extra []string
	for n := range registry {
		if !slices.Contains(Order, n) {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}
