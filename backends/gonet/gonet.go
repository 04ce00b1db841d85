// Package gonet is the baseline backend, registered as "gonet": the same
// echo server written the way a Go programmer would write it — net.Listen,
// one goroutine per connection, blocking-style Read and Write — so Go's
// runtime netpoller (epoll, edge-triggered, inside the runtime) does the
// multiplexing.
//
// It reports the counters it can observe: accepts, reads, writes, bytes,
// connections, errors. Wait calls, events and interest changes happen
// inside the runtime and stay zero; a blocked Write is not visible as
// EAGAIN either.
package gonet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/server"
)

// Name is the backend's registered name.
const Name = "gonet"

// BufferSize is each connection's read buffer. Larger than bufio's 4 KiB
// default, smaller than the event-loop server's one shared 64 KiB buffer,
// because here every connection, idle or not, holds its own.
const BufferSize = 16 << 10

func init() {
	backends.Register(backends.Info{
		Name:        Name,
		Description: "Go's runtime netpoller: net.Listen, one goroutine per connection (the baseline)",
	})
}

// Server is a goroutine-per-connection echo server.
type Server struct {
	ln  net.Listener
	cfg server.Config
	c   server.Counters

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
	return &Server{ln: ln, cfg: cfg, conns: map[net.Conn]struct{}{}}, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stats snapshots the counters.
func (s *Server) Stats() server.Stats { return s.c.Snapshot() }

// Shutdown closes the listener and every connection; Serve then returns.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
}

// Serve accepts connections until Shutdown, then waits for their goroutines.
func (s *Server) Serve() error {
	defer s.wg.Wait()
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
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				continue // net's Accept already backs off; keep serving the others
			}
			return fmt.Errorf("accept: %w", err)
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
			if s.cfg.Proto == server.Sockperf {
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
