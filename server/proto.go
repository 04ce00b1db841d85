package server

import (
	"fmt"

	"github.com/muxbench/muxbench/internal/wire"
)

// Proto is the application protocol the server speaks.
type Proto int

const (
	// Echo writes back every byte it reads: any echo client works.
	Echo Proto = iota
	// Sockperf answers sockperf's TCP framing (package internal/sockperf),
	// so the sockperf tool can drive the server.
	Sockperf
)

// ParseProto reads a protocol name as given to -proto.
func ParseProto(s string) (Proto, error) {
	switch s {
	case "echo", "":
		return Echo, nil
	case "sockperf":
		return Sockperf, nil
	}
	return 0, fmt.Errorf("unknown protocol %q (want echo or sockperf)", s)
}

func (p Proto) String() string {
	if p == Sockperf {
		return "sockperf"
	}
	return "echo"
}

// Config is what every backend's server is started with.
type Config struct {
	// Addr is the listen address, "IP:PORT"; port 0 picks a free port.
	Addr string
	// Proto is the protocol spoken.
	Proto Proto
	// SendBuffer, when > 0, sets SO_SNDBUF on every accepted connection
	// (the kernel doubles it). Small values force the back-pressure path
	// early; 0 leaves the kernel's autotuning alone, as benchmarks should.
	SendBuffer int
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
