package loadgen

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/traffic"
)

// TestChurnWindowEdge: in closed-loop churn a request is its connection,
// and its latency runs from the connect; it must belong to the measured
// window by that same time in both counts, issued (Unanswered's base) and
// answered, or a connection opened on one side of a window edge and
// written on the other is counted once and not the other time: an
// echoing server then shows one request unanswered (or one too many
// answered). The connection is one end of a socket pair, so the test
// places the edge between connect and write exactly, with no timing.
func TestChurnWindowEdge(t *testing.T) {
	const hour = int64(time.Hour)
	tests := []struct {
		name string
		// win returns the window and the connect time, given the loop's
		// clock now (the write comes later).
		win  func(now int64) (w window, connAt int64)
		want int64 // issued and answered window requests
	}{
		{"connected before the start, written after it", func(now int64) (window, int64) {
			return window{start: now, end: now + hour}, now - 1
		}, 0},
		{"connected before the end, written after it", func(now int64) (window, int64) {
			return window{start: now - hour, end: now}, now - 1
		}, 1},
		{"connected and written inside", func(now int64) (window, int64) {
			return window{start: now - hour, end: now + hour}, now - 1
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := newGen(Config{Target: "127.0.0.1:1", Conns: 1, Active: 1, Mode: traffic.Closed, Churn: true, Duration: time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(g.close)
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Close(fds[1]) })
			g.base = time.Now()
			c := &g.active[0]
			c.fd, c.state = fds[0], stOpen
			g.win, c.connAt = tt.win(g.now())
			g.stop.Store(true) // after the echo: no reconnect (no dialer here)

			c.dueSeq = c.sendSeq + 1
			g.flush(c)
			if c.sendSeq != 1 {
				t.Fatalf("flush wrote %d requests; want 1", c.sendSeq)
			}
			buf := make([]byte, g.codec.size)
			if n, err := unix.Read(fds[1], buf); err != nil || n != len(buf) {
				t.Fatalf("server end read %d bytes, %v; want the %d-byte request", n, err, len(buf))
			}
			if n, err := unix.Write(fds[1], buf); err != nil || n != len(buf) {
				t.Fatalf("server end echoed %d bytes, %v; want %d", n, err, len(buf))
			}
			if !g.read(c, g.now(), false) {
				t.Fatalf("reading the echo failed the connection: errors %v", g.errs)
			}
			if g.runRequests != 1 {
				t.Fatalf("echoes completed = %d; want 1", g.runRequests)
			}
			if g.winIssued != tt.want || g.requests != tt.want {
				t.Errorf("window requests issued %d, answered %d (unanswered %d); want %d and %d",
					g.winIssued, g.requests, g.winIssued-g.requests, tt.want, tt.want)
			}
		})
	}
}

// TestChurnDrainOpenLoop: in open-loop churn, window requests still due
// when the window closes are written in the drain like any others, each
// on a connection of its own, so a server that answers every one leaves
// none unanswered. The server takes 20 ms per answer and the generator
// asks for one every 10 ms on one connection, so a backlog is certain at
// the window's end; the drain (1 s) has time for it.
func TestChurnDrainOpenLoop(t *testing.T) {
	s := startServer(t, delayHandler(DefaultSize, 20*time.Millisecond))
	c := Config{Target: s.addr, Conns: 1, Active: 1, Rate: 100, Churn: true, Duration: 100 * time.Millisecond}
	r := runOK(t, c)
	if r.ErrorCount() != 0 {
		t.Fatalf("errors = %v; want none", r.Errors)
	}
	want := windowRequests(c.Rate, c.Warmup, c.Duration) // 10
	if r.Requests != want || r.Unanswered != 0 {
		t.Errorf("requests %d, unanswered %d; want all %d window requests answered (the backlog at the window's end written in the drain)",
			r.Requests, r.Unanswered, want)
	}
}
