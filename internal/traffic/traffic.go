// Package traffic is the one vocabulary for what a load puts on the wire:
// how requests are paced (Mode), when an open-loop pace counts as not met
// (SaturatedBelow), and which application protocol carries them (Proto).
// Scenario files, the load generator, the servers, the CLI flags, the
// results files and the reports all use these names.
package traffic

import "fmt"

// Mode is how the load generator paces requests.
type Mode string

const (
	// Open sends at a fixed total rate and measures latency from each
	// request's intended send time (coordinated omission corrected).
	Open Mode = "open"
	// Closed is ping-pong: each active connection sends its next request
	// when the echo of the last one arrives (maximum throughput).
	Closed Mode = "closed"
)

// Modes lists the modes, the default first.
var Modes = []Mode{Open, Closed}

// ParseMode reads a mode name; "" is the default, Open.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", Open:
		return Open, nil
	case Closed:
		return Closed, nil
	}
	return "", fmt.Errorf("unknown mode %q (want %s or %s)", s, Open, Closed)
}

// SaturatedBelow is the share of the requested rate below which an Open
// run's achieved rate marks it saturated: the server or the generator
// could not keep up, so its latency and CPU per request are not those of
// the load asked for. The load generator's result, merged load files,
// the harness's samples and the reports all judge by it.
const SaturatedBelow = 0.95

// Proto is the application protocol the server speaks and the load
// generator frames its requests in.
type Proto string

const (
	// Echo is a plain byte echo: any echo client or server works.
	Echo Proto = "echo"
	// Sockperf is sockperf's 14-byte-header TCP framing (package
	// internal/sockperf), so the sockperf tool can drive or be driven.
	Sockperf Proto = "sockperf"
)

// Protos lists the protocols, the default first.
var Protos = []Proto{Echo, Sockperf}

// ParseProto reads a protocol name; "" is the default, Echo.
func ParseProto(s string) (Proto, error) {
	switch Proto(s) {
	case "", Echo:
		return Echo, nil
	case Sockperf:
		return Sockperf, nil
	}
	return "", fmt.Errorf("unknown protocol %q (want %s or %s)", s, Echo, Sockperf)
}
