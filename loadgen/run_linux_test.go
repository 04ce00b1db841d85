package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/traffic"
)

// runOK runs c and fails the test on a run error.
func runOK(t *testing.T, c Config) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Run(ctx, c)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		handler func(net.Conn)
		cfg     Config
	}{
		{"echo open", echoHandler, Config{Conns: 20, Active: 3, Rate: 600, Size: 64}},
		{"echo closed", echoHandler, Config{Conns: 5, Active: 2, Mode: traffic.Closed}},
		{"echo open big requests", echoHandler, Config{Conns: 2, Active: 2, Rate: 200, Size: 100000}},
		{"echo open no pipelining", echoHandler, Config{Conns: 2, Active: 1, Rate: 300, Pipeline: 1}},
		{"sockperf open", sockperfHandler, Config{Conns: 10, Active: 2, Rate: 400, Proto: traffic.Sockperf}},
		{"sockperf closed", sockperfHandler, Config{Conns: 3, Active: 1, Mode: traffic.Closed, Proto: traffic.Sockperf, Size: 14}},
		{"idle only", echoHandler, Config{Conns: 10, Active: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.handler)
			c := tt.cfg
			c.Target = s.addr
			c.Warmup = 50 * time.Millisecond
			c.Duration = 300 * time.Millisecond
			var hooks []string
			c.OnWindowStart = func() { hooks = append(hooks, "start") }
			c.OnWindowEnd = func() { hooks = append(hooks, "end") }
			r := runOK(t, c)
			if r.ErrorCount() != 0 {
				t.Errorf("errors = %v; want none", r.Errors)
			}
			if got := s.accepted.Load(); got != int64(c.Conns) {
				t.Errorf("server accepted %d connections; want %d", got, c.Conns)
			}
			if strings.Join(hooks, ",") != "start,end" {
				t.Errorf("hooks called %v; want [start end]", hooks)
			}
			if c.Active > 0 && r.Requests == 0 {
				t.Fatalf("requests = 0; want some")
			}
			if c.Active == 0 && r.Requests != 0 {
				t.Errorf("requests = %d with no active connection; want 0", r.Requests)
			}
			if r.Latency.Count != r.Requests || r.ServiceLatency.Count != r.Requests {
				t.Errorf("histogram counts %d, %d; want requests %d", r.Latency.Count, r.ServiceLatency.Count, r.Requests)
			}
			if r.Requests > 0 && !(r.Latency.P50 > 0 && r.Latency.P50 <= r.Latency.P99 && r.Latency.P99 <= r.Latency.Max) {
				t.Errorf("latency percentiles out of order: %+v", r.Latency)
			}
			// Corrected latency counts from the intended time, never after
			// the actual send: it cannot be below the service time.
			if r.Latency.Max < r.ServiceLatency.Max {
				t.Errorf("corrected max %d < uncorrected max %d", r.Latency.Max, r.ServiceLatency.Max)
			}
			if r.Idle != c.Conns-c.Active || r.WindowNs != int64(c.Duration) {
				t.Errorf("idle %d window %d; want %d, %d", r.Idle, r.WindowNs, c.Conns-c.Active, int64(c.Duration))
			}
			if len(r.SourceAddrs) != 1 || r.SourceAddrs[0] != "127.0.0.1" {
				t.Errorf("source addrs %v; want [127.0.0.1]", r.SourceAddrs)
			}
		})
	}
}

func TestRunClosesEverything(t *testing.T) {
	s := startServer(t, echoHandler)
	before := socketFDs(t)
	r := runOK(t, Config{Target: s.addr, Conns: 50, Active: 2, Rate: 200, Duration: 100 * time.Millisecond, KeepAlive: MinKeepAlive})
	if r.ErrorCount() != 0 {
		t.Errorf("errors = %v; want none", r.Errors)
	}
	s.waitIdle(t)
	if left := leftOpen(before, socketFDs(t)); len(left) > 0 {
		t.Errorf("Run left %d socket/epoll/eventfd fds open: %v", len(left), left)
	}
}

func TestFaultyServer(t *testing.T) {
	tests := []struct {
		name     string
		handler  func(net.Conn)
		cfg      Config
		wantKind string
	}{
		{"corrupted byte", faultyHandler(64*10+5, "corrupt"), Config{Active: 1, Mode: traffic.Closed}, ErrKindMismatch},
		{"dropped byte", faultyHandler(64*10+5, "drop"), Config{Active: 1, Mode: traffic.Closed}, ErrKindMismatch},
		{"dropped byte pipelined", faultyHandler(64*10+5, "drop"), Config{Active: 1, Rate: 2000}, ErrKindMismatch},
		{"truncated echo", faultyHandler(64*10+5, "truncate"), Config{Active: 1, Mode: traffic.Closed}, ErrKindShort},
		{"closed between echoes", faultyHandler(64*10, "close"), Config{Active: 1, Mode: traffic.Closed}, ErrKindClosed},
		{"never answers", silentHandler, Config{Active: 1, Mode: traffic.Closed, Timeout: 50 * time.Millisecond}, ErrKindTimeout},
		{"corrupted keep-alive", faultyHandler(5, "corrupt"), Config{Active: 0, KeepAlive: MinKeepAlive}, ErrKindMismatch},
		{"keep-alive never answered", silentHandler, Config{Active: 0, KeepAlive: MinKeepAlive, Timeout: 30 * time.Millisecond}, ErrKindTimeout},
		{"sockperf corrupted", faultyHandler(64*3+2, "corrupt"), Config{Active: 1, Mode: traffic.Closed, Proto: traffic.Sockperf}, ErrKindMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.handler)
			c := tt.cfg
			c.Target = s.addr
			c.Conns = max(c.Active, 1)
			c.Duration = 300 * time.Millisecond
			r := runOK(t, c)
			if r.Errors[tt.wantKind] == 0 {
				t.Errorf("errors = %v; want %s counted", r.Errors, tt.wantKind)
			}
		})
	}
}

func TestServerClosesIdleConnections(t *testing.T) {
	// A server that closes every connection at once, as a select backend
	// does with fds it cannot register: silent idle connections notice
	// only in the check after the window.
	s := startServer(t, func(c net.Conn) {})
	r := runOK(t, Config{Target: s.addr, Conns: 5, Duration: 50 * time.Millisecond})
	if got := r.Errors[ErrKindIdleClosed]; got != 5 {
		t.Errorf("idle_closed = %d (errors %v); want 5", got, r.Errors)
	}
}

func TestCoordinatedOmission(t *testing.T) {
	// 1000 requests/s, one connection, no pipelining (wrk2's model); the
	// server stalls 200 ms once, 300 ms into the run. The ~200 requests
	// due during the stall are sent late: from their intended time they
	// waited up to 200 ms (corrected p99 sees it), from their actual send
	// time they did not (only the one request caught in the stall did).
	s := startServer(t, stallHandler(64*300, 200*time.Millisecond))
	r := runOK(t, Config{Target: s.addr, Conns: 1, Active: 1, Rate: 1000, Pipeline: 1,
		Warmup: 100 * time.Millisecond, Duration: time.Second, Timeout: 2 * time.Second})
	if r.ErrorCount() != 0 {
		t.Fatalf("errors = %v; want none", r.Errors)
	}
	t.Logf("corrected %+v", r.Latency)
	t.Logf("uncorrected %+v", r.ServiceLatency)
	if r.Latency.P99 < int64(150*time.Millisecond) {
		t.Errorf("corrected p99 = %v; want >= 150ms (the stall)", time.Duration(r.Latency.P99))
	}
	if r.ServiceLatency.P99 > r.Latency.P99/2 {
		t.Errorf("uncorrected p99 = %v; want at most half the corrected p99 %v (only one request saw the stall)",
			time.Duration(r.ServiceLatency.P99), time.Duration(r.Latency.P99))
	}
	if r.ServiceLatency.Max < int64(150*time.Millisecond) {
		t.Errorf("uncorrected max = %v; want >= 150ms (the request caught in the stall)", time.Duration(r.ServiceLatency.Max))
	}
}

func TestCoordinatedOmissionPipelined(t *testing.T) {
	// With pipelining the requests are written on time while the server
	// stalls, so both views see the stall: the schedule is kept.
	s := startServer(t, stallHandler(64*300, 200*time.Millisecond))
	r := runOK(t, Config{Target: s.addr, Conns: 1, Active: 1, Rate: 1000,
		Warmup: 100 * time.Millisecond, Duration: time.Second, Timeout: 2 * time.Second})
	if r.ErrorCount() != 0 {
		t.Fatalf("errors = %v; want none", r.Errors)
	}
	if r.Latency.P99 < int64(150*time.Millisecond) || r.ServiceLatency.P99 < int64(150*time.Millisecond) {
		t.Errorf("p99 corrected %v uncorrected %v; want both >= 150ms",
			time.Duration(r.Latency.P99), time.Duration(r.ServiceLatency.P99))
	}
}

func TestSaturation(t *testing.T) {
	tests := []struct {
		name     string
		handler  func(net.Conn)
		rate     float64
		pipeline int
		want     bool
	}{
		// At most 1/5ms = 200 echoes/s without pipelining: 1000/s cannot be met.
		{"slow server", slowHandler(64, 5*time.Millisecond), 1000, 1, true},
		{"fast server, low rate", echoHandler, 200, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.handler)
			r := runOK(t, Config{Target: s.addr, Conns: 1, Active: 1, Rate: tt.rate, Pipeline: tt.pipeline,
				Duration: 500 * time.Millisecond, Timeout: 5 * time.Second})
			if r.Saturated != tt.want {
				t.Errorf("saturated = %v (requested %.0f/s, achieved %.0f/s); want %v", r.Saturated, r.RateRequested, r.RateAchieved, tt.want)
			}
		})
	}
}

func TestCheckLimits(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	ports, err := localPorts(PortRange{})
	if err != nil {
		t.Fatal(err)
	}
	base := Config{Target: "127.0.0.1:9", Conns: 10, Duration: time.Second}
	tests := []struct {
		name     string
		edit     func(c *Config)
		sentinel error
		want     []string
	}{
		{"own nofile", func(c *Config) { c.Conns = int(lim.Max) }, ErrNoFile,
			[]string{"need ", " fds, limit is ", ": lower -conns or raise ulimit -n"}},
		{"server nofile", func(c *Config) { c.Conns = 5000; c.ServerNoFile = 1024 }, ErrServerNoFile,
			[]string{"server needs 5017 fds, its limit is 1024", "raise the server's ulimit -n"}},
		{"ports of one given source", func(c *Config) {
			c.Conns = 20
			c.SourceIPs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
			c.LocalPorts = PortRange{ports.Lo, ports.Lo + 9}
		}, ErrPorts, []string{"need 20 local ports per source address", "has 10", "-source-ips"}},
		{"ports of a non-loopback target", func(c *Config) {
			c.Target = "192.0.2.1:9"
			c.Conns = 20
			c.LocalPorts = PortRange{ports.Lo, ports.Lo + 9}
		}, ErrPorts, []string{"need 20 local ports", "add source addresses with -source-ips"}},
		{"fits", func(c *Config) {}, nil, nil},
		{"loopback spreads", func(c *Config) { c.Conns = 20; c.LocalPorts = PortRange{ports.Lo, ports.Lo + 9} }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			err := Check(c)
			if tt.sentinel == nil {
				if err != nil {
					t.Fatalf("Check = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("Check = %v; want errors.Is %v", err, tt.sentinel)
			}
			var le *LimitError
			if !errors.As(err, &le) || le.Need <= le.Have {
				t.Errorf("Check = %#v; want a *LimitError with Need > Have", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %q; want it to contain %q", err, w)
				}
			}
			// Run refuses the same config before opening anything.
			before := socketFDs(t)
			if _, err := Run(context.Background(), c); !errors.Is(err, tt.sentinel) {
				t.Errorf("Run = %v; want %v", err, tt.sentinel)
			}
			if left := leftOpen(before, socketFDs(t)); len(left) > 0 {
				t.Errorf("Run left %d fds open after a refused config: %v", len(left), left)
			}
		})
	}
}

// waitAccepted waits (bounded) until s accepted n connections. A run
// stopped right after connecting may close connections still in the
// server's accept queue: waitIdle alone would pass before they are
// accepted and then counted as fds of this process.
func waitAccepted(t *testing.T, s *testServer, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.accepted.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("server accepted %d connections in 10s; want %d", s.accepted.Load(), n)
		}
		time.Sleep(time.Millisecond) // polling the server's state, bounded above
	}
}

// socketFDs lists this process's sockets, epoll instances and eventfds
// (what Run opens) as "FD TARGET" entries; a socket's target names its
// inode. (Pipes are left out: io.Copy in the test servers keeps a pool of
// splice pipes.)
func socketFDs(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[string]bool{}
	for _, e := range ents {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory's own fd, closed by now
		}
		if strings.HasPrefix(l, "socket:") || l == "anon_inode:[eventpoll]" || l == "anon_inode:[eventfd]" {
			fds[e.Name()+" "+l] = true
		}
	}
	return fds
}

// leftOpen returns the entries of after that are not in before: fds
// opened since and still open. It does not count fds closed meanwhile: the
// fd table is the process's, and a finalizer may close an earlier test's
// leftover socket at any time; a count would call that a change.
func leftOpen(before, after map[string]bool) []string {
	var left []string
	for fd := range after {
		if !before[fd] {
			left = append(left, fd)
		}
	}
	slices.Sort(left)
	return left
}

// portWindow returns a random window of n local ports inside the system
// range, so concurrent or repeated test runs do not share one.
func portWindow(t *testing.T, n int) PortRange {
	t.Helper()
	sys, err := localPorts(PortRange{})
	if err != nil {
		t.Fatal(err)
	}
	lo := int(sys.Lo) + rand.IntN(sys.Size()-n)
	return PortRange{uint16(lo), uint16(lo + n - 1)}
}

// needPortRangeOption skips when the kernel lacks IP_LOCAL_PORT_RANGE (< 6.3).
func needPortRangeOption(t *testing.T) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, 40000|40010<<16); err != nil {
		t.Skipf("IP_LOCAL_PORT_RANGE not supported: %v", err)
	}
}

func TestAddressSpreading(t *testing.T) {
	// Scaled down: 8 local ports per source address instead of ~28,000,
	// 30 connections. One address cannot hold them; spreading over
	// 127.0.0.x must.
	needPortRangeOption(t)
	s := startServer(t, echoHandler)
	r := runOK(t, Config{Target: s.addr, Conns: 30, Active: 2, Rate: 200, Duration: 100 * time.Millisecond,
		LocalPorts: portWindow(t, 8)})
	if r.ErrorCount() != 0 {
		t.Errorf("errors = %v; want none", r.Errors)
	}
	if got := s.accepted.Load(); got != 30 {
		t.Errorf("server accepted %d connections; want 30", got)
	}
	if got, want := s.sourceCount(), len(r.SourceAddrs); got != want || got < 4 {
		t.Errorf("server saw %d source addresses, result lists %d (%v); want equal and >= 4 (30 conns / 8 ports)", got, want, r.SourceAddrs)
	}
}

func TestOutOfPortsMessage(t *testing.T) {
	// Two connections from 127.0.0.1 already use 2 of the 3 ports of the
	// window towards this server, so the pre-check passes but the kernel
	// runs out: the error must say so and what to do.
	needPortRangeOption(t)
	s := startServer(t, echoHandler)
	ports := portWindow(t, 3)
	target, err := resolveTarget(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	src := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	d, err := newDialer(target, src, ports)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		fd, err := d.dial(i, false)
		if err != nil {
			t.Fatalf("pre-open connection %d: %v", i, err)
		}
		t.Cleanup(func() { unix.Close(fd) })
	}
	_, err = Run(context.Background(), Config{Target: s.addr, Conns: 3, Duration: 100 * time.Millisecond,
		SourceIPs: src, LocalPorts: ports})
	var ce *ConnectError
	if !errors.As(err, &ce) || !errors.Is(err, unix.EADDRNOTAVAIL) {
		t.Fatalf("Run = %v; want a *ConnectError wrapping EADDRNOTAVAIL", err)
	}
	for _, w := range []string{"127.0.0.1 -> " + s.addr, "no free local port", "-source-ips"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Run = %q; want it to contain %q", err, w)
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	addr := freeAddr(t)
	start := time.Now()
	_, err := Run(context.Background(), Config{Target: addr, Conns: 3, Active: 1, Mode: traffic.Closed, Duration: time.Second})
	if !errors.Is(err, unix.ECONNREFUSED) || !strings.Contains(err.Error(), "nothing is listening there") {
		t.Fatalf("Run = %v; want ECONNREFUSED with a hint", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v to report a refused connection", d)
	}
}

func TestKeepAliveTrickle(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{} // remote address -> bytes echoed
	s := startServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got[c.RemoteAddr().String()] += n
			mu.Unlock()
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	})
	const idle, every = 10, MinKeepAlive
	r := runOK(t, Config{Target: s.addr, Conns: idle, KeepAlive: every,
		Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if r.ErrorCount() != 0 {
		t.Errorf("errors = %v; want none", r.Errors)
	}
	if r.KeepAlives == 0 {
		t.Errorf("keepalives = 0; want verified keep-alive echoes in the window")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != idle {
		t.Errorf("%d idle connections sent keep-alives; want all %d", len(got), idle)
	}
	// About 350ms/100ms = 3-4 messages of 64 bytes each; the bound is loose
	// (no timing thresholds) but catches a connection that floods.
	for addr, n := range got {
		if n%KeepAliveMaxSize != 0 || n/KeepAliveMaxSize > 40 {
			t.Errorf("idle connection %s sent %d bytes; want whole 64-byte keep-alives, at most 40", addr, n)
		}
	}
}

func TestCancel(t *testing.T) {
	s := startServer(t, echoHandler)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := socketFDs(t)
	start := time.Now()
	_, err := Run(ctx, Config{Target: s.addr, Conns: 20, Active: 2, Mode: traffic.Closed, Duration: time.Minute,
		OnWindowStart: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v to stop after cancel; want prompt", d)
	}
	waitAccepted(t, s, 20)
	s.waitIdle(t)
	if left := leftOpen(before, socketFDs(t)); len(left) > 0 {
		t.Errorf("a cancelled Run left %d socket/epoll/eventfd fds open: %v", len(left), left)
	}
}

func TestResultJSONRoundTrip(t *testing.T) {
	s := startServer(t, echoHandler)
	r := runOK(t, Config{Target: s.addr, Conns: 1, Active: 1, Rate: 500, Duration: 200 * time.Millisecond})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"target", "conns", "active", "mode", "rate_requested", "rate_achieved", "requests", "saturated",
		"latency_ns", "service_latency_ns", "errors", "client_cpu_ns", "connect_seconds", "window_ns", "histogram"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks key %q", k)
		}
	}
	lat := m["latency_ns"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p999", "p9999", "max", "mean", "count"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ns lacks key %q", k)
		}
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.DecodeHistograms(); err != nil {
		t.Fatal(err)
	}
	if !back.Corrected.Equals(r.Corrected) || !back.Uncorrected.Equals(r.Uncorrected) {
		t.Errorf("histograms changed in a JSON round trip")
	}
	if Summarize(back.Corrected) != r.Latency {
		t.Errorf("summary of decoded histogram %+v; want %+v", Summarize(back.Corrected), r.Latency)
	}
}

func TestHistogramMerge(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		v := int64(rng.ExpFloat64()*50e3) + 1
		if i%3 == 0 {
			recordClamped(a, v)
		} else {
			recordClamped(b, v*7)
			v *= 7
		}
		recordClamped(all, v)
	}
	ea, err := EncodeHistogram(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := EncodeHistogram(b)
	if err != nil {
		t.Fatal(err)
	}
	da, err := DecodeHistogram(ea)
	if err != nil {
		t.Fatal(err)
	}
	db, err := DecodeHistogram(eb)
	if err != nil {
		t.Fatal(err)
	}
	if !da.Equals(a) || !db.Equals(b) {
		t.Fatalf("encode/decode is not lossless")
	}
	m, err := MergeHistograms(da, nil, db)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Equals(all) {
		t.Errorf("merged histogram differs from one recorded with every value")
	}
	if got, want := Summarize(m), Summarize(all); got != want {
		t.Errorf("merged summary %+v; want %+v", got, want)
	}
	if _, err := DecodeHistogram("not a histogram"); err == nil {
		t.Errorf("DecodeHistogram(garbage) = nil error")
	}
	if h, err := DecodeHistogram(""); err != nil || h.TotalCount() != 0 {
		t.Errorf("DecodeHistogram(\"\") = %v, %v; want an empty histogram", h, err)
	}
}

// idleServer accepts connections on a raw socket and only holds the fds:
// no goroutine or Go object per connection, so the test measures the
// generator's memory alone.
func idleServer(t testing.TB) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 4096); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
			if err == unix.EINTR || err == unix.ECONNABORTED {
				continue
			}
			if err != nil {
				return // shutdown below
			}
			mu.Lock()
			held = append(held, nfd)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		unix.Shutdown(fd, unix.SHUT_RDWR) // wakes the blocked accept
		<-done
		unix.Close(fd)
		mu.Lock()
		for _, c := range held {
			unix.Close(c)
		}
		mu.Unlock()
	})
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sa.(*unix.SockaddrInet4).Port)).String()
}

// idleCost runs with conns silent idle connections and returns the live
// heap and goroutine count sampled inside the measured window.
func idleCost(t *testing.T, addr string, conns int) (heap uint64, goroutines int) {
	t.Helper()
	runOK(t, Config{Target: addr, Conns: conns, Duration: 50 * time.Millisecond, OnWindowStart: func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap, goroutines = ms.HeapAlloc, runtime.NumGoroutine()
	}})
	return heap, goroutines
}

func TestIdleConnectionCost(t *testing.T) {
	// The slope between 100 and 2100 idle connections is the cost of one
	// idle connection; fixed costs (histograms, buffers) cancel out.
	if n := openFDs(); n+2*2100+100 > 20000 {
		t.Skip("not enough fds")
	}
	addr := idleServer(t)
	h1, g1 := idleCost(t, addr, 100)
	h2, g2 := idleCost(t, addr, 2100)
	per := (float64(h2) - float64(h1)) / 2000
	t.Logf("heap %d -> %d bytes: %.1f bytes per idle connection; goroutines %d -> %d", h1, h2, per, g1, g2)
	if per > 1024 {
		t.Errorf("%.0f bytes of Go heap per idle connection; want <= 1024", per)
	}
	if g2 != g1 {
		t.Errorf("goroutines %d with 100 idle connections, %d with 2100; want no goroutine per connection", g1, g2)
	}
}

func TestConnectErrorMessages(t *testing.T) {
	target := netip.MustParseAddrPort("127.0.0.1:7000")
	src := netip.MustParseAddr("127.0.0.3")
	tests := []struct {
		op   string
		err  error
		want string
	}{
		{"socket", unix.EMFILE, "too many open files; lower -conns or raise ulimit -n"},
		{"socket", unix.ENFILE, "lower -conns or raise ulimit -n"},
		{"bind", unix.EADDRNOTAVAIL, "not an address of this host; fix -source-ips"},
		{"connect", unix.EADDRNOTAVAIL, "no free local port for this source address"},
		{"connect", unix.ECONNREFUSED, "nothing is listening there"},
		{"connect", unix.ETIMEDOUT, "accept queue may be full"},
		{"connect", unix.EHOSTUNREACH, "no route to the target"},
	}
	for _, tt := range tests {
		e := &ConnectError{Op: tt.op, Source: src, Target: target, Opened: 12, Total: 19000, Err: tt.err}
		msg := e.Error()
		for _, want := range []string{tt.op + " 127.0.0.3 -> 127.0.0.1:7000", "(12 of 19000 connections open)", tt.want} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s %v: %q; want it to contain %q", tt.op, tt.err, msg, want)
			}
		}
		if !errors.Is(e, tt.err) {
			t.Errorf("errors.Is(%v, %v) = false", e, tt.err)
		}
	}
}

// TestChurn: with Churn every request is a connection of its own, so the
// server accepts one connection per request on top of the idle ones, and
// nothing counts as an error.
func TestChurn(t *testing.T) {
	for _, c := range []Config{
		{Conns: 10, Active: 2, Mode: traffic.Closed, Churn: true},
		{Conns: 10, Active: 2, Rate: 400, Churn: true},
	} {
		t.Run(string(c.mode()), func(t *testing.T) {
			s := startServer(t, echoHandler)
			c.Target = s.addr
			c.Warmup = 50 * time.Millisecond
			c.Duration = 300 * time.Millisecond
			r := runOK(t, c)
			if r.ErrorCount() != 0 || r.Requests == 0 {
				t.Fatalf("errors %v, %d requests; want none and some", r.Errors, r.Requests)
			}
			// Warm-up and drain churn too: at least one accept per request
			// in the window, beyond the first Conns.
			if got, want := s.accepted.Load(), int64(c.Conns)+r.Requests; got < want {
				t.Errorf("server accepted %d connections for %d requests; want at least %d", got, r.Requests, want)
			}
		})
	}
	if err := (Config{Target: "127.0.0.1:1", Conns: 3, Active: 0, Churn: true}).Validate(); err == nil || !strings.Contains(err.Error(), "Churn with Active 0") {
		t.Errorf("Validate(Churn, Active 0) = %v; want the churn error", err)
	}
}
