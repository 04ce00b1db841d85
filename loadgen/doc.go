// Package loadgen is muxbench's load generator: it opens many mostly-idle
// TCP connections and a few active ones to a server, paces requests,
// verifies every reply and records latency into HdrHistograms. The
// harness calls Run in-process; `muxbench load` is a thin command over it;
// it works against any echo server (muxbench serve, socat, ncat) and, with
// Proto "sockperf", against `sockperf server --tcp`. (sockperf 3.7 accepts
// its -F s|p|e multiplexer choice only with a feed file: `sockperf server
// -f FEED -F e`, FEED holding "T:127.0.0.1:PORT".)
//
// # Request/reply protocols
//
// Servers muxbench did not write speak their own protocol. For these the
// generator sends one fixed request, built once, and checks the form of
// every reply with a streaming scanner (reply.go) that never buffers and
// never allocates, so a reply split over many reads and several replies
// in one read are checked alike:
//
//   - redis: RESP PING ("*1\r\n$4\r\nPING\r\n"); the reply must be exactly
//     "+PONG\r\n" (an -ERR reply is a wrong reply, quoted in the result).
//   - http: "GET Path HTTP/1.1" with Host: Target, keep-alive. The reply's
//     status line and headers are parsed (CRLF or bare LF lines, at most
//     MaxHTTPHeader bytes) and its Content-Length body read and dropped.
//     A status other than 2xx is an http_status error; "Connection: close"
//     (or HTTP/1.0 without keep-alive) is an http_close error after the
//     reply counted, and the connection is reopened. A body framed with
//     Transfer-Encoding (chunked) or without Content-Length cannot be
//     delimited on a kept-alive connection: Run stops at the first one and
//     returns a *ReplyError saying to configure a fixed-length body.
//   - line: Line and CRLF; the reply is one line ending in LF or CRLF, at
//     most MaxReplyLine bytes, starting with Expect when given (memcached:
//     Line "version", Expect "VERSION ").
//
// Size has no meaning for them (Validate refuses one; Result.Size is the
// request's length), a keep-alive of an idle connection is one request
// whose reply is checked the same way, and Pipeline defaults to 1: many
// servers answer pipelined requests correctly (redis, memcached, nginx
// were checked), some do not, so more in flight must be asked for.
// Latency is measured exactly as for an echo.
//
// # Connections
//
// Every connection is a raw non-blocking socket (x/sys/unix), bound with
// IP_BIND_ADDRESS_NO_PORT to a source address so the kernel picks the
// local port per destination at connect time. For a loopback IPv4 target,
// connections are spread round-robin over as many of 127.0.0.1,
// 127.0.0.2, … as keep each address's port range at most 1/16 full (the
// kernel's port search at connect() slows as a range fills), which
// gets past the ~28,000 ports of one address. Connections are opened at
// Config.ConnectRate, active ones first. Idle connections hold only an fd:
// no goroutine, no buffer, no epoll registration — 24 bytes of Go memory
// each. With a KeepAlive interval, each idle connection instead sends one
// small message per interval (min(Size, 64) bytes) and checks its echo.
//
// Limits are checked before anything is opened (Check): this process's
// RLIMIT_NOFILE, the server's when Config.ServerNoFile is given, and local
// ports × source addresses. An impossible request fails at once with a
// *LimitError that gives the numbers and the fix.
//
// # Traffic
//
// All traffic runs on one goroutine locked to its OS thread, waiting in
// one edge-triggered epoll set with epoll_pwait2 (nanosecond timeouts)
// and calling recv/send itself, so no scheduler or netpoller wake-up sits
// between the kernel and the measurement. With GOMAXPROCS >= 2 the waits
// are raw syscalls (capped at 2 ms) that bypass the scheduler entirely;
// with GOMAXPROCS = 1 they go through it, so other goroutines still run.
//
// Open loop (default): request n of the run is intended at n/Rate seconds
// after traffic starts, on active connection n mod Active. Latency is
// measured from the intended time (coordinated omission corrected, as
// wrk2 does) into Result.Latency, and from the first write() of the request
// into Result.ServiceLatency. Up to Config.Pipeline requests may be in
// flight per connection (FIFO; echo preserves order); requests due beyond
// that wait and keep their intended time. Closed loop: each active
// connection sends its next request as soon as the previous echo is
// verified; intended time = actual send time.
//
// In open loop the generator's own wake-ups are kept out of the latency:
// the loop polls (waits with timeout 0) instead of blocking for
// Config.SpinBefore before each due send, since a timed wait wakes tens of
// µs late on a VM, and for up to Config.SpinReply after each write while
// its reply is awaited, since a reply that must wake an idle generator
// CPU (on a VM, a halted vCPU) arrives ~20–35 µs later than one that
// finds it polling. Both cost client CPU (Result.ClientCPUPerRq), bounded
// per request, not per second.
//
// For echo and sockperf, each request's content is a function of
// (connection, sequence number), so the expected echo is regenerated
// instead of stored; every byte is compared. A mismatch (a wrong reply),
// a close, a reset or a timeout counts one error of that kind, closes the
// connection and reopens it (requests in flight on
// it are counted in Lost). A request belongs to the measured window
// [Warmup, Warmup+Duration) by its send time — the intended one in open
// loop, the actual one in closed loop (with Churn, its connection's
// connect, from which its latency counts) — not by when its echo arrives: when
// the window closes the generator still writes every window request that is
// due, stops sending anything later, and drains for at most
// min(Timeout, 1 s). Window requests answered in the window or the drain
// count in Requests; those still unanswered then count in Unanswered.
// Warm-up requests never count, even when answered inside the window.
//
// # Result JSON
//
// Result marshals to one object with these keys (times in ns):
//
//	target              host:port driven
//	conns, active, idle connection counts (idle = conns - active)
//	mode                "open" or "closed"
//	proto, size         protocol and bytes per request
//	path, line, expect  the request of proto http and line (absent otherwise)
//	keepalive_ns        idle keep-alive interval, 0 = silent
//	rate_requested      requests/s asked for (0 in closed loop)
//	rate_achieved       requests / window
//	requests            window requests answered with a verified echo (in the window or the drain)
//	unanswered          window requests without an echo when the drain ended
//	saturated           open loop: rate_achieved < 95% of rate_requested
//	latency_ns          {p50,p90,p99,p999,p9999,max,mean,count} from the intended send time
//	service_latency_ns  the same keys, from the actual send time (uncorrected)
//	errors              {kind: count}: mismatch, short, timeout, reset, closed,
//	                    connect, idle_closed, idle_reset, write, read,
//	                    wrong_reply, http_status, http_close
//	error_examples      {kind: the first such error described, the reply quoted}
//	                    (request/reply protocols; absent when none)
//	keepalives          verified keep-alive echoes in the window
//	lost                requests in flight on connections that failed
//	populate_seconds    connect_seconds plus the time in Config.OnConnected (until the server was populated)
//	client_cpu_ns       user+sys CPU of this process over the window (getrusage RUSAGE_SELF)
//	client_cpu_ns_per_req  client_cpu_ns / requests
//	connect_seconds     time to open all connections
//	run_requests        verified echoes over all traffic (warm-up, window, drain)
//	run_cpu_ns          user+sys CPU over that same span, for comparing with a
//	                    server whose CPU is sampled around the whole run
//	client_waits        epoll waits of the traffic loop in the window
//	client_events       events those waits returned
//	window_ns           length of the measured window
//	source_addrs        local addresses bound ([] = kernel's choice)
//	histogram           latency_ns's HdrHistogram, V2 compressed, base64
//	service_histogram   service_latency_ns's HdrHistogram, likewise
//
// Histograms hold ns from 1 to 100 s with 3 significant digits. They merge
// losslessly across runs or generators: DecodeHistogram, MergeHistograms,
// Summarize.
package loadgen
