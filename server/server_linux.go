// Package server is the one TCP echo server every multiplexer backend
// drives: one event loop on one locked OS thread, one connection state
// machine. Backends differ only in the backends.Poller they plug in, which
// is what makes their measurements comparable. A backend with a sharing
// mode (backends.Sharing) can run several copies of the same loop in one
// process, each on its own thread (loops_linux.go).
//
// The loop, as muxbench's design describes it:
//   - the listener and every accepted socket are non-blocking; accepted
//     sockets get TCP_NODELAY;
//   - every backend accepts in bounded batches (acceptBatch per readiness),
//     edge-triggered ones until EAGAIN (an ET listener that accepts once
//     loses connections), so populating n fds never costs n wait calls;
//   - level-triggered backends read once per readiness and let the next
//     wait report what is left; edge-triggered ones read until the socket is
//     drained — a short read, or EAGAIN — and on to EOF when the event
//     reported a hang-up (an ET reader that stops early stalls forever);
//   - a write that returns EAGAIN or is short keeps the rest in the
//     connection's pending buffer, and the connection stops reading until it
//     is flushed: back-pressure with at most one read buffer per connection;
//   - a read of 0 (peer shut down its write side) flushes what is pending,
//     then closes; data that arrives with the hang-up is answered first;
//   - an error on one connection closes that connection only and is counted.
package server

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/osthread"
	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/internal/wire"
)

// eventBatch is how many ready events one Wait call can return.
const eventBatch = 256

// conn is one accepted connection's state. One loop at a time handles it:
// the loop that accepted it, or, on a shared epoll set, whichever loop's
// wait reported it (EPOLLONESHOT: no other loop hears of it until it is
// re-armed).
type conn struct {
	fd      int
	out     []byte // pending output (never more than one read's worth of replies)
	outOff  int    // how much of out is already written
	partial []byte // sockperf: bytes of an incomplete message (less than sockperf.MaxLen)
	// hup: an event reported the peer's hang-up (or an error). It stays
	// set: an edge-triggered backend need not report it again, and
	// io_uring's poll does not (a write-space wake-up's CQE says only
	// POLLOUT), so reads that were paused for pending output must go on
	// to EOF when they resume.
	hup bool
}

// Server is the event-loop echo server: one loop, or Config.Loops copies
// of it in this process, each on its own locked OS thread, sharing the
// listener and the ready list as the backend's Info.Sharing says
// (loops_linux.go sets them up). It owns every fd the loops use.
type Server struct {
	info      backends.Info
	addr      string
	wakeFD    int   // eventfd that Shutdown writes to stop every loop
	listeners []int // one, or one per loop (backends.SharingReuseport)
	pollers   []backends.Poller
	loops     []*loop
	stopOnce  sync.Once
}

// loop is one event loop: what it waits on, its buffers and its counters.
// Every method below is the loop's (receiver s, as the server it is when
// there is one loop): the one loop every backend and every sharing mode
// runs.
type loop struct {
	poller backends.Poller
	// info is the backend's description, and its policies are the loop's:
	// EdgeTriggered (interest registered once, accept and read until
	// drained), DrainReads, AcceptOnce, ModPerRequest, Oneshot, BusyPoll,
	// and Pitfall (NoPitfall, the zero value, for the correct loop).
	info     backends.Info
	sockperf bool // answers sockperf's framing instead of a plain echo
	sndbuf   int
	lnFD     int
	wakeFD   int
	// exclusive, when set, is how the listener is registered:
	// EPOLLEXCLUSIVE, which the kernel does not let Modify change
	// (watchListener).
	exclusive exclusiveAdder
	spare     Spare // so that an EMFILE accept can be shed
	// acceptPaused: out of fds and unable to shed, the listener is not
	// watched until acceptRetry (see pauseAccept).
	acceptPaused bool
	acceptRetry  time.Time
	conns        *connTable // this loop's, or every loop's on a shared epoll set
	events       []backends.Event
	rbuf         []byte
	wbuf         []byte // sockperf replies
	c            Counters
	cpu          int          // the CPU the loop's thread is pinned to; -1: the process's set
	tid          atomic.Int32 // the loop's OS thread, while it runs
	// ownTable: the loop's thread has an fd table of its own
	// (fdtable_linux.go), so the loop closes what it holds there itself
	// (release), and mainSpare is the process table's spare, which
	// closeAll closes (-1: none).
	ownTable  bool
	mainSpare int
}

var _ Runner = (*Server)(nil)

// New creates a server for the backend as cfg says: its pollers, its
// listeners and its loops (Config.Loops; a backend without a sharing mode
// runs one). The pollers are created here and owned by the server. Call
// Serve to run it.
func New(info backends.Info, cfg Config) (*Server, error) {
	s, err := newServer(info, cfg)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", info.Name, err)
	}
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.addr }

// Stats snapshots the counters, summed over the loops.
func (s *Server) Stats() wire.Stats {
	var st wire.Stats
	for _, l := range s.loops {
		st.Add(l.c.Snapshot())
	}
	return st
}

// LoopThread returns the OS thread id of the (first) event loop, 0 while
// it does not run.
func (s *Server) LoopThread() int { return int(s.loops[0].tid.Load()) }

// Shutdown wakes every loop and makes Serve return. It does not wait.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() {
		var one = [8]byte{1}
		unix.Write(s.wakeFD, one[:]) // the counter cannot overflow with one write
	})
}

// Serve runs every loop, each on an OS thread of its own (osthread.Go:
// locked, never the main thread, ended when the loop returns), until
// Shutdown, then closes every connection, listener and poller. A loop's
// wait error other than EINTR stops every loop and is returned.
//
// Each loop holds its P while it waits (package rawwait), so the process
// needs a P per loop and one more for everything else (the stats reader):
// Serve raises GOMAXPROCS to that when it is lower.
func (s *Server) Serve() error {
	if need := len(s.loops) + 1; len(s.loops) > 1 && runtime.GOMAXPROCS(0) < need {
		runtime.GOMAXPROCS(need)
	}
	errs := make(chan error, len(s.loops))
	for _, l := range s.loops {
		osthread.Go(func() {
			err := l.run()
			if err != nil {
				// The other loops stop too. Written from this thread, in
				// its own table if it has one: the same eventfd.
				s.Shutdown()
			}
			if l.ownTable {
				l.release()
			}
			errs <- err
		})
	}
	var first error
	for range s.loops {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	s.closeAll()
	return first
}

// run is one loop: it waits and handles what the wait reports until the
// wake-up eventfd says stop. It runs on an OS thread of its own, which
// setupThread makes the loop's: pinned, and with an fd table of its own.
//
// A wait that returns no event (it never times out) was interrupted by a
// signal — the Go runtime's preemption signal, unless that is turned off —
// and is counted as WaitsInterrupted, not as a wait: it did no work for any
// request, though for select and poll it still cost a full scan. A wait
// that returned events but found nothing to do — every connection it
// reported was another loop's to take — is also counted in WastedWaits.
func (s *loop) run() error {
	if err := s.setupThread(); err != nil {
		return err
	}
	s.tid.Store(int32(unix.Gettid()))
	defer s.tid.Store(0)
	for {
		timeout := -1
		if s.acceptPaused {
			timeout = acceptRetryMs
		}
		if s.info.BusyPoll {
			timeout = 0 // spin: every call returns at once
		}
		n, err := s.poller.Wait(s.events, timeout)
		if err != nil {
			return err
		}
		if s.acceptPaused && time.Now().After(s.acceptRetry) {
			s.resumeAccept()
		}
		if n == 0 {
			if timeout < 0 { // an endless wait returned early: a signal
				s.c.WaitsInterrupted.Add(1)
			} else if s.info.BusyPoll {
				s.c.Waits.Add(1) // an empty poll is a wait that found nothing
			}
			continue
		}
		s.c.Waits.Add(1)
		s.c.Events.Add(uint64(n))
		worked := false
		for _, ev := range s.events[:n] {
			var c *conn
			switch fd := int(ev.FD); fd {
			case s.lnFD:
				worked = s.accept() > 0 || worked
			case s.wakeFD:
				if s.info.Oneshot {
					s.rearm(fd, nil) // on a shared set, the next loop must see it too
				}
				return nil
			default:
				if c = s.conns.get(fd); c != nil {
					worked = true
					s.handle(c, ev.Ready)
				}
			}
			if s.info.Oneshot {
				s.rearm(int(ev.FD), c)
			}
		}
		if !worked {
			s.c.WastedWaits.Add(1)
		}
	}
}

// closeAll closes what is left open in the process's fd table once every
// loop has stopped (or when New fails): every connection (a shared
// connection table once), then the pollers, listeners, the wake-up
// eventfd and the spares. A loop with a table of its own closed its
// connections and its references there (release); here only the process
// table's references to its files are closed, by number.
func (s *Server) closeAll() {
	for i, l := range s.loops {
		if l.ownTable {
			if l.mainSpare >= 0 {
				unix.Close(l.mainSpare)
			}
			continue
		}
		if i == 0 || !l.conns.shared {
			l.closeConns()
		}
		l.spare.Close()
	}
	for _, p := range s.pollers {
		p.Close() // the process table's; a private table's copy ends with its thread
	}
	for _, fd := range s.listeners {
		unix.Close(fd)
	}
	unix.Close(s.wakeFD)
}

// closeConns closes every connection in the loop's table.
func (s *loop) closeConns() {
	for fd := range s.conns.slots {
		if c := s.conns.get(fd); c != nil {
			s.close(c, nil)
		}
	}
}

func (s *loop) handle(c *conn, r backends.Ready) {
	if r&(backends.Hangup|backends.Failed) != 0 {
		c.hup = true
	}
	if len(c.out) > 0 {
		if r&(backends.Writable|backends.Failed|backends.Hangup) == 0 {
			return
		}
		if !s.flush(c) {
			return
		}
		if !s.info.EdgeTriggered {
			return // the next wait reports whatever is readable now
		}
		// Edge-triggered: input that arrived while reading was paused raised
		// no new edge, so read it now.
	} else if r&(backends.Readable|backends.Hangup|backends.Failed) == 0 {
		return
	}
	s.read(c)
}

// read reads once (level-triggered) or until the socket is drained
// (edge-triggered), answering each read before the next, and stops early
// when output is left pending (back-pressure) or the connection is closed.
//
// Drained means EAGAIN, or a read shorter than the buffer: a stream
// socket's receive queue is then empty, and data arriving later raises a
// new edge (epoll(7)). Not after an event reported a hang-up or an error
// (c.hup, set by handle): data and the peer's close can arrive in one
// edge, and the close raises no other, so then the loop reads on to EOF or
// EAGAIN.
func (s *loop) read(c *conn) {
	untilEOF := s.info.DrainReads || c.hup
	if s.info.Pitfall == backends.PitfallETShortReadIgnoreHup {
		untilEOF = false // WRONG on purpose: the hang-up is ignored
	}
	for {
		n, err := unix.Read(c.fd, s.rbuf)
		s.c.Reads.Add(1)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			s.c.ReadEAGAIN.Add(1)
			return
		case err != nil:
			s.close(c, err)
			return
		case n == 0:
			// The peer shut down its write side. Nothing is pending (reading
			// stops while output is pending), so every byte it sent has been
			// answered: close.
			s.close(c, nil)
			return
		}
		s.c.BytesIn.Add(uint64(n))
		reply, err := s.answer(c, s.rbuf[:n])
		if err != nil {
			s.close(c, err)
			return
		}
		if s.info.ModPerRequest && len(reply) > 0 {
			s.writeWhenWritable(c, reply)
			return
		}
		if !s.send(c, reply) || len(c.out) > 0 || !s.info.EdgeTriggered {
			return
		}
		if s.info.Pitfall == backends.PitfallETReadOnce {
			return // WRONG on purpose: one read per edge, whatever is left
		}
		if n < len(s.rbuf) && !untilEOF {
			return // a short read: drained
		}
	}
}

// answer returns the bytes to send for input just read.
func (s *loop) answer(c *conn, in []byte) ([]byte, error) {
	if !s.sockperf {
		return in, nil
	}
	if len(c.partial) > 0 {
		c.partial = append(c.partial, in...)
		in = c.partial
	}
	out, used, err := sockperf.Answer(s.wbuf[:0], in)
	s.wbuf = out[:0]
	if err != nil {
		return nil, err
	}
	// Keep the incomplete tail (shorter than its header's length, so at most
	// sockperf.MaxLen). It may overlap c.partial itself: append copies with
	// memmove semantics.
	c.partial = append(c.partial[:0], in[used:]...)
	return out, nil
}

// close closes c, counting why; a nil cause is a normal close.
func (s *loop) close(c *conn, cause error) {
	s.c.CountError(cause)
	if s.conns.get(c.fd) != c {
		return // already closed
	}
	s.c.InterestMods.Add(1)
	// Remove cannot fail for an fd the loop added, unless uring-poll's enter
	// to make room in a full SQ ring fails. Closing the fd would end an
	// epoll registration anyway, and poll and select watch nothing closed,
	// but an io_uring poll request ends only by Remove's cancellation.
	s.poller.Remove(c.fd)
	s.c.Watched.Add(-1)
	s.conns.clear(c.fd) // before the close: once closed, the fd number is another accept's
	unix.Close(c.fd)
	s.c.ConnsOpen.Add(-1)
	s.c.ConnsClosed.Add(1)
}
