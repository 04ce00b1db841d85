package report

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// Runs that sweep the request rate (a scenario's rate axis, such as
// rate-sweep): charted against the rate, one line per backend and fd
// count, with the per-fd slope between the smallest and largest fd count,
// what the server's CPU did between requests, their own observations and
// table. Saturated points are drawn hollow and never enter a comparison or
// a slope's clean row.

// rateRun reports whether some dataset sweeps the rate.
func rateRun(ds []dataset) bool {
	return slices.ContainsFunc(ds, func(d dataset) bool { return d.Run.Scenario.Rate.Several() })
}

// rateMetric is one panel of a rate chart; has says whether a point has
// the figure at all (idle states are not read everywhere).
type rateMetric struct {
	title, ylabel string
	scale         axisScale
	micros        bool
	stat          func(results.Point) results.Stat
	factor        float64
	has           func(results.Point) bool
}

func always(results.Point) bool { return true }

var rateChartKinds = []struct {
	name, what string
	metrics    []rateMetric
}{
	{"cpu-rate", "server CPU per request vs request rate", []rateMetric{
		{"", "CPU / request: loop thread", logScale, true, cpuStat, 1e-3, always},
	}},
	{"idle-rate", "what the server's CPU did between requests vs rate", []rateMetric{
		{"server CPU idle (cpuidle residency)", "% of the window in idle states", linearScale, false,
			func(p results.Point) results.Stat { return p.IdleShare }, 100, func(p results.Point) bool { return p.IdleReps > 0 }},
		{"loop thread wake-ups per request", "wake-ups (voluntary switches) per request", linearScale, false,
			func(p results.Point) results.Stat { return p.WakeupsPerReq }, 1, func(p results.Point) bool { return p.WakeupsPerReq.Median > 0 }},
	}},
}

const rateXLabel = "requests per second, open loop (log scale)"

// rateCharts builds the charts of a rate sweep: CPU per request against
// the rate (a line per backend and fd count), the per-fd slope against
// the rate (a line per backend), and the server CPU's idle share and the
// loop's wake-ups per request against the rate.
func rateCharts(ds []dataset) []*Chart {
	foot := footnote(ds)
	var out []*Chart
	for i, k := range rateChartKinds {
		c := &Chart{
			Name: k.name, Kind: k.name,
			Title:    scenarioNames(ds) + ": " + k.what,
			Subtitle: rateConditions(ds),
			XLabel:   rateXLabel,
			Footnote: foot,
		}
		if k.name == "idle-rate" {
			c.Footnote = append([]string{foot[0], idleNote}, foot[1:]...)
		}
		for _, m := range k.metrics {
			pan := Panel{Title: m.title, YLabel: m.ylabel, LogY: m.scale == logScale, Micros: m.micros}
			for _, d := range ds {
				pan.Series = append(pan.Series, rateSeries(d, len(ds), m)...)
			}
			pan.settleScale(m.scale)
			c.Panels = append(c.Panels, pan)
		}
		out = append(out, c)
		if i == 0 {
			if s := slopeChart(ds, foot); s != nil {
				out = append(out, s)
			}
		}
	}
	return out
}

// idleNote says what the idle chart's figures are and are not.
const idleNote = "Idle: the server CPUs' time in cpuidle states over the window (/sys/devices/system/cpu/cpuN/cpuidle/stateK/time, read at both edges). " +
	"Busy time is the server's and whatever else ran on its CPU. Wake-ups: the loop thread's voluntary context switches per request; one means every request found the loop asleep."

// rateConditions is a rate chart's subtitle: what was held fixed.
func rateConditions(ds []dataset) string {
	parts := []string{}
	if acts := actives(ds); len(acts) == 1 {
		parts = append(parts, human.Plural(acts[0], "active connection"))
	}
	parts = append(parts, "open loop")
	if size := uniq(ds, " / ", func(d dataset) string {
		if d.Run.Scenario.Size <= 0 {
			return ""
		}
		return fmt.Sprintf("%d B", d.Run.Scenario.Size)
	}); size != "" {
		parts = append(parts, size+" messages")
	}
	if cpus := uniq(ds, " / ", func(d dataset) string { return d.Run.Env.ServerCPUs }); cpus != "" {
		parts = append(parts, "server on CPU "+cpus)
	}
	return strings.Join(parts, " · ")
}

// rateKey is a line of a rate chart: everything a point has but its rate.
type rateKey struct {
	backend     string
	fds, active int
}

// rateLines groups d's points by backend, fd count and active count, each
// group's points by increasing rate, in the order the groups first appear.
func rateLines(d dataset) ([]rateKey, map[rateKey][]results.Point) {
	var keys []rateKey
	by := map[rateKey][]results.Point{}
	for _, p := range d.points {
		k := rateKey{p.Backend, p.FDs, p.Active}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], p)
	}
	for _, k := range keys {
		sort.SliceStable(by[k], func(i, j int) bool { return by[k][i].RateRequested < by[k][j].RateRequested })
	}
	return keys, by
}

// rateX is a rate as a chart's x value (SeriesPoint.FDs holds the x).
func rateX(r float64) int { return int(math.Round(r)) }

// rateSeries is one line per backend, fd count (and active count, where
// the run has several) of d: its points across the rates. The fd count
// picks the dash: the smallest solid.
func rateSeries(d dataset, nRuns int, m rateMetric) []Series {
	keys, by := rateLines(d)
	fds := d.Run.Scenario.FDs
	manyActive := len(d.Run.Scenario.Active) > 1
	var out []Series
	for _, k := range keys {
		label := fmt.Sprintf("%s, %s fds", k.backend, human.Thousands(float64(k.fds)))
		if manyActive {
			label += ", " + human.Plural(k.active, "active")
		}
		s := Series{Label: seriesLabel(label, d.Label, nRuns), Backend: k.backend, Run: d.index*max(len(fds), 1) + max(slices.Index(fds, k.fds), 0)}
		for _, p := range by[k] {
			st := m.stat(p)
			sp := SeriesPoint{FDs: rateX(p.RateRequested), Y: st.Median * m.factor, Min: st.Min * m.factor, Max: st.Max * m.factor, Status: p.Status, Reason: p.Reason}
			if p.Status == results.StatusFailed && p.Reps > 0 {
				sp.Status = results.StatusErrors // some repetitions measured: drawn as a point with errors
			}
			if !m.has(p) {
				sp.Y, sp.Min, sp.Max = math.NaN(), math.NaN(), math.NaN()
			}
			s.Points = append(s.Points, sp)
		}
		s.Points = sortedPoints(s.Points)
		out = append(out, s)
	}
	return out
}

// slope is the per-fd cost of one backend at one rate: the difference of
// CPU per request between the run's largest and smallest fd count over
// their difference, with the interval the repetitions' ranges allow.
type slope struct {
	rate            float64
	lo, hi          results.Point // the two ends
	perFD, min, max float64       // ns per watched fd per request
	status          string        // the worse of the two ends'
}

// slopes returns, per backend and active count of d, its slope at every
// rate measured at both the smallest and the largest fd count: (median at
// the largest − median at the smallest) / their difference, and as its
// interval (min at the largest − max at the smallest) to (max at the
// largest − min at the smallest), over the same difference. Nil when the
// run has fewer than two fd counts.
func slopes(d dataset) (keys []rateKey, by map[rateKey][]slope, lo, hi int) {
	fds := d.Run.Scenario.FDs
	if len(fds) < 2 {
		return nil, nil, 0, 0
	}
	lo, hi = slices.Min(fds), slices.Max(fds)
	span := float64(hi - lo)
	lineKeys, lines := rateLines(d)
	by = map[rateKey][]slope{}
	for _, k := range lineKeys {
		if k.fds != hi {
			continue
		}
		small := lines[rateKey{k.backend, lo, k.active}]
		sk := rateKey{backend: k.backend, active: k.active}
		for _, ph := range lines[k] {
			i := slices.IndexFunc(small, func(p results.Point) bool { return p.RateRequested == ph.RateRequested })
			if i < 0 || !measured(ph) || !measured(small[i]) {
				continue
			}
			pl := small[i]
			s := slope{rate: ph.RateRequested, lo: pl, hi: ph, status: ph.Status,
				perFD: (ph.ServerCPUPerReq.Median - pl.ServerCPUPerReq.Median) / span,
				min:   (ph.ServerCPUPerReq.Min - pl.ServerCPUPerReq.Max) / span,
				max:   (ph.ServerCPUPerReq.Max - pl.ServerCPUPerReq.Min) / span,
			}
			if results.Worse(pl.Status, s.status) {
				s.status = pl.Status
			}
			if _, ok := by[sk]; !ok {
				keys = append(keys, sk)
			}
			by[sk] = append(by[sk], s)
		}
	}
	return keys, by, lo, hi
}

// slopeChart is the per-fd slope against the rate, a line per backend;
// nil when no run has two fd counts to take it between.
func slopeChart(ds []dataset, foot []string) *Chart {
	pan := Panel{YLabel: "CPU per request per watched fd, ns"}
	var ends []string
	for _, d := range ds {
		keys, by, lo, hi := slopes(d)
		if len(keys) == 0 {
			continue
		}
		ends = append(ends, fmt.Sprintf("(CPU/req at %s fds − at %s) / %s fds", human.Thousands(float64(hi)), human.Thousands(float64(lo)), human.Thousands(float64(hi-lo))))
		manyActive := len(d.Run.Scenario.Active) > 1
		for _, k := range keys {
			label := k.backend
			if manyActive {
				label += ", " + human.Plural(k.active, "active")
			}
			s := Series{Label: seriesLabel(label, d.Label, len(ds)), Backend: k.backend, Run: d.index}
			for _, sl := range by[k] {
				s.Points = append(s.Points, SeriesPoint{FDs: rateX(sl.rate), Y: sl.perFD, Min: sl.min, Max: sl.max, Status: sl.status})
			}
			pan.Series = append(pan.Series, s)
		}
	}
	if len(pan.Series) == 0 {
		return nil
	}
	def := "Slope: " + strings.Join(slices.Compact(ends), " / ") + " per backend and rate, from the medians; error bars: (min at the larger − max at the smaller) to (max at the larger − min at the smaller), over the same fds, the widest difference the repetitions' ranges allow; hollow: either end saturated (CPU per request there is capped at 1/rate, so the slope is not the backend's)."

	return &Chart{
		Name: "slope-rate", Kind: "slope-rate",
		Title:    scenarioNames(ds) + ": per-fd cost vs request rate",
		Subtitle: "slope " + strings.Join(slices.Compact(ends), " / ") + " · " + rateConditions(ds),
		XLabel:   rateXLabel,
		Panels:   []Panel{pan},
		Footnote: append([]string{foot[0], def}, foot[1:]...),
	}
}

// writeRateTable writes a rate sweep's summary: a row per backend, fd
// count and rate, with what the server's CPU did between requests.
func writeRateTable(b *bytes.Buffer, ds []dataset) {
	multi := len(ds) > 1
	writeTableHead(b, multi, " fds | rate requested | status | achieved | server CPU / req | server CPU util | wake-ups / req | CPU idle | idle entries / req | p50 | p99 | errors |",
		"---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, be := range backends(ds) {
		for _, d := range ds {
			keys, lines := rateLines(d)
			for _, k := range keys {
				if k.backend != be {
					continue
				}
				for _, p := range lines[k] {
					fmt.Fprintf(b, "| %s |", be)
					if multi {
						fmt.Fprintf(b, " %s |", human.MDCell(d.Label))
					}
					fmt.Fprintf(b, " %s | %s | %s |", human.Thousands(float64(p.FDs)), human.Thousands(p.RateRequested), p.Status)
					if !measured(p) {
						b.WriteString(" — | — | — | — | — | — | — | — | — |\n")
						continue
					}
					idle, entries := "—", "—"
					if p.IdleReps > 0 {
						idle, entries = fmtPct(p.IdleShare.Median), human.Sig3(p.IdleEntriesPerReq.Median)
					}
					fmt.Fprintf(b, " %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
						human.Thousands(p.RateAchieved.Median), human.Ns(p.ServerCPUPerReq.Median), fmtPct(p.ServerCPUUtil.Median),
						human.Sig3(p.WakeupsPerReq.Median), idle, entries, human.Ns(p.P50.Median), human.Ns(p.P99.Median), p.Errors)
				}
			}
		}
	}
}

// RateCharts returns, for a run that sweeps the rate, its CPU per request
// and per-fd slope charts against the rate, named after the scenario
// ("cpu-rate-rate-sweep") so a claims suite's report can show them beside
// its other parts' charts; nil for a run at one rate.
func RateCharts(run *results.Run) ([]*Chart, error) {
	if !run.Scenario.Rate.Several() {
		return nil, nil
	}
	ds, err := prepare([]Input{{Run: run}})
	if err != nil {
		return nil, fmt.Errorf("rate charts of %s: %w", run.Scenario.Name, err)
	}
	var out []*Chart
	for _, c := range rateCharts(ds) {
		if c.Kind == "cpu-rate" || c.Kind == "slope-rate" {
			c.Name += "-" + run.Scenario.Name
			out = append(out, c)
		}
	}
	return out, nil
}

// writeTableHead writes a summary table's header: the backend column, a
// run column where several runs are overlaid, then cols with their
// alignments (markdown cells, each ending in "|").
func writeTableHead(b *bytes.Buffer, multi bool, cols, aligns string) {
	b.WriteString("| backend |")
	if multi {
		b.WriteString(" run |")
	}
	b.WriteString(cols + "\n|---|")
	if multi {
		b.WriteString("---|")
	}
	b.WriteString(aligns + "\n")
}
