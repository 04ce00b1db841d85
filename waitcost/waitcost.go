// Package waitcost measures the multiplexer alone, level 1 of muxbench's
// three levels: no server, no load. A poller from the registry
// (backends.Lookup) watches N file descriptors and its wait calls are
// timed in one of two modes, fitted to nanoseconds per watched fd and per
// returned event, with confidence intervals and a test for superlinear
// growth.
//
// The hot scan (ModeHot): k fds are made readable and back-to-back Wait
// calls with timeout 0 are timed, in the measuring thread's CPU time.
// Such a call never registers a wait-queue entry, never sleeps and never
// wakes. (`perf bench epoll wait` times wake-ups instead: a writer
// thread, and a waiter that sleeps.)
//
// The blocking wake-up (ModeBlocking): nothing is ready and the waiter
// calls Wait with timeout -1; a peer thread on another CPU makes one fd
// readable once the waiter is proven asleep inside the wait (its
// /proc/self/task/TID state and system call), and un-readies it after the
// wake-up. Per wake-up poll and select register a wait-queue entry on every
// watched fd, sleep, are woken, scan again and free the entries; epoll and
// io_uring sleep on one queue. The waiter's thread CPU per wake-up is what
// a server pays per wait when requests come one at a time.
//
// The fd table (TableShared, TablePrivate): in a multi-threaded process
// the kernel takes and drops a reference on every file poll and select
// look up, because the fd table is shared; a thread that called
// unshare(CLONE_FILES) has a table of its own and skips that. Both are
// measured, and their difference is what a multi-threaded process pays.
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
// The hot scan calls Wait with timeout 0 by default: with k ≥ 1 fds ready
// a level-triggered poller returns at once whatever the timeout, and 0
// keeps a mistake (nothing ready) from blocking the run. -1 is allowed
// and costs poll and select more: before the first ready fd they queue a
// wait entry on every fd they scan, in case they have to sleep.
// Edge-triggered pollers report a ready fd once, so back-to-back waits
// would measure empty calls: the hot scan records them unsupported. The
// blocking wake-up measures them: each wake-up is a new edge (a byte
// written into an empty socket), reported once, as a server sees it.
//
// The pure core (plan, summaries, fits, verdicts, the record) is in the
// portable files; the measuring shell is in the *_linux.go files.
package waitcost

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
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

// Modes of measurement (Config.Modes, Sample.Mode).
const (
	// ModeHot times back-to-back waits over fds already ready: no
	// wait-queue entry, no sleep, no wake-up. ns per call is the pinned
	// thread's CPU time over the calls.
	ModeHot = "hot"
	// ModeBlocking times wake-ups: the waiter sleeps in Wait(-1) with
	// nothing ready until a peer thread makes one fd readable. ns per
	// wake-up is the waiter's thread CPU inside the wait.
	ModeBlocking = "blocking"
)

// Modes lists every mode, in the order a sweep measures them.
var Modes = []string{ModeHot, ModeBlocking}

// fd tables of the measuring thread (Config.Tables, Sample.Table).
const (
	// TableShared is the process's one fd table, which every Go thread
	// shares: the kernel takes a reference on each file a wait looks up.
	TableShared = "shared"
	// TablePrivate is a table of the measuring thread's own
	// (unshare(CLONE_FILES)), as a single-threaded process has: no
	// reference per lookup.
	TablePrivate = "private"
)

// Tables lists every fd table, private first: the multiplexer's own cost,
// with nothing of the process that measures it.
var Tables = []string{TablePrivate, TableShared}

// Config is one waitcost sweep. Field names in errors are the flags of
// `muxbench waitcost` that set them.
type Config struct {
	Backends    []string      `json:"backends"`
	Modes       []string      `json:"modes"`             // ModeHot and/or ModeBlocking
	Tables      []string      `json:"fd_tables"`         // TablePrivate and/or TableShared
	FDs         []int         `json:"fds"`               // N, watched fds of the dense layout
	Ready       []string      `json:"ready"`             // k per N, hot scan: a count ("1") or a share of N ("10%")
	Positions   []string      `json:"positions"`         // PositionLow and/or PositionHigh (blocking: the first)
	SparseFDs   int           `json:"sparse_fds"`        // watched fds of the sparse layout
	SparseTop   []int         `json:"sparse_highest_fd"` // highest fd number of each sparse layout
	Repetitions int           `json:"repetitions"`
	TimeoutMs   int           `json:"timeout_ms"` // the hot scan's Wait timeout: 0 or -1
	MinCalls    int64         `json:"min_calls"`  // a sample ends at MinCalls (calls or wake-ups) and MinTime both reached,
	MinTime     time.Duration `json:"min_time_ns"`
	MaxTime     time.Duration `json:"max_time_ns"` // or at MaxTime, or MaxCalls, whichever first
	MaxCalls    int64         `json:"max_calls"`
	MinWakeups  int64         `json:"min_wakeups"` // blocking: MinCalls in wake-ups
	CPU         int           `json:"cpu"`         // the one CPU the measuring thread is pinned to
	PeerCPU     int           `json:"peer_cpu"`    // blocking: the CPU of the thread that makes an fd ready
	UpperFrom   int           `json:"upper_from"`  // smallest N of the log-log (superlinear) fit
}

// Default is the full sweep: both modes in both fd tables, 8 fd counts
// from 10 to 19,960, k = 1, 10% and 100% (the hot scan; one ready fd per
// wake-up), both positions, six sparse layouts, 7 repetitions. About 3
// minutes on the 2-CPU AMD EPYC VM while other work ran beside it.
var Default = Config{
	Modes:       Modes,
	Tables:      Tables,
	FDs:         []int{10, 30, 100, 300, 1000, 3000, 10000, 19960},
	Ready:       []string{"1", "10%", "100%"},
	Positions:   []string{PositionLow, PositionHigh},
	SparseFDs:   10,
	SparseTop:   []int{30, 100, 300, 1000, 3000, 19000},
	Repetitions: 7,
	MinCalls:    1000,
	MinTime:     30 * time.Millisecond,
	MaxTime:     150 * time.Millisecond,
	MaxCalls:    1 << 20,
	MinWakeups:  100,
	PeerCPU:     1,
	UpperFrom:   1000,
}

// Quick is the CI sweep: fewer points, shorter samples, both modes in
// the private fd table (what claim 2 quotes; the shared one doubles the
// time), 5 repetitions.
var Quick = Config{
	Modes:       Modes,
	Tables:      []string{TablePrivate},
	FDs:         []int{10, 100, 1000, 3000, 10000, 19960},
	Ready:       []string{"1", "100%"},
	Positions:   []string{PositionLow},
	SparseFDs:   10,
	SparseTop:   []int{30, 100, 300, 600, 1000, 19000}, // select has 5 below FD_SETSIZE to fit
	Repetitions: 5,
	MinCalls:    200,
	MinTime:     5 * time.Millisecond,
	MaxTime:     30 * time.Millisecond,
	MaxCalls:    1 << 20,
	MinWakeups:  10,
	PeerCPU:     1,
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

// oneReady is the blocking wake-up's ready spec: the peer makes one fd
// readable per wake-up, as one request wakes a server.
var oneReady = []ReadySpec{{Count: 1}}

// DenseCases lists the cases of n dense watched fds in mode: the ready
// specs at every position for the hot scan; one ready fd at the first
// position for the blocking wake-up, whose kernel work does not depend on
// where the ready fd is (every fd is registered, and scanned again after
// the wake-up) and whose user-space scan of the results the hot scan
// measures at both positions.
func (c Config) DenseCases(mode string, n int) []Case {
	if mode == ModeBlocking {
		return Cases(n, oneReady, c.Positions[:min(1, len(c.Positions))])
	}
	return Cases(n, c.ReadySpecs(), c.Positions)
}

// SparseCase is the one case of a sparse layout, in either mode: one
// ready fd, the lowest.
var SparseCase = Case{K: 1, Position: PositionLow}

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
	if len(c.FDs) > 0 && len(c.Ready) == 0 && slices.Contains(c.Modes, ModeHot) {
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
	if err := oneOf("-mode", c.Modes, Modes); err != nil {
		return err
	}
	if err := oneOf("-fd-table", c.Tables, Tables); err != nil {
		return err
	}
	if c.Blocking() {
		switch {
		case c.PeerCPU < 0:
			return fmt.Errorf("-peer-cpu %d: CPUs are numbered from 0", c.PeerCPU)
		case c.PeerCPU == c.CPU:
			return fmt.Errorf("-peer-cpu %d: the same CPU as -cpu; the blocking wake-up needs the peer on another CPU, or the waiter could not sleep while the peer runs", c.PeerCPU)
		case c.MinWakeups < 1:
			return fmt.Errorf("-min-wakeups %d: want at least 1", c.MinWakeups)
		case c.MaxCalls < c.MinWakeups:
			return fmt.Errorf("-max-calls %d: below -min-wakeups %d", c.MaxCalls, c.MinWakeups)
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

// oneOf checks that list is a non-empty subset of valid without repeats.
func oneOf(flag string, list, valid []string) error {
	if len(list) == 0 {
		return fmt.Errorf("%s: empty; want %s", flag, strings.Join(valid, ","))
	}
	for i, v := range list {
		if !slices.Contains(valid, v) {
			return fmt.Errorf("%s: %q is not one of %s", flag, v, strings.Join(valid, ", "))
		}
		if slices.Contains(list[:i], v) {
			return fmt.Errorf("%s: %q given twice", flag, v)
		}
	}
	return nil
}

// Blocking reports whether the sweep measures the blocking wake-up, which
// needs a peer CPU.
func (c Config) Blocking() bool { return slices.Contains(c.Modes, ModeBlocking) }

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
// every case of every layout, in every mode and fd table, every
// repetition.
func (c Config) Samples() int {
	n := 0
	for _, mode := range c.Modes {
		for _, fds := range c.FDs {
			n += len(c.DenseCases(mode, fds))
		}
		n += len(c.SparseTop)
	}
	return n * len(c.Tables) * len(c.Backends) * c.Repetitions
}
