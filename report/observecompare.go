package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/backends/poll"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

// This file holds the observations that compare the multiplexers at the
// focus active count: scan cost, growth with fds, edge- against
// level-triggered epoll, gonet, and the spread of tail latency. Each
// states a difference only where the min–max ranges do not overlap.

// obsScanCost compares the scanning multiplexers (select, poll) with epoll
// at the largest fd count both were measured at.
func obsScanCost(d dataset, active int, at string) string {
	base := epollBase(d, active)
	if base == "" {
		return ""
	}
	bm := measuredAt(d, base, active, cpuPerReq)
	var parts []string
	for _, b := range []string{poll.Name, fdselect.Name} {
		m := measuredAt(d, b, active, cpuPerReq)
		f, ok := largestCommon(m, bm)
		if !ok {
			continue
		}
		x, y := cpuPerReq(m[f]), cpuPerReq(bm[f])
		s := fmt.Sprintf("at %s fds%s, %s spent %s (%s vs %s, medians)",
			human.Thousands(float64(f)), at, b, relativeApart(m[f], bm[f], cpuStat, base+"'s CPU per request", "less CPU per request than "+base, "CPU per request as "+base),
			human.Ns(x), human.Ns(y))
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return capitalize(strings.Join(parts, "; ")) + "."
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
			return fmt.Sprintf(" (%s to %s fds)", human.Thousands(float64(g.lo)), human.Thousands(float64(g.hi)))
		case g.hi != hi:
			return fmt.Sprintf(" (up to %s fds)", human.Thousands(float64(g.hi)))
		case g.lo != lo:
			return fmt.Sprintf(" (from %s fds)", human.Thousands(float64(g.lo)))
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
		human.Thousands(float64(lo)), human.Thousands(float64(hi)), at, ratioText(float64(hi)/float64(lo)))
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

// obsEdgeVsLevel compares edge- with level-triggered epoll across the fd
// counts both ran: CPU per request and, when counted, reads and wait calls
// per request. A direction is stated only when it holds, beyond the spread
// of repetitions, at every fd count compared.
func obsEdgeVsLevel(d dataset, active int, at string) string {
	et, lt := measuredAt(d, epoll.NameET, active, cpuPerReq), measuredAt(d, epoll.NameLT, active, cpuPerReq)
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
	s := "Edge- vs level-triggered epoll" + at + ": " + epoll.NameET + " used "
	switch {
	case below == n || above == n:
		s += relative(g, epoll.NameLT+"'s CPU per request", "less CPU per request than "+epoll.NameLT, "CPU per request as "+epoll.NameLT)
	case below == 0 && above == 0:
		s += "the same CPU per request as " + epoll.NameLT + " within the spread of repetitions"
	default:
		s += fmt.Sprintf("the same CPU per request as %s within the spread of repetitions at %d of %d fd counts (less beyond it at %d, more at %d)",
			epoll.NameLT, n-above-below, n, below, above)
	}
	switch {
	case n > 1 && fmt.Sprintf("%.2f", lo) != fmt.Sprintf("%.2f", hi):
		s += fmt.Sprintf(" (median ratio: geometric mean %.2f× over %d fd counts, %.2f–%.2f×)", g, n, lo, hi)
	case n > 1:
		s += fmt.Sprintf(" (%.2f× at each of %d fd counts)", g, n)
	default:
		s += fmt.Sprintf(" (%.2f×)", g)
	}
	wet, wlt := measuredAt(d, epoll.NameET, active, waitsPerReq), measuredAt(d, epoll.NameLT, active, waitsPerReq)
	if wg, _, _, wn := geomeanRatio(wet, wlt, waitsPerReq); wn > 0 {
		s += fmt.Sprintf("; wait calls per request %.2f× %s's", wg, epoll.NameLT)
	}
	return s + "."
}

// obsGonet compares Go's netpoller with hand-written epoll at the largest
// fd count both ran.
func obsGonet(d dataset, active int, at string) string {
	base := epollBase(d, active)
	if base == "" || !hasBackend(d, lineup.GoNet) {
		return ""
	}
	gc, bc := measuredAt(d, lineup.GoNet, active, cpuPerReq), measuredAt(d, base, active, cpuPerReq)
	f, ok := largestCommon(gc, bc)
	if !ok {
		return ""
	}
	s := fmt.Sprintf("At %s fds%s, %s (Go's own netpoller; its whole process) spent %s (%s vs %s of %s's loop thread)", human.Thousands(float64(f)), at, lineup.GoNet,
		relativeApart(gc[f], bc[f], cpuStat, base+"'s CPU per request", "less CPU per request than "+base, "CPU per request as "+base),
		human.Ns(cpuPerReq(gc[f])), human.Ns(cpuPerReq(bc[f])), base)
	gp, bp := gc[f], bc[f]
	if p99(gp) > 0 && p99(bp) > 0 {
		s += fmt.Sprintf(" and its p99 latency was %s (%s vs %s)",
			relativeApart(gp, bp, p99Stat, base+"'s", "lower than "+base+"'s", "as "+base+"'s"), human.Ns(p99(gp)), human.Ns(p99(bp)))
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
			human.Thousands(float64(best)), at, human.Ns(p99(lo)), human.Ns(p99(hi)))
	}
	return fmt.Sprintf("At %s fds%s, p99 latency ranged from %s (%s) to %s (%s), %s apart.",
		human.Thousands(float64(best)), at, human.Ns(p99(lo)), lo.Backend, human.Ns(p99(hi)), hi.Backend, ratioText(p99(hi)/p99(lo)))
}
