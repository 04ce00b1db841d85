package results

import (
	"math"

	"github.com/muxbench/muxbench/internal/wire"
)

// Wake-ups, and several loops in one server: what a window's two reports
// say about each loop and about how evenly the loops shared the work.

// LoopDelta is one loop's part of a window, for a server that ran
// several loops (serve -loops N).
type LoopDelta struct {
	CPU int `json:"cpu"` // the CPU its thread was pinned to; -1: the server's CPU set
	// Accepts are the connections it accepted in the window; ConnsOpen
	// those it held at the window's end (on a shared epoll set: accepted,
	// less those it closed, whoever accepted them).
	Accepts      int64 `json:"accepts"`
	ConnsOpen    int64 `json:"conns_open"`
	Waits        int64 `json:"waits"`
	WastedWaits  int64 `json:"wasted_waits"`
	EmptyAccepts int64 `json:"empty_accepts"`
	Events       int64 `json:"events"`
	Reads        int64 `json:"reads"`
	// Wakeups and WastedWakeups: see ServerDelta.
	Wakeups       int64 `json:"wakeups"`
	WastedWakeups int64 `json:"wasted_wakeups"`
	InvolCtxSw    int64 `json:"invol_ctxsw"`
	CPUNs         int64 `json:"cpu_ns"` // its thread's CPU time
	// ConnShare is its share of the connections: of those accepted in the
	// window when any were (churn), else of those open at its end. CPUShare
	// is its share of the loops' CPU time. Each 0..1; the loops' add to 1.
	ConnShare float64 `json:"conn_share"`
	CPUShare  float64 `json:"cpu_share"`
}

// WastedWakeups is how many of a loop's wake-ups between two reports did
// no work: its thread's voluntary context switches (each a sleep it was
// woken from) less its productive waits (waits that returned events and
// did work for at least one: WastedWaits are the others), never below 0.
//
// It counts the wake-ups no counter of the loop's own can see: a loop woken
// for a connection another loop accepted first often sleeps again inside
// epoll_wait (ep_poll finds the event gone and waits on) without
// returning. It is a lower bound: a wait that finds events ready without
// sleeping is productive without a wake-up, and offsets a wasted one in
// the same loop (rare while the loop keeps up with its load). Other
// sleeps of the loop thread (the Go scheduler's, a kernel lock) count as
// wasted too: they are wake-ups that served no request.
func WastedWakeups(wakeups int64, start, end wire.Stats) int64 {
	productive := int64(end.Waits-start.Waits) - int64(end.WastedWaits-start.WastedWaits)
	return max(0, wakeups-productive)
}

// loopDeltas is each loop's part of the window between start and end, and
// the smallest and largest count of connections a loop had (the one
// ConnShare divides). It returns nil unless both reports list the same
// loops.
func loopDeltas(start, end wire.Report) (loops []LoopDelta, connsMin, connsMax int64) {
	if len(end.Loops) < 2 || len(start.Loops) != len(end.Loops) {
		return nil, 0, 0
	}
	var accepts, open, cpu int64
	for i, e := range end.Loops {
		s := start.Loops[i]
		wakeups := e.Wakeups - s.Wakeups
		d := LoopDelta{
			CPU:           e.CPU,
			Accepts:       int64(e.Accepts - s.Accepts),
			ConnsOpen:     max(e.ConnsOpen, 0),
			Waits:         int64(e.Waits - s.Waits),
			WastedWaits:   int64(e.WastedWaits - s.WastedWaits),
			EmptyAccepts:  int64(e.EmptyAccepts - s.EmptyAccepts),
			Events:        int64(e.Events - s.Events),
			Reads:         int64(e.Reads - s.Reads),
			Wakeups:       wakeups,
			WastedWakeups: WastedWakeups(wakeups, s.Stats, e.Stats),
			InvolCtxSw:    e.InvolCtxSw - s.InvolCtxSw,
			CPUNs:         e.CPUNs - s.CPUNs,
		}
		accepts += d.Accepts
		open += d.ConnsOpen
		cpu += d.CPUNs
		loops = append(loops, d)
	}
	conns := func(d LoopDelta) int64 {
		if accepts > 0 {
			return d.Accepts
		}
		return d.ConnsOpen
	}
	total := open
	if accepts > 0 {
		total = accepts
	}
	connsMin, connsMax = math.MaxInt64, 0
	for i := range loops {
		n := conns(loops[i])
		connsMin, connsMax = min(connsMin, n), max(connsMax, n)
		if total > 0 {
			loops[i].ConnShare = float64(n) / float64(total)
		}
		if cpu > 0 {
			loops[i].CPUShare = float64(loops[i].CPUNs) / float64(cpu)
		}
	}
	return loops, connsMin, connsMax
}

// ConnBalance is max/min of the loops' connections in a window (the
// balance: 1 is even); +Inf when a loop had none, 0 for a server of one
// loop.
func (d ServerDelta) ConnBalance() float64 {
	switch {
	case len(d.PerLoop) < 2:
		return 0
	case d.ConnsMin == 0:
		return math.Inf(1)
	}
	return float64(d.ConnsMax) / float64(d.ConnsMin)
}

// BusiestLoopShare is the largest share of the connections one loop had in
// a window (1/loops is even, 1 is one loop taking all); 0 for one loop.
func (d ServerDelta) BusiestLoopShare() float64 {
	share := 0.0
	for _, l := range d.PerLoop {
		share = max(share, l.ConnShare)
	}
	return share
}
