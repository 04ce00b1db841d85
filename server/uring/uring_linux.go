// Package uring is the "uring" backend: a whole echo server in io_uring's
// completion model, beside the one event loop (a readiness loop cannot
// drive it: the kernel does the reads and writes and reports them done).
//
// One loop on one locked OS thread, one io_uring:
//   - the listener has one multishot accept (IORING_ACCEPT_MULTISHOT);
//   - each connection has one multishot recv (IORING_RECV_MULTISHOT) into
//     a ring of provided buffers (IORING_REGISTER_PBUF_RING): each CQE
//     names the buffer the kernel filled; the loop copies the bytes into
//     the connection's output, gives the buffer straight back, and sends;
//   - one send per connection is in flight at a time (two sends on one
//     stream socket may complete out of order); what arrives meanwhile
//     collects behind it, and the next send takes all of it;
//   - back-pressure as in the loop: when output is left unsent (a short
//     send) or piles up past stopRecvAt, the recv is cancelled, and armed
//     again once everything is sent, so a slow reader holds at most
//     MaxHeld of ours;
//   - a recv of 0 (peer shut down its write side) flushes what is pending,
//     then closes; an error closes that connection only, counted by kind;
//   - out of fds, the listener's excess is shed through a spare fd as the
//     loop does, and accepting pauses acceptRetryMs when it cannot shed.
//
// Each loop turn is one io_uring_enter: it submits the SQEs queued by the
// last turn and waits for at least one CQE. Counters, where they mean
// something: Waits are enters that returned CQEs, Events the CQEs; Reads
// are recv completions with data or EOF (no recv ever returns EAGAIN),
// Writes send completions, WriteEAGAIN short sends; InterestMods the
// SQEs that arm or cancel a multishot request; Watched is the listener,
// the wake-up eventfd and the open connections.
package uring

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/iouring"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/server"
)

const (
	sqEntries = 1024
	cqEntries = 8192
	// Provided buffers: given back as soon as a CQE is read, so the ring
	// runs dry only when more than bufCount recvs complete in one turn
	// (then a recv ends with ENOBUFS and is armed again after the turn).
	// Their total bounds what a slow reader can make the server hold.
	bufCount = 64
	bufSize  = 4 << 10
	// stopRecvAt is how much unsent output stops a connection's recv.
	stopRecvAt = 32 << 10
)

// MaxHeld bounds the unsent output the server holds for a connection
// whose peer does not read: what was pending when its recv was last
// allowed to deliver, plus whatever the kernel had already received into
// provided buffers for it in that turn (a multishot recv reads on while
// data is there, and the cancel reaches the kernel with the next enter).
// The event loop's bound is one read buffer (backends.ReadBufferSize); this
// one is the price of letting the kernel do the reads.
const MaxHeld = stopRecvAt + bufCount*bufSize

const (
	// acceptRetryMs: out of fds and unable to shed, accepting pauses this
	// long, as the loop's listener does (server.acceptRetryMs).
	acceptRetryMs = 10
)

// User data: kind in the top bits, then the connection's generation, then
// its fd, so completions for a closed connection (whose fd number a new
// one may have) are recognised as stale.
const (
	kindIgnore = iota // cancellations' own CQEs
	kindAccept
	kindWake
	kindRecv
	kindSend
	kindListen // a one-shot poll on the listener, at the fd limit
)

func userData(kind int, gen uint32, fd int) uint64 {
	return uint64(kind)<<61 | uint64(gen&(1<<29-1))<<32 | uint64(uint32(fd))
}

// Server is the io_uring completion-model echo server.
type Server struct {
	cfg     server.Config
	ring    *iouring.Ring
	bufs    *iouring.BufRing
	lnFD    int
	addr    string
	wakeFD  int
	spare   server.Spare
	conns   []*conn
	gen     uint32
	starved []*conn // recvs ended by ENOBUFS, armed again after the turn
	// retired are send buffers of connections closed with a send in
	// flight, kept until the enter that cancels the send has returned.
	// (Socket sends run in this thread's enters, never beside it.)
	retired   [][]byte
	accepting bool // a multishot accept is in the kernel
	paused    bool // accepting paused until acceptRetry
	retry     time.Time
	c         server.Counters

	stopOnce sync.Once
	loopTID  atomic.Int32
}

var _ server.Runner = (*Server)(nil)

// New checks support, listens on cfg.Addr and sets up the ring.
func New(cfg server.Config) (*Server, error) {
	if err := iouring.CheckServer(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, lnFD: -1, wakeFD: -1}
	var err error
	if s.ring, err = iouring.New(sqEntries, cqEntries, iouring.SetupFlags); err != nil {
		return nil, err
	}
	if s.bufs, err = s.ring.NewBufRing(0, bufCount, bufSize); err != nil {
		s.closeAll()
		return nil, err
	}
	if s.lnFD, s.addr, err = server.Listen(cfg.Addr); err != nil {
		s.closeAll()
		return nil, err
	}
	if s.wakeFD, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	s.spare = server.OpenSpare() // none: EMFILE only counted
	s.c.Watched.Store(2)
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.addr }

// Stats snapshots the counters.
func (s *Server) Stats() wire.Stats { return s.c.Snapshot() }

// LoopThread is the OS thread id of the loop (0 before Serve).
func (s *Server) LoopThread() int { return int(s.loopTID.Load()) }

// Shutdown wakes the loop and makes Serve return. It does not wait.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() {
		one := [8]byte{1}
		unix.Write(s.wakeFD, one[:])
	})
}

// Serve runs the loop on a locked OS thread until Shutdown, then closes
// every connection, the listener and the ring.
func (s *Server) Serve() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s.loopTID.Store(int32(unix.Gettid()))
	defer s.closeAll()
	if err := s.armAccept(); err != nil {
		return err
	}
	wake, err := s.sqe()
	if err != nil {
		return err
	}
	wake.Opcode, wake.Fd, wake.OpFlags = iouring.OpPollAdd, int32(s.wakeFD), unix.POLLIN
	wake.UserData = userData(kindWake, 0, s.wakeFD)
	for {
		// Take the spare back before this enter submits or runs an accept
		// that could take its fd. It is lost when another thread (the
		// stats reader opening /proc files) took the fd shedAll freed; if
		// an accept got it back first, no spare could be had again while
		// every fd is held, and the queue could never be shed. (The
		// loop's accept does the same.)
		s.spare.Refill()
		timeout := -1
		if s.paused {
			timeout = max(1, int(time.Until(s.retry).Milliseconds()))
		}
		err := s.ring.Wait(timeout)
		if err != nil && err != unix.EINTR && err != unix.ETIME {
			return fmt.Errorf("io_uring_enter: %w", err)
		}
		if s.ring.Pending() == 0 {
			clear(s.retired) // the cancellations were submitted and ran
			s.retired = s.retired[:0]
		}
		if s.paused && !time.Now().Before(s.retry) {
			s.paused = false
			if err := s.armAccept(); err != nil {
				return err
			}
		}
		n := s.ring.Ready()
		if n == 0 {
			if err == unix.EINTR && timeout < 0 {
				s.c.WaitsInterrupted.Add(1)
			}
			continue
		}
		s.c.Waits.Add(1)
		s.c.Events.Add(uint64(n))
		stop := false
		for i := uint32(0); i < n; i++ {
			c := *s.ring.CQE(i)
			if stop = s.complete(c); stop {
				break
			}
		}
		s.ring.Advance(n)
		s.bufs.Publish()
		if stop {
			return nil
		}
		for _, c := range s.starved {
			s.settle(c) // arms the recv again unless back-pressure holds it
		}
		s.starved = s.starved[:0]
	}
}

// complete handles one CQE; it returns true when the server must stop.
func (s *Server) complete(cqe iouring.CQE) bool {
	kind, gen, fd := int(cqe.UserData>>61), uint32(cqe.UserData>>32)&(1<<29-1), int(uint32(cqe.UserData))
	switch kind {
	case kindWake:
		return true
	case kindAccept:
		s.accepted(cqe)
	case kindListen:
		// A connection is pending: accept it if an fd is free now, or
		// shed it (the accept fails with EMFILE again).
		if err := s.armAccept(); err != nil {
			s.c.ErrOther.Add(1)
		}
	case kindRecv, kindSend:
		var c *conn
		if fd < len(s.conns) && s.conns[fd] != nil && s.conns[fd].gen == gen {
			c = s.conns[fd]
		}
		if kind == kindRecv {
			s.received(c, cqe)
		} else if c != nil {
			s.sent(c, cqe.Res)
		}
	}
	return false
}

func (s *Server) sqe() (*iouring.SQE, error) {
	if q := s.ring.GetSQE(); q != nil {
		return q, nil
	}
	if err := s.ring.Submit(); err != nil {
		return nil, fmt.Errorf("io_uring_enter (submit a full SQ ring): %w", err)
	}
	if q := s.ring.GetSQE(); q != nil {
		return q, nil
	}
	return nil, fmt.Errorf("io_uring SQ ring full after submitting it")
}

// armAccept queues a multishot accept unless one is in the kernel.
func (s *Server) armAccept() error {
	if s.accepting {
		return nil
	}
	q, err := s.sqe()
	if err != nil {
		return err
	}
	s.c.InterestMods.Add(1)
	q.Opcode, q.Fd, q.Ioprio = iouring.OpAccept, int32(s.lnFD), iouring.AcceptMultishot
	q.OpFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	q.UserData = userData(kindAccept, 0, s.lnFD)
	s.accepting = true
	return nil
}

func (s *Server) closeAll() {
	for _, c := range s.conns {
		if c != nil {
			unix.Close(c.fd)
		}
	}
	s.conns = nil
	if s.bufs != nil {
		s.bufs.Close()
	}
	if s.ring != nil {
		s.ring.Close() // cancels every request still in flight
	}
	for _, fd := range []int{s.lnFD, s.wakeFD} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	s.spare.Close()
}
