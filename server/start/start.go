// Package start starts the echo server for any backend by name: the event
// loop of package server over the backend's poller, or the backend's whole
// server of its own (package server/gonet, server/uring). Which one a name is, is
// lineup.Backend.EventLoop.
package start

import (
	"fmt"

	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/gonet"
	"github.com/muxbench/muxbench/server/uring"
)

// wholeServers are the constructors of lineup's whole servers, by their
// lineup names: the one place that links those servers, which lineup
// describes without linking them.
var wholeServers = map[string]func(server.Config) (server.Runner, error){
	lineup.GoNet: func(cfg server.Config) (server.Runner, error) { return gonet.New(cfg) },
	lineup.Uring: func(cfg server.Config) (server.Runner, error) { return uring.New(cfg) },
}

// Server creates the server for the named backend as cfg says. The caller
// runs Serve and ends it with Shutdown. A protocol no server of muxbench
// speaks (traffic.CheckServed) is refused, whichever the backend.
func Server(name string, cfg server.Config) (server.Runner, error) {
	if err := traffic.CheckServed(cfg.Proto); err != nil {
		return nil, fmt.Errorf("proto %s: %w", cfg.Proto, err)
	}
	b, err := lineup.Lookup(name)
	if err != nil {
		return nil, err
	}
	if b.EventLoop() {
		return server.New(*b.Poller, cfg)
	}
	if newServer, ok := wholeServers[name]; ok {
		return newServer(cfg)
	}
	return nil, fmt.Errorf("backend %s: a whole server that package start does not know how to start", name)
}
