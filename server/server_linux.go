// Package server is the one TCP echo server every multiplexer backend
// drives: one event loop on one locked OS thread, one connection state
// machine. Backends differ only in the backends.Poller they plug in, which
// is what makes their measurements comparable.
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
	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
)

// eventBatch is how many ready events one Wait call can return.
const eventBatch = 256

// conn is one accepted connection's state.
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

// Server is the event-loop echo server.
type Server struct {
	poller backends.Poller
	// info is the backend's description, and its policies are the loop's:
	// EdgeTriggered (interest registered once, accept and read until
	// drained), DrainReads, AcceptOnce, ModPerRequest, Oneshot, BusyPoll,
	// and Pitfall (NoPitfall, the zero value, for the correct loop).
	info     backends.Info
	sockperf bool // answers sockperf's framing instead of a plain echo
	sndbuf   int
	lnFD     int
	addr     string
	wakeFD   int   // eventfd that Shutdown writes to stop Serve
	spare    Spare // so that an EMFILE accept can be shed
	// acceptPaused: out of fds and unable to shed, the listener is not
	// watched until acceptRetry (see pauseAccept).
	acceptPaused bool
	acceptRetry  time.Time
	conns        []*conn
	events       []backends.Event
	rbuf         []byte
	wbuf         []byte // sockperf replies
	c            Counters

	stopOnce sync.Once
	loopTID  atomic.Int32 // the event loop's OS thread, once Serve runs
}

var _ Runner = (*Server)(nil)

// New creates a server for the backend as cfg says. The poller is created
// here and owned by the server. Call Serve to run it.
func New(info backends.Info, cfg Config) (*Server, error) {
	p, err := info.New()
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", info.Name, err)
	}
	lnFD, bound, err := Listen(cfg.Addr)
	if err != nil {
		p.Close()
		return nil, err
	}
	wakeFD, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		p.Close()
		unix.Close(lnFD)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	s := &Server{
		poller: p, info: info,
		sockperf: cfg.Proto == traffic.Sockperf, sndbuf: cfg.SendBuffer,
		lnFD: lnFD, addr: bound, wakeFD: wakeFD, spare: OpenSpare(),
		events: make([]backends.Event, eventBatch),
		rbuf:   make([]byte, backends.ReadBufferSize),
	}
	for _, fd := range []int{lnFD, wakeFD} {
		if err := p.Add(fd, backends.Read); err != nil {
			s.closeAll()
			return nil, fmt.Errorf("watch fd %d with %s: %w", fd, info.Name, err)
		}
		s.c.Watched.Add(1)
	}
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.addr }

// Stats snapshots the counters.
func (s *Server) Stats() wire.Stats { return s.c.Snapshot() }

// LoopThread returns the OS thread id of the event loop (0 before Serve).
func (s *Server) LoopThread() int { return int(s.loopTID.Load()) }

// Shutdown wakes the loop and makes Serve return. It does not wait.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() {
		var one = [8]byte{1}
		unix.Write(s.wakeFD, one[:]) // the counter cannot overflow with one write
	})
}

// Serve runs the event loop on a locked OS thread until Shutdown, then
// closes every connection, the listener and the poller. A wait error other
// than EINTR ends the loop and is returned.
//
// A wait that returns no event (it never times out) was interrupted by a
// signal — the Go runtime's preemption signal, unless that is turned off —
// and is counted as WaitsInterrupted, not as a wait: it did no work for any
// request, though for select and poll it still cost a full scan.
func (s *Server) Serve() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s.loopTID.Store(int32(unix.Gettid()))
	defer s.closeAll()
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
		for _, ev := range s.events[:n] {
			switch fd := int(ev.FD); fd {
			case s.lnFD:
				s.accept()
			case s.wakeFD:
				return nil
			default:
				if fd < len(s.conns) && s.conns[fd] != nil {
					s.handle(s.conns[fd], ev.Ready)
				}
			}
			if s.info.Oneshot {
				s.rearm(int(ev.FD))
			}
		}
	}
}

func (s *Server) closeAll() {
	for _, c := range s.conns {
		if c != nil {
			s.close(c, nil)
		}
	}
	s.poller.Close()
	unix.Close(s.lnFD)
	unix.Close(s.wakeFD)
	s.spare.Close()
}

func (s *Server) handle(c *conn, r backends.Ready) {
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
func (s *Server) read(c *conn) {
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
func (s *Server) answer(c *conn, in []byte) ([]byte, error) {
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

// send writes b now; what the socket does not take is kept in c.out. It
// returns false when the connection was closed.
func (s *Server) send(c *conn, b []byte) bool {
	if s.info.Pitfall == backends.PitfallSleepSend {
		return s.sleepSend(c, b) // WRONG on purpose
	}
	for len(b) > 0 {
		n, err := unix.Write(c.fd, b)
		s.c.Writes.Add(1)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			n = 0
		} else if err != nil {
			s.close(c, err)
			return false
		}
		s.c.BytesOut.Add(uint64(n))
		b = b[n:]
		if len(b) > 0 {
			// EAGAIN or a short write: the send buffer is full. Keep the
			// rest and wait for write readiness instead of retrying.
			s.c.WriteEAGAIN.Add(1)
			c.out = append(c.out[:0], b...)
			c.outOff = 0
			if !s.info.EdgeTriggered && !s.info.Oneshot { // oneshot: the re-arm after this event asks for it
				s.interest(c, backends.Write) // and stop reading meanwhile
			}
			return true
		}
	}
	return true
}

// flush writes pending output; it returns true when all of it is gone and
// the connection is still open.
func (s *Server) flush(c *conn) bool {
	for c.outOff < len(c.out) {
		n, err := unix.Write(c.fd, c.out[c.outOff:])
		s.c.Writes.Add(1)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			s.c.WriteEAGAIN.Add(1)
			return false
		}
		if err != nil {
			s.close(c, err)
			return false
		}
		s.c.BytesOut.Add(uint64(n))
		c.outOff += n
		if c.outOff < len(c.out) {
			s.c.WriteEAGAIN.Add(1) // short write: wait for the next readiness
			return false
		}
	}
	c.out, c.outOff = c.out[:0], 0
	if s.info.Pitfall == backends.PitfallLTKeepWriteInterest {
		s.interest(c, backends.Read|backends.Write) // WRONG on purpose: EPOLLOUT stays
	} else if !s.info.EdgeTriggered && !s.info.Oneshot {
		s.interest(c, backends.Read)
	}
	return true
}

func (s *Server) interest(c *conn, in backends.Interest) {
	s.c.InterestMods.Add(1)
	if err := s.poller.Modify(c.fd, in); err != nil {
		s.close(c, err)
	}
}

// close closes c, counting why; a nil cause is a normal close.
func (s *Server) close(c *conn, cause error) {
	s.c.CountError(cause)
	if s.conns[c.fd] != c {
		return // already closed
	}
	s.c.InterestMods.Add(1)
	s.poller.Remove(c.fd) // cannot fail for an fd we added; the close below removes it anyway
	s.c.Watched.Add(-1)
	unix.Close(c.fd)
	s.conns[c.fd] = nil
	s.c.ConnsOpen.Add(-1)
	s.c.ConnsClosed.Add(1)
}
