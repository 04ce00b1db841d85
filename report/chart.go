package report

import (
	"math"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/results"
)

// This file is the chart model: what a chart plots (series of medians with
// min–max spreads, status per point, stop markers) and the ranges it
// spans, as plain data built from results.Point in data.go. The drawing is
// in chartdraw.go and chartplot.go, legend and ticks in chartlegend.go.

// Chart is one figure, fully prepared: one or more panels side by side that
// share the fd axis, a legend beside them, a title and a footnote. It holds
// numbers to draw, not samples: whatever built it (see Charts) already
// computed every median and spread, and Render only draws.
type Chart struct {
	Name     string   // file name without extension, e.g. "latency" or "cpu-active32"
	Kind     string   // "latency", "cpu", "util" or "events"
	Title    string   // what is plotted, e.g. "idle-sweep: server CPU per request vs fds"
	Subtitle string   // the conditions: active connections, rate, message size
	XLabel   string   // shared x axis title, with units
	Panels   []Panel  // drawn left to right
	Footnote []string // caption (what points and error bars are) and environment, one line each
}

// Panel is one set of axes in a Chart.
type Panel struct {
	Title  string // e.g. "p99 (tail)"; may be empty for single-panel charts
	YLabel string // y axis title, with units
	LogY   bool   // log scale; points with Y <= 0 cannot be drawn and are left out
	// Micros says the y values are microseconds, so tick labels read as
	// durations (500 µs, 2 ms) whatever the range.
	Micros bool
	Series []Series
}

// Series is one line: one backend of one run across fd counts.
type Series struct {
	Label   string // legend text, e.g. "poll" or "poll (old)"
	Backend string // picks the colour and marker (BackendStyle)
	Run     int    // index of the run among overlaid runs; picks the line dash
	// Scope, on a CPU panel, is whose CPU the line shows (a
	// results.CPUScope* value) when it is not the scope the axis title
	// names: the legend says it.
	Scope  string
	Points []SeriesPoint
}

// SeriesPoint is a backend at one fd count: the median with its spread, and
// the point's status so that saturated, erroneous and unmeasurable points
// are drawn as what they are.
type SeriesPoint struct {
	FDs    int
	Y      float64 // median across repetitions; NaN when not counted
	Min    float64 // smallest repetition
	Max    float64 // largest repetition
	Status string  // a results.Status* value
	Reason string  // why unsupported/failed/errors
}

// Measured reports whether the point has numbers: unsupported and failed
// points have none and end the line with a stop marker instead.
func (p SeriesPoint) Measured() bool {
	return p.Status != results.StatusUnsupported && p.Status != results.StatusFailed
}

// drawable reports whether p can be placed on an axis.
func (p SeriesPoint) drawable(logY bool) bool {
	return p.Measured() && !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0) && (!logY || p.Y > 0)
}

// Stop is where a series stops being measurable: drawn as a red cross at
// the first unmeasurable fd count, at the height of the last drawn point,
// with Label beside it.
type Stop struct {
	FDs   int
	Y     float64
	Label string
}

// Stops returns the stop markers of s on a log or linear y axis: one for each run of unmeasurable
// points that follows (or, at the start, precedes) a drawable point. A series
// with nothing drawable has no stops; its legend entry says why instead.
func (s Series) Stops(logY bool) []Stop {
	pts := sortedPoints(s.Points)
	var stops []Stop
	for i := 0; i < len(pts); i++ {
		if pts[i].Measured() {
			continue
		}
		if i > 0 && !pts[i-1].Measured() {
			continue // same run of unmeasurable points
		}
		y, ok := 0.0, false
		for j := i - 1; j >= 0 && !ok; j-- {
			if pts[j].drawable(logY) {
				y, ok = pts[j].Y, true
			}
		}
		for j := i + 1; j < len(pts) && !ok; j++ {
			if pts[j].drawable(logY) {
				y, ok = pts[j].Y, true
			}
		}
		if !ok {
			continue
		}
		stops = append(stops, Stop{FDs: pts[i].FDs, Y: y, Label: shortReason(pts[i].Status, pts[i].Reason)})
	}
	return stops
}

// limitNames are the limits whose name is the clearest short label for a
// stopped line ("select: FD_SETSIZE"); the full reason is in report.md.
var limitNames = []string{"FD_SETSIZE", "RLIMIT_NOFILE", "ip_local_port_range", "somaxconn"}

// shortReason turns a status and reason into a label short enough to sit
// beside a marker: the limit's name if the reason names one, else the
// reason's first clause.
func shortReason(status, reason string) string {
	for _, n := range limitNames {
		if strings.Contains(reason, n) {
			return n
		}
	}
	r := reason
	if i := strings.IndexAny(r, ":;,("); i > 0 {
		r = r[:i]
	}
	r = strings.TrimSpace(r)
	if len([]rune(r)) > 28 {
		r = strings.TrimSpace(string([]rune(r)[:27])) + "…"
	}
	if r == "" {
		return status
	}
	return status + ": " + r
}

func sortedPoints(pts []SeriesPoint) []SeriesPoint {
	out := append([]SeriesPoint(nil), pts...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].FDs < out[j].FDs })
	return out
}

// xRange is the fd axis range of the whole chart, shared by all panels so
// that they line up: every point's fd count, measured or not (a stop marker
// sits at the first unmeasured one).
func (c *Chart) xRange() (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range c.Panels {
		for _, s := range p.Series {
			for _, pt := range s.Points {
				if pt.FDs > 0 {
					lo = math.Min(lo, float64(pt.FDs))
					hi = math.Max(hi, float64(pt.FDs))
				}
			}
		}
	}
	return lo, hi, lo <= hi
}

// yRange is the range of one panel's drawable medians, spreads and stops.
func (p *Panel) yRange() (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	add := func(v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || (p.LogY && v <= 0) {
			return
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if !pt.drawable(p.LogY) {
				continue
			}
			add(pt.Y)
			add(pt.Min)
			add(pt.Max)
		}
	}
	return lo, hi, lo <= hi
}

// missingNote explains a series that has no drawable point in some panel,
// so it is not silently absent: "unsupported", or "no data" when the metric
// was not measured (e.g. gonet has no wait-call counters).
func (c *Chart) missingNote(label string) string {
	for _, pan := range c.Panels {
		for _, s := range pan.Series {
			if s.Label != label {
				continue
			}
			drawable, unmeasured := false, ""
			for _, pt := range s.Points {
				if pt.drawable(pan.LogY) {
					drawable = true
				} else if !pt.Measured() && unmeasured == "" {
					unmeasured = shortReason(pt.Status, pt.Reason)
					if !strings.HasPrefix(unmeasured, pt.Status) {
						unmeasured = pt.Status + ": " + unmeasured
					}
				}
			}
			if drawable {
				continue
			}
			if unmeasured != "" {
				return unmeasured
			}
			return "no data"
		}
	}
	return ""
}
