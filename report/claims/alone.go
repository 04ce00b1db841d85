package claims

import (
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/backends/poll"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

// The claims tested by the multiplexer alone (waitcost: the hot scan of
// back-to-back wait calls, and the blocking wake-up), by the kernel
// source, and by the pitfall runs. The rules over a fit (grows, linear,
// flat, superlinear, follows the highest fd) are package waitcost's,
// stated once there. Figures are quoted in one fd table, the record's
// MainTable: the private one when measured, the multiplexer's own cost.

func fitOf(w *waitcost.Record, backend, mode string) (waitcost.Fit, bool) {
	if w == nil {
		return waitcost.Fit{}, false
	}
	f, ok := w.FitOf(backend, mode, w.MainTable())
	return f, ok && f.Idle != nil
}

// estimate formats a fitted coefficient in ns with its interval; fitted
// slopes can be tiny or negative, which human.Ns does not show.
func estimate(e waitcost.Estimate) string {
	return fmt.Sprintf("%.3g ns [%.3g, %.3g]", e.Value, e.Lo, e.Hi)
}

func fitText(f waitcost.Fit) string {
	s := fmt.Sprintf("%s %s per watched fd, R² %.2f", f.Backend, estimate(f.Idle.PerFD), f.Idle.R2)
	if f.Upper != nil {
		s += fmt.Sprintf(", exponent %.2f [%.2f, %.2f] over %s–%s fds", f.Upper.Beta.Value, f.Upper.Beta.Lo, f.Upper.Beta.Hi,
			human.Thousands(f.Upper.From), human.Thousands(f.Upper.To))
	}
	return s
}

// modeNames are the two figures of claim 2 as the row names them.
var modeNames = map[string]string{waitcost.ModeHot: "hot scan", waitcost.ModeBlocking: "blocking wake-up"}

// scan is claim 2's rule applied to the fits of one mode.
type scan struct {
	measured bool
	verdict  Verdict
	detail   string
	figure   string
	fits     map[string]waitcost.Fit // select, poll (those with a per-fd fit)
}

// scanRule decides claim 2 in one mode: select and poll grow linearly
// (or faster) with the watched fds and epoll-lt is flat.
func scanRule(w *waitcost.Record, mode string) scan {
	sc := scan{fits: map[string]waitcost.Fit{}}
	var figs, notLinear, super []string
	grow := 0
	for _, b := range []string{fdselect.Name, poll.Name} {
		f, ok := fitOf(w, b, mode)
		if !ok {
			continue
		}
		sc.fits[b] = f
		figs = append(figs, fitText(f))
		if g, _ := waitcost.Grows(f); g {
			grow++
		}
		if l, _ := waitcost.Linear(f); !l {
			notLinear = append(notLinear, b)
		}
		if s, _ := waitcost.Superlinear(f); s {
			super = append(super, fmt.Sprintf("%s from %s fds", b, human.Thousands(f.Upper.From)))
		}
	}
	e, eok := fitOf(w, epoll.NameLT, mode)
	if len(sc.fits) == 0 || !eok {
		return sc
	}
	sc.measured = true
	figs = append(figs, fitText(e))
	sc.figure = modeNames[mode] + ": " + strings.Join(figs, "; ")
	flat, _ := waitcost.Flat(e)
	switch {
	case grow < len(sc.fits):
		sc.verdict, sc.detail = DoesNotHold, "a scanning multiplexer's cost does not grow with the watched fds"
	case !flat:
		sc.verdict, sc.detail = HoldsOnly, "for select and poll: epoll's cost grows with N too"
	case len(super) > 0:
		sc.verdict, sc.detail = Holds, "select and poll pay per watched fd, and more per fd as N grows ("+strings.Join(super, ", ")+": worse than linear); epoll's cost does not follow N"
	case len(notLinear) == 0:
		sc.verdict, sc.detail = Holds, "select and poll pay per watched fd; epoll's cost does not follow N"
	default:
		sc.verdict, sc.detail = HoldsOnly, "as growth, not a straight line: "+strings.Join(notLinear, " and ")+" fit a line with R² below the rule"
	}
	return sc
}

// ratioText is the blocking wake-up's per-fd slope over the hot scan's
// for each scanning backend with both, with the range the two intervals
// allow (low end over high end, high over low): not a confidence
// interval, a bound.
func ratioText(hot, blk scan) string {
	var parts []string
	for _, b := range []string{fdselect.Name, poll.Name} {
		h, hok := hot.fits[b]
		k, kok := blk.fits[b]
		if !hok || !kok || h.Idle.PerFD.Value <= 0 {
			continue
		}
		hp, kp := h.Idle.PerFD, k.Idle.PerFD
		r := fmt.Sprintf("%s %.2f×", b, kp.Value/hp.Value)
		if hp.Lo > 0 {
			r += fmt.Sprintf(" [%.2f–%.2f]", kp.Lo/hp.Hi, kp.Hi/hp.Lo)
		}
		parts = append(parts, r)
	}
	if len(parts) == 0 {
		return ""
	}
	return "per watched fd, the blocking wake-up costs the hot scan's " + strings.Join(parts, ", ") + " (range from the two intervals)"
}

// linearScan tests claim 2 with the waitcost fits: the hot scan, and the
// blocking wake-up when measured.
func linearScan(ev Evidence) Row {
	row := Row{Rule: fmt.Sprintf("grows = the fitted ns per watched fd has a 95%% interval above 0 and adds ≥ %s of a call's fixed cost at the largest N; "+
		"linear = grows with R² ≥ %.1f; superlinear = the log-log exponent's interval lies above 1; flat = not grows; "+
		"in one mode, holds when select and poll grow linearly (or faster) and epoll-lt is flat; "+
		"decided on the hot scan (ns per back-to-back call) and on the blocking wake-up (thread CPU per wake-up) when measured: "+
		"holds when both hold, holds only when one holds or either holds only, does not hold when neither does", pct(waitcost.FlatShare), waitcost.MinR2)}
	if ev.WaitCost == nil {
		row.Verdict = NotMeasured
		return row
	}
	hot, blk := scanRule(ev.WaitCost, waitcost.ModeHot), scanRule(ev.WaitCost, waitcost.ModeBlocking)
	if !hot.measured {
		row.Verdict = NotMeasured
		return row
	}
	table := ev.WaitCost.MainTable()
	row.Measured = "ns per wait call against watched fds, the multiplexer alone, " + table + " fd table: back-to-back calls with 1 fd ready (hot scan)"
	row.Figure, row.Verdict, row.Detail = hot.figure, hot.verdict, hot.detail
	if !blk.measured {
		return row
	}
	row.Measured += ", and the waiter's thread CPU per wake-up when a peer thread makes 1 of them ready (blocking wake-up: what a server pays per wait)"
	row.Figure += "; " + blk.figure
	if r := ratioText(hot, blk); r != "" {
		row.Figure += "; " + r
	}
	holds := func(v Verdict) bool { return v == Holds || v == HoldsOnly }
	switch {
	case hot.verdict == blk.verdict && hot.detail == blk.detail:
		row.Detail = hot.detail + ", in both the hot scan and the blocking wake-up"
	case hot.verdict == Holds && blk.verdict == Holds:
		row.Detail = "in the hot scan, " + hot.detail + "; per blocking wake-up, " + blk.detail
	case holds(hot.verdict) || holds(blk.verdict):
		row.Verdict = HoldsOnly
		row.Detail = "where each mode allows: in the hot scan it " + verdictText(Row{Verdict: hot.verdict, Detail: hot.detail}, false) +
			"; per blocking wake-up it " + verdictText(Row{Verdict: blk.verdict, Detail: blk.detail}, false)
	default:
		row.Verdict, row.Detail = DoesNotHold, "in neither the hot scan nor the blocking wake-up: "+hot.detail
	}
	return row
}

// pollVsSelect tests claim 3: dense fds at the largest N both ran, and
// sparse (few, high-numbered) fds.
func pollVsSelect(ev Evidence) Row {
	row := Row{Rule: "poll beats select = poll's ns per call below select's with the ranges apart, one ready fd among dense fds 0..N, at the largest N both ran; " +
		"select suffers with sparse fds = select's cost follows the highest fd number (the sparse fit's slope grows, as for claim 2) and poll's does not; holds when both, holds only when one"}
	if ev.WaitCost == nil {
		row.Verdict = NotMeasured
		return row
	}
	table := ev.WaitCost.MainTable()
	pp, sel := densePair(ev.WaitCost.Points, table)
	sf, sok := ev.WaitCost.FitOf(fdselect.Name, waitcost.ModeHot, table)
	pf, pok := ev.WaitCost.FitOf(poll.Name, waitcost.ModeHot, table)
	haveSparse := sok && pok && sf.Sparse != nil && pf.Sparse != nil
	if pp == nil && !haveSparse {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "ns per wait call, select vs poll, the multiplexer alone: dense fds, and few fds with ever higher numbers"
	var figs []string
	beats, suffers := false, false
	if pp != nil {
		pfig, sfig := wfig(*pp), wfig(*sel)
		figs = append(figs, fmt.Sprintf("%s dense fds: poll %s, select %s", human.Thousands(float64(pp.N)), spread(pfig, ns), spread(sfig, ns)))
		beats = apart(pfig, sfig) == -1
	}
	if haveSparse {
		sFollows, sWhy := waitcost.FollowsHighestFD(sf)
		pFollows, pWhy := waitcost.FollowsHighestFD(pf)
		figs = append(figs, "sparse: "+sWhy+"; "+pWhy)
		suffers = sFollows && !pFollows
	}
	row.Figure = strings.Join(figs, "; ")
	switch {
	case beats && suffers:
		row.Verdict, row.Detail = Holds, "poll is faster on many fds, and select pays for the highest fd number, not the count"
	case suffers:
		row.Verdict = HoldsOnly
		row.Detail = "with sparse fds (select's cost follows the highest fd number); on dense fds poll is not faster beyond the spread"
		if pp == nil {
			row.Detail = "with sparse fds; dense fds were not measured"
		}
	case beats:
		row.Verdict = HoldsOnly
		row.Detail = "on many dense fds; with sparse fds select's cost does not follow the highest fd"
		if !haveSparse {
			row.Detail = "on many dense fds; sparse fds were not measured"
		}
	default:
		row.Verdict, row.Detail = DoesNotHold, "poll is not faster on dense fds beyond the spread, and select's cost does not follow the highest fd"
	}
	return row
}

// densePair returns poll's and select's dense hot-scan points in table
// with one ready fd at the largest N both measured ok, same position.
func densePair(pts []waitcost.Point, table string) (pp, sel *waitcost.Point) {
	hot := func(p *waitcost.Point) bool {
		return p.Mode == waitcost.ModeHot && p.Table == table && p.Layout == waitcost.LayoutDense && p.K == 1 && p.Status == results.StatusOK
	}
	for i := range pts {
		p := &pts[i]
		if p.Backend != poll.Name || !hot(p) {
			continue
		}
		for j := range pts {
			s := &pts[j]
			if s.Backend == fdselect.Name && hot(s) && s.N == p.N && s.Position == p.Position {
				if pp == nil || p.N > pp.N {
					pp, sel = p, s
				}
			}
		}
	}
	return pp, sel
}

func wfig(p waitcost.Point) figure {
	return figure{Stat: results.Stat{Median: p.NsPerCall.Median, Min: p.NsPerCall.Min, Max: p.NsPerCall.Max}, Reps: p.Reps}
}

// sharedMemory reports claim 4: the per-event cost was measured, but a
// cost per event is work per event, not by itself a copy; the kernel
// source settles it.
func sharedMemory(ev Evidence) Row {
	row := Row{
		Rule:   "a measurement cannot tell a copy from other per-event work: the verdict is the kernel source's, the figure is what was measured",
		Source: "fs/eventpoll.c: ep_send_events() copies each ready event to the caller's array with epoll_put_uevent() (__put_user); epoll_wait(2) takes a user buffer, and epoll has no shared mapping",
	}
	if ev.WaitCost == nil {
		row.Verdict = NotMeasured
		return row
	}
	f, ok := ev.WaitCost.FitOf(epoll.NameLT, waitcost.ModeHot, ev.WaitCost.MainTable())
	if !ok || f.Events == nil || f.Events.PerEvent == nil {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "ns per returned event of epoll_wait, the multiplexer alone (fit over the ready count)"
	row.Figure = estimate(*f.Events.PerEvent) + " per returned event"
	row.Verdict, row.Detail = DoesNotHold, "epoll_wait copies every returned event into user memory; nothing is mapped (per the source)"
	return row
}

// pitfallRow is claim n (6, 7 or 9) from its pitfall's outcome.
func pitfallRow(ev Evidence, n int) Row {
	row := Row{Rule: "holds when the deliberately wrong loop did what the notes say (the pitfall's detector found the fault) and the correct loop did not"}
	for _, p := range ev.Pitfalls {
		if p.Claim != n {
			continue
		}
		if !p.Ran {
			row.Verdict, row.Detail = NotMeasured, "pitfall "+p.Name+" gave no answer: "+p.Why
			return row
		}
		row.Measured, row.Figure = p.Measured, p.Figure
		if p.Reproduced {
			row.Verdict, row.Detail = Holds, p.Explanation
		} else {
			row.Verdict, row.Detail = DoesNotHold, "the mistake did not do what the notes say on this kernel"
		}
		return row
	}
	row.Verdict = NotMeasured
	return row
}
