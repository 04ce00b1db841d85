package server

import (
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
)

// Config is what every backend's server is started with.
type Config struct {
	// Addr is the listen address, "IP:PORT"; port 0 picks a free port.
	Addr string
	// Proto is the protocol spoken (traffic.Echo when empty).
	Proto traffic.Proto
	// SendBuffer, when > 0, sets SO_SNDBUF on every accepted connection
	// (the kernel doubles it). Small values force the back-pressure path
	// early; 0 leaves the kernel's autotuning alone, as benchmarks should.
	SendBuffer int
	// Loops is how many copies of the event loop the server runs, each on
	// its own locked OS thread (0 or 1: one). More than one needs a
	// backend with a sharing mode (backends.Info.Sharing).
	Loops int
	// CPUs, with several loops, are the CPUs their threads are pinned to,
	// one each in turn (loop i on CPUs[i % len(CPUs)]); empty: each loop
	// runs wherever the process may.
	CPUs []int
}

// Runner is a running echo server, whichever backend drives it.
type Runner interface {
	// Addr is the address the server listens on, "host:port".
	Addr() string
	// Serve runs the server until Shutdown; it returns nil after a Shutdown.
	Serve() error
	// Shutdown stops Serve, closing every connection and the listener. It
	// may be called from any goroutine, more than once.
	Shutdown()
	// Stats snapshots the counters; safe from any goroutine.
	Stats() wire.Stats
}
