package waitcost

import (
	"slices"
	"sort"

	"github.com/montanaflynn/stats"

	"github.com/muxbench/muxbench/results"
)

// What a waitcost run records per timing (Sample) and per point across
// repetitions (Point), and the summary from one to the other.

// Sample is one backend timed in one case of one layout, in one mode and
// fd table, in one repetition.
type Sample struct {
	Backend    string `json:"backend"`
	Mode       string `json:"mode"`                        // ModeHot or ModeBlocking
	Table      string `json:"fd_table"`                    // TableShared or TablePrivate
	Layout     string `json:"layout"`                      // LayoutDense or LayoutSparse
	N          int    `json:"fds"`                         // watched fds
	K          int    `json:"ready"`                       // ready fds = events each call must return
	Position   string `json:"position"`                    // where the ready fds are, in fd order
	MaxFD      int    `json:"max_fd"`                      // highest watched fd number
	Top        int    `json:"sparse_highest_fd,omitempty"` // sparse: the highest fd number asked for
	Repetition int    `json:"rep"`
	Status     string `json:"status"` // results.StatusOK, StatusUnsupported or StatusFailed
	Reason     string `json:"reason,omitempty"`
	// Calls are the timed wait calls (hot), or the wake-up cycles that
	// returned the peer's fd (blocking).
	Calls   int64   `json:"calls"`
	Seconds float64 `json:"seconds"` // wall time of the timed calls or cycles
	// CPUSeconds is the measuring thread's CPU time (CLOCK_THREAD_CPUTIME_ID):
	// over the timed calls (hot), or inside the waits that slept
	// (blocking). Below Seconds when other tasks held the CPU.
	CPUSeconds float64 `json:"cpu_seconds"`
	// NsPerCall is the figure, 0 unless ok: thread CPU ns per call,
	// CPUSeconds/Calls (hot), or per wake-up, CPUSeconds/Slept (blocking).
	NsPerCall   float64 `json:"ns_per_call"`
	Interrupted int64   `json:"interrupted"` // waits that returned no event (a signal)
	// Slept (blocking) counts the cycles whose wait slept: the thread's
	// voluntary context switches rose inside it. A cycle that did not
	// (the fd was ready before the wait began, after a signal) is not
	// counted in CPUSeconds.
	Slept int64 `json:"slept,omitempty"`
	// Switches (blocking) is the sum of the voluntary context switches
	// inside every cycle's wait, slept or not: about 1 per cycle when the
	// waiter really blocked each time.
	Switches int64 `json:"voluntary_switches,omitempty"`
}

// Stat is a median with the range of the repetitions around it.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Point is one backend in one case of one layout, mode and fd table,
// across repetitions.
type Point struct {
	Backend   string `json:"backend"`
	Mode      string `json:"mode"`
	Table     string `json:"fd_table"`
	Layout    string `json:"layout"`
	N         int    `json:"fds"`
	K         int    `json:"ready"`
	Position  string `json:"position"`
	MaxFD     int    `json:"max_fd"` // largest across repetitions
	Top       int    `json:"sparse_highest_fd,omitempty"`
	Status    string `json:"status"` // the worst among the samples
	Reason    string `json:"reason,omitempty"`
	Reps      int    `json:"reps_ok"`
	NsPerCall Stat   `json:"ns_per_call"` // over the ok repetitions: per call (hot) or per wake-up (blocking)
}

// statusRank orders statuses from best to worst.
var statusRank = map[string]int{results.StatusOK: 0, results.StatusUnsupported: 1, results.StatusFailed: 2}

// Summarize groups samples into points, in the order of Modes, Tables,
// then of the backends given, then layout, N (or highest fd), k and
// position.
func Summarize(samples []Sample, backends []string) []Point {
	type key struct {
		backend, mode, table, layout, pos string
		n, k, top                         int
	}
	idx := map[key]int{}
	var pts []Point
	vals := map[int][]float64{}
	for _, s := range samples {
		kk := key{s.Backend, s.Mode, s.Table, s.Layout, s.Position, s.N, s.K, s.Top}
		i, ok := idx[kk]
		if !ok {
			i = len(pts)
			idx[kk] = i
			pts = append(pts, Point{Backend: s.Backend, Mode: s.Mode, Table: s.Table, Layout: s.Layout, N: s.N, K: s.K, Position: s.Position, Top: s.Top, Status: s.Status, Reason: s.Reason})
		}
		p := &pts[i]
		p.MaxFD = max(p.MaxFD, s.MaxFD)
		if statusRank[s.Status] > statusRank[p.Status] {
			p.Status, p.Reason = s.Status, s.Reason
		}
		if s.Status == results.StatusOK {
			vals[i] = append(vals[i], s.NsPerCall)
		}
	}
	for i := range pts {
		v := vals[i]
		pts[i].Reps = len(v)
		if len(v) == 0 {
			continue
		}
		med, _ := stats.Median(v)
		lo, _ := stats.Min(v)
		hi, _ := stats.Max(v)
		pts[i].NsPerCall = Stat{Median: med, Min: lo, Max: hi}
	}
	order := func(list []string, b string) int {
		if i := slices.Index(list, b); i >= 0 {
			return i
		}
		return len(list)
	}
	posRank := map[string]int{PositionLow: 0, PositionHigh: 1, PositionAll: 2}
	sort.SliceStable(pts, func(i, j int) bool {
		a, b := pts[i], pts[j]
		switch {
		case a.Mode != b.Mode:
			return order(Modes, a.Mode) < order(Modes, b.Mode)
		case a.Table != b.Table:
			return order(Tables, a.Table) < order(Tables, b.Table)
		case order(backends, a.Backend) != order(backends, b.Backend):
			return order(backends, a.Backend) < order(backends, b.Backend)
		case a.Layout != b.Layout:
			return a.Layout == LayoutDense
		case a.N != b.N:
			return a.N < b.N
		case a.Top != b.Top:
			return a.Top < b.Top
		case a.K != b.K:
			return a.K < b.K
		}
		return posRank[a.Position] < posRank[b.Position]
	})
	return pts
}
