package server

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
)

// errSendGaveUp closes a connection whose write PitfallSleepSend retried
// backends.SleepSendRetries times; it is counted in Errors.Other.
var errSendGaveUp = errors.New("send: still EAGAIN after sleeping and retrying; gave up (backends.PitfallSleepSend)")

// sleepSend is the notes' socket_send, the pitfall PitfallSleepSend: on
// EAGAIN it sleeps 1 ms (usleep(1000)) and writes again, in a loop, instead
// of keeping the rest pending and waiting for write readiness. While it
// sleeps, the whole loop — every other connection — waits. Unlike the
// notes' loop it gives up after backends.SleepSendRetries sleeps and
// closes the connection, so a reader that never reads cannot hang the
// server (or a test) forever. It returns false when the connection was
// closed.
func (s *Server) sleepSend(c *conn, b []byte) bool {
	for sleeps := 0; len(b) > 0; {
		n, err := unix.Write(c.fd, b)
		s.c.Writes.Add(1)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			s.c.WriteEAGAIN.Add(1)
			if sleeps == backends.SleepSendRetries {
				s.close(c, errSendGaveUp)
				return false
			}
			sleeps++
			ts := unix.Timespec{Nsec: 1e6}
			unix.Nanosleep(&ts, nil) // the thread blocks, as usleep does; EINTR only shortens one sleep
			continue
		case err != nil:
			s.close(c, err)
			return false
		}
		s.c.BytesOut.Add(uint64(n))
		b = b[n:]
	}
	return true
}
