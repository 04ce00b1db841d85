package server

import "fmt"

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
	Stats() Stats
}
