// Package all links every backend into a program and starts an echo server
// for any of them by name.
package all

import (
	"github.com/muxbench/muxbench/backends"
	_ "github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/backends/gonet"
	_ "github.com/muxbench/muxbench/backends/poll"
	_ "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/server"
)

// Start creates the server for the named backend as cfg says. The caller
// runs Serve and ends it with Shutdown.
func Start(name string, cfg server.Config) (server.Runner, error) {
	info, err := backends.Lookup(name)
	if err != nil {
		return nil, err
	}
	if name == gonet.Name {
		return gonet.New(cfg)
	}
	return server.New(info, cfg)
}
