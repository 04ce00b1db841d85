package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/netip"
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
	// CPU is meant to be its own. The zero value means DefaultSpinBefore;
	// SpinFor(0), never.
	SpinBefore Spin
	// SpinReply is how long after each write, in open loop, the generator
	// polls for the reply instead of blocking: a blocked generator lets
	// its CPU go idle, and waking it for the reply (on a VM, a halted
	// vCPU's wake-up, ~20–35 µs) was counted as server latency. It costs
	// client CPU per request up to the reply's time or SpinReply, whichever
	// is less. The zero value means DefaultSpinReply; SpinFor(0), never.
	SpinReply Spin
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

// Spin is a spin window (Config.SpinBefore, SpinReply) that may be left
// unset: its zero value takes the field's default, and SpinFor sets one,
// SpinFor(0) meaning never. A plain duration's 0 cannot say both "the
// default" and "never", which a command line's 0 means.
type Spin struct {
	d   time.Duration
	set bool
}

// SpinFor is a spin window of d; 0 (or less) never spins.
func SpinFor(d time.Duration) Spin { return Spin{d: max(d, 0), set: true} }

// or returns the window, def when none was set.
func (s Spin) or(def time.Duration) time.Duration {
	if !s.set {
		return def
	}
	return s.d
}

// spinBefore returns SpinBefore with the default filled in (0 = off).
func (c Config) spinBefore() time.Duration { return c.SpinBefore.or(DefaultSpinBefore) }

// spinReply returns SpinReply with the default filled in (0 = off).
func (c Config) spinReply() time.Duration { return c.SpinReply.or(DefaultSpinReply) }

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
