package server

import "github.com/muxbench/muxbench/backends"

// The variants' policies of the one loop (backends.Info.ModPerRequest and
// Oneshot); BusyPoll is the wait's timeout in Serve.

// writeWhenWritable is the notes' framework loop (ModPerRequest): the
// reply is not written now but kept pending, and the fd switched to write
// interest; the wait that reports it writable writes it (flush), and flush
// switches back to read interest. Two Modify calls per request, which is
// the cost the variant exists to measure. c.out keeps its capacity, so
// this allocates only while a connection's largest reply grows.
func (s *Server) writeWhenWritable(c *conn, reply []byte) {
	c.out = append(c.out[:0], reply...)
	c.outOff = 0
	s.interest(c, backends.Write)
}

// rearm re-arms fd after the loop handled its event, for a poller that
// disarms an fd once it reports it (Oneshot, EPOLLONESHOT): the listener
// unless accepting is paused (resumeAccept re-arms it), a connection with
// write interest while output is pending and read interest otherwise. A
// connection closed while handling its event has nothing to re-arm.
func (s *Server) rearm(fd int) {
	in := backends.Read
	switch {
	case fd == s.lnFD:
		if s.acceptPaused {
			return
		}
	case fd < len(s.conns) && s.conns[fd] != nil:
		c := s.conns[fd]
		if len(c.out) > 0 {
			in = backends.Write
		}
		s.interest(c, in)
		return
	default:
		return
	}
	s.c.InterestMods.Add(1)
	if err := s.poller.Modify(fd, in); err != nil {
		s.c.ErrOther.Add(1)
	}
}
