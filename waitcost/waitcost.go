// Package waitcost measures the multiplexer alone, level 1 of muxbench's
// three levels: no server, no load, no wake-ups. A poller from the
// registry (backends.Lookup) watches N file descriptors, k of them are
// made readable, and back-to-back Wait calls are timed: nanoseconds per
// call, fitted to nanoseconds per watched fd and per returned event, with
// confidence intervals and a test for superlinear growth.
//
// The watched fds are socket pairs with both ends watched: an idle end is
// not readable, and one byte written into one end makes the other
// readable, so N watched fds cost N open files and k ready fds cost k
// one-byte writes. Two layouts are measured. Dense: N fds numbered from
// the lowest free number up, the ready ones at the lowest or the highest
// positions (poll and select stop scanning their results at the last
// ready entry, and the kernel's own scan may differ by position too).
// Sparse: SparseN fds numbered just below a high fd number, where
// select's cost follows the highest fd and not the count.
//
// Wait is called with timeout 0 by default: with k ≥ 1 fds ready a
// level-triggered poller returns at once whatever the timeout, and 0
// keeps a mistake (nothing ready) from blocking the run. -1 is allowed
// and costs poll and select more: before the first ready fd they queue a
// wait entry on every fd they scan, in case they have to sleep.
// Edge-triggered pollers report a ready fd once, so back-to-back waits
// would measure empty calls: they are recorded unsupported, not re-armed.
//
// The pure core (plan, summaries, fits, verdicts, the record) is in the
// portable files; the measuring shell is measure_linux.go.
package waitcost

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/montanaflynn/stats"

	"github.com/muxbench/muxbench/results"
)

var inf = math.Inf(1)

// Layouts of the watched fds (Sample.Layout).
const (
	LayoutDense  = "dense"  // N fds at the lowest free numbers
	LayoutSparse = "sparse" // SparseN fds just below a high number
)

// Positions of the ready fds among the watched ones, in fd order
// (Sample.Position).
const (
	PositionLow  = "low"  // the k lowest-numbered watched fds
	PositionHigh = "high" // the k highest-numbered
	PositionAll  = "all"  // k = N: every fd, both positions at once
)

// Config is one waitcost sweep. Field names in errors are the flags of
// `muxbench waitcost` that set them.
type Config struct {
	Backends    []string      `json:"backends"`
	FDs         []int         `json:"fds"`               // N, watched fds of the dense layout
	Ready       []string      `json:"ready"`             // k per N: a count ("1") or a share of N ("10%")
	Positions   []string      `json:"positions"`         // PositionLow and/or PositionHigh
	SparseFDs   int           `json:"sparse_fds"`        // watched fds of the sparse layout
	SparseTop   []int         `json:"sparse_highest_fd"` // highest fd number of each sparse layout
	Repetitions int           `json:"repetitions"`
	TimeoutMs   int           `json:"timeout_ms"` // Wait's timeout: 0 or -1
	MinCalls    int64         `json:"min_calls"`  // a sample ends at MinCalls and MinTime both reached,
	MinTime     time.Duration `json:"min_time_ns"`
	MaxTime     time.Duration `json:"max_time_ns"` // or at MaxTime, or MaxCalls, whichever first
	MaxCalls    int64         `json:"max_calls"`
	CPU         int           `json:"cpu"`        // the one CPU the measuring thread is pinned to
	UpperFrom   int           `json:"upper_from"` // smallest N of the log-log (superlinear) fit
}

// Default is the full sweep: 8 fd counts from 10 to 19,960, k = 1, 10%
// and 100%, both positions, six sparse layouts, 7 repetitions. About 1.5
// minutes on the 2-CPU reference VM.
var Default = Config{
	FDs:         []int{10, 30, 100, 300, 1000, 3000, 10000, 19960},
	Ready:       []string{"1", "10%", "100%"},
	Positions:   []string{PositionLow, PositionHigh},
	SparseFDs:   10,
	SparseTop:   []int{30, 100, 300, 1000, 3000, 19000},
	Repetitions: 7,
	MinCalls:    1000,
	MinTime:     50 * time.Millisecond,
	MaxTime:     250 * time.Millisecond,
	MaxCalls:    1 << 20,
	UpperFrom:   1000,
}

// Quick is the CI sweep: fewer points, shorter samples, the same
// repetitions; under 40 s on the reference VM.
var Quick = Config{
	FDs:         []int{10, 100, 1000, 3000, 10000, 19960},
	Ready:       []string{"1", "100%"},
	Positions:   []string{PositionLow},
	SparseFDs:   10,
	SparseTop:   []int{30, 100, 300, 600, 1000, 19000}, // select has 5 below FD_SETSIZE to fit
	Repetitions: 5,
	MinCalls:    200,
	MinTime:     5 * time.Millisecond,
	MaxTime:     50 * time.Millisecond,
	MaxCalls:    1 << 20,
	UpperFrom:   1000,
}

// ReadySpec is how many of N watched fds are ready: Count, or Percent of
// N rounded and at least 1.
type ReadySpec struct {
	Count   int
	Percent float64
}

// ParseReady reads "7" or "10%".
func ParseReady(s string) (ReadySpec, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v > 0 && v <= 100) {
			return ReadySpec{}, fmt.Errorf("ready %q: want a share in (0%%, 100%%], e.g. 10%%", s)
		}
		return ReadySpec{Percent: v}, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return ReadySpec{}, fmt.Errorf("ready %q: want a count ≥ 1 or a share like 10%%", s)
	}
	return ReadySpec{Count: v}, nil
}

// K is the number of ready fds among n.
func (r ReadySpec) K(n int) int {
	if r.Percent > 0 {
		return max(1, min(n, int(math.Round(r.Percent*float64(n)/100))))
	}
	return min(r.Count, n)
}

// Case is one measured condition over a layout: k ready fds at Position.
type Case struct {
	K        int
	Position string
}

// Cases lists the distinct cases of n watched fds: every ready spec at
// every position, once each (k = n is PositionAll, once).
func Cases(n int, ready []ReadySpec, positions []string) []Case {
	var out []Case
	for _, r := range ready {
		k := r.K(n)
		for _, pos := range positions {
			c := Case{K: k, Position: pos}
			if k == n {
				c.Position = PositionAll
			}
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// Validate checks a Config before any work, naming the flag at fault.
func (c Config) Validate() error {
	if len(c.Backends) == 0 {
		return fmt.Errorf("-backends: none given")
	}
	if len(c.FDs) == 0 && len(c.SparseTop) == 0 {
		return fmt.Errorf("-fds and -sparse-highest are both empty: nothing to measure")
	}
	for _, n := range c.FDs {
		if n < 1 {
			return fmt.Errorf("-fds %d: want at least 1 watched fd", n)
		}
	}
	if len(c.FDs) > 0 && len(c.Ready) == 0 {
		return fmt.Errorf("-ready: empty; want e.g. 1,10%%,100%%")
	}
	for _, r := range c.Ready {
		if _, err := ParseReady(r); err != nil {
			return fmt.Errorf("-ready: %w", err)
		}
	}
	if len(c.FDs) > 0 && len(c.Positions) == 0 {
		return fmt.Errorf("-positions: empty; want low, high or low,high")
	}
	for _, p := range c.Positions {
		if p != PositionLow && p != PositionHigh {
			return fmt.Errorf("-positions: %q is not a position (want low or high)", p)
		}
	}
	if len(c.SparseTop) > 0 && c.SparseFDs < 1 {
		return fmt.Errorf("-sparse-fds %d: want at least 1", c.SparseFDs)
	}
	for _, t := range c.SparseTop {
		if t < c.SparseFDs+3 {
			return fmt.Errorf("-sparse-highest %d: below the %d sparse fds plus stdin, stdout and stderr; want a higher fd number", t, c.SparseFDs)
		}
	}
	switch {
	case c.Repetitions < 1:
		return fmt.Errorf("-reps %d: want at least 1 (5 or more to trust a median)", c.Repetitions)
	case c.TimeoutMs != 0 && c.TimeoutMs != -1:
		return fmt.Errorf("-timeout-ms %d: want 0 or -1 (a longer timeout changes nothing while fds are ready)", c.TimeoutMs)
	case c.MinCalls < 1:
		return fmt.Errorf("-min-calls %d: want at least 1", c.MinCalls)
	case c.MaxCalls < c.MinCalls:
		return fmt.Errorf("-max-calls %d: below -min-calls %d", c.MaxCalls, c.MinCalls)
	case c.MinTime <= 0:
		return fmt.Errorf("-min-time %v: want a positive duration, e.g. 10ms", c.MinTime)
	case c.MaxTime < c.MinTime:
		return fmt.Errorf("-max-time %v: below -min-time %v", c.MaxTime, c.MinTime)
	case c.MaxTime > time.Minute:
		return fmt.Errorf("-max-time %v: one sample longer than a minute; want e.g. 200ms", c.MaxTime)
	case c.CPU < 0:
		return fmt.Errorf("-cpu %d: CPUs are numbered from 0", c.CPU)
	}
	return nil
}

// ReadySpecs parses c.Ready (already checked by Validate).
func (c Config) ReadySpecs() []ReadySpec {
	out := make([]ReadySpec, 0, len(c.Ready))
	for _, r := range c.Ready {
		if s, err := ParseReady(r); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// Samples returns how many samples the sweep takes: every backend in
// every case of every layout, every repetition.
func (c Config) Samples() int {
	n := 0
	for _, fds := range c.FDs {
		n += len(Cases(fds, c.ReadySpecs(), c.Positions))
	}
	n += len(c.SparseTop)
	return n * len(c.Backends) * c.Repetitions
}

// Sample is one backend timed in one case of one layout in one repetition.
type Sample struct {
	Backend     string  `json:"backend"`
	Layout      string  `json:"layout"`                      // LayoutDense or LayoutSparse
	N           int     `json:"fds"`                         // watched fds
	K           int     `json:"ready"`                       // ready fds = events each call must return
	Position    string  `json:"position"`                    // where the ready fds are, in fd order
	MaxFD       int     `json:"max_fd"`                      // highest watched fd number
	Top         int     `json:"sparse_highest_fd,omitempty"` // sparse: the highest fd number asked for
	Repetition  int     `json:"rep"`
	Status      string  `json:"status"` // results.StatusOK, StatusUnsupported or StatusFailed
	Reason      string  `json:"reason,omitempty"`
	Calls       int64   `json:"calls"`
	Seconds     float64 `json:"seconds"`     // time of the timed calls
	NsPerCall   float64 `json:"ns_per_call"` // Seconds/Calls in ns; 0 unless ok
	Interrupted int64   `json:"interrupted"` // calls that returned no event (a signal)
}

// Stat is a median with the range of the repetitions around it.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Point is one backend in one case of one layout across repetitions.
type Point struct {
	Backend   string `json:"backend"`
	Layout    string `json:"layout"`
	N         int    `json:"fds"`
	K         int    `json:"ready"`
	Position  string `json:"position"`
	MaxFD     int    `json:"max_fd"` // largest across repetitions
	Top       int    `json:"sparse_highest_fd,omitempty"`
	Status    string `json:"status"` // the worst among the samples
	Reason    string `json:"reason,omitempty"`
	Reps      int    `json:"reps_ok"`
	NsPerCall Stat   `json:"ns_per_call"` // over the ok repetitions
}

// statusRank orders statuses from best to worst.
var statusRank = map[string]int{results.StatusOK: 0, results.StatusUnsupported: 1, results.StatusFailed: 2}

// Summarize groups samples into points, in the order of backends given,
// then layout, N (or highest fd), k and position.
func Summarize(samples []Sample, backends []string) []Point {
	type key struct {
		backend, layout, pos string
		n, k, top            int
	}
	idx := map[key]int{}
	var pts []Point
	vals := map[int][]float64{}
	for _, s := range samples {
		kk := key{s.Backend, s.Layout, s.Position, s.N, s.K, s.Top}
		i, ok := idx[kk]
		if !ok {
			i = len(pts)
			idx[kk] = i
			pts = append(pts, Point{Backend: s.Backend, Layout: s.Layout, N: s.N, K: s.K, Position: s.Position, Top: s.Top, Status: s.Status, Reason: s.Reason})
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
	order := func(b string) int {
		if i := slices.Index(backends, b); i >= 0 {
			return i
		}
		return len(backends)
	}
	posRank := map[string]int{PositionLow: 0, PositionHigh: 1, PositionAll: 2}
	sort.SliceStable(pts, func(i, j int) bool {
		a, b := pts[i], pts[j]
		switch {
		case order(a.Backend) != order(b.Backend):
			return order(a.Backend) < order(b.Backend)
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
