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

// Start creates the server for the named backend, listening on addr. The
// caller runs Serve and ends it with Shutdown.
func Start(name, addr string, proto server.Proto) (server.Runner, error) {
	info, err := backends.Lookup(name)
	if err != nil {
		return nil, err
	}
	if name == gonet.Name {
		return gonet.New(addr, proto)
	}
	return server.New(info, addr, proto)
}
