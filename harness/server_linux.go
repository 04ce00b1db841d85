package harness

import (
	"context"

	"github.com/muxbench/muxbench/internal/wire"
)

// Server is a `muxbench serve` child process for callers that drive it
// themselves rather than through a scenario (muxbench pitfalls): the same
// start, hello, stats and stop as a sweep's server, and the same
// guarantees — it dies with its parent and Kill reaps it.
type Server struct {
	c *child
}

// StartServer starts argv (a full `muxbench serve ...` command line) and
// waits, bounded, for its hello line.
func StartServer(argv []string) (*Server, error) {
	c, err := startChild(argv)
	if err != nil {
		return nil, err
	}
	return &Server{c: c}, nil
}

// Hello is the server's hello line.
func (s *Server) Hello() wire.Hello { return s.c.hello }

// Report asks the server for its counters (bounded by the harness's stats
// timeout).
func (s *Server) Report() (wire.Report, error) { return s.c.report() }

// Stop asks the server to exit and waits, killing it if it does not.
func (s *Server) Stop() error { return s.c.stop() }

// Kill ends the server at once and reaps it; after Stop it only reaps.
func (s *Server) Kill() { s.c.kill() }

// WatchContext kills the server when ctx ends; call the returned func once
// the server is stopped.
func (s *Server) WatchContext(ctx context.Context) (stop func()) { return s.c.watchContext(ctx) }
