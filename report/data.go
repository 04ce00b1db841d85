package report

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/results"
)

// Input is one run to chart and report on.
type Input struct {
	// Label names the run where several runs are overlaid: series read
	// "backend (Label)". Empty labels are filled in from what differs
	// between the runs (host, commit, start time). Unused for a single run.
	Label string
	Run   *results.Run
}

// dataset is an Input with its points summarised once.
type dataset struct {
	Input
	index  int             // position among the inputs; picks the line dash
	points []results.Point // results.Summarize of the run's samples
}

// errNoRuns is returned when there is nothing to report on.
var errNoRuns = errors.New("no runs given")

// prepare checks the inputs, summarises each run and fills in labels.
func prepare(inputs []Input) ([]dataset, error) {
	if len(inputs) == 0 {
		return nil, errNoRuns
	}
	ds := make([]dataset, len(inputs))
	for i, in := range inputs {
		if in.Run == nil {
			return nil, fmt.Errorf("run %d: nil run", i+1)
		}
		ds[i] = dataset{Input: in, index: i, points: results.Summarize(in.Run.Samples)}
	}
	fillLabels(ds)
	return ds, nil
}

// fillLabels gives every unlabelled run the first thing that tells the runs
// apart: hostname, commit, scenario or start time; failing all, its number.
func fillLabels(ds []dataset) {
	if len(ds) == 1 {
		return
	}
	candidates := []func(*results.Run) string{
		func(r *results.Run) string { return r.Env.Hostname },
		func(r *results.Run) string { return r.Env.ShortCommit() },
		func(r *results.Run) string { return r.Scenario.Name },
		func(r *results.Run) string {
			if r.Started.IsZero() {
				return ""
			}
			return r.Started.UTC().Format("2006-01-02 15:04:05")
		},
	}
	for i := range ds {
		if ds[i].Label != "" {
			continue
		}
		ds[i].Label = fmt.Sprintf("run %d", i+1)
		for _, f := range candidates {
			if v := f(ds[i].Run); v != "" && distinct(ds, f) {
				ds[i].Label = v
				break
			}
		}
	}
}

// distinct reports whether f gives every run a different value.
func distinct(ds []dataset, f func(*results.Run) string) bool {
	seen := map[string]bool{}
	for _, d := range ds {
		v := f(d.Run)
		if seen[v] {
			return false
		}
		seen[v] = true
	}
	return true
}

// backends returns the backends of all datasets in scenario order (the
// first run's order, then any new ones as they appear).
func backends(ds []dataset) []string {
	var out []string
	seen := map[string]bool{}
	add := func(b string) {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	for _, d := range ds {
		for _, b := range d.Run.Scenario.Backends {
			add(b)
		}
		for _, p := range d.points {
			add(p.Backend)
		}
	}
	return out
}

// actives returns the sorted distinct active-connection counts.
func actives(ds []dataset) []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range ds {
		for _, p := range d.points {
			if !seen[p.Active] {
				seen[p.Active] = true
				out = append(out, p.Active)
			}
		}
	}
	sort.Ints(out)
	return out
}

// metric is one charted quantity: which Stat of a Point, and the factor
// that converts it into the axis unit (a unit conversion, not a statistic).
type metric struct {
	title  string // panel title
	ylabel string
	scale  axisScale
	micros bool // values (after factor) are microseconds
	stat   func(results.Point) results.Stat
	factor float64
	// zeroMissing says a zero median means "not counted", not a
	// measured zero: every served request takes at least one wait call
	// and one event, so zero waits means the backend has no wait counter
	// (gonet: the Go runtime's netpoller is not instrumented).
	zeroMissing bool
	// scopedCPU says the metric is the server CPU of each point's scope:
	// the y label's scopeMark becomes the scope most lines count, and a
	// line that counts another names it in the legend (scopeLabel).
	scopedCPU bool
}

// axisScale is how a metric's y axis is scaled.
type axisScale int

const (
	linearScale axisScale = iota
	logScale              // always log: the values span decades
	autoScale             // log when the values span more than a decade, else linear from zero
)

// chartKind is one of the four charts.
type chartKind struct {
	name    string
	what    string // for the title
	metrics []metric
}

var chartKinds = []chartKind{
	{"latency", "request latency vs fds", []metric{
		{"median (p50)", "latency (log scale)", logScale, true, func(p results.Point) results.Stat { return p.P50 }, 1e-3, false, false},
		{"tail (p99)", "latency (log scale)", logScale, true, func(p results.Point) results.Stat { return p.P99 }, 1e-3, false, false},
	}},
	{"cpu", "server CPU per request vs fds", []metric{
		{"", "CPU / request: " + scopeMark, logScale, true, func(p results.Point) results.Stat { return p.ServerCPUPerReq }, 1e-3, false, true},
	}},
	{"util", "server CPU utilisation vs fds", []metric{
		{"", "CPU: " + scopeMark + ", % of a core", linearScale, false, func(p results.Point) results.Stat { return p.ServerCPUUtil }, 100, false, true},
	}},
	{"events", "multiplexer work vs fds", []metric{
		{"events returned per wait call", "events per wait call", autoScale, false, func(p results.Point) results.Stat { return p.EventsPerWait }, 1, true, false},
		{"wait calls per request", "wait calls per request", autoScale, false, func(p results.Point) results.Stat { return p.WaitsPerReq }, 1, true, false},
	}},
}

// ChartKinds lists the chart names Charts builds for each active count.
func ChartKinds() []string {
	out := make([]string, len(chartKinds))
	for i, k := range chartKinds {
		out[i] = k.name
	}
	return out
}

const xLabel = "file descriptors watched (connections + listener + wake-up eventfd, log scale)"

// Charts builds the latency, cpu, util and events charts for the runs,
// one set per active-connection count; for runs of several loops, the
// herd and balance charts against the loops instead (herd.go). With one active count the charts are
// named after their kind ("latency"); with several, the count is appended
// ("latency-active32"). Several runs are overlaid, one line per backend and
// run.
func Charts(inputs ...Input) ([]*Chart, error) {
	ds, err := prepare(inputs)
	if err != nil {
		return nil, err
	}
	return buildCharts(ds), nil
}

func buildCharts(ds []dataset) []*Chart {
	if herdRun(ds) {
		return herdCharts(ds) // the fd axis does not vary; the loops do
	}
	if rateRun(ds) {
		return rateCharts(ds) // charted against the rate, a line per fd count
	}
	acts := actives(ds)
	bes := backends(ds)
	var out []*Chart
	for _, a := range acts {
		for _, k := range chartKinds {
			c := &Chart{
				Name:     chartName(k.name, a, len(acts)),
				Kind:     k.name,
				Title:    scenarioNames(ds) + ": " + k.what,
				Subtitle: conditions(ds, a),
				XLabel:   xLabel,
				Footnote: footnote(ds),
			}
			for _, m := range k.metrics {
				pan := Panel{Title: m.title, YLabel: m.ylabel, LogY: m.scale == logScale, Micros: m.micros}
				for _, b := range bes {
					for _, d := range ds {
						s := series(d, inRuns(ds, b), b, a, m)
						if m.scopedCPU {
							s.Scope = cpuScope(d, b)
						}
						if len(s.Points) > 0 {
							pan.Series = append(pan.Series, s)
						}
					}
				}
				if m.scopedCPU {
					pan.YLabel = strings.Replace(pan.YLabel, scopeMark, scopeLabel(pan.Series), 1)
				}
				pan.settleScale(m.scale)
				c.Panels = append(c.Panels, pan)
			}
			out = append(out, c)
		}
	}
	return out
}

// settleScale makes an autoScale panel log when its values span more than
// a decade, and says "log scale" on a log panel's axis.
func (pan *Panel) settleScale(scale axisScale) {
	if scale == autoScale {
		pan.LogY = true
		if lo, hi, ok := pan.yRange(); !ok || hi < 10*lo {
			pan.LogY = false
		}
	}
	if pan.LogY && !strings.Contains(pan.YLabel, "log scale") {
		pan.YLabel += " (log scale)"
	}
}

func chartName(kind string, active, nActive int) string {
	if nActive <= 1 {
		return kind
	}
	return fmt.Sprintf("%s-active%d", kind, active)
}

// series is one backend's line of one run. A backend that nRuns runs
// have is labelled with the run when there are several, and dashed as
// the run; one in a single run (an external server beside built-in
// backends) is its name and a solid line.
func series(d dataset, nRuns int, backend string, active int, m metric) Series {
	s := Series{Label: seriesLabel(backend, d.Label, nRuns), Backend: backend, Run: d.index}
	if nRuns <= 1 {
		s.Run = 0
	}
	for _, p := range d.points {
		if p.Backend != backend || p.Active != active {
			continue
		}
		st := m.stat(p)
		sp := SeriesPoint{
			FDs:    p.FDs,
			Y:      st.Median * m.factor,
			Min:    st.Min * m.factor,
			Max:    st.Max * m.factor,
			Status: p.Status,
			Reason: p.Reason,
		}
		if p.Status == results.StatusFailed && p.Reps > 0 {
			// Some repetitions failed but others measured: draw the
			// median of those, marked as a point with errors.
			sp.Status = results.StatusErrors
		}
		if m.zeroMissing && st.Median <= 0 {
			sp.Y, sp.Min, sp.Max = math.NaN(), math.NaN(), math.NaN()
		}
		s.Points = append(s.Points, sp)
	}
	s.Points = sortedPoints(s.Points)
	return s
}

func seriesLabel(backend, run string, nRuns int) string {
	if nRuns <= 1 {
		return backend
	}
	return backend + " (" + run + ")"
}
