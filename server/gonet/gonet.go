// Package gonet is the baseline backend, "gonet" (lineup.GoNet): the same
// echo server written the way a Go programmer would write it — net.Listen,
// one goroutine per connection, blocking-style Read and Write — so Go's
// runtime netpoller (epoll, edge-triggered, inside the runtime) does the
// multiplexing.
//
// It reports the counters it can observe: accepts, reads, writes, bytes,
// connections, errors. Wait calls, events and interest changes happen
// inside the runtime and stay zero; a blocked Write is not visible as
// EAGAIN either.
//
// Out of file descriptors it does what the event-loop server does: it
// sheds the excess through a spare fd, so connections beyond the limit are
// closed at once instead of waiting unanswered in the accept queue, and it
// backs off as net/http does only when shedding is not possible.
package gonet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/server"
)

// BufferSize is each connection's read buffer. Larger than bufio's 4 KiB
// default, smaller than the event-loop server's one shared 64 KiB buffer,
// because here every connection, idle or not, holds its own.
const BufferSize = 16 << 10

// Pauses after an accept error that shedding cannot clear, doubling from
// acceptDelayMin to acceptDelayMax, as net/http's Server.Serve does. Go's
// Accept returns EMFILE at once, without waiting, so retrying straight
// away spins a core on a listener that stays readable.
const (
	acceptDelayMin = 5 * time.Millisecond
	acceptDelayMax = time.Second
)

// Server is a goroutine-per-connection echo server.
type Server struct {
	ln   net.Listener
	cfg  server.Config
	c    server.Counters
	done chan struct{} // closed by Shutdown: ends an accept back-off

	// The spare fd is kept open so that at the fd limit (EMFILE) closing
	// it leaves Accept one fd to take a pending connection into and shed
	// it; see freeSpare and keep.
	spareMu  sync.Mutex
	spare    int  // -1 if none
	shedding bool // the spare was closed at EMFILE and is not back yet

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

var _ server.Runner = (*Server)(nil)

// New listens on cfg.Addr (e.g. "127.0.0.1:0").
func New(cfg server.Config) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	return &Server{
		ln: ln, cfg: cfg, done: make(chan struct{}),
		spare: openSpare(), // -1 on failure: out of fds, accept errors then only back off
		conns: map[net.Conn]struct{}{},
	}, nil
}

// openSpare opens the spare fd, -1 if it cannot.
func openSpare() int {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stats snapshots the counters.
func (s *Server) Stats() wire.Stats { return s.c.Snapshot() }

// Shutdown closes the listener and every connection; Serve then returns.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.done)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.spareMu.Lock()
	defer s.spareMu.Unlock()
	if s.spare >= 0 {
		unix.Close(s.spare)
		s.spare = -1
	}
}

// Serve accepts connections until Shutdown, then waits for their goroutines.
//
// Out of fds (EMFILE, ENFILE) it sheds the connections it cannot hold,
// through the spare fd (freeSpare, keep); an accept error it cannot shed
// its way out of, if temporary, is retried after a pause, any other ends
// Serve.
func (s *Server) Serve() error {
	defer s.wg.Wait()
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			s.c.ErrAccept.Add(1)
			if (errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)) && s.freeSpare() {
				continue
			}
			if !temporary(err) {
				return fmt.Errorf("accept: %w", err)
			}
			delay = min(max(2*delay, acceptDelayMin), acceptDelayMax)
			s.pause(delay)
			continue
		}
		delay = 0
		if !s.keep() {
			c.Close()
			s.c.ConnsRejected.Add(1)
			continue
		}
		s.c.Accepts.Add(1)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.c.ConnsOpen.Add(1)
		if s.cfg.SendBuffer > 0 {
			c.(*net.TCPConn).SetWriteBuffer(s.cfg.SendBuffer)
		}
		go s.serveConn(c)
	}
}

// freeSpare is called after Accept failed with EMFILE or ENFILE. It closes
// the spare fd, so that the next Accept has an fd to take a pending
// connection into — or, the queue being empty (at the limit the kernel
// fails accept before it looks at the queue), waits in the runtime's
// netpoller for the next one instead of failing again at once. It reports
// false when there is no spare to free: none could be opened, or it is
// already free and the fd it left was taken by another thread; Serve must
// then back off.
func (s *Server) freeSpare() bool {
	s.spareMu.Lock()
	defer s.spareMu.Unlock()
	switch {
	case s.shedding:
		return false // the fd the spare left was taken by another thread
	case s.spare < 0:
		if !s.isDone() {
			s.spare = openSpare() // none to free now; perhaps for the next time
		}
		return false
	}
	unix.Close(s.spare)
	s.spare, s.shedding = -1, true
	return true
}

// keep is called for each accepted connection and reports whether to serve
// it. While shedding it takes the spare fd back: if that fails with EMFILE
// or ENFILE the process is still at the limit and the connection came in on
// the spare's fd, so Serve closes it at once — the client sees it closed
// instead of waiting in the accept queue, where Go's Accept would leave it.
func (s *Server) keep() bool {
	s.spareMu.Lock()
	defer s.spareMu.Unlock()
	if !s.shedding || s.isDone() {
		return true // a connection accepted after Shutdown is closed by Serve
	}
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == unix.EMFILE || err == unix.ENFILE {
		return false
	}
	s.shedding = false
	s.spare = -1
	if err == nil {
		s.spare = fd
	}
	return true
}

func (s *Server) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// pause waits d, or until Shutdown.
func (s *Server) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

// temporary reports whether an accept error passes if retried later: what
// net/http retries (timeouts; EMFILE and ENFILE — Go's Accept retries
// EINTR and ECONNABORTED itself), plus ENOBUFS and ENOMEM, memory
// shortages that pass like an fd shortage.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	if err := s.echo(c); !errors.Is(err, net.ErrClosed) { // ErrClosed: Shutdown closed it
		s.c.CountError(err)
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
	s.c.ConnsOpen.Add(-1)
	s.c.ConnsClosed.Add(1)
}

// echo answers c until EOF (nil) or an error.
func (s *Server) echo(c net.Conn) error {
	buf := make([]byte, BufferSize)
	var partial, replies []byte
	for {
		n, err := c.Read(buf)
		s.c.Reads.Add(1)
		if n > 0 {
			s.c.BytesIn.Add(uint64(n))
			out := buf[:n]
			if s.cfg.Proto == traffic.Sockperf {
				in := out
				if len(partial) > 0 {
					partial = append(partial, in...)
					in = partial
				}
				var used int
				var perr error
				replies, used, perr = sockperf.Answer(replies[:0], in)
				if perr != nil {
					return perr
				}
				partial = append(partial[:0], in[used:]...)
				out = replies
			}
			if len(out) > 0 {
				w, werr := c.Write(out) // blocks (in the runtime) until all is written
				s.c.Writes.Add(1)
				s.c.BytesOut.Add(uint64(w))
				if werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
