package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// A rate sweep's observations, by the fd sweep's rules.

// cleanAt is a point every repetition of which was ok, with a spread.
func cleanAt(p results.Point) bool {
	return p.Status == results.StatusOK && p.Reps >= minSpreadReps && p.ServerCPUPerReq.Median > 0
}

// obsRate returns a rate sweep's observations: limits and problems first,
// then per backend and fd count how CPU per request at the slowest clean
// rate compares with the fastest, per backend how the per-fd slope does,
// and what the server's CPU did between requests at the two ends. The
// rules are the fd sweep's: clean points only, a difference only where
// the ranges over repetitions are apart (for a slope, its interval).
func obsRate(d dataset) []string {
	var out []string
	add := func(s string) {
		if s != "" && len(out) < maxObservations {
			out = append(out, s)
		}
	}
	add(obsLimits(d))
	add(obsRateProblems(d))
	keys, lines := rateLines(d)
	var perLine []string
	for _, k := range keys {
		clean := slices.DeleteFunc(slices.Clone(lines[k]), func(p results.Point) bool { return !cleanAt(p) })
		if len(clean) < 2 {
			continue
		}
		slow, fast := clean[0], clean[len(clean)-1]
		s := fmt.Sprintf("%s at %s fds %s at %s req/s and %s at %s req/s: ", k.backend, human.Thousands(float64(k.fds)),
			human.Ns(slow.ServerCPUPerReq.Median), human.Thousands(slow.RateRequested), human.Ns(fast.ServerCPUPerReq.Median), human.Thousands(fast.RateRequested))
		s += relativeApart(slow, fast, cpuStat, "as much per request at the slow rate", "less per request at the slow rate", "CPU per request")
		perLine = append(perLine, s)
	}
	if len(perLine) > 0 {
		add("Server CPU per request (loop thread, medians), slowest against fastest clean rate: " + strings.Join(perLine, "; ") + ".")
	}
	add(obsSlopes(d))
	add(obsIdle(d))
	return out
}

// obsRateProblems names the saturated points of a rate sweep by backend,
// fds and rate (the fd sweep's statement names fds alone), then the
// error counts.
func obsRateProblems(d dataset) string {
	keys, lines := rateLines(d)
	var sat []string
	for _, k := range keys {
		var rates []string
		for _, p := range lines[k] {
			if p.Status == results.StatusSaturated {
				rates = append(rates, human.Thousands(p.RateRequested))
			}
		}
		if len(rates) > 0 {
			sat = append(sat, fmt.Sprintf("%s at %s fds at %s req/s", k.backend, human.Thousands(float64(k.fds)), joinAnd(rates)))
		}
	}
	var parts []string
	if len(sat) > 0 {
		parts = append(parts, "saturated (the rate missed, or the server's CPU >= "+fmt.Sprintf("%.0f%%", results.SaturatedCPU*100)+
			" busy, with its own work or another's, so CPU per request there is only 1/rate): "+strings.Join(sat, ", "))
	}
	parts = append(parts, errorCounts(d)...)
	if len(parts) == 0 {
		return ""
	}
	return "Not clean measurements: " + strings.Join(parts, "; ") + "."
}

// obsSlopes states, per backend, the per-fd slope at the slowest and the
// fastest rate where both ends were clean, and whether it differs beyond
// its interval.
func obsSlopes(d dataset) string {
	keys, by, lo, hi := slopes(d)
	var parts []string
	for _, k := range keys {
		var clean []slope
		for _, s := range by[k] {
			if cleanAt(s.lo) && cleanAt(s.hi) {
				clean = append(clean, s)
			}
		}
		if len(clean) < 2 {
			continue
		}
		a, b := clean[0], clean[len(clean)-1]
		p := fmt.Sprintf("%s %s [%s to %s] at %s req/s, %s [%s to %s] at %s req/s", k.backend,
			human.Sig3(a.perFD), human.Sig3(a.min), human.Sig3(a.max), human.Thousands(a.rate),
			human.Sig3(b.perFD), human.Sig3(b.min), human.Sig3(b.max), human.Thousands(b.rate))
		switch {
		case a.min > b.max && b.perFD > 0:
			p += fmt.Sprintf(" (%s at the slow rate, beyond the interval)", ratioText(a.perFD/b.perFD))
		case a.min > b.max:
			p += " (larger at the slow rate, beyond the interval)"
		case a.max < b.min:
			p += " (smaller at the slow rate, beyond the interval)"
		default:
			p += " (the intervals overlap: no difference claimed)"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("Per-fd slope, (CPU/req at %s fds − at %s) / %s, ns per watched fd per request [interval from the repetitions' ranges]: %s.",
		human.Thousands(float64(hi)), human.Thousands(float64(lo)), human.Thousands(float64(hi-lo)), strings.Join(parts, "; "))
}

// obsIdle says what the server's CPU did between requests at the slowest
// and fastest clean rate of the run's largest fd count: its idle share and
// idle entries per request (where cpuidle is readable), and the loop's
// wake-ups per request. Descriptive: the mechanism's witnesses, not a
// comparison.
func obsIdle(d dataset) string {
	keys, lines := rateLines(d)
	var parts []string
	for _, k := range keys {
		clean := slices.DeleteFunc(slices.Clone(lines[k]), func(p results.Point) bool { return !cleanAt(p) })
		if len(clean) < 2 || k.fds != slices.Max(d.Run.Scenario.FDs) {
			continue
		}
		var ends []string
		for _, p := range []results.Point{clean[0], clean[len(clean)-1]} {
			e := fmt.Sprintf("at %s req/s %s wake-ups per request", human.Thousands(p.RateRequested), human.Sig3(p.WakeupsPerReq.Median))
			if p.IdleReps > 0 {
				e += fmt.Sprintf(", CPU idle %s of the window, %s idle entries per request", fmtPct(p.IdleShare.Median), human.Sig3(p.IdleEntriesPerReq.Median))
			}
			ends = append(ends, e)
		}
		parts = append(parts, fmt.Sprintf("%s at %s fds %s", k.backend, human.Thousands(float64(k.fds)), strings.Join(ends, "; ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Between requests (medians): " + strings.Join(parts, " — ") + "."
}
