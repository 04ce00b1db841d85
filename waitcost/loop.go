package waitcost

import (
	"fmt"
	"time"

	"github.com/muxbench/muxbench/backends"
)

// Budget bounds one sample's timed calls in count and time: it ends once
// both MinCalls and MinTime are reached, or at MaxTime, or at MaxCalls,
// whichever comes first. The clock is read between batches of calls,
// never around each call.
type Budget struct {
	MinCalls, MaxCalls int64
	MinTime, MaxTime   time.Duration
}

// Budget is the configuration's sample budget in mode: counted in calls
// (hot) or wake-ups (blocking, at least MinWakeups).
func (c Config) Budget(mode string) Budget {
	b := Budget{MinCalls: c.MinCalls, MaxCalls: c.MaxCalls, MinTime: c.MinTime, MaxTime: c.MaxTime}
	if mode == ModeBlocking {
		b.MinCalls = c.MinWakeups
	}
	return b
}

// Timing is the outcome of TimeWaits.
type Timing struct {
	Calls       int64
	Elapsed     time.Duration
	Wrong       int64 // calls that returned events, but not len(events) of them
	Interrupted int64 // calls that returned none (a signal: Poller.Wait's 0, nil)
}

// maxBatch bounds the calls between two clock readings: enough to make
// the reading's cost (tens of ns) vanish against even a 1 µs call.
const maxBatch = 1 << 12

// TimeWaits calls p.Wait(events, timeoutMs) back to back within b and
// times the calls. Every call must fill all of events (the caller sized
// it to the number of ready fds). The batch between clock readings starts
// at one call and doubles while a batch takes under a sixteenth of
// MinTime, so a slow call is never overshot by much and a fast one is
// timed in long runs. It allocates nothing.
func TimeWaits(p backends.Poller, events []backends.Event, timeoutMs int, b Budget) (Timing, error) {
	var t Timing
	want := len(events)
	batch := int64(1)
	start := time.Now()
	prev := time.Duration(0)
	for {
		batch = min(batch, b.MaxCalls-t.Calls)
		for i := int64(0); i < batch; i++ {
			n, err := p.Wait(events, timeoutMs)
			if err != nil {
				t.Elapsed = time.Since(start)
				return t, fmt.Errorf("wait call %d: %w", t.Calls+i+1, err)
			}
			if n != want {
				if n == 0 {
					t.Interrupted++
				} else {
					t.Wrong++
				}
			}
		}
		t.Calls += batch
		t.Elapsed = time.Since(start)
		if t.Elapsed >= b.MaxTime || t.Calls >= b.MaxCalls || (t.Calls >= b.MinCalls && t.Elapsed >= b.MinTime) {
			return t, nil
		}
		if t.Elapsed-prev < b.MinTime/16 && batch < maxBatch {
			batch *= 2
		}
		prev = t.Elapsed
	}
}
