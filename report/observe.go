package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// maxObservations caps the generated observations: a reader takes in a
// handful; the table has the rest.
const maxObservations = 5

// observations returns plain-language statements computed from a run's
// points, most important first: limits hit, saturation and errors, then
// how the multiplexers' costs compare and scale. Each one is produced only
// when the data supports it; none is fixed text.
//
// The rules: comparisons use only points whose every repetition was ok
// (saturated and error points are named as such, never compared), and a
// difference is stated only when the two points' ranges over their
// repetitions (min–max) do not overlap — so never smaller than the spread,
// and never from a single repetition, which has no spread.
func observations(d dataset) []string {
	var out []string
	add := func(s string) {
		if s != "" && len(out) < maxObservations {
			out = append(out, s)
		}
	}
	if herdRun([]dataset{d}) {
		return obsHerd(d) // a row per sharing mode: its own cap
	}
	if rateRun([]dataset{d}) {
		return obsRate(d)
	}
	add(obsLimits(d))
	add(obsProblems(d))
	a, at := focusActive(d)
	add(obsFDTable(d, a, at)) // only when a -sharedfd variant ran: what it was run for
	add(obsScanCost(d, a, at))
	add(obsGrowth(d, a, at))
	add(obsUring(d, a, at)) // before ET vs LT: the reader's first question now
	add(obsEdgeVsLevel(d, a, at))
	add(obsGonet(d, a, at))
	add(obsLatencySpread(d, a, at))
	return out
}

// focusActive picks the active-connection count with the most measured
// points (the smallest on a tie) for the comparative observations, and the
// phrase that names it when the run has several.
func focusActive(d dataset) (int, string) {
	count := map[int]int{}
	for _, p := range d.points {
		if measured(p) {
			count[p.Active]++
		}
	}
	acts := actives([]dataset{d})
	best, bestN := 0, -1
	for _, a := range acts {
		if count[a] > bestN {
			best, bestN = a, count[a]
		}
	}
	if len(acts) > 1 {
		return best, " with " + human.Plural(best, "active connection")
	}
	return best, ""
}

// measuredAt returns a backend's clean points (every repetition ok) at an
// active count, keyed by fds, keeping only those where value is positive.
func measuredAt(d dataset, backend string, active int, value func(results.Point) float64) map[int]results.Point {
	out := map[int]results.Point{}
	for _, p := range d.points {
		if p.Backend == backend && p.Active == active && p.Status == results.StatusOK && p.Reps > 0 && value(p) > 0 {
			out[p.FDs] = p
		}
	}
	return out
}

func cpuPerReq(p results.Point) float64 { return p.ServerCPUPerReq.Median }

// apart tells whether x's and y's ranges over their repetitions are
// disjoint: +1 when x lies wholly above y, -1 wholly below, 0 when they
// overlap or either point has fewer than minSpreadReps repetitions.
func apart(x, y results.Point, stat func(results.Point) results.Stat) int {
	if x.Reps < minSpreadReps || y.Reps < minSpreadReps {
		return 0
	}
	sx, sy := stat(x), stat(y)
	switch {
	case sx.Min > sy.Max:
		return 1
	case sx.Max < sy.Min:
		return -1
	}
	return 0
}

// minSpreadReps is the fewest repetitions a point needs for its range to
// say anything: one sample has no spread.
const minSpreadReps = 2

func cpuStat(p results.Point) results.Stat { return p.ServerCPUPerReq }

func p99Stat(p results.Point) results.Stat { return p.P99 }

// relativeApart is relative for two points, stating a difference only when
// their ranges are apart; otherwise it says the difference is within the
// spread of the repetitions.
func relativeApart(x, y results.Point, stat func(results.Point) results.Stat, times, less, sameAs string) string {
	if apart(x, y, stat) == 0 {
		return "the same " + sameAs + " within the spread of repetitions"
	}
	return relative(stat(x).Median/stat(y).Median, times, less, sameAs)
}

func p99(p results.Point) float64 { return p.P99.Median }

func waitsPerReq(p results.Point) float64 {
	return p.WaitsPerReq.Median
}

func hasBackend(d dataset, b string) bool {
	for _, p := range d.points {
		if p.Backend == b {
			return true
		}
	}
	return false
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// epollBase is the backend the others are measured against: level-triggered
// epoll if the run has it, else edge-triggered.
func epollBase(d dataset, active int) string {
	for _, b := range []string{epoll.NameLT, epoll.NameET} {
		if len(measuredAt(d, b, active, cpuPerReq)) > 0 {
			return b
		}
	}
	return ""
}

// largestCommon returns the largest fd count present in both maps.
func largestCommon(a, b map[int]results.Point) (int, bool) {
	best, ok := 0, false
	for f := range a {
		if _, in := b[f]; in && (!ok || f > best) {
			best, ok = f, true
		}
	}
	return best, ok
}

// relative phrases a ratio r = x/base: "95× epoll-lt's CPU per request",
// "40% less CPU per request than epoll-lt" (less is the phrase after the
// percentage), "about the same CPU per request as epoll-lt".
func relative(r float64, times, less, sameAs string) string {
	switch {
	case r >= 1.05:
		return ratioText(r) + " " + times
	case r <= 1/1.05:
		return fmt.Sprintf("%.0f%% %s", (1-r)*100, less)
	}
	return "about the same " + sameAs
}

// ratioText formats a ratio: 95×, 2.3×.
func ratioText(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.1f×", r)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// geomeanRatio returns the geometric mean, min and max of x/y over the fd
// counts both maps have, and how many there were.
func geomeanRatio(x, y map[int]results.Point, value func(results.Point) float64) (g, lo, hi float64, n int) {
	sum := 0.0
	lo, hi = math.Inf(1), math.Inf(-1)
	fds := make([]int, 0, len(x))
	for f := range x {
		fds = append(fds, f)
	}
	sort.Ints(fds) // a fixed summation order keeps the report byte-for-byte reproducible
	for _, f := range fds {
		px := x[f]
		py, ok := y[f]
		if !ok {
			continue
		}
		r := value(px) / value(py)
		sum += math.Log(r)
		lo, hi = math.Min(lo, r), math.Max(hi, r)
		n++
	}
	if n == 0 {
		return 0, 0, 0, 0
	}
	return math.Exp(sum / float64(n)), lo, hi, n
}
