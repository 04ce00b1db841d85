package harness

import (
	"context"

	"github.com/muxbench/muxbench/internal/wire"
)

// Child is a `muxbench serve` child process for callers that drive it
// themselves rather than through a scenario (muxbench pitfalls): the same
// start, hello, stats and stop as a sweep's server, and the same
// guarantees — it dies with its parent and Kill reaps it. (Not a server
// in this process: that is package server's Server.)
type Child struct {
	c *child
}

// StartChild starts argv (a full `muxbench serve ...` command line) and
// waits, bounded, for its hello line.
func StartChild(argv []string) (*Child, error) {
	c, err := startChild(argv)
	if err != nil {
		return nil, err
	}
	return &Child{c: c}, nil
}

// Hello is the server's hello line.
func (s *Child) Hello() wire.Hello { return s.c.hello }

// Report asks the server for its counters (bounded by the harness's stats
// timeout).
func (s *Child) Report() (wire.Report, error) { return s.c.report() }

// Stop asks the server to exit and waits, killing it if it does not.
func (s *Child) Stop() error { return s.c.stop() }

// Kill ends the server at once and reaps it; after Stop it only reaps.
func (s *Child) Kill() { s.c.kill() }

// WatchContext kills the server when ctx ends; call the returned func once
// the server is stopped.
func (s *Child) WatchContext(ctx context.Context) (stop func()) { return s.c.watchContext(ctx) }
