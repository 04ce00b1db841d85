// Package traffic is the one vocabulary for what a load puts on the wire:
// how requests are paced (Mode), when an open-loop pace counts as not met
// (SaturatedBelow), and which application protocol carries them (Proto).
// Scenario files, the load generator, the servers, the CLI flags, the
// results files and the reports all use these names.
package traffic

import (
	"fmt"
	"slices"
	"strings"
)

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
	// Redis is RESP's PING, answered by "+PONG": redis-server, valkey,
	// KeyDB and anything else that speaks RESP.
	Redis Proto = "redis"
	// HTTP is an HTTP/1.1 keep-alive GET of one path, answered by a 2xx
	// reply with a Content-Length body: nginx, or any web server.
	HTTP Proto = "http"
	// Line is one fixed request line, answered by one line (memcached's
	// "version", a line-based server of one's own).
	Line Proto = "line"
)

// Protos lists the protocols, the default first.
var Protos = []Proto{Echo, Sockperf, Redis, HTTP, Line}

// Served lists the protocols muxbench's own servers speak (muxbench serve
// and every backend a run sweeps); the others are request/reply protocols
// of servers muxbench did not write, which only the load generator speaks.
var Served = []Proto{Echo, Sockperf}

// ParseProto reads a protocol name; "" is the default, Echo.
func ParseProto(s string) (Proto, error) {
	if s == "" {
		return Echo, nil
	}
	if slices.Contains(Protos, Proto(s)) {
		return Proto(s), nil
	}
	return "", fmt.Errorf("unknown protocol %q (want %s)", s, ProtoChoices())
}

// ProtoChoices lists the protocol names for a message: "echo, sockperf,
// redis, http or line".
func ProtoChoices() string { return list(Protos, "or") }

// Echoes reports whether p's replies echo its requests byte for byte
// (Echo, Sockperf), so each request's content can be unique and checked
// on its way back; the other protocols send one fixed request and check
// the reply's form.
func (p Proto) Echoes() bool { return p == "" || p == Echo || p == Sockperf }

// CheckServed returns nil if muxbench's own servers speak p, and otherwise
// an error saying which they speak and how to drive a server that speaks
// p. The server, `muxbench serve` and `muxbench run` all refuse such a
// protocol with it, before anything starts.
func CheckServed(p Proto) error {
	if p == "" || slices.Contains(Served, p) {
		return nil
	}
	return fmt.Errorf("muxbench's own servers speak only %s; %s is for a server muxbench did not write: drive one with `muxbench load -target HOST:PORT -proto %s`",
		list(Served, "and"), p, p)
}

// list formats names as "a, b or c" (conj "or") or "a, b and c".
func list[T ~string](names []T, conj string) string {
	var b strings.Builder
	for i, v := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			b.WriteString(" " + conj + " ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(v))
	}
	return b.String()
}
