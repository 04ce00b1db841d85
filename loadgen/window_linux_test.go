package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
)

// delayHandler echoes each request of size bytes d after it arrived, in
// order. Unlike slowHandler the delays overlap: latency is d whatever the
// rate, so the test decides exactly which answers land in the window, in
// the drain, or after it.
func delayHandler(size int, d time.Duration) func(c net.Conn) {
	return func(c net.Conn) {
		type msg struct {
			b   []byte
			due time.Time
		}
		pending := make(chan msg, 1<<14) // far more than a test has in flight
		quit, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for m := range pending {
				t := time.NewTimer(time.Until(m.due))
				select {
				case <-t.C:
				case <-quit:
					t.Stop()
					return
				}
				if _, err := c.Write(m.b); err != nil {
					c.Close() // ends the reader below
					return
				}
			}
		}()
		for {
			b := make([]byte, size)
			if _, err := io.ReadFull(c, b); err != nil {
				break
			}
			pending <- msg{b, time.Now().Add(d)}
		}
		close(quit)
		close(pending)
		<-done
	}
}

// windowRequests returns how many open-loop requests at rate are intended
// in [warmup, warmup+duration), by the generator's own arithmetic.
func windowRequests(rate float64, warmup, duration time.Duration) int64 {
	interval := 1e9 / rate
	var n int64
	for i := 0; ; i++ {
		t := int64(float64(i) * interval)
		if t >= int64(warmup+duration) {
			return n
		}
		if t >= int64(warmup) {
			n++
		}
	}
}

func TestWindowEdgesOpenLoop(t *testing.T) {
	// Every answer takes 1.2 s, 3/4 of the 1.6 s window; the drain lasts
	// 1 s (drainMax, below the default 2 s Timeout). So, from the start of
	// traffic:
	//   intended [0, 0.2)    warm-up, answered at [1.2, 1.4) inside the
	//                        window: not counted;
	//   intended [0.2, 0.6)  answered inside the window: counted;
	//   intended [0.6, 1.6)  answered in the drain: counted;
	//   intended [1.6, 1.8)  answered after the drain: Unanswered.
	// Counting by arrival, as the generator once did, gives ~60 requests
	// (20 of them warm-up) and loses the last 140 window requests unseen.
	const d = 1200 * time.Millisecond
	s := startServer(t, delayHandler(DefaultSize, d))
	c := Config{Target: s.addr, Conns: 1, Active: 1, Rate: 100,
		Warmup: 200 * time.Millisecond, Duration: 1600 * time.Millisecond}
	r := runOK(t, c)
	t.Logf("requests %d unanswered %d run_requests %d latency %+v", r.Requests, r.Unanswered, r.RunRequests, r.Latency)
	if r.ErrorCount() != 0 {
		t.Fatalf("errors = %v; want none", r.Errors)
	}
	want := windowRequests(c.Rate, c.Warmup, c.Duration) // 160
	if got := r.Requests + r.Unanswered; got != want {
		t.Errorf("requests %d + unanswered %d = %d; want every window request, %d (no warm-up request counted)",
			r.Requests, r.Unanswered, got, want)
	}
	if r.Requests < 100 {
		t.Errorf("requests = %d; want >= 100 (window requests answered in the drain count)", r.Requests)
	}
	if r.Unanswered < 1 || r.Unanswered > 60 {
		t.Errorf("unanswered = %d; want about 20, the requests intended in the window's last 0.2 s", r.Unanswered)
	}
	if warm := windowRequests(c.Rate, 0, c.Warmup); r.RunRequests-r.Requests < warm {
		t.Errorf("run_requests %d - requests %d < %d; want the warm-up requests answered (inside the window) but not counted",
			r.RunRequests, r.Requests, warm)
	}
	if r.Latency.Count != r.Requests || r.ServiceLatency.Count != r.Requests {
		t.Errorf("histogram counts %d, %d; want requests %d", r.Latency.Count, r.ServiceLatency.Count, r.Requests)
	}
	if p50 := r.Latency.P50; p50 < int64(d) {
		t.Errorf("latency p50 = %v; want >= the server's delay %v", time.Duration(p50), d)
	}
	if want := float64(r.Requests) / c.Duration.Seconds(); r.RateAchieved != want {
		t.Errorf("rate_achieved = %v; want requests / window = %v", r.RateAchieved, want)
	}
}

func TestWindowEdgesClosedLoop(t *testing.T) {
	// Closed loop: a request belongs to the window by its actual send
	// time. Two connections, each answer d late; nothing new is sent after
	// the window, and the drain lasts 1 s.
	tests := []struct {
		name                 string
		d, warmup, duration  time.Duration
		requests, unanswered int64
	}{
		// Sent at 0 (warm-up, answered at 0.9 inside the window [0.6,
		// 1.4): not counted) and at 0.9 (in the window, answered at 1.8
		// in the drain: counted).
		{"answered in the drain", 900 * time.Millisecond, 600 * time.Millisecond, 800 * time.Millisecond, 2, 0},
		// Sent at 0 (warm-up, answered at 1.5 inside the window [1.2,
		// 1.8)) and at 1.5 (in the window, its answer at 3.0 comes after
		// the drain ends at 2.8: unanswered).
		{"never answered", 1500 * time.Millisecond, 1200 * time.Millisecond, 600 * time.Millisecond, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, delayHandler(DefaultSize, tt.d))
			r := runOK(t, Config{Target: s.addr, Conns: 2, Active: 2, Mode: traffic.Closed,
				Warmup: tt.warmup, Duration: tt.duration})
			if r.ErrorCount() != 0 {
				t.Fatalf("errors = %v; want none", r.Errors)
			}
			if r.Requests != tt.requests || r.Unanswered != tt.unanswered {
				t.Errorf("requests %d unanswered %d; want %d, %d", r.Requests, r.Unanswered, tt.requests, tt.unanswered)
			}
			if want := tt.requests + 2; r.RunRequests != want {
				t.Errorf("run_requests = %d; want %d (the warm-up requests answered too)", r.RunRequests, want)
			}
			if r.Latency.Count != r.Requests {
				t.Errorf("latency count %d; want requests %d", r.Latency.Count, r.Requests)
			}
		})
	}
}

func TestOnConnected(t *testing.T) {
	// The hook waits as the harness does, until the server accepted every
	// connection, and then some more: at least 300 ms in all. That time
	// must come out of neither the warm-up nor the window, and idle
	// connections must not suffer from the wait.
	const hold = 300 * time.Millisecond
	for _, ka := range []time.Duration{0, MinKeepAlive} {
		name := "silent idle"
		if ka > 0 {
			name = "keep-alive idle"
		}
		t.Run(name, func(t *testing.T) {
			s := startServer(t, echoHandler)
			var mu sync.Mutex
			var events []string
			var hookDone, winStart, winEnd time.Time
			mark := func(e string, at *time.Time) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
				*at = time.Now()
			}
			c := Config{Target: s.addr, Conns: 20, Active: 2, Rate: 200, KeepAlive: ka,
				Warmup: 100 * time.Millisecond, Duration: 200 * time.Millisecond}
			c.OnConnected = func(ctx context.Context) error {
				deadline := time.Now().Add(hold)
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				for s.accepted.Load() < int64(c.Conns) || time.Now().Before(deadline) {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-tick.C:
					}
				}
				mark("connected", &hookDone)
				return nil
			}
			c.OnWindowStart = func() { mark("start", &winStart) }
			c.OnWindowEnd = func() { mark("end", &winEnd) }
			r := runOK(t, c)
			if r.ErrorCount() != 0 {
				t.Errorf("errors = %v; want none", r.Errors)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(events) != 3 || events[0] != "connected" || events[1] != "start" || events[2] != "end" {
				t.Fatalf("hooks called %v; want [connected start end]", events)
			}
			if got := winStart.Sub(hookDone); got < c.Warmup {
				t.Errorf("warm-up after the hook lasted %v; want >= Warmup %v", got, c.Warmup)
			}
			// Both edges are fixed from one origin after the hook; the
			// start may fire a little late, so measure the end from there.
			if got := winEnd.Sub(hookDone); got < c.Warmup+c.Duration {
				t.Errorf("window ended %v after the hook; want >= Warmup+Duration %v", got, c.Warmup+c.Duration)
			}
			// The schedule starts after the hook: every window request is
			// intended in the window and a fast echo answers all of them.
			if want := windowRequests(c.Rate, c.Warmup, c.Duration); r.Requests != want || r.Unanswered != 0 {
				t.Errorf("requests %d unanswered %d; want %d, 0", r.Requests, r.Unanswered, want)
			}
			if r.PopulateSeconds < hold.Seconds() || r.PopulateSeconds-r.ConnectSeconds < hold.Seconds() {
				t.Errorf("populate_seconds %v connect_seconds %v; want populate >= connect + %v",
					r.PopulateSeconds, r.ConnectSeconds, hold.Seconds())
			}
		})
	}
}

func TestOnConnectedError(t *testing.T) {
	s := startServer(t, echoHandler)
	before := socketFDs(t)
	errNotReady := errors.New("server did not report every connection")
	windowStarted := false
	_, err := Run(context.Background(), Config{Target: s.addr, Conns: 10, Active: 1, Rate: 100, Duration: time.Second,
		OnConnected:   func(context.Context) error { return errNotReady },
		OnWindowStart: func() { windowStarted = true }})
	if !errors.Is(err, errNotReady) {
		t.Fatalf("Run = %v; want it to wrap the hook's error", err)
	}
	if windowStarted {
		t.Errorf("OnWindowStart called after OnConnected failed")
	}
	waitAccepted(t, s, 10)
	s.waitIdle(t)
	if left := leftOpen(before, socketFDs(t)); len(left) > 0 {
		t.Errorf("Run left %d socket/epoll/eventfd fds open: %v", len(left), left)
	}
}

func TestPopulateSecondsWithoutHook(t *testing.T) {
	s := startServer(t, echoHandler)
	r := runOK(t, Config{Target: s.addr, Conns: 3, Duration: 50 * time.Millisecond})
	if r.PopulateSeconds < r.ConnectSeconds || r.PopulateSeconds > r.ConnectSeconds+0.5 {
		t.Errorf("populate_seconds %v; want connect_seconds %v (no hook), within rounding", r.PopulateSeconds, r.ConnectSeconds)
	}
}
