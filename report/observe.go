package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/loadgen"
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
	add(obsLimits(d))
	add(obsProblems(d))
	a, at := focusActive(d)
	add(obsScanCost(d, a, at))
	add(obsGrowth(d, a, at))
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
		return best, " with " + plural(best, "active connection")
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

// obsLimits states where a backend could not be measured and why, e.g.
// select at and above FD_SETSIZE.
func obsLimits(d dataset) string {
	var parts []string
	for _, b := range backends([]dataset{d}) {
		var bad []results.Point
		maxOK := -1
		for _, p := range d.points {
			if p.Backend != b || p.FDs-results.ServerOwnFDs < p.Active {
				continue // not a limit of the backend: the point cannot hold its active connections
			}
			if measured(p) {
				maxOK = max(maxOK, p.FDs)
			} else {
				bad = append(bad, p)
			}
		}
		if len(bad) == 0 {
			continue
		}
		sort.SliceStable(bad, func(i, j int) bool { return bad[i].FDs < bad[j].FDs })
		first := bad[0]
		verb := "was " + first.Status
		if first.Status == results.StatusFailed {
			verb = "failed"
		}
		var where string
		switch {
		case maxOK < 0:
			where = "at every fd count"
		case first.FDs > maxOK:
			where = fmt.Sprintf("from %s fds up (it ran up to %s)", groupDigits(float64(first.FDs)), groupDigits(float64(maxOK)))
		default:
			where = "at " + fdList(bad) + " fds"
		}
		s := b + " " + verb + " " + where
		if first.Reason != "" {
			s += ": " + strings.TrimSuffix(oneLine(first.Reason), ".")
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + "."
}

// fdList formats the distinct fd counts of pts: "2,001, 5,001 and 10,001".
func fdList(pts []results.Point) string {
	var fds []int
	seen := map[int]bool{}
	for _, p := range pts {
		if !seen[p.FDs] {
			seen[p.FDs] = true
			fds = append(fds, p.FDs)
		}
	}
	sort.Ints(fds)
	s := make([]string, len(fds))
	for i, f := range fds {
		s[i] = groupDigits(float64(f))
	}
	return joinAnd(s)
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

// obsProblems states where a backend could not sustain the requested rate
// (its latency there is queueing, not the multiplexer) and where echoes
// failed; the list under the table has every such point.
func obsProblems(d dataset) string {
	parts := saturation(d)
	parts = append(parts, errorCounts(d)...)
	if len(parts) == 0 {
		return ""
	}
	return "Not clean measurements: " + strings.Join(parts, "; ") + "."
}

func saturation(d dataset) []string {
	var parts []string
	multi := len(actives([]dataset{d})) > 1
	for _, b := range backends([]dataset{d}) {
		var sat []results.Point
		for _, p := range d.points {
			if p.Backend == b && p.Status == results.StatusSaturated {
				sat = append(sat, p)
			}
		}
		if len(sat) == 0 {
			continue
		}
		sort.SliceStable(sat, func(i, j int) bool {
			if sat[i].FDs != sat[j].FDs {
				return sat[i].FDs < sat[j].FDs
			}
			return sat[i].Active < sat[j].Active
		})
		first := sat[0]
		s := fmt.Sprintf("%s saturated at %s fds", b, fdList(sat))
		switch {
		case first.RateRequested > 0 && first.RateAchieved.Median >= loadgen.SaturatedBelow*first.RateRequested:
			s += fmt.Sprintf(" (the rate was met with the server %.0f%% busy, so CPU per request there is only 1/rate)", 100*first.ServerCPUUtil.Median)
		case first.RateRequested > 0:
			s += fmt.Sprintf(" (achieved %.0f%% of the requested %s req/s", 100*first.RateAchieved.Median/first.RateRequested, groupDigits(first.RateRequested))
			if strings.Contains(fdList(sat), " and ") {
				s += " at " + groupDigits(float64(first.FDs)) + " fds"
			}
			if multi {
				s += " with " + plural(first.Active, "active connection")
			}
			s += ")"
		}
		parts = append(parts, s)
	}
	return parts
}

func errorCounts(d dataset) []string {
	var parts []string
	for _, b := range backends([]dataset{d}) {
		var bad []results.Point
		var n int64
		for _, p := range d.points {
			if p.Backend == b && (p.Status == results.StatusErrors || p.Errors > 0) && p.Status != results.StatusFailed && p.Status != results.StatusUnsupported {
				bad = append(bad, p)
				n += p.Errors
			}
		}
		if len(bad) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s had %s at %s fds", b, plural(int(n), "error"), fdList(bad)))
	}
	return parts
}

// epollBase is the backend the others are measured against: level-triggered
// epoll if the run has it, else edge-triggered.
func epollBase(d dataset, active int) string {
	for _, b := range []string{"epoll-lt", "epoll-et"} {
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

// obsScanCost compares the scanning multiplexers (select, poll) with epoll
// at the largest fd count both were measured at.
func obsScanCost(d dataset, active int, at string) string {
	base := epollBase(d, active)
	if base == "" {
		return ""
	}
	bm := measuredAt(d, base, active, cpuPerReq)
	var parts []string
	for _, b := range []string{"poll", "select"} {
		m := measuredAt(d, b, active, cpuPerReq)
		f, ok := largestCommon(m, bm)
		if !ok {
			continue
		}
		x, y := cpuPerReq(m[f]), cpuPerReq(bm[f])
		s := fmt.Sprintf("at %s fds%s, %s spent %s (%s vs %s, medians)",
			groupDigits(float64(f)), at, b, relativeApart(m[f], bm[f], cpuStat, base+"'s CPU per request", "less CPU per request than "+base, "CPU per request as "+base),
			fmtNs(x), fmtNs(y))
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return capitalize(strings.Join(parts, "; ")) + "."
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

// obsGrowth states how each backend's CPU per request changed from its
// smallest to its largest measured fd count: the O(n) scan shows up as
// growth, epoll as a flat line.
func obsGrowth(d dataset, active int, at string) string {
	type growth struct {
		b      string
		lo, hi int
		r      float64
		within bool // the two ends' ranges overlap
	}
	var gs []growth
	lo, hi := math.MaxInt, 0
	for _, b := range backends([]dataset{d}) {
		m := measuredAt(d, b, active, cpuPerReq)
		if len(m) < 2 {
			continue
		}
		g := growth{b: b, lo: math.MaxInt}
		for f := range m {
			g.lo, g.hi = min(g.lo, f), max(g.hi, f)
		}
		g.r = cpuPerReq(m[g.hi]) / cpuPerReq(m[g.lo])
		if apart(m[g.hi], m[g.lo], cpuStat) == 0 {
			g.r = 1 // within the spread: no growth is claimed
			g.within = true
		}
		gs = append(gs, g)
		lo, hi = min(lo, g.lo), max(hi, g.hi)
	}
	if len(gs) == 0 || hi < 2*lo {
		return ""
	}
	span := func(g growth) string {
		switch {
		case g.lo != lo && g.hi != hi:
			return fmt.Sprintf(" (%s to %s fds)", groupDigits(float64(g.lo)), groupDigits(float64(g.hi)))
		case g.hi != hi:
			return fmt.Sprintf(" (up to %s fds)", groupDigits(float64(g.hi)))
		case g.lo != lo:
			return fmt.Sprintf(" (from %s fds)", groupDigits(float64(g.lo)))
		}
		return ""
	}
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].r > gs[j].r })
	var grew, fell, flat []string
	for _, g := range gs {
		switch {
		case g.r >= 1.5:
			grew = append(grew, ratioText(g.r)+" for "+g.b+span(g))
		case g.r <= 1/1.5:
			fell = append(fell, ratioText(1/g.r)+" for "+g.b+span(g))
		case g.within:
			flat = append(flat, fmt.Sprintf("%s (within the spread of repetitions%s)", g.b, strings.TrimSuffix(strings.Replace(span(g), " (", ", ", 1), ")")))
		default:
			flat = append(flat, fmt.Sprintf("%s (%+.0f%%%s)", g.b, (g.r-1)*100, strings.TrimSuffix(strings.Replace(span(g), " (", ", ", 1), ")")))
		}
	}
	var clauses []string
	if len(grew) > 0 {
		clauses = append(clauses, "grew "+joinAnd(grew))
	}
	if len(fell) > 0 {
		clauses = append(clauses, "fell "+joinAnd(fell))
	}
	s := fmt.Sprintf("From %s to %s fds%s (%s the fds), server CPU per request ",
		groupDigits(float64(lo)), groupDigits(float64(hi)), at, ratioText(float64(hi)/float64(lo)))
	if len(clauses) > 0 {
		s += joinAnd(clauses)
		if len(flat) > 0 {
			s += "; it stayed within 1.5× for " + joinAnd(flat)
		}
	} else {
		s += "stayed within 1.5× for " + joinAnd(flat)
	}
	return s + "."
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

// obsEdgeVsLevel compares edge- with level-triggered epoll across the fd
// counts both ran: CPU per request and, when counted, reads and wait calls
// per request. A direction is stated only when it holds, beyond the spread
// of repetitions, at every fd count compared.
func obsEdgeVsLevel(d dataset, active int, at string) string {
	et, lt := measuredAt(d, "epoll-et", active, cpuPerReq), measuredAt(d, "epoll-lt", active, cpuPerReq)
	g, lo, hi, n := geomeanRatio(et, lt, cpuPerReq)
	if n == 0 {
		return ""
	}
	above, below := 0, 0
	for f, pe := range et {
		if pl, ok := lt[f]; ok {
			switch apart(pe, pl, cpuStat) {
			case 1:
				above++
			case -1:
				below++
			}
		}
	}
	s := "Edge- vs level-triggered epoll" + at + ": epoll-et used "
	switch {
	case below == n || above == n:
		s += relative(g, "epoll-lt's CPU per request", "less CPU per request than epoll-lt", "CPU per request as epoll-lt")
	case below == 0 && above == 0:
		s += "the same CPU per request as epoll-lt within the spread of repetitions"
	default:
		s += fmt.Sprintf("the same CPU per request as epoll-lt within the spread of repetitions at %d of %d fd counts (less beyond it at %d, more at %d)",
			n-above-below, n, below, above)
	}
	switch {
	case n > 1 && fmt.Sprintf("%.2f", lo) != fmt.Sprintf("%.2f", hi):
		s += fmt.Sprintf(" (median ratio: geometric mean %.2f× over %d fd counts, %.2f–%.2f×)", g, n, lo, hi)
	case n > 1:
		s += fmt.Sprintf(" (%.2f× at each of %d fd counts)", g, n)
	default:
		s += fmt.Sprintf(" (%.2f×)", g)
	}
	wet, wlt := measuredAt(d, "epoll-et", active, waitsPerReq), measuredAt(d, "epoll-lt", active, waitsPerReq)
	if wg, _, _, wn := geomeanRatio(wet, wlt, waitsPerReq); wn > 0 {
		s += fmt.Sprintf("; wait calls per request %.2f× epoll-lt's", wg)
	}
	return s + "."
}

// obsGonet compares Go's netpoller with hand-written epoll at the largest
// fd count both ran.
func obsGonet(d dataset, active int, at string) string {
	base := epollBase(d, active)
	if base == "" || !hasBackend(d, "gonet") {
		return ""
	}
	gc, bc := measuredAt(d, "gonet", active, cpuPerReq), measuredAt(d, base, active, cpuPerReq)
	f, ok := largestCommon(gc, bc)
	if !ok {
		return ""
	}
	s := fmt.Sprintf("At %s fds%s, gonet (Go's own netpoller; its whole process) spent %s (%s vs %s of %s's loop thread)", groupDigits(float64(f)), at,
		relativeApart(gc[f], bc[f], cpuStat, base+"'s CPU per request", "less CPU per request than "+base, "CPU per request as "+base),
		fmtNs(cpuPerReq(gc[f])), fmtNs(cpuPerReq(bc[f])), base)
	gp, bp := gc[f], bc[f]
	if p99(gp) > 0 && p99(bp) > 0 {
		s += fmt.Sprintf(" and its p99 latency was %s (%s vs %s)",
			relativeApart(gp, bp, p99Stat, base+"'s", "lower than "+base+"'s", "as "+base+"'s"), fmtNs(p99(gp)), fmtNs(p99(bp)))
	}
	return s + "."
}

// obsLatencySpread states the best and worst p99 at the largest fd count
// that at least two backends were measured at.
func obsLatencySpread(d dataset, active int, at string) string {
	byFDs := map[int][]results.Point{}
	for _, b := range backends([]dataset{d}) {
		for f, p := range measuredAt(d, b, active, p99) {
			byFDs[f] = append(byFDs[f], p)
		}
	}
	best := -1
	for f, ps := range byFDs {
		if len(ps) >= 2 && f > best {
			best = f
		}
	}
	if best < 0 {
		return ""
	}
	ps := byFDs[best]
	lo, hi := ps[0], ps[0]
	for _, p := range ps[1:] {
		if p99(p) < p99(lo) {
			lo = p
		}
		if p99(p) > p99(hi) {
			hi = p
		}
	}
	if p99(hi)/p99(lo) < 1.2 || apart(hi, lo, p99Stat) == 0 {
		return fmt.Sprintf("At %s fds%s, p99 latency was within 20%% or the spread of repetitions across backends (%s to %s).",
			groupDigits(float64(best)), at, fmtNs(p99(lo)), fmtNs(p99(hi)))
	}
	return fmt.Sprintf("At %s fds%s, p99 latency ranged from %s (%s) to %s (%s), %s apart.",
		groupDigits(float64(best)), at, fmtNs(p99(lo)), lo.Backend, fmtNs(p99(hi)), hi.Backend, ratioText(p99(hi)/p99(lo)))
}
