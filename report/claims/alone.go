package claims

import (
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// The claims tested by the multiplexer alone (waitcost: back-to-back wait
// calls, no server, no wake-ups), by the kernel source, and by the
// pitfall runs.

// Rules over a WaitFit, stated once so the rows and their tests agree.
const (
	// minR2 is how much of the variance a linear fit must explain for its
	// slope to describe the cost.
	minR2 = 0.9
	// flatShare: a slope whose whole effect at the largest N is below this
	// share of the per-call intercept is flat.
	flatShare = 0.10
)

// linear: the per-fd slope's 95% interval excludes 0 and the fit explains
// most of the variance.
func linear(f WaitFit) bool { return f.PerFDLo > 0 && f.R2 >= minR2 }

// flat: the per-fd slope's interval includes 0, or the slope adds less
// than flatShare of the intercept at the largest N.
func flat(f WaitFit) bool {
	return f.PerFDLo <= 0 || f.PerFD*float64(f.NMax) < flatShare*f.Intercept
}

// superlinear: the log-log exponent's interval lies above 1.
func superlinear(f WaitFit) bool { return f.Exponent > 0 && f.ExponentLo > 1 }

func (w *WaitCost) fit(backend string) (WaitFit, bool) {
	if w == nil {
		return WaitFit{}, false
	}
	for _, f := range w.Fits {
		if f.Backend == backend {
			return f, true
		}
	}
	return WaitFit{}, false
}

func fitText(f WaitFit) string {
	s := fmt.Sprintf("%s %s per fd [%s, %s], R² %.2f", f.Backend, ns(f.PerFD), ns(f.PerFDLo), ns(f.PerFDHi), f.R2)
	if f.Exponent > 0 {
		s += fmt.Sprintf(", exponent %.2f [%.2f, %.2f] from %s fds", f.Exponent, f.ExponentLo, f.ExponentHi, human.Thousands(float64(f.UpperFrom)))
	}
	return s
}

// linearScan tests claim 2 with the waitcost fits.
func linearScan(ev Evidence) Row {
	row := Row{Rule: fmt.Sprintf("linear = the fitted ns per watched fd has a 95%% interval above 0 and R² ≥ %.1f; "+
		"superlinear = the log-log exponent's interval lies above 1; flat = the per-fd interval includes 0 or the slope adds < %s of a call's fixed cost at the largest N; "+
		"holds when select and poll are linear (or superlinear) and epoll-lt is flat", minR2, pct(flatShare))}
	var figs []string
	scan, scanN, super := 0, 0, []string{}
	for _, b := range []string{"select", "poll"} {
		f, ok := ev.WaitCost.fit(b)
		if !ok {
			continue
		}
		scanN++
		figs = append(figs, fitText(f))
		if linear(f) || superlinear(f) {
			scan++
		}
		if superlinear(f) {
			super = append(super, fmt.Sprintf("%s above %s fds", b, human.Thousands(float64(f.UpperFrom))))
		}
	}
	e, eok := ev.WaitCost.fit("epoll-lt")
	if eok {
		figs = append(figs, fitText(e))
	}
	if scanN == 0 || !eok {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "ns per wait call against watched fds, the multiplexer alone (back-to-back calls, 1 fd ready)"
	row.Figure = strings.Join(figs, "; ")
	switch {
	case scan == scanN && flat(e) && len(super) > 0:
		row.Verdict, row.Detail = Holds, "and worse than linear: the cost per fd grows with N ("+strings.Join(super, ", ")+"; caches)"
	case scan == scanN && flat(e):
		row.Verdict, row.Detail = Holds, "select and poll pay per watched fd on every call; epoll's cost does not follow N"
	case scan == scanN:
		row.Verdict, row.Detail = HoldsOnly, "for select and poll: epoll's cost also grows with N"
	default:
		row.Verdict, row.Detail = DoesNotHold, "a scanning multiplexer's cost does not follow the watched fds"
	}
	return row
}

// pollVsSelect tests claim 3 with the waitcost points: dense fds at the
// largest N both can watch, and sparse (few, high-numbered) fds.
func pollVsSelect(ev Evidence) Row {
	row := Row{Rule: "poll beats select = poll's ns per call below select's with the ranges apart, dense fds 0..N at the largest N both ran; " +
		"select suffers with sparse fds = select's ns per call above poll's, ranges apart, with few high-numbered fds; holds when both, holds only when one"}
	if ev.WaitCost == nil {
		row.Verdict = NotMeasured
		return row
	}
	dense := bestPair(ev.WaitCost.Points, false)
	sparse := bestPair(ev.WaitCost.Points, true)
	if dense == nil && sparse == nil {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "ns per wait call, select vs poll, the multiplexer alone"
	var figs []string
	beats, suffers := false, false
	if dense != nil {
		figs = append(figs, fmt.Sprintf("%s dense fds: poll %s, select %s", human.Thousands(float64(dense[0].Watched)), spread(wfig(dense[0]), ns), spread(wfig(dense[1]), ns)))
		beats = apart(wfig(dense[0]), wfig(dense[1])) == -1
	}
	if sparse != nil {
		figs = append(figs, fmt.Sprintf("%d sparse fds: poll %s, select %s", sparse[0].Watched, spread(wfig(sparse[0]), ns), spread(wfig(sparse[1]), ns)))
		suffers = apart(wfig(sparse[1]), wfig(sparse[0])) == 1
	}
	row.Figure = strings.Join(figs, "; ")
	switch {
	case beats && suffers:
		row.Verdict, row.Detail = Holds, "poll is faster on many fds and select pays for the highest fd number, not the count"
	case suffers:
		row.Verdict = HoldsOnly
		row.Detail = "with sparse fds (select scans up to the highest fd); on dense fds poll is not faster beyond the spread"
		if dense == nil {
			row.Detail = "with sparse fds; dense fds were not measured"
		}
	case beats:
		row.Verdict = HoldsOnly
		row.Detail = "on many dense fds; with sparse fds select is not slower beyond the spread"
		if sparse == nil {
			row.Detail = "on many dense fds; sparse fds were not measured"
		}
	default:
		row.Verdict, row.Detail = DoesNotHold, "poll and select cost the same within the spread, dense and sparse"
	}
	return row
}

// bestPair returns the poll and select points with one ready fd at the
// largest fd count both measured ok, dense or sparse.
func bestPair(pts []WaitPoint, sparse bool) []WaitPoint {
	var best []WaitPoint
	for _, p := range pts {
		if p.Backend != "poll" || p.Sparse != sparse || p.Ready != 1 || p.Status != results.StatusOK {
			continue
		}
		for _, s := range pts {
			if s.Backend == "select" && s.Sparse == sparse && s.Ready == 1 && s.Watched == p.Watched && s.Status == results.StatusOK {
				if best == nil || p.Watched > best[0].Watched {
					best = []WaitPoint{p, s}
				}
			}
		}
	}
	return best
}

func wfig(p WaitPoint) figure { return figure{Stat: p.NsPerCall, Reps: p.Reps} }

// sharedMemory reports claim 4: the per-event cost was measured, but a
// cost per event is work per event, not by itself a copy; the kernel
// source settles it.
func sharedMemory(ev Evidence) Row {
	row := Row{
		Rule:   "a measurement cannot tell a copy from other per-event work: the verdict is the kernel source's, the figure is what was measured",
		Source: "fs/eventpoll.c: ep_send_events() copies each ready event to the caller's array with epoll_put_uevent() (__put_user); epoll_wait(2) takes a user buffer, and epoll has no shared mapping",
	}
	f, ok := ev.WaitCost.fit("epoll-lt")
	if !ok {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "ns per returned event of epoll_wait, the multiplexer alone (fit over the ready count)"
	row.Figure = fmt.Sprintf("%s per returned event [%s, %s]", ns(f.PerEvent), ns(f.PerEventLo), ns(f.PerEventHi))
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
			row.Verdict, row.Detail = NotMeasured, "pitfall "+p.Name+" did not run: "+p.Why
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
