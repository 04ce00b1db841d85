package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Defaults used by Run for zero-valued Config fields.
const (
	DefaultSize        = 64
	DefaultTimeout     = 2 * time.Second
	DefaultConnectRate = 25000 // connections/s: 19,000 connections in about 0.8 s
	DefaultPipeline    = 1024  // open loop: requests in flight per active connection (echo, sockperf)
	// MaxSize bounds Size for the echo protocol; sockperf's own server
	// accepts at most MaxSockperfSize bytes per message.
	MaxSize         = 1 << 20
	MaxSockperfSize = 65507
	// KeepAliveMaxSize bounds the size of one keep-alive message: the
	// trickle is "one small message", whatever Size is.
	KeepAliveMaxSize = 64
	// MinKeepAlive is the shortest keep-alive interval: an idle
	// connection trickles, one small message per interval; shorter, the
	// idle connections flood the server (at 1 ns the window's latencies
	// grew to a second) and are no longer idle. Scenario files' keepalive
	// has the same bound.
	MinKeepAlive = 100 * time.Millisecond
)

// Config describes one load-generation run. The zero value of Mode, Size,
// Timeout, ConnectRate, Pipeline and Proto means the documented default;
// every other field is taken as given and checked by Validate.
type Config struct {
	Target      string        // host:port of the server
	Conns       int           // total connections (idle + active)
	Active      int           // of which carry traffic; the rest are idle
	Mode        traffic.Mode  // traffic.Open (default) or traffic.Closed
	Rate        float64       // total requests/s across active conns (open loop only)
	Size        int           // bytes per request, default 64 (echo, sockperf; the other protocols fix their request: leave 0)
	KeepAlive   time.Duration // 0 = idle conns silent; else one small message (redis, http, line: one request) per idle conn per interval, reply checked
	Warmup      time.Duration // traffic before the measured window; not counted
	Duration    time.Duration // the measured window (> 0)
	Timeout     time.Duration // a request (or keep-alive) older than this is a timeout error; default 2 s
	ConnectRate float64       // connections/s while opening connections, default 25,000
	SourceIPs   []netip.Addr  // nil = automatic spreading over 127.0.0.x when target is loopback
	// Proto is traffic.Echo (default), traffic.Sockperf (answered by
	// `sockperf server --tcp`), or a request/reply protocol of a server
	// muxbench did not write: traffic.Redis (PING, exactly "+PONG\r\n"
	// back), traffic.HTTP (an HTTP/1.1 keep-alive GET of Path, a 2xx
	// reply with a Content-Length body back) or traffic.Line (Line and
	// CRLF, one line starting with Expect back).
	Proto traffic.Proto
	// Path is what Proto HTTP GETs, default DefaultPath ("/"); only for
	// HTTP. The Host header is Target.
	Path string
	// Line is the request line Proto Line sends (CRLF appended), e.g.
	// "version" for memcached; required for Line, only for Line.
	Line string
	// Expect, for Proto Line, is a prefix every reply line must start
	// with ("" accepts any line), e.g. "VERSION " for memcached.
	Expect string
	// ServerNoFile is the server's RLIMIT_NOFILE when known (0 = unknown);
	// Check then verifies the server can hold every connection.
	ServerNoFile uint64
	// Pipeline bounds the requests in flight on one active connection in
	// open loop (default DefaultPipelineFor(Proto): 1024 for echo and
	// sockperf, 1 for the request/reply protocols). 1 sends a connection's next request only
	// after the previous echo arrived, as wrk2 does; requests that are due
	// meanwhile wait and their latency still counts from their intended
	// send time.
	Pipeline int
	// SpinBefore is how long before each due send, in open loop, the
	// generator stops sleeping and polls instead, so requests leave on
	// schedule although a timed wait wakes tens of µs late (on a 2-CPU VM,
	// ~40 µs: without this it showed up as server latency). It costs client
	// CPU, up to a whole core at rates above 1/SpinBefore; the generator's
	// CPU is meant to be its own. 0 means DefaultSpinBefore; negative, never.
	SpinBefore time.Duration
	// SpinReply is how long after each write, in open loop, the generator
	// polls for the reply instead of blocking: a blocked generator lets
	// its CPU go idle, and waking it for the reply (on a VM, a halted
	// vCPU's wake-up, ~20–35 µs) was counted as server latency. It costs
	// client CPU per request up to the reply's time or SpinReply, whichever
	// is less. 0 means DefaultSpinReply; negative, never.
	SpinReply time.Duration
	// Churn makes every request a connection of its own: connect, one
	// request and its echo, close (the generator closes first), so the
	// server pays accept, registration and close per request — the setup
	// cost the idle connections make O(watched fds) for select and poll.
	// Closed loop: latency runs from the connect to the echo; open loop:
	// Rate is connections per second and a connection reopens as soon as
	// its echo is in, so latency is the echo's on a fresh connection.
	Churn bool
	// LocalPorts narrows the local port range of every socket
	// (IP_LOCAL_PORT_RANGE, Linux >= 6.3) within the system's
	// net.ipv4.ip_local_port_range. The zero value uses the system range.
	LocalPorts PortRange

	// Hooks called exactly at the measured window's boundaries (after
	// warm-up; at the end of Duration), from the controlling goroutine,
	// while traffic keeps flowing; the harness samples the server's CPU
	// counters in them. Either may be nil. They should return quickly: the
	// window's length is fixed in advance and does not wait for them.
	OnWindowStart, OnWindowEnd func()
	// Progress receives progress reports (nil = none). If it implements
	// ProgressReporter, Run calls its Report method; otherwise Run writes
	// a short text line per report, at most a few per second.
	Progress io.Writer
	// OnConnected, if set, is called once every connection is open and
	// before any traffic, from the controlling goroutine, with Run's ctx;
	// the harness waits in it until the server reports every connection
	// accepted. The warm-up and the request schedule start only when it
	// returns, so however long it takes it neither shortens the warm-up
	// nor shifts intended send times; nothing is sent meanwhile, on active
	// or idle connections. A non-nil error aborts the run: Run closes
	// every connection and returns the error wrapped. Its time is in
	// Result.PopulateSeconds, not ConnectSeconds.
	OnConnected func(ctx context.Context) error
	// BeforeClose, if set, is called once the traffic has stopped and
	// drained, before the connections close, from the controlling
	// goroutine with Run's ctx; nothing is sent or counted meanwhile.
	// Generators on several hosts wait in it so that each one's
	// connections outlive every window of the point (muxbench load
	// -start-at), and a server sampled at one generator's window end sees
	// them all.
	BeforeClose func(ctx context.Context)
}

// PortRange is an inclusive range of local TCP ports.
type PortRange struct {
	Lo, Hi uint16
}

// IsZero reports whether r is unset.
func (r PortRange) IsZero() bool { return r.Lo == 0 && r.Hi == 0 }

// Size returns the number of ports in r.
func (r PortRange) Size() int {
	if r.Hi < r.Lo {
		return 0
	}
	return int(r.Hi) - int(r.Lo) + 1
}

// String formats r as "lo-hi".
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Lo, r.Hi) }

// ProgressReporter is what Run calls when Config.Progress implements it:
// phase is "connect", "warmup" or "measure"; done and total are in the
// phase's unit (connections, or milliseconds of the phase).
type ProgressReporter interface {
	Report(phase string, done, total int64)
}

// DefaultSpinBefore is SpinBefore's default: above the ~40 µs wake-up
// lateness measured on a 2-CPU VM.
const DefaultSpinBefore = 60 * time.Microsecond

// DefaultSpinReply is SpinReply's default: above the p90 round trip of
// a prompt server on a 2-CPU VM (~50–90 µs), so most replies find the
// generator polling, and short enough that a slow server's requests cost
// the generator little CPU each.
const DefaultSpinReply = 150 * time.Microsecond

// spinBefore returns SpinBefore with the default filled in (0 = off).
func (c Config) spinBefore() time.Duration { return spinOrDefault(c.SpinBefore, DefaultSpinBefore) }

// spinReply returns SpinReply with the default filled in (0 = off).
func (c Config) spinReply() time.Duration { return spinOrDefault(c.SpinReply, DefaultSpinReply) }

// spinOrDefault reads a spin field: 0 is def, negative is off (0).
func spinOrDefault(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

// mode returns c.Mode with the default filled in.
func (c Config) mode() traffic.Mode {
	if c.Mode == "" {
		return traffic.Open
	}
	return c.Mode
}

func (c Config) proto() traffic.Proto {
	if c.Proto == "" {
		return traffic.Echo
	}
	return c.Proto
}

// size is the bytes of one request: Size (default DefaultSize) for an
// echoing protocol, the fixed request's length for the others.
func (c Config) size() int {
	if sp := newReplySpec(c); sp != nil {
		return len(sp.request)
	}
	if c.Size == 0 {
		return DefaultSize
	}
	return c.Size
}

// path returns Path with the default filled in.
func (c Config) path() string {
	if c.Path == "" {
		return DefaultPath
	}
	return c.Path
}

func (c Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

func (c Config) connectRate() float64 {
	if c.ConnectRate == 0 {
		return DefaultConnectRate
	}
	return c.ConnectRate
}

func (c Config) pipeline() int {
	if c.mode() == traffic.Closed || c.Churn {
		return 1 // churn: one request per connection
	}
	if c.Pipeline == 0 {
		return DefaultPipelineFor(c.proto())
	}
	return c.Pipeline
}

// DefaultPipelineFor is Config.Pipeline's default for proto: deep
// pipelines for the echoing protocols, whose server is muxbench's own or
// an echo server; one request at a time (as wrk2, redis-benchmark and
// memtier do by default) for the request/reply protocols of other servers,
// which may mishandle pipelining (HTTP's especially). Any of them may be
// given more explicitly: their replies come in order and are verified one
// by one.
func DefaultPipelineFor(proto traffic.Proto) int {
	if proto.Echoes() {
		return DefaultPipeline
	}
	return 1
}

// keepAliveSize is the size of one keep-alive message: a small echo, or
// one request of a request/reply protocol.
func (c Config) keepAliveSize() int {
	if !c.proto().Echoes() {
		return c.size()
	}
	return min(c.size(), KeepAliveMaxSize)
}

// Validate checks c without changing it. Each error names the Config field
// at fault and what would be accepted.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Target == "" {
		bad("Target is empty: want host:port, e.g. 127.0.0.1:7000")
	} else if host, port, err := net.SplitHostPort(c.Target); err != nil {
		bad("Target %q: %v (want host:port, e.g. 127.0.0.1:7000)", c.Target, err)
	} else if host == "" {
		bad("Target %q has no host (want host:port, e.g. 127.0.0.1:7000)", c.Target)
	} else if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		bad("Target %q: port %q is not a number in 1..65535", c.Target, port)
	}
	if c.Conns < 1 {
		bad("Conns is %d: want at least 1", c.Conns)
	}
	if c.Active < 0 || c.Active > c.Conns {
		bad("Active is %d: want 0 (every connection idle) up to Conns (%d)", c.Active, c.Conns)
	}
	if c.Churn && c.Active == 0 {
		bad("Churn with Active 0: churn opens and closes the active connections, so give Active 1 or more")
	}
	if c.Churn && c.Pipeline > 1 {
		bad("Pipeline %d with Churn: a churned connection carries one request (leave Pipeline 0)", c.Pipeline)
	}
	switch c.Mode {
	case "", traffic.Open:
		if c.Active > 0 && !(c.Rate > 0) {
			bad("Rate is %v: open loop needs a rate > 0 requests/s (or use Mode %q)", c.Rate, traffic.Closed)
		}
	case traffic.Closed:
		if c.Rate != 0 {
			bad("Rate is %v: closed loop sends as fast as the server answers; leave Rate 0", c.Rate)
		}
	default:
		bad("Mode %q: want %q or %q", c.Mode, traffic.Open, traffic.Closed)
	}
	if math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0 || c.Rate > maxRate {
		bad("Rate %v: want a finite number of requests/s in 0..%g", c.Rate, float64(maxRate))
	}
	maxSize := MaxSize
	if _, err := traffic.ParseProto(string(c.Proto)); err != nil {
		bad("Proto %q: want %s", c.Proto, traffic.ProtoChoices())
	}
	switch c.Proto {
	case traffic.Sockperf:
		maxSize = MaxSockperfSize
		if c.Size != 0 && c.Size < sockperfHeaderLen {
			bad("Size %d: the sockperf protocol needs at least %d bytes (its header)", c.Size, sockperfHeaderLen)
		}
	case traffic.Redis, traffic.HTTP, traffic.Line:
		if c.Size != 0 {
			bad("Size %d: proto %s sends its own fixed request, so a size has no meaning (leave Size 0)", c.Size, c.Proto)
		}
	}
	if c.Size < 0 || c.Size > maxSize {
		bad("Size %d: want 1..%d bytes (0 = %d)", c.Size, maxSize, DefaultSize)
	}
	errs = append(errs, c.validateRequest()...)
	if c.KeepAlive < 0 || (c.KeepAlive > 0 && c.KeepAlive < MinKeepAlive) {
		bad("KeepAlive %v is not a trickle: want 0 (silent idle connections) or an interval of %v or more", c.KeepAlive, MinKeepAlive)
	}
	if c.Warmup < 0 {
		bad("Warmup %v is negative", c.Warmup)
	}
	if c.Duration <= 0 {
		bad("Duration %v: the measured window must be > 0", c.Duration)
	}
	if c.Timeout < 0 {
		bad("Timeout %v is negative (0 = %v)", c.Timeout, DefaultTimeout)
	}
	if math.IsNaN(c.ConnectRate) || math.IsInf(c.ConnectRate, 0) || c.ConnectRate < 0 {
		bad("ConnectRate %v: want connections/s > 0 (0 = %d)", c.ConnectRate, DefaultConnectRate)
	}
	if c.Pipeline < 0 || c.Pipeline > maxPipeline {
		bad("Pipeline %d: want 1..%d requests in flight per connection (0 = %d)", c.Pipeline, maxPipeline, DefaultPipeline)
	}
	if !c.LocalPorts.IsZero() && (c.LocalPorts.Lo == 0 || c.LocalPorts.Hi < c.LocalPorts.Lo) {
		bad("LocalPorts %s: want lo-hi with 1 <= lo <= hi", c.LocalPorts)
	}
	for i, a := range c.SourceIPs {
		if !a.IsValid() {
			bad("SourceIPs[%d] is not a valid address", i)
		}
	}
	return errors.Join(errs...)
}

// validateRequest checks Path, Line and Expect against Proto.
func (c Config) validateRequest() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case c.Path != "" && c.Proto != traffic.HTTP:
		bad("Path %q: only proto %s sends a path (drop it, or use proto %s)", c.Path, traffic.HTTP, traffic.HTTP)
	case c.Path != "" && (c.Path[0] != '/' || len(c.Path) > MaxLineLen || strings.IndexFunc(c.Path, notVisible) >= 0):
		bad("Path %q: want an absolute path of at most %d printable characters without spaces, e.g. / or /index.html?x=1 (escape others as %%XX)", c.Path, MaxLineLen)
	}
	switch {
	case c.Proto == traffic.Line && c.Line == "":
		bad("Line is empty: proto %s sends one fixed request line (give one, e.g. version for memcached)", traffic.Line)
	case c.Line != "" && c.Proto != traffic.Line:
		bad("Line %q: only proto %s sends a request line (drop it, or use proto %s)", c.Line, traffic.Line, traffic.Line)
	case len(c.Line) > MaxLineLen || strings.IndexFunc(c.Line, isControl) >= 0:
		bad("Line %q: want at most %d characters, none a control character (the CRLF that ends it is added)", c.Line, MaxLineLen)
	}
	switch {
	case c.Expect != "" && c.Proto != traffic.Line:
		bad("Expect %q: only proto %s checks a reply's prefix (redis wants +PONG, http a 2xx status)", c.Expect, traffic.Line)
	case len(c.Expect) > MaxLineLen || strings.IndexFunc(c.Expect, isControl) >= 0:
		bad("Expect %q: want at most %d characters, none a control character (a prefix of the one reply line)", c.Expect, MaxLineLen)
	}
	return errs
}

// notVisible is true for what may not appear in an HTTP request target
// unescaped: spaces, control characters and non-ASCII.
func notVisible(r rune) bool { return r <= ' ' || r >= 0x7f }

// isControl is true for control characters other than tab, which would
// end or break a request line.
func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

const (
	maxRate     = 1e9 // requests/s: a bound that keeps the schedule arithmetic exact
	maxPipeline = 1 << 16
)

// ParseRate parses a request rate as given on the command line: a number of
// requests per second ("5000", "2.5e3"), or a number per duration
// ("5000/1s", "300/1m", "50/s" meaning per one second). It returns
// requests per second, always finite and > 0.
func ParseRate(s string) (float64, error) {
	num, per, hasPer := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n <= 0 {
		return 0, fmt.Errorf("rate %q: %q is not a positive number of requests (want e.g. 5000 or 5000/1s)", s, num)
	}
	d := time.Second
	if hasPer {
		per = strings.TrimSpace(per)
		if per != "" && (per[0] < '0' || per[0] > '9') && per[0] != '.' {
			per = "1" + per // "50/s" means per one second
		}
		d, err = time.ParseDuration(per)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("rate %q: %q is not a positive duration (want e.g. 5000/1s or 300/1m)", s, per)
		}
	}
	r := n / d.Seconds()
	if math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 || r > maxRate {
		return 0, fmt.Errorf("rate %q is %g requests/s: want more than 0 and at most %g", s, r, float64(maxRate))
	}
	return r, nil
}

// ParseDuration parses a non-negative duration in Go syntax ("500ms",
// "2s", "1m30s"); a bare "0" is zero. The error says what was expected.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("duration %q: want a number with a unit, e.g. 500ms, 2s or 1m", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}
