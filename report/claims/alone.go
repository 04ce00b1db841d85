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

// The claims tested by the multiplexer alone (waitcost: back-to-back wait
// calls, no server, no wake-ups), by the kernel source, and by the
// pitfall runs. The rules over a fit (grows, linear, flat, superlinear,
// follows the highest fd) are package waitcost's, stated once there.

func fitOf(w *waitcost.Record, backend string) (waitcost.Fit, bool) {
	if w == nil {
		return waitcost.Fit{}, false
	}
	f, ok := w.FitOf(backend)
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

// linearScan tests claim 2 with the waitcost fits.
func linearScan(ev Evidence) Row {
	row := Row{Rule: fmt.Sprintf("grows = the fitted ns per watched fd has a 95%% interval above 0 and adds ≥ %s of a call's fixed cost at the largest N; "+
		"linear = grows with R² ≥ %.1f; superlinear = the log-log exponent's interval lies above 1; flat = not grows; "+
		"holds when select and poll grow linearly (or faster) and %s is flat", pct(waitcost.FlatShare), waitcost.MinR2, epoll.NameLT)}
	var figs, notLinear, super []string
	scanN, grow := 0, 0
	for _, b := range []string{fdselect.Name, poll.Name} {
		f, ok := fitOf(ev.WaitCost, b)
		if !ok {
			continue
		}
		scanN++
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
	e, eok := fitOf(ev.WaitCost, epoll.NameLT)
	if scanN == 0 || !eok {
		row.Verdict = NotMeasured
		return row
	}
	figs = append(figs, fitText(e))
	row.Measured = "ns per wait call against watched fds, the multiplexer alone (back-to-back calls, 1 fd ready)"
	row.Figure = strings.Join(figs, "; ")
	flat, _ := waitcost.Flat(e)
	switch {
	case grow < scanN:
		row.Verdict, row.Detail = DoesNotHold, "a scanning multiplexer's cost does not grow with the watched fds"
	case !flat:
		row.Verdict, row.Detail = HoldsOnly, "for select and poll: epoll's cost grows with N too"
	case len(super) > 0:
		row.Verdict, row.Detail = Holds, "select and poll pay per watched fd on every call, and more per fd as N grows ("+strings.Join(super, ", ")+": worse than linear); epoll's cost does not follow N"
	case len(notLinear) == 0:
		row.Verdict, row.Detail = Holds, "select and poll pay per watched fd on every call; epoll's cost does not follow N"
	default:
		row.Verdict, row.Detail = HoldsOnly, "as growth, not a straight line: "+strings.Join(notLinear, " and ")+" fit a line with R² below the rule"
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
	pollPt, selPt := densePair(ev.WaitCost.Points)
	sf, sok := ev.WaitCost.FitOf(fdselect.Name)
	pf, pok := ev.WaitCost.FitOf(poll.Name)
	haveSparse := sok && pok && sf.Sparse != nil && pf.Sparse != nil
	if pollPt == nil && !haveSparse {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "ns per wait call, select vs poll, the multiplexer alone: dense fds, and few fds with ever higher numbers"
	var figs []string
	beats, suffers := false, false
	if pollPt != nil {
		pfig, sfig := wfig(*pollPt), wfig(*selPt)
		figs = append(figs, fmt.Sprintf("%s dense fds: poll %s, select %s", human.Thousands(float64(pollPt.N)), spread(pfig, ns), spread(sfig, ns)))
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
		if pollPt == nil {
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

// densePair returns poll's and select's dense points with one ready fd at
// the largest N both measured ok, same position.
func densePair(pts []waitcost.Point) (pollPt, selPt *waitcost.Point) {
	for i := range pts {
		p := &pts[i]
		if p.Backend != poll.Name || p.Layout != waitcost.LayoutDense || p.K != 1 || p.Status != results.StatusOK {
			continue
		}
		for j := range pts {
			s := &pts[j]
			if s.Backend == fdselect.Name && s.Layout == waitcost.LayoutDense && s.K == 1 && s.N == p.N && s.Position == p.Position && s.Status == results.StatusOK {
				if pollPt == nil || p.N > pollPt.N {
					pollPt, selPt = p, s
				}
			}
		}
	}
	return pollPt, selPt
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
	f, ok := ev.WaitCost.FitOf(epoll.NameLT)
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
