// Package claims turns measurements into the headline of a claims run: a
// table of what the classic select/poll/epoll notes claim, the figure that
// tests each claim, and a verdict computed from the data by a stated rule —
// never fixed text. A claim the evidence does not cover says "not
// measured"; a difference smaller than the spread of its repetitions is
// never claimed.
//
// The package is pure: Table takes the evidence (sweep runs, the
// multiplexer-alone fits, the pitfall outcomes) and returns rows; Markdown
// renders them. Reading files is the caller's job.
package claims

import (
	"fmt"
	"math"
	"slices"

	"github.com/montanaflynn/stats"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

// Verdict is the outcome of one claim's rule.
type Verdict string

const (
	// Holds: the data show what the claim says.
	Holds Verdict = "holds"
	// DoesNotHold: the data contradict the claim (or show no difference
	// beyond the spread where the claim says there is one).
	DoesNotHold Verdict = "does not hold"
	// HoldsOnly: the claim holds under a condition the row's Detail
	// names, and not in general.
	HoldsOnly Verdict = "holds only"
	// NotMeasured: the evidence has nothing that tests the claim.
	NotMeasured Verdict = "not measured"
)

// Row is one claim with its figure and verdict.
type Row struct {
	N        int     `json:"n"`        // the claim's number (1-12) in the claims table: Claims[N-1]
	Claim    string  `json:"claim"`    // the claim, paraphrased
	Measured string  `json:"measured"` // what was measured to test it ("" when not measured)
	Figure   string  `json:"figure"`   // the figure: medians with their spread
	Verdict  Verdict `json:"verdict"`
	Detail   string  `json:"detail"` // the condition (HoldsOnly) or why, in one sentence
	Rule     string  `json:"rule"`   // the rule that computed the verdict
	Source   string  `json:"source,omitempty"`
}

// Evidence is everything a claims run measured. Any part may be missing;
// the rows it would have filled say "not measured".
type Evidence struct {
	Runs     []*results.Run   // sweep scenarios (the server under load)
	WaitCost *waitcost.Record // the multiplexer alone; nil when not run
	Pitfalls []Pitfall        // the deliberately wrong loops; nil when not run
}

// Pitfall is the outcome of one deliberately wrong loop for the claim it
// tests (6, 7 or 9).
type Pitfall struct {
	Claim       int
	Name        string
	Reproduced  bool   // the mistake did what the notes say
	Ran         bool   // false when the pitfall gave no answer (Why says why)
	Measured    string // what was done
	Figure      string // the wrong loop's figure against the correct loop's
	Explanation string
	Why         string
}

// Table computes every claim's row, in claim order.
func Table(ev Evidence) []Row {
	rows := []Row{
		fdSetSize(ev), linearScan(ev), pollVsSelect(ev), sharedMemory(ev),
		edgeFaster(ev), pitfallRow(ev, 6), pitfallRow(ev, 7), modCost(ev),
		pitfallRow(ev, 9), fewActive(ev), fdLimit(ev), busyWait(ev),
	}
	for i := range rows {
		rows[i].N = i + 1
		rows[i].Claim = Claims[i]
		if rows[i].Verdict == NotMeasured && rows[i].Detail == "" {
			rows[i].Detail = "the run holds no " + needs[i]
		}
	}
	return rows
}

// Claims are what the seed notes claim (the README names them), paraphrased,
// in the order they are numbered: claim n is Claims[n-1], and code, reports
// and the README's claims table refer to a claim by that number.
var Claims = []string{
	"select can watch at most FD_SETSIZE = 1024 fds; raising it needs a kernel rebuild",
	"select and poll scan every watched fd on every call, so their cost grows linearly with idle fds; epoll stays flat",
	"poll beats select on many fds; select suffers with sparse (high-numbered) fds",
	"epoll shares memory with user space (mmap), so reporting events copies nothing",
	"edge-triggered is the fast mode: fewer system calls than level-triggered",
	"ET must read until EAGAIN or a short read; stopping at a short read loses a close that arrives with data",
	"an ET listener must accept until EAGAIN, or connections are lost",
	"epoll_ctl MOD on every event (IN→OUT→IN per request) significantly reduces efficiency",
	"a send that sleeps and retries on EAGAIN works but can block the loop for a long time",
	"epoll's advantage is for many connections with few active",
	"epoll's fd limit is the open-file limit (~100k connections per GB of memory)",
	"epoll_wait with timeout 0 keeps a loop that shares its thread responsive",
}

// needs names, per claim, the measurement that would test it.
var needs = []string{
	"select point past FD_SETSIZE",
	"multiplexer-alone fits (waitcost) and no select/poll/epoll sweep",
	"multiplexer-alone points for select and poll (waitcost)",
	"multiplexer-alone fit for epoll (waitcost)",
	epoll.NameLT + " and " + epoll.NameET + " at the same points",
	"pitfall run (muxbench pitfalls)",
	"pitfall run (muxbench pitfalls)",
	epoll.NameMod + " and " + epoll.NameLT + " at the same points",
	"pitfall run (muxbench pitfalls)",
	"poll and " + epoll.NameLT + " at several active counts on the same fds",
	"epoll point near the open-file limit",
	epoll.NameBusy + " and " + epoll.NameLT + " at the same points",
}

// minReps is the fewest repetitions a figure needs before a difference
// can be stated: one sample has no spread.
const minReps = 2

// figure is one quantity at one (backend, fds, active) point of a run,
// median and spread over the point's repetitions. ok is false unless every
// repetition was status ok: a saturated, failed or erroring sample makes
// the point's figures say something else than the multiplexer's cost.
type figure struct {
	results.Stat
	Reps int
}

// at summarises value over the samples of one point.
func at(run *results.Run, backend string, fds, active int, value func(results.Sample) float64) (figure, bool) {
	var data stats.Float64Data
	for _, s := range run.Samples {
		if s.Backend != backend || s.FDs != fds || s.Active != active {
			continue
		}
		if s.Status != results.StatusOK {
			return figure{}, false
		}
		data = append(data, value(s))
	}
	if len(data) == 0 {
		return figure{}, false
	}
	median, _ := stats.Median(data)
	lo, _ := stats.Min(data)
	hi, _ := stats.Max(data)
	return figure{Stat: results.Stat{Median: median, Min: lo, Max: hi}, Reps: len(data)}, true
}

// apart is +1 when x's range lies wholly above y's, -1 wholly below, 0
// when they overlap or either has fewer than minReps repetitions.
func apart(x, y figure) int {
	if x.Reps < minReps || y.Reps < minReps {
		return 0
	}
	switch {
	case x.Min > y.Max:
		return 1
	case x.Max < y.Min:
		return -1
	}
	return 0
}

// common lists the (fds, active) points where every backend named has
// samples in run, in the run's order.
func common(run *results.Run, backends ...string) [][2]int {
	var pts [][2]int
	seen := map[[2]int]bool{}
	for _, s := range run.Samples {
		k := [2]int{s.FDs, s.Active}
		if seen[k] {
			continue
		}
		seen[k] = true
		all := true
		for _, b := range backends {
			if !hasSample(run, b, k[0], k[1]) {
				all = false
				break
			}
		}
		if all {
			pts = append(pts, k)
		}
	}
	return pts
}

func hasSample(run *results.Run, backend string, fds, active int) bool {
	return slices.ContainsFunc(run.Samples, func(s results.Sample) bool {
		return s.Backend == backend && s.FDs == fds && s.Active == active
	})
}

// runsWith returns the runs whose scenario lists every backend named,
// leaving out rate sweeps: the claims compare points at one rate, and at
// reads a point by backend, fds and active count alone.
func runsWith(ev Evidence, backends ...string) []*results.Run {
	var out []*results.Run
	for _, r := range ev.Runs {
		ok := !r.Scenario.Rate.Several()
		for _, b := range backends {
			if !slices.Contains(r.Scenario.Backends, b) {
				ok = false
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// perReq divides a server counter by the sample's requests.
func perReq(count func(results.ServerDelta) int64) func(results.Sample) float64 {
	return func(s results.Sample) float64 {
		if s.Requests == 0 {
			return math.NaN()
		}
		return float64(count(s.Server)) / float64(s.Requests)
	}
}

func cpuPerReq(s results.Sample) float64 { return s.Server.CPUNsPerReq }
func cpuUtil(s results.Sample) float64   { return s.Server.CPUUtil }
func p50(s results.Sample) float64       { return float64(s.Latency.P50) }
func syscallsPerReq(s results.Sample) float64 {
	return s.Server.SyscallsPerReq
}

// spread formats a figure as "median [min–max]" with format f for each
// number.
func spread(x figure, f func(float64) string) string {
	if x.Reps < minReps {
		return f(x.Median) + " (1 repetition)"
	}
	return fmt.Sprintf("%s [%s–%s]", f(x.Median), f(x.Min), f(x.Max))
}
