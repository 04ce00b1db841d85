package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
)

// TestBeforeClose: the hook runs once, after the window and the drain,
// while the server still holds every connection; they close after it.
func TestBeforeClose(t *testing.T) {
	s := startServer(t, echoHandler)
	var calls, openDuring int
	windowEnded := false
	c := Config{
		Target: s.addr, Conns: 3, Active: 1, Mode: traffic.Open, Rate: 200,
		Warmup: 0, Duration: 100 * time.Millisecond,
		OnWindowEnd: func() { windowEnded = true },
		BeforeClose: func(ctx context.Context) {
			calls++
			if !windowEnded {
				t.Error("BeforeClose ran before the window's end")
			}
			if ctx == nil {
				t.Error("BeforeClose got no context")
			}
			s.mu.Lock()
			openDuring = len(s.conns)
			s.mu.Unlock()
		},
	}
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || openDuring != 3 {
		t.Errorf("BeforeClose ran %d times with %d connections open at the server; want once with 3", calls, openDuring)
	}
	if res.Requests == 0 || res.ErrorCount() != 0 {
		t.Errorf("result %d requests, errors %s; want some and none", res.Requests, res.ErrorString())
	}
	s.waitIdle(t) // and then every connection closes
}
