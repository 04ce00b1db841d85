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
func (s *loop) writeWhenWritable(c *conn, reply []byte) {
	c.out = append(c.out[:0], reply...)
	c.outOff = 0
	s.interest(c, backends.Write)
}

// rearm re-arms fd after the loop handled its event, for a poller that
// disarms an fd once it reports it (Oneshot, EPOLLONESHOT): the listener
// unless accepting is paused (resumeAccept re-arms it), the wake-up
// eventfd (on a shared epoll set every loop must see it), and c, the
// connection handled, with write interest while output is pending and
// read interest otherwise. A connection closed while handling its event
// has nothing to re-arm: its fd may be another loop's new connection by
// now, which is why rearm is given the conn it handled, not only the fd.
//
// On a shared epoll set the next event of c may reach another loop's
// thread: publishing c in the table before the re-arm hands its state over
// (the slot's atomic store and that loop's load order the two threads'
// accesses to c; the re-arm's epoll_ctl is what lets the event happen).
func (s *loop) rearm(fd int, c *conn) {
	in := backends.Read
	switch {
	case fd == s.lnFD:
		if s.acceptPaused {
			return
		}
	case fd == s.wakeFD:
	case c != nil:
		if s.conns.get(fd) != c {
			return // closed while handling its event
		}
		if len(c.out) > 0 {
			in = backends.Write
		}
		s.conns.publish(fd, c)
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
