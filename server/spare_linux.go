package server

import (
	"errors"

	"golang.org/x/sys/unix"
)

// What every server that accepts with raw system calls (the event loop,
// the uring server) does alike: keep a spare fd to shed connections
// through at the fd limit, and tune each connection it accepts.

// Spare is a file descriptor held open on /dev/null so that a server out
// of fds (EMFILE, ENFILE) can still shed a pending connection: close the
// spare, accept into the fd that frees, close that connection at once
// (its client sees it closed instead of waiting in the queue) and take
// the spare back. The zero Spare holds none.
type Spare struct {
	fd   int
	held bool
}

// ErrNoSpare is Shed's error when no spare was held to shed through.
var ErrNoSpare = errors.New("no spare fd to shed through")

// OpenSpare opens a spare. Out of fds already, it holds none: an EMFILE
// storm is then only counted until Refill or Shed gets one.
func OpenSpare() Spare {
	var s Spare
	s.Refill()
	return s
}

// Refill opens the spare again if it is not held; call it before any
// connection can take the fd it would use.
func (s *Spare) Refill() {
	if s.held {
		return
	}
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	s.fd, s.held = fd, err == nil
}

// Held reports whether the spare is open.
func (s *Spare) Held() bool { return s.held }

// Close releases the spare.
func (s *Spare) Close() {
	if s.held {
		unix.Close(s.fd)
		s.held = false
	}
}

// Shed closes one connection pending on the listener lnFD through the
// spare and reports whether it closed one; err is the accept's error
// (unix.EAGAIN: the queue was empty), or ErrNoSpare when no spare was held
// (it then tries to open one for the next time). In a shared fd table
// another thread of the process (one opening /proc files) can take the
// freed fd before the spare is back: Held is then false. A loop thread
// with a table of its own (fdtable_linux.go) is the only one to open fds
// in it, so its spare always comes back.
func (s *Spare) Shed(lnFD int) (closed bool, err error) {
	if !s.held {
		s.Refill()
		return false, ErrNoSpare
	}
	s.Close()
	fd, _, err := unix.Accept4(lnFD, unix.SOCK_CLOEXEC)
	if err == nil {
		unix.Close(fd)
	}
	s.Refill()
	return err == nil, err
}

// TuneConn sets what every accepted connection gets: TCP_NODELAY (echo
// latency is what is measured: never let Nagle hold a reply back) and,
// when sendBuffer > 0, SO_SNDBUF (Config.SendBuffer).
func TuneConn(fd, sendBuffer int) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if sendBuffer > 0 {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sendBuffer)
	}
}
