package report

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

// Runs of several loops in one server (a scenario's loops axis, such as
// claim-herd): charted against the loops, one line per backend and load,
// with their own observations and table. The x axis of the fd charts does
// not vary in them.

// herdRun reports whether some dataset has points of several loops.
func herdRun(ds []dataset) bool {
	for _, d := range ds {
		if slices.ContainsFunc(d.points, func(p results.Point) bool { return p.Loops > 1 }) {
			return true
		}
	}
	return false
}

// wastedNote says what a wasted wake-up is, in the charts' footnote and
// the report.
const wastedNote = "Wake-ups: the loop threads' voluntary context switches (/proc/self/task/TID/status), each a sleep they were woken from, " +
	"seen or not (a loop woken for a connection another loop took often sleeps again inside epoll_wait without returning). " +
	"Wasted: wake-ups beyond the waits that did work, counted per loop, a lower bound (a wait that finds events ready did not sleep)."

// herdMetric is one panel of a herd chart.
type herdMetric struct {
	title, ylabel string
	scale         axisScale
	micros        bool
	stat          func(results.Point) results.Stat
	factor        float64
}

var herdChartKinds = []struct {
	name, what string
	metrics    []herdMetric
}{
	{"herd", "wake-ups vs loops", []herdMetric{
		{"wake-ups per request (every loop thread)", "wake-ups per request", autoScale, false, func(p results.Point) results.Stat { return p.WakeupsPerReq }, 1},
		{"wasted wake-ups per request", "wasted wake-ups per request (churn: per accept)", linearScale, false, func(p results.Point) results.Stat { return p.WastedWakeupsPerReq }, 1},
	}},
	{"balance", "how the loops share the work vs loops", []herdMetric{
		{"busiest loop's share of the connections", "share of the connections, % (even: 100/loops)", linearScale, false, func(p results.Point) results.Stat { return p.BusiestLoopShare }, 100},
		{"server CPU per request (every loop thread)", "CPU / request: loop threads", logScale, true, func(p results.Point) results.Stat { return p.ServerCPUPerReq }, 1e-3},
	}},
}

// herdCharts builds the herd and balance charts: x = loops, a line per
// backend and load (keep-alive solid, churn dashed), and per fd count
// when the runs have several.
func herdCharts(ds []dataset) []*Chart {
	var out []*Chart
	foot := footnote(ds)
	for _, k := range herdChartKinds {
		c := &Chart{
			Name:     k.name,
			Kind:     k.name,
			Title:    scenarioNames(ds) + ": " + k.what,
			Subtitle: herdConditions(ds),
			XLabel:   "loops in the server process (each on its own thread)",
			Footnote: append([]string{foot[0], wastedNote}, foot[1:]...),
		}
		for _, m := range k.metrics {
			pan := Panel{Title: m.title, YLabel: m.ylabel, LogY: m.scale == logScale, Micros: m.micros}
			for _, d := range ds {
				pan.Series = append(pan.Series, herdSeries(d, len(ds), m)...)
			}
			pan.settleScale(m.scale)
			c.Panels = append(c.Panels, pan)
		}
		out = append(out, c)
	}
	return out
}

// herdSeries is one line per backend, load and fd count of d: its points
// across loops (SeriesPoint.FDs holds the loops: the x axis).
func herdSeries(d dataset, nRuns int, m herdMetric) []Series {
	type key struct {
		backend string
		churn   bool
		fds     int
	}
	var keys []key
	byKey := map[key][]SeriesPoint{}
	manyFDs := len(d.Run.Scenario.FDs) > 1
	for _, p := range d.points {
		k := key{p.Backend, p.Churn, p.FDs}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		st := m.stat(p)
		sp := SeriesPoint{FDs: max(p.Loops, 1), Y: st.Median * m.factor, Min: st.Min * m.factor, Max: st.Max * m.factor, Status: p.Status, Reason: p.Reason}
		if st.Median <= 0 && m.scale != linearScale {
			sp.Y, sp.Min, sp.Max = math.NaN(), math.NaN(), math.NaN() // not counted (one loop, gonet)
		}
		byKey[k] = append(byKey[k], sp)
	}
	var out []Series
	for _, k := range keys {
		label := k.backend + ", " + loadName(k.churn)
		if manyFDs {
			label += ", " + human.Thousands(float64(k.fds)) + " fds"
		}
		run := d.index * 2
		if k.churn {
			run++ // the load picks the dash: keep-alive solid, churn dashed
		}
		out = append(out, Series{Label: seriesLabel(label, d.Label, nRuns), Backend: k.backend, Run: run, Points: sortedPoints(byKey[k])})
	}
	return out
}

func loadName(churn bool) string {
	if churn {
		return "churn"
	}
	return "keep-alive"
}

// herdConditions is the herd charts' subtitle: the load, and where the
// loops ran.
func herdConditions(ds []dataset) string {
	parts := []string{conditions(ds, ds[0].Run.Scenario.Active[0])}
	if s := uniq(ds, " / ", func(d dataset) string { return loopsOnCPUs(d.Run) }); s != "" {
		parts = append(parts, s)
	}
	return strings.Join(parts, " · ")
}

// loopsOnCPUs says where a run's loops ran and so what its figures can
// show: with fewer server CPUs than loops they take turns, and the run
// shows wake-ups and balance, not a parallel speed-up.
func loopsOnCPUs(r *results.Run) string {
	most := slices.Max(r.Scenario.LoopCounts())
	set, err := cpuset.Parse(r.Env.ServerCPUs)
	if err != nil || set.Empty() {
		return fmt.Sprintf("up to %d loops, unpinned", most)
	}
	switch n := set.Len(); {
	case n == 1:
		return fmt.Sprintf("all %d loops on server CPU %s: they take turns on one CPU, so this shows wasted wake-ups and balance, not a parallel speed-up", most, set)
	case n < most:
		return fmt.Sprintf("up to %d loops on %d server CPUs (%s): beyond %d loops they take turns, so no speed-up past %d", most, n, set, n, n)
	default:
		return fmt.Sprintf("one server CPU per loop (%s): CPU figures show scaling", set)
	}
}

// obsHerd is the observations of a run of several loops: where the loops
// ran, a row per sharing mode under churn (wasted wake-ups per accept and
// the loops' balance at each loop count), and one for the keep-alive load.
// The usual rules hold: only points whose every repetition was ok, and a
// difference only where the ranges of the repetitions are apart.
func obsHerd(d dataset) []string {
	out := []string{capitalize(loopsOnCPUs(d.Run)) + "."}
	bes := backends([]dataset{d})
	for _, b := range bes {
		if s := obsHerdMode(d, b, bes); s != "" {
			out = append(out, s)
		}
	}
	if s := obsHerdKeepAlive(d, bes); s != "" {
		out = append(out, s)
	}
	return out
}

// herdPoints returns backend's points of one load, by loops, keeping the
// clean ones (every repetition ok) and naming the others.
func herdPoints(d dataset, backend string, churn bool) (clean []results.Point, unclean []string) {
	for _, p := range d.points {
		if p.Backend != backend || p.Churn != churn {
			continue
		}
		if p.Status == results.StatusOK && p.Reps > 0 {
			clean = append(clean, p)
		} else {
			unclean = append(unclean, fmt.Sprintf("%d loops (%s)", max(p.Loops, 1), p.Status))
		}
	}
	sort.SliceStable(clean, func(i, j int) bool { return clean[i].Loops < clean[j].Loops })
	return clean, unclean
}

func wastedStat(p results.Point) results.Stat { return p.WastedWakeupsPerAccept }

// obsHerdMode is the churn row of one backend.
func obsHerdMode(d dataset, backend string, all []string) string {
	pts, unclean := herdPoints(d, backend, true)
	if len(pts) == 0 && len(unclean) == 0 {
		return ""
	}
	name := backend
	if b, err := lineup.Lookup(backend); err == nil && b.Sharing.String() != "" {
		name = b.Sharing.String() + " (" + backend + ")"
	}
	s := "**" + name + "**, churn: "
	if len(pts) == 0 {
		return s + "no clean point: " + strings.Join(unclean, ", ") + "."
	}
	var wasted, wakeups, balance, loops []string
	for _, p := range pts {
		loops = append(loops, fmt.Sprint(p.Loops))
		wasted = append(wasted, statText(p.WastedWakeupsPerAccept))
		wakeups = append(wakeups, human.Sig3(p.WakeupsPerReq.Median))
		balance = append(balance, balanceText(p.ConnBalance.Median))
	}
	s += fmt.Sprintf("%s wasted wake-ups per accept at %s loops (of %s wake-ups per request); max/min accepts across loops %s",
		joinAnd(wasted), joinAnd(loops), joinAnd(wakeups), joinAnd(balance))
	var more, fewer []string
	for _, p := range pts {
		above, below, others := true, true, 0
		for _, o := range all {
			if o == backend {
				continue
			}
			for _, q := range d.points {
				if q.Backend == o && q.Churn && q.Loops == p.Loops && q.Status == results.StatusOK && q.Reps > 0 {
					others++
					above = above && apart(p, q, wastedStat) > 0
					below = below && apart(p, q, wastedStat) < 0
				}
			}
		}
		switch {
		case others == 0:
		case above:
			more = append(more, fmt.Sprint(p.Loops))
		case below:
			fewer = append(fewer, fmt.Sprint(p.Loops))
		}
	}
	if len(more) > 0 {
		s += "; more than every other mode's beyond the spread of repetitions at " + joinAnd(more) + " loops"
	}
	if len(fewer) > 0 {
		s += "; fewer than every other mode's beyond the spread at " + joinAnd(fewer) + " loops"
	}
	if len(unclean) > 0 {
		s += "; not clean: " + strings.Join(unclean, ", ")
	}
	return s + "."
}

// obsHerdKeepAlive is the keep-alive row: wasted wake-ups per request
// across every mode and loop count, and how the loops shared the
// connections at the most loops.
func obsHerdKeepAlive(d dataset, all []string) string {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	most := slices.Max(d.Run.Scenario.LoopCounts())
	var shares []string
	var unclean []string
	for _, b := range all {
		pts, bad := herdPoints(d, b, false)
		for _, p := range bad {
			unclean = append(unclean, b+" at "+p)
		}
		for _, p := range pts {
			lo, hi, n = math.Min(lo, p.WastedWakeupsPerReq.Median), math.Max(hi, p.WastedWakeupsPerReq.Median), n+1
			if p.Loops == most {
				shares = append(shares, fmt.Sprintf("%s %.0f%%", b, p.BusiestLoopShare.Median*100))
			}
		}
	}
	if n == 0 {
		if len(unclean) == 0 {
			return ""
		}
		return "Keep-alive: no clean point (" + strings.Join(unclean, ", ") + ")."
	}
	s := fmt.Sprintf("Keep-alive (persistent connections, accepted before the window): %s to %s wasted wake-ups per request over every mode and loop count",
		human.Sig3(lo), human.Sig3(hi))
	if len(shares) > 0 {
		s += fmt.Sprintf("; the busiest loop's share of the connections at %d loops: %s", most, strings.Join(shares, ", "))
	}
	if len(unclean) > 0 {
		s += "; not clean: " + strings.Join(unclean, ", ")
	}
	return s + "."
}

// statText is a median with its range over repetitions: "2.9 [2.5–3.1]".
func statText(st results.Stat) string {
	return fmt.Sprintf("%s [%s–%s]", human.Sig3(st.Median), human.Sig3(st.Min), human.Sig3(st.Max))
}

// balanceText is a max/min ratio; infinite when a loop had none.
func balanceText(r float64) string {
	switch {
	case math.IsInf(r, 1):
		return "∞ (a loop had none)"
	case r <= 0:
		return "—"
	}
	return human.Sig3(r)
}

// writeHerdTable writes the herd runs' summary: a row per backend, load
// and loop count.
func writeHerdTable(b *bytes.Buffer, ds []dataset) {
	multi := len(ds) > 1
	b.WriteString("| backend |")
	if multi {
		b.WriteString(" run |")
	}
	b.WriteString(" load | loops | fds | status | wake-ups / req | wasted / req | wasted / accept | max/min conns | busiest loop | loop CPU / req | p50 | p99 | errors |\n|---|")
	if multi {
		b.WriteString("---|")
	}
	b.WriteString("---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, be := range backends(ds) {
		for _, d := range ds {
			pts := slices.Clone(d.points)
			sort.SliceStable(pts, func(i, j int) bool {
				if pts[i].Churn != pts[j].Churn {
					return !pts[i].Churn
				}
				return pts[i].Loops < pts[j].Loops
			})
			for _, p := range pts {
				if p.Backend != be {
					continue
				}
				fmt.Fprintf(b, "| %s |", be)
				if multi {
					fmt.Fprintf(b, " %s |", human.MDCell(d.Label))
				}
				fmt.Fprintf(b, " %s | %d | %s | %s |", loadName(p.Churn), max(p.Loops, 1), human.Thousands(float64(p.FDs)), p.Status)
				if !measured(p) {
					b.WriteString(" — | — | — | — | — | — | — | — | — |\n")
					continue
				}
				fmt.Fprintf(b, " %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
					fmtCount(p.WakeupsPerReq.Median), human.Sig3(p.WastedWakeupsPerReq.Median), human.Sig3(p.WastedWakeupsPerAccept.Median),
					balanceText(p.ConnBalance.Median), fmtPct(p.BusiestLoopShare.Median), human.Ns(p.ServerCPUPerReq.Median),
					human.Ns(p.P50.Median), human.Ns(p.P99.Median), p.Errors)
			}
		}
	}
}
