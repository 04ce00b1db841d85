package uring

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/iouring"
	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/server"
)

// Connections: accept, recv into provided buffers, one send in flight,
// back-pressure, close.

// recv states of a connection's multishot recv.
const (
	recvEnded      = iota // none in the kernel
	recvArmed             // in the kernel, delivering
	recvCancelling        // cancelled; its last CQEs may still deliver data
)

// conn is one accepted connection's state.
type conn struct {
	fd      int
	gen     uint32
	recv    int
	busy    bool   // a send is in flight
	short   bool   // the last send was short: the peer is not reading
	eof     bool   // the peer shut down its write side
	sending []byte // what the send in flight sends (the kernel reads it)
	sendOff int    // how much of sending is sent
	out     []byte // output collected behind the send in flight
	partial []byte // sockperf: an incomplete message
}

// pending is the output not yet sent.
func (c *conn) pending() int { return len(c.sending) - c.sendOff + len(c.out) }

// accepted handles a multishot accept's CQE.
func (s *Server) accepted(cqe iouring.CQE) {
	s.spare.Refill()
	if cqe.Flags&iouring.CQEFMore == 0 {
		s.accepting = false
	}
	switch res := cqe.Res; {
	case res >= 0:
		s.c.Accepts.Add(1)
		s.admit(int(res))
	case res == -int32(unix.EMFILE) || res == -int32(unix.ENFILE):
		s.c.ErrAccept.Add(1)
		if !s.shedAll() {
			// Accepting again now would fail at once, and shedding did
			// not help: pause instead of spinning.
			s.paused, s.retry = true, time.Now().Add(acceptRetryMs*time.Millisecond)
			return
		}
		if !s.accepting {
			// The queue is empty, but at the fd limit an accept fails
			// before it looks at the queue: armed again now, it would
			// fail again at once (a spin). Wait for a pending connection
			// with a one-shot poll, as the readiness loop does.
			s.pollListener()
		}
		return
	case res == -int32(unix.ECONNABORTED) || res == -int32(unix.EINTR):
	default:
		s.c.ErrAccept.Add(1)
	}
	if !s.accepting {
		if err := s.armAccept(); err != nil {
			s.c.ErrOther.Add(1)
			s.paused, s.retry = true, time.Now().Add(acceptRetryMs*time.Millisecond)
		}
	}
}

// pollListener queues a one-shot poll for a pending connection.
func (s *Server) pollListener() {
	q, err := s.sqe()
	if err != nil {
		s.c.ErrOther.Add(1)
		s.paused, s.retry = true, time.Now().Add(acceptRetryMs*time.Millisecond)
		return
	}
	s.c.InterestMods.Add(1)
	q.Opcode, q.Fd, q.OpFlags = iouring.OpPollAdd, int32(s.lnFD), unix.POLLIN
	q.UserData = userData(kindListen, 0, s.lnFD)
}

// shedAll closes pending connections through the spare fd until the
// accept queue is empty (true) or it cannot (false), as the loop's shed:
// the clients see their connections closed instead of waiting queued.
func (s *Server) shedAll() bool {
	for {
		closed, err := s.spare.Shed(s.lnFD)
		if closed {
			s.c.ConnsRejected.Add(1)
		}
		switch {
		case err == unix.EAGAIN:
			return true
		case err != nil && err != unix.ECONNABORTED && err != unix.EINTR, !s.spare.Held():
			return false
		}
	}
}

func (s *Server) admit(fd int) {
	server.TuneConn(fd, s.cfg.SendBuffer)
	for fd >= len(s.conns) {
		s.conns = append(s.conns, nil)
	}
	s.gen = (s.gen + 1) & (1<<29 - 1)
	c := &conn{fd: fd, gen: s.gen}
	s.conns[fd] = c
	s.c.ConnsOpen.Add(1)
	s.c.Watched.Add(1)
	if int64(fd) > s.c.MaxWatchedFD.Load() {
		s.c.MaxWatchedFD.Store(int64(fd))
	}
	s.armRecv(c)
}

func (s *Server) armRecv(c *conn) {
	q, err := s.sqe()
	if err != nil {
		s.close(c, err)
		return
	}
	s.c.InterestMods.Add(1)
	q.Opcode, q.Fd, q.Ioprio, q.Flags = iouring.OpRecv, int32(c.fd), iouring.RecvMultishot, iouring.SQEBufferSelect
	q.BufIndex = s.bufs.Group
	q.UserData = userData(kindRecv, c.gen, c.fd)
	c.recv = recvArmed
}

// cancel queues the cancellation of the request named by ud. A
// successful cancellation posts no CQE of its own; the cancelled request
// ends with -ECANCELED.
func (s *Server) cancel(ud uint64) error {
	q, err := s.sqe()
	if err != nil {
		return err
	}
	s.c.InterestMods.Add(1)
	q.Opcode, q.Flags, q.Addr, q.UserData = iouring.OpAsyncCancel, iouring.SQECQESkipSuccess, ud, userData(kindIgnore, 0, 0)
	return nil
}

// received handles a recv CQE; c is nil when it is stale. The provided
// buffer goes back to the ring whatever happens.
func (s *Server) received(c *conn, cqe iouring.CQE) {
	var data []byte
	if cqe.Flags&iouring.CQEFBuffer != 0 {
		bid := uint16(cqe.Flags >> iouring.CQEBufferShift)
		defer s.bufs.Return(bid)
		if cqe.Res > 0 {
			data = s.bufs.Buf(bid, int(cqe.Res))
		}
	}
	if c == nil {
		return
	}
	if cqe.Flags&iouring.CQEFMore == 0 {
		c.recv = recvEnded
	}
	switch res := cqe.Res; {
	case res > 0:
		s.c.Reads.Add(1)
		s.c.BytesIn.Add(uint64(res))
		if err := s.queue(c, data); err != nil {
			s.close(c, err)
			return
		}
		s.startSend(c)
	case res == 0:
		// The peer shut down its write side: flush what is pending, then close.
		s.c.Reads.Add(1)
		c.eof = true
	case res == -int32(unix.ENOBUFS):
		s.starved = append(s.starved, c) // armed again once this turn gave buffers back
		return
	case res == -int32(unix.ECANCELED):
	default:
		s.close(c, unix.Errno(-res))
		return
	}
	s.settle(c)
}

// queue appends the answer to in to c's output.
func (s *Server) queue(c *conn, in []byte) error {
	if s.cfg.Proto != traffic.Sockperf {
		c.out = append(c.out, in...)
		return nil
	}
	if len(c.partial) > 0 {
		c.partial = append(c.partial, in...)
		in = c.partial
	}
	out, used, err := sockperf.Answer(c.out, in)
	c.out = out
	if err != nil {
		return err
	}
	c.partial = append(c.partial[:0], in[used:]...)
	return nil
}

// startSend sends the collected output unless a send is in flight.
func (s *Server) startSend(c *conn) {
	if c.busy || len(c.out) == 0 {
		return
	}
	c.sending, c.out = c.out, c.sending[:0]
	c.sendOff = 0
	s.submitSend(c)
}

func (s *Server) submitSend(c *conn) {
	q, err := s.sqe()
	if err != nil {
		s.close(c, err)
		return
	}
	rest := c.sending[c.sendOff:]
	q.Opcode, q.Fd, q.Addr, q.Len = iouring.OpSend, int32(c.fd), uint64(uintptr(unsafe.Pointer(&rest[0]))), uint32(len(rest))
	q.OpFlags = unix.MSG_NOSIGNAL // EPIPE, not SIGPIPE
	q.UserData = userData(kindSend, c.gen, c.fd)
	c.busy = true
}

// sent handles a send CQE.
func (s *Server) sent(c *conn, res int32) {
	c.busy = false
	if res < 0 {
		s.close(c, unix.Errno(-res))
		return
	}
	s.c.Writes.Add(1)
	s.c.BytesOut.Add(uint64(res))
	c.sendOff += int(res)
	if c.sendOff < len(c.sending) {
		// Short: the socket's send buffer is full. Send the rest (the
		// kernel waits for room) and stop reading meanwhile.
		s.c.WriteEAGAIN.Add(1)
		c.short = true
		s.submitSend(c)
	} else {
		c.sending, c.sendOff = c.sending[:0], 0
		s.startSend(c)
		if !c.busy {
			c.short = false
		}
	}
	s.settle(c)
}

// settle closes c once the peer has shut down and everything is sent,
// and otherwise starts or stops its recv as its pending output says.
func (s *Server) settle(c *conn) {
	if s.conns[c.fd] != c {
		return // closed meanwhile
	}
	if c.eof && !c.busy {
		s.close(c, nil)
		return
	}
	want := !c.eof && (c.pending() == 0 || !c.short && c.pending() < stopRecvAt)
	switch {
	case want && c.recv == recvEnded:
		s.armRecv(c)
	case !want && c.recv == recvArmed:
		if err := s.cancel(userData(kindRecv, c.gen, c.fd)); err != nil {
			s.close(c, err)
			return
		}
		c.recv = recvCancelling
	}
}

// close closes c, counting why; a nil cause is a normal close. Requests
// still in flight are cancelled by user data (not by fd: the fd number is
// free for the next connection as soon as it is closed); until the
// cancellations run, at the next enter, they keep the socket itself open.
func (s *Server) close(c *conn, cause error) {
	s.c.CountError(cause)
	if s.conns[c.fd] != c {
		return
	}
	if c.recv != recvEnded {
		s.cancel(userData(kindRecv, c.gen, c.fd)) // on failure the ring's close cancels it
	}
	if c.busy {
		// The cancelled send may read c.sending until the cancellation
		// runs, in the next enter: keep the buffer alive until then.
		s.cancel(userData(kindSend, c.gen, c.fd))
		s.retired = append(s.retired, c.sending)
	}
	unix.Close(c.fd)
	s.conns[c.fd] = nil
	s.c.ConnsOpen.Add(-1)
	s.c.ConnsClosed.Add(1)
	s.c.Watched.Add(-1)
}
