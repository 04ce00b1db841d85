package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/results"
)

// This file holds the observations about what stopped a sweep or spoilt
// its points: limits hit (FD_SETSIZE, RLIMIT_NOFILE, ...), saturation and
// errors. They come first: a comparison means little without them.

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
			where = fmt.Sprintf("from %s fds up (it ran up to %s)", human.Thousands(float64(first.FDs)), human.Thousands(float64(maxOK)))
		default:
			where = "at " + fdList(bad) + " fds"
		}
		s := b + " " + verb + " " + where
		if first.Reason != "" {
			s += ": " + strings.TrimSuffix(human.OneLine(first.Reason), ".")
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
		s[i] = human.Thousands(float64(f))
	}
	return joinAnd(s)
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
		case first.RateRequested > 0 && first.RateAchieved.Median >= traffic.SaturatedBelow*first.RateRequested:
			busy := max(first.ServerCPUUtil.Median, first.CPUSetBusy.Median)
			s += fmt.Sprintf(" (the rate was met with the server's CPU %.0f%% busy, so CPU per request there is only 1/rate)", 100*busy)
		case first.RateRequested > 0:
			s += fmt.Sprintf(" (achieved %.0f%% of the requested %s req/s", 100*first.RateAchieved.Median/first.RateRequested, human.Thousands(first.RateRequested))
			if strings.Contains(fdList(sat), " and ") {
				s += " at " + human.Thousands(float64(first.FDs)) + " fds"
			}
			if multi {
				s += " with " + human.Plural(first.Active, "active connection")
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
		parts = append(parts, fmt.Sprintf("%s had %s at %s fds", b, human.Plural(int(n), "error"), fdList(bad)))
	}
	return parts
}
