package server

import (
	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
)

// The write path: a reply goes out at once (send); what the socket does
// not take waits in the connection's pending buffer and goes out on write
// readiness (flush), while the connection stops reading: back-pressure
// with at most one read buffer per connection.

// send writes b now; what the socket does not take is kept in c.out. It
// returns false when the connection was closed.
func (s *loop) send(c *conn, b []byte) bool {
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
func (s *loop) flush(c *conn) bool {
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

func (s *loop) interest(c *conn, in backends.Interest) {
	s.c.InterestMods.Add(1)
	if err := s.poller.Modify(c.fd, in); err != nil {
		s.close(c, err)
	}
}
