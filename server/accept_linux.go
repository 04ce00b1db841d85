package server

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
)

// Accepting: in bounded batches, and at the fd limit shedding the excess
// instead of spinning (level-triggered) or stalling (edge-triggered).

// acceptBatch bounds the accepts a level-triggered loop makes per listener
// readiness, so a connect storm cannot starve established connections
// (libevent and the C reference loops do the same).
const acceptBatch = 64

// accept takes pending connections: until EAGAIN when edge-triggered (no
// new edge comes for connections left in the queue), at most acceptBatch
// otherwise (the next wait reports the rest), one with AcceptOnce. Out of
// fds, it sheds pending connections instead of leaving them queued.
func (s *Server) accept() {
	s.spare.Refill() // before any connection can have its fd
	for n := 0; s.info.EdgeTriggered || n < acceptBatch; n++ {
		fd, _, err := unix.Accept4(s.lnFD, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR || err == unix.ECONNABORTED:
			continue
		case err == unix.EMFILE || err == unix.ENFILE:
			s.c.ErrAccept.Add(1)
			switch s.shed() {
			case shedOne:
				continue
			case shedFailed:
				s.pauseAccept()
			}
			return
		case err != nil:
			s.c.ErrAccept.Add(1)
			return
		}
		s.c.Accepts.Add(1)
		s.admit(fd)
		if s.info.AcceptOnce && !s.info.EdgeTriggered {
			return
		}
		if s.info.Pitfall == backends.PitfallETAcceptOnce {
			return // WRONG on purpose: the rest of the queue raises no new edge
		}
	}
}

// shed results.
const (
	shedOne    = iota // closed one pending connection
	shedEmpty         // the accept queue is empty
	shedFailed        // no spare fd, or another thread took the freed one
)

// acceptRetryMs is how long the loop stops watching the listener when it
// is out of fds and cannot shed: level-triggered, the listener would be
// reported ready on every wait (a spin); edge-triggered, no new edge would
// come for the connections still queued (a stall).
const acceptRetryMs = 10

// pauseAccept stops watching the listener for acceptRetryMs.
func (s *Server) pauseAccept() {
	s.c.InterestMods.Add(1)
	if err := s.poller.Modify(s.lnFD, 0); err != nil {
		s.c.ErrOther.Add(1)
	}
	s.acceptPaused = true
	s.acceptRetry = time.Now().Add(acceptRetryMs * time.Millisecond)
}

// resumeAccept watches the listener again and accepts what is queued (an
// edge-triggered Modify re-arms the edge only if a connection arrives, so
// accept now).
func (s *Server) resumeAccept() {
	s.acceptPaused = false
	s.c.InterestMods.Add(1)
	if err := s.poller.Modify(s.lnFD, backends.Read); err != nil {
		s.c.ErrOther.Add(1)
	}
	s.accept()
}

// shed closes one pending connection through the spare fd when out of
// fds (Spare.Shed). Another thread of the process (the stats reader
// opening /proc files) can take the freed fd first; then, or with no
// spare, it reports shedFailed.
func (s *Server) shed() int {
	closed, err := s.spare.Shed(s.lnFD)
	if closed {
		s.c.ConnsRejected.Add(1)
	}
	switch {
	case err == unix.EAGAIN:
		return shedEmpty
	case err != nil || !s.spare.Held():
		return shedFailed
	}
	return shedOne
}

func (s *Server) admit(fd int) {
	TuneConn(fd, s.sndbuf)
	in := backends.Read
	if s.info.EdgeTriggered {
		in |= backends.Write // registered once, never modified
	}
	s.c.InterestMods.Add(1)
	if err := s.poller.Add(fd, in); err != nil {
		if !errors.Is(err, backends.ErrFDLimit) {
			s.c.ErrOther.Add(1)
		}
		s.c.ConnsRejected.Add(1)
		unix.Close(fd)
		return
	}
	for fd >= len(s.conns) {
		s.conns = append(s.conns, nil)
	}
	s.conns[fd] = &conn{fd: fd}
	s.c.ConnsOpen.Add(1)
	s.c.Watched.Add(1)
	if int64(fd) > s.c.MaxWatchedFD.Load() {
		s.c.MaxWatchedFD.Store(int64(fd))
	}
}
