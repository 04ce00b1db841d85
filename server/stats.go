package server

import (
	"errors"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/internal/wire"
)

// Counters are the event loop's cumulative counters, one set per loop. The
// loop is their only writer (the loops of a shared epoll set each count
// what they did, so a connection accepted by one and closed by another
// shows in both: only their sum means anything); Stats may be called from
// any goroutine. Each increment is one
// uncontended atomic add, a few nanoseconds against the microseconds of the
// syscalls being counted.
type Counters struct {
	Waits            atomic.Uint64 // multiplexer wait calls that returned events (select/poll/epoll_wait)
	WaitsInterrupted atomic.Uint64 // wait calls a signal interrupted before any event (EINTR)
	WastedWaits      atomic.Uint64 // waits that returned events but no work: every one was a connection another loop took first
	Events           atomic.Uint64 // ready events those calls returned
	Accepts          atomic.Uint64 // connections accepted
	EmptyAccepts     atomic.Uint64 // listener readinesses that found the accept queue empty (another loop took the connection)
	Reads            atomic.Uint64 // read syscalls
	Writes           atomic.Uint64 // write syscalls
	ReadEAGAIN       atomic.Uint64 // reads that returned EAGAIN
	WriteEAGAIN      atomic.Uint64 // writes that returned EAGAIN or were short
	InterestMods     atomic.Uint64 // Add/Modify/Remove calls on the poller (epoll_ctl, fd_set or pollfd edits)
	BytesIn          atomic.Uint64
	BytesOut         atomic.Uint64
	ConnsOpen        atomic.Int64  // connections open now
	ConnsClosed      atomic.Uint64 // connections closed (for any reason)
	ConnsRejected    atomic.Uint64 // accepted, then closed because the backend could not watch the fd
	Watched          atomic.Int64  // fds registered with the multiplexer now: listener, wake-up eventfd, connections
	MaxWatchedFD     atomic.Int64  // highest connection fd number ever registered (select's cost follows it)

	ErrReset    atomic.Uint64 // ECONNRESET on read or write
	ErrPipe     atomic.Uint64 // EPIPE on write
	ErrProtocol atomic.Uint64 // malformed input (sockperf frame length out of range)
	ErrAccept   atomic.Uint64 // accept failures (EMFILE, ENFILE, ENOBUFS, ...)
	ErrOther    atomic.Uint64 // any other per-connection error
}

// CountError counts a per-connection error by kind; nil counts nothing.
func (c *Counters) CountError(err error) {
	switch {
	case err == nil:
	case errors.Is(err, unix.ECONNRESET):
		c.ErrReset.Add(1)
	case errors.Is(err, unix.EPIPE):
		c.ErrPipe.Add(1)
	case errors.As(err, new(*sockperf.LengthError)):
		c.ErrProtocol.Add(1)
	default:
		c.ErrOther.Add(1)
	}
}

// Snapshot reads every counter.
func (c *Counters) Snapshot() wire.Stats {
	return wire.Stats{
		Waits:            c.Waits.Load(),
		WaitsInterrupted: c.WaitsInterrupted.Load(),
		WastedWaits:      c.WastedWaits.Load(),
		Events:           c.Events.Load(),
		Accepts:          c.Accepts.Load(),
		EmptyAccepts:     c.EmptyAccepts.Load(),
		Reads:            c.Reads.Load(),
		Writes:           c.Writes.Load(),
		ReadEAGAIN:       c.ReadEAGAIN.Load(),
		WriteEAGAIN:      c.WriteEAGAIN.Load(),
		InterestMods:     c.InterestMods.Load(),
		BytesIn:          c.BytesIn.Load(),
		BytesOut:         c.BytesOut.Load(),
		ConnsOpen:        c.ConnsOpen.Load(),
		ConnsClosed:      c.ConnsClosed.Load(),
		ConnsRejected:    c.ConnsRejected.Load(),
		Watched:          c.Watched.Load(),
		MaxWatchedFD:     c.MaxWatchedFD.Load(),
		Errors: wire.Errors{
			Reset:    c.ErrReset.Load(),
			Pipe:     c.ErrPipe.Load(),
			Protocol: c.ErrProtocol.Load(),
			Accept:   c.ErrAccept.Load(),
			Other:    c.ErrOther.Load(),
		},
	}
}
