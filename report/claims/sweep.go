package claims

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/backends/poll"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// The claims tested by the server under load: one sweep run or more, the
// one event loop over each backend. Every comparison is between two
// backends at the same point of the same run, all repetitions ok, and a
// difference counts only when the ranges of the repetitions are apart.

// significant is the relative difference claim 8's "significantly" needs,
// on top of the ranges being apart.
const significant = 0.10

func ns(v float64) string    { return human.Ns(v) }
func ratio(v float64) string { return human.Sig3(v) + "×" }
func count(v float64) string { return human.Sig3(v) }
func pct(v float64) string   { return fmt.Sprintf("%.0f%%", 100*v) }

// fdSetSize tests claim 1 with select's points past FD_SETSIZE and
// select-big's (raw select(2) over a bitmap sized to the highest fd).
func fdSetSize(ev Evidence) Row {
	row := Row{
		Rule: fmt.Sprintf("holds when select is refused past FD_SETSIZE (%d) and nothing shows select(2) watching more; "+
			"holds only (for the fd_set type) when %s watched more than %d fds with select(2) itself; does not hold when select ran past it", fdselect.FDSetSize, fdselect.NameBig, fdselect.FDSetSize),
		Source: "select(2): FD_SETSIZE is the size of the fd_set type; the kernel's core_sys_select (fs/select.c) sizes its bitmaps from nfds, bounded by the process's fd table",
	}
	selOK, selRefused, bigOK := 0, 0, 0
	for _, r := range ev.Runs {
		for _, s := range r.Samples {
			switch {
			case s.Backend == fdselect.Name && s.Status == results.StatusOK:
				selOK = max(selOK, s.FDs)
			case s.Backend == fdselect.Name && s.Status == results.StatusUnsupported && s.FDs > fdselect.FDSetSize:
				if selRefused == 0 || s.FDs < selRefused {
					selRefused = s.FDs
				}
			case s.Backend == fdselect.NameBig && s.Status == results.StatusOK:
				bigOK = max(bigOK, s.FDs)
			}
		}
	}
	if ev.WaitCost != nil {
		for _, p := range ev.WaitCost.Points {
			if p.Backend == fdselect.NameBig && p.Status == results.StatusOK {
				bigOK = max(bigOK, p.N)
			}
		}
	}
	if selRefused == 0 && selOK <= fdselect.FDSetSize {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "the one loop over select(2) with a Go fd_set, and over raw select(2) with a bitmap sized to the highest fd (" + fdselect.NameBig + ")"
	parts := []string{fmt.Sprintf("select ran to %s fds", human.Thousands(float64(selOK)))}
	if selRefused > 0 {
		parts[0] += fmt.Sprintf(", refused from %s", human.Thousands(float64(selRefused)))
	}
	if bigOK > 0 {
		parts = append(parts, fmt.Sprintf("%s ran to %s fds", fdselect.NameBig, human.Thousands(float64(bigOK))))
	}
	row.Figure = strings.Join(parts, "; ")
	switch {
	case selOK > fdselect.FDSetSize:
		row.Verdict, row.Detail = DoesNotHold, "select watched more fds than FD_SETSIZE"
	case bigOK > fdselect.FDSetSize:
		row.Verdict = HoldsOnly
		row.Detail = fmt.Sprintf("for the fd_set type: select(2) itself watched %s fds over a larger bitmap, no kernel change", human.Thousands(float64(bigOK)))
	default:
		row.Verdict = Holds
		row.Detail = "select was refused past FD_SETSIZE; whether the kernel needs a rebuild was not measured (no " + fdselect.NameBig + " past it)"
	}
	return row
}

// edgeFaster tests claim 5: epoll-et against epoll-lt, per run, for CPU
// (fast) and for system calls (the claim's reason).
func edgeFaster(ev Evidence) Row {
	row := Row{Rule: "per run, ET is faster when its server CPU per request is below LT's with the ranges apart at some point and above it at none; " +
		"holds when that is so in every run, holds only in the runs where it is; when it is so in none but ET makes fewer system calls per request (ranges apart), " +
		"holds only for system calls; otherwise does not hold"}
	var figs, wins, losses, fewer []string
	runs := 0
	for _, r := range runsWith(ev, epoll.NameLT, epoll.NameET) {
		c := compareAt(r, epoll.NameET, epoll.NameLT, cpuPerReq)
		if c.points == 0 {
			continue
		}
		runs++
		sys := compareAt(r, epoll.NameET, epoll.NameLT, syscallsPerReq)
		figs = append(figs, fmt.Sprintf("%s: ET/LT CPU per request %s (geomean over %s, %d apart), system calls per request %s vs %s",
			r.Scenario.Name, ratio(c.geomean), human.Plural(c.points, "point"), c.below+c.above, count(sys.medianX), count(sys.medianY)))
		if c.below > 0 && c.above == 0 {
			wins = append(wins, r.Scenario.Name+describe(r))
		} else {
			losses = append(losses, r.Scenario.Name)
		}
		if sys.below > 0 && sys.above == 0 {
			fewer = append(fewer, r.Scenario.Name+describe(r))
		}
	}
	if runs == 0 {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "server CPU and system calls per request, " + epoll.NameET + " vs " + epoll.NameLT + " at the same points"
	row.Figure = strings.Join(figs, "; ")
	switch {
	case len(losses) == 0:
		row.Verdict, row.Detail = Holds, "ET's CPU per request is below LT's beyond the spread in every run"
	case len(wins) > 0:
		row.Verdict, row.Detail = HoldsOnly, "in "+strings.Join(wins, ", ")+"; elsewhere within the spread of LT's"
	case len(fewer) > 0:
		row.Verdict, row.Detail = HoldsOnly, "for system calls, in "+strings.Join(fewer, ", ")+": ET makes fewer per request, but its CPU per request is nowhere below LT's beyond the spread"
	default:
		row.Verdict, row.Detail = DoesNotHold, "ET's CPU per request is nowhere below LT's beyond the spread of repetitions, nor are its system calls fewer"
	}
	return row
}

// describe says what made a run's traffic special, for HoldsOnly details.
func describe(r *results.Run) string {
	var parts []string
	if r.Scenario.Size >= 64<<10 {
		parts = append(parts, human.Thousands(float64(r.Scenario.Size>>10))+" KiB messages")
	}
	if r.Scenario.ServerSendBuffer > 0 {
		parts = append(parts, "SO_SNDBUF "+human.Thousands(float64(r.Scenario.ServerSendBuffer))+" B")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// comparison is backend x against backend y over the common all-ok points
// of one run.
type comparison struct {
	points, below, above int     // points compared; x apart below / above y
	geomean              float64 // of x/y medians
	minRatio, maxRatio   float64
	medianX, medianY     float64 // medians of the per-point medians
}

func compareAt(r *results.Run, x, y string, value func(results.Sample) float64) comparison {
	c := comparison{minRatio: math.Inf(1), maxRatio: math.Inf(-1)}
	logSum := 0.0
	var xs, ys []float64
	for _, pt := range common(r, x, y) {
		fx, okx := at(r, x, pt[0], pt[1], value)
		fy, oky := at(r, y, pt[0], pt[1], value)
		if !okx || !oky || !(fy.Median > 0) || math.IsNaN(fx.Median) {
			continue
		}
		c.points++
		switch apart(fx, fy) {
		case -1:
			c.below++
		case 1:
			c.above++
		}
		q := fx.Median / fy.Median
		logSum += math.Log(q)
		c.minRatio, c.maxRatio = min(c.minRatio, q), max(c.maxRatio, q)
		xs, ys = append(xs, fx.Median), append(ys, fy.Median)
	}
	if c.points > 0 {
		c.geomean = math.Exp(logSum / float64(c.points))
		slices.Sort(xs)
		slices.Sort(ys)
		c.medianX, c.medianY = xs[len(xs)/2], ys[len(ys)/2]
	}
	return c
}

// modCost tests claim 8: epoll-mod (two epoll_ctl per request) against
// epoll-lt.
func modCost(ev Evidence) Row {
	row := Row{Rule: fmt.Sprintf("significant = %s's server CPU per request above %s's with the ranges apart and by %s or more; "+
		"holds when so at every point compared, holds only at the points where it is, does not hold at none", epoll.NameMod, epoll.NameLT, pct(significant))}
	var figs, sig, not []string
	total := 0
	for _, r := range runsWith(ev, epoll.NameMod, epoll.NameLT) {
		for _, pt := range common(r, epoll.NameMod, epoll.NameLT) {
			m, ok1 := at(r, epoll.NameMod, pt[0], pt[1], cpuPerReq)
			l, ok2 := at(r, epoll.NameLT, pt[0], pt[1], cpuPerReq)
			ctl, ok3 := at(r, epoll.NameMod, pt[0], pt[1], perReq(func(d results.ServerDelta) int64 { return d.InterestMods }))
			if !ok1 || !ok2 || !ok3 || !(l.Median > 0) {
				continue
			}
			total++
			where := pointName(pt)
			figs = append(figs, fmt.Sprintf("%s: %s vs %s per request (%s), %s epoll_ctl per request",
				where, spread(m, ns), spread(l, ns), signed(m.Median/l.Median-1), count(ctl.Median)))
			if apart(m, l) == 1 && m.Median/l.Median-1 >= significant {
				sig = append(sig, where)
			} else {
				not = append(not, where)
			}
		}
	}
	if total == 0 {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "server CPU and epoll_ctl calls per request, " + epoll.NameMod + " vs " + epoll.NameLT
	row.Figure = strings.Join(figs, "; ")
	row.Verdict, row.Detail = everywhere(sig, not,
		"MOD per event costs more CPU per request beyond the spread at every point",
		"; elsewhere the difference is below the rule",
		"the extra epoll_ctl calls cost less than the spread of repetitions (or the rule's 10%)")
	return row
}

// everywhere is the verdict of a rule tested at several points: Holds
// when it held at every one, HoldsOnly "at" those where it did (then
// elsewhere), DoesNotHold when at none.
func everywhere(held, not []string, all, elsewhere, none string) (Verdict, string) {
	switch {
	case len(held) > 0 && len(not) == 0:
		return Holds, all
	case len(held) > 0:
		return HoldsOnly, "at " + strings.Join(held, ", ") + elsewhere
	}
	return DoesNotHold, none
}

func pointName(pt [2]int) string {
	return fmt.Sprintf("%s fds/%d active", human.Thousands(float64(pt[0])), pt[1])
}

func signed(v float64) string { return fmt.Sprintf("%+.0f%%", 100*v) }

// fewActive tests claim 10: poll over epoll-lt CPU per request as the
// active share grows, at each fd count with several active counts.
func fewActive(ev Evidence) Row {
	row := Row{Rule: "epoll's advantage = poll's server CPU per request above " + epoll.NameLT + "'s with the ranges apart; " +
		"holds when it is there at the smallest active share and gone (ranges overlap) at the largest, at every fd count; " +
		"holds only when it shrinks but stays; does not hold when it is not there at the smallest share"}
	var figs, stayAt []string
	holds, stays, none := 0, 0, 0
	for _, r := range runsWith(ev, poll.Name, epoll.NameLT) {
		for _, fds := range r.Scenario.FDs {
			var shares []int
			for _, a := range r.Scenario.Active {
				_, ok1 := at(r, poll.Name, fds, a, cpuPerReq)
				_, ok2 := at(r, epoll.NameLT, fds, a, cpuPerReq)
				if ok1 && ok2 {
					shares = append(shares, a)
				}
			}
			if len(shares) < 2 {
				continue
			}
			var steps []string
			gone := 0
			for _, a := range shares {
				p, _ := at(r, poll.Name, fds, a, cpuPerReq)
				e, _ := at(r, epoll.NameLT, fds, a, cpuPerReq)
				mark := ""
				if apart(p, e) != 1 {
					mark = " (within spread)"
					if gone == 0 {
						gone = a
					}
				}
				steps = append(steps, fmt.Sprintf("%s active %s%s", human.Thousands(float64(a)), ratio(p.Median/e.Median), mark))
			}
			figs = append(figs, fmt.Sprintf("%s fds, %s/%s CPU per request: %s", human.Thousands(float64(fds)), poll.Name, epoll.NameLT, strings.Join(steps, ", ")))
			lo, hi := shares[0], shares[len(shares)-1]
			pLo, _ := at(r, poll.Name, fds, lo, cpuPerReq)
			eLo, _ := at(r, epoll.NameLT, fds, lo, cpuPerReq)
			pHi, _ := at(r, poll.Name, fds, hi, cpuPerReq)
			eHi, _ := at(r, epoll.NameLT, fds, hi, cpuPerReq)
			switch {
			case apart(pLo, eLo) != 1:
				none++
			case apart(pHi, eHi) != 1:
				holds++
			default:
				stays++
				stayAt = append(stayAt, fmt.Sprintf("%s active of %s fds", human.Thousands(float64(hi)), human.Thousands(float64(fds))))
			}
		}
	}
	if holds+stays+none == 0 {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "server CPU per request, " + poll.Name + " vs " + epoll.NameLT + ", closed loop, as the active connections grow at a fixed fd count"
	row.Figure = strings.Join(figs, "; ")
	switch {
	case none > 0:
		row.Verdict, row.Detail = DoesNotHold, "at the smallest active share epoll's CPU per request is not below poll's beyond the spread"
	case stays > 0:
		row.Verdict, row.Detail = HoldsOnly, "as a shrinking advantage: epoll is still ahead at the largest active share measured ("+strings.Join(stayAt, "; ")+")"
	default:
		row.Verdict, row.Detail = Holds, "epoll's advantage is there with few active and within the spread with all active"
	}
	return row
}

// fdLimit tests claim 11: epoll backends held as many fds as the
// open-file limit allows, and the memory each connection costs.
func fdLimit(ev Evidence) Row {
	row := Row{Rule: "the fd part holds when an epoll backend ran with every repetition ok at ≥ 99% of the open-file limit (RLIMIT_NOFILE); " +
		"the memory part holds when the measured memory per idle connection allows ≥ 100,000 connections per GB"}
	best, limit := 0, uint64(0)
	var backend string
	for _, r := range ev.Runs {
		for _, b := range r.Scenario.Backends {
			if !strings.HasPrefix(b, "epoll") {
				continue
			}
			for _, fds := range r.Scenario.FDs {
				for _, a := range r.Scenario.Active {
					if _, ok := at(r, b, fds, a, cpuPerReq); ok && fds > best {
						best, backend, limit = fds, b, r.Env.NoFileSoft
					}
				}
			}
		}
	}
	if best == 0 || limit == 0 || float64(best) < 0.99*float64(limit) {
		row.Verdict = NotMeasured
		if best > 0 && limit > 0 {
			row.Detail = fmt.Sprintf("the largest epoll point, %s fds, is below 99%% of the open-file limit %s", human.Thousands(float64(best)), human.Thousands(float64(limit)))
		}
		return row
	}
	row.Measured = "the largest fd count an epoll backend ran at, against RLIMIT_NOFILE; kernel and server memory per idle connection"
	row.Figure = fmt.Sprintf("%s ran at %s fds with the open-file limit at %s", backend, human.Thousands(float64(best)), human.Thousands(float64(limit)))
	mem, ok := memoryPerConn(ev, backend, best)
	if !ok {
		row.Verdict = HoldsOnly
		row.Detail = "for the fd limit: epoll has no limit of its own below RLIMIT_NOFILE; memory per connection was not measured"
		return row
	}
	perGiB := float64(1<<30) / mem.Median
	row.Figure += fmt.Sprintf("; %s per connection %s (kernel, both loopback ends, + server RSS) → %s connections per GiB",
		human.Thousands(float64(best-results.ServerOwnFDs))+" connections:", spread(mem, bytesText), human.Thousands(math.Round(perGiB/1000)*1000))
	if perGiB >= claimedPerGB {
		row.Verdict, row.Detail = Holds, "epoll stops only at RLIMIT_NOFILE, and memory allows the claimed density or more"
	} else {
		row.Verdict, row.Detail = HoldsOnly, "for the fd limit: memory here allows fewer connections per GiB than the claim's ~100,000"
	}
	return row
}

// claimedPerGB is claim 11's density: ~100k connections per GB.
const claimedPerGB = 100_000

// memoryPerConn is the median memory per connection over the repetitions
// of one point, from the population measurement.
func memoryPerConn(ev Evidence, backend string, fds int) (figure, bool) {
	for _, r := range ev.Runs {
		var data []float64
		for _, s := range r.Samples {
			if s.Backend == backend && s.FDs == fds && s.Status == results.StatusOK && s.Memory != nil && s.Memory.BytesPerConn > 0 {
				data = append(data, s.Memory.BytesPerConn)
			}
		}
		if len(data) > 0 {
			slices.Sort(data)
			return figure{Stat: results.Stat{Median: data[len(data)/2], Min: data[0], Max: data[len(data)-1]}, Reps: len(data)}, true
		}
	}
	return figure{}, false
}

func bytesText(b float64) string { return human.Sig3(b/1024) + " KiB" }

// busyWait tests claim 12: epoll-busy (timeout 0 in a spin) against
// epoll-lt: latency gained, CPU burned.
func busyWait(ev Evidence) Row {
	row := Row{Rule: "responsive = " + epoll.NameBusy + "'s p50 latency below " + epoll.NameLT + "'s with the ranges apart; " +
		"holds when so at every point compared, holds only at the points where it is, does not hold at none; the CPU it burns is the figure beside it"}
	var figs, faster, not []string
	for _, r := range runsWith(ev, epoll.NameBusy, epoll.NameLT) {
		for _, pt := range common(r, epoll.NameBusy, epoll.NameLT) {
			b, ok1 := at(r, epoll.NameBusy, pt[0], pt[1], p50)
			l, ok2 := at(r, epoll.NameLT, pt[0], pt[1], p50)
			bu, ok3 := at(r, epoll.NameBusy, pt[0], pt[1], cpuUtil)
			lu, ok4 := at(r, epoll.NameLT, pt[0], pt[1], cpuUtil)
			if !ok1 || !ok2 || !ok3 || !ok4 {
				continue
			}
			where := pointName(pt)
			figs = append(figs, fmt.Sprintf("%s: p50 %s vs %s, server CPU %s vs %s of a core", where, spread(b, ns), spread(l, ns), pct(bu.Median), pct(lu.Median)))
			if apart(b, l) == -1 {
				faster = append(faster, where)
			} else {
				not = append(not, where)
			}
		}
	}
	if len(figs) == 0 {
		row.Verdict = NotMeasured
		return row
	}
	row.Measured = "p50 latency and server CPU utilisation, " + epoll.NameBusy + " vs " + epoll.NameLT
	row.Figure = strings.Join(figs, "; ")
	row.Verdict, row.Detail = everywhere(faster, not,
		"lower latency beyond the spread, at the cost of a core spinning",
		"; elsewhere no difference beyond the spread of repetitions",
		"no latency gained beyond the spread of repetitions")
	return row
}
