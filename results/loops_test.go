package results

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/internal/wire"
)

func TestWastedWakeups(t *testing.T) {
	for _, tc := range []struct {
		name       string
		wakeups    int64
		start, end wire.Stats
		want       int64
	}{
		// Three loops woken for a connection: one accepted (a wait that
		// worked), two slept again inside epoll_wait.
		{"hidden in the kernel", 3, wire.Stats{}, wire.Stats{Waits: 1}, 2},
		// A wait that returned, found the connection gone: wasted too.
		{"visible", 2, wire.Stats{Waits: 5, WastedWaits: 1}, wire.Stats{Waits: 7, WastedWaits: 2}, 1},
		// More productive waits than sleeps (events were ready): a lower
		// bound, never negative.
		{"ready without sleeping", 2, wire.Stats{}, wire.Stats{Waits: 5}, 0},
	} {
		if got := WastedWakeups(tc.wakeups, tc.start, tc.end); got != tc.want {
			t.Errorf("%s: WastedWakeups = %d; want %d", tc.name, got, tc.want)
		}
	}
}

// loopsReport is a report of two or more loops: accepts, open connections,
// waits, wake-ups and CPU for each.
func loopsReport(loops ...wire.Loop) wire.Report {
	var r wire.Report
	for _, l := range loops {
		r.Stats.Add(l.Stats)
		r.LoopCPUNs += l.CPUNs
		r.LoopWakeups += l.Wakeups
	}
	r.Loops = loops
	return r
}

func loop(accepts uint64, open int64, waits uint64, wakeups, cpu int64) wire.Loop {
	return wire.Loop{Stats: wire.Stats{Accepts: accepts, ConnsOpen: open, Waits: waits}, Wakeups: wakeups, CPUNs: cpu, TID: 1}
}

func TestServerDeltaLoops(t *testing.T) {
	h := wire.Hello{LoopThread: true, Loops: 2, Sharing: "shared-listener"}
	start := loopsReport(loop(0, 0, 0, 0, 0), loop(0, 0, 0, 0, 0))
	// Churn: loop 0 accepted 30 (30 waits, 40 wake-ups: 10 wasted), loop 1
	// accepted 10 (10 waits, 40 wake-ups: 30 wasted).
	end := loopsReport(loop(30, 1, 30, 40, 3000), loop(10, 0, 10, 40, 1000))
	d := ServerDeltaOf(h, start, end, 40)
	if d.Loops != 2 || d.Sharing != "shared-listener" || len(d.PerLoop) != 2 {
		t.Fatalf("loops %d, sharing %q, per loop %d; want 2, shared-listener, 2", d.Loops, d.Sharing, len(d.PerLoop))
	}
	if d.Wakeups != 80 || d.WastedWakeups != 40 || d.WastedWakeupsPerAccept != 1 || d.WakeupsPerReq != 2 {
		t.Errorf("wake-ups %d, wasted %d, wasted per accept %v, per request %v; want 80, 40, 1, 2",
			d.Wakeups, d.WastedWakeups, d.WastedWakeupsPerAccept, d.WakeupsPerReq)
	}
	if l := d.PerLoop[0]; l.ConnShare != 0.75 || l.CPUShare != 0.75 || l.WastedWakeups != 10 {
		t.Errorf("loop 0: %+v; want 0.75 of the connections and of the CPU, 10 wasted wake-ups", l)
	}
	if got, busiest := d.ConnBalance(), d.BusiestLoopShare(); got != 3 || busiest != 0.75 {
		t.Errorf("ConnBalance = %v, BusiestLoopShare = %v; want 3 (30 / 10 accepts), 0.75", got, busiest)
	}
	// Keep-alive: no accept in the window; the shares are of the
	// connections open, and a loop holding none is an infinite imbalance.
	end = loopsReport(loop(0, 8, 30, 30, 3000), loop(0, 0, 0, 0, 0))
	d = ServerDeltaOf(h, start, end, 30)
	if d.PerLoop[0].ConnShare != 1 || !math.IsInf(d.ConnBalance(), 1) || d.WastedWakeupsPerAccept != 0 {
		t.Errorf("keep-alive: loop 0 share %v, balance %v, wasted per accept %v; want 1, +Inf, 0", d.PerLoop[0].ConnShare, d.ConnBalance(), d.WastedWakeupsPerAccept)
	}
	// One loop: its thread's wake-ups, no per-loop part.
	one := ServerDeltaOf(wire.Hello{LoopThread: true},
		wire.Report{Stats: wire.Stats{Waits: 10}, LoopWakeups: 10},
		wire.Report{Stats: wire.Stats{Waits: 20, Accepts: 5}, LoopWakeups: 22}, 10)
	if one.Loops != 0 || one.PerLoop != nil || one.Wakeups != 12 || one.WastedWakeups != 2 || one.ConnBalance() != 0 {
		t.Errorf("one loop: %+v; want no loops, 12 wake-ups, 2 wasted, no balance", one)
	}
}

// TestChurnJSON: one value is written as a bool, as files have it since
// before the axis (absent when false), both as a list; both read back.
func TestChurnJSON(t *testing.T) {
	for _, tc := range []struct {
		churn Churn
		want  string
	}{
		{nil, `{}`},
		{Churn{true}, `{"churn":true}`},
		{Churn{false, true}, `{"churn":[false,true]}`},
	} {
		b, err := json.Marshal(struct {
			Churn Churn `json:"churn,omitempty"`
		}{tc.churn})
		if err != nil || string(b) != tc.want {
			t.Errorf("marshal %v = %s, %v; want %s", tc.churn, b, err, tc.want)
		}
		var back struct {
			Churn Churn `json:"churn,omitempty"`
		}
		if err := json.Unmarshal(b, &back); err != nil || len(back.Churn) != len(tc.churn) {
			t.Errorf("unmarshal %s = %v, %v; want %v", b, back.Churn, err, tc.churn)
		}
	}
	var c Churn
	if err := json.Unmarshal([]byte(`false`), &c); err != nil || c != nil || c.Any() || len(c.Values()) != 1 {
		t.Errorf("false read as %v, %v; want the empty axis, one value false", c, err)
	}
	if err := json.Unmarshal([]byte(`"yes"`), &c); err == nil || !strings.Contains(err.Error(), "want true, false or a list") {
		t.Errorf(`"yes" read with error %v; want one saying what churn takes`, err)
	}
}

// TestSummarizeAxes: samples that differ only in loops or churn are
// different points.
func TestSummarizeAxes(t *testing.T) {
	var samples []Sample
	for _, loops := range []int{0, 2, 4} {
		for _, churn := range []bool{false, true} {
			samples = append(samples, Sample{Backend: "b", FDs: 10, Active: 1, Loops: loops, Churn: churn, Status: StatusOK})
		}
	}
	if got := len(Summarize(samples)); got != 6 {
		t.Errorf("%d points from 6 samples at different loops and churn; want 6", got)
	}
}
