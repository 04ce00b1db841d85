package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// Charts of a claims suite that the per-scenario charts (x = fds) cannot
// show: server CPU per request against the active connections at a fixed
// fd count, where epoll's advantage over poll shrinks (claim 10).

// ActiveCharts returns, for a run that measures several active counts at
// one fd count or more, a chart of server CPU per request and p50 latency
// against active connections: one line per backend and fd count. It
// returns nil for a run with one active count.
func ActiveCharts(run *results.Run) []*Chart {
	if len(run.Scenario.Active) < 2 {
		return nil
	}
	points := results.Summarize(run.Samples)
	c := &Chart{
		Name:     "active-" + run.Scenario.Name,
		Kind:     "active",
		Title:    run.Scenario.Name + ": server CPU per request and p50 latency vs active connections",
		Subtitle: fmt.Sprintf("%s, %d B messages", loadText(run.Scenario), run.Scenario.Size),
		XLabel:   "active connections (the rest idle)",
		Footnote: []string{
			fmt.Sprintf("Points: median of %s; error bars: min–max. A line per backend and fd count (solid, then dashed, by fd count).", human.Plural(run.Scenario.Repetitions, "repetition")),
			envText(run.Env),
		},
	}
	for _, m := range []struct {
		title, ylabel string
		value         func(results.Point) results.Stat
	}{
		{"server CPU per request", "CPU time per request (" + cpuScopeText(points) + ")", func(p results.Point) results.Stat { return p.ServerCPUPerReq }},
		{"p50 latency", "latency", func(p results.Point) results.Stat { return p.P50 }},
	} {
		pan := Panel{Title: m.title, YLabel: m.ylabel, LogY: true, Micros: true}
		for _, b := range run.Scenario.Backends {
			for i, fds := range run.Scenario.FDs {
				s := Series{Label: fmt.Sprintf("%s, %s fds", b, human.Thousands(float64(fds))), Backend: b, Run: i}
				for _, p := range points {
					if p.Backend != b || p.FDs != fds || p.Status == results.StatusUnsupported {
						continue
					}
					st := m.value(p)
					s.Points = append(s.Points, SeriesPoint{FDs: p.Active, Y: st.Median / 1e3, Min: st.Min / 1e3, Max: st.Max / 1e3, Status: p.Status, Reason: p.Reason})
				}
				slices.SortFunc(s.Points, func(a, b SeriesPoint) int { return a.FDs - b.FDs })
				if len(s.Points) > 1 {
					pan.Series = append(pan.Series, s)
				}
			}
		}
		if len(pan.Series) > 0 {
			c.Panels = append(c.Panels, pan)
		}
	}
	if len(c.Panels) == 0 {
		return nil
	}
	return []*Chart{c}
}

// cpuScopeText says whose CPU the points count.
func cpuScopeText(points []results.Point) string {
	for _, p := range points {
		if p.ServerCPUScope != "" {
			return p.ServerCPUScope
		}
	}
	return "server"
}

// WriteCharts renders charts into dir as SVG and PNG, each file replaced
// atomically, and returns the file names written.
func WriteCharts(dir string, charts []*Chart) ([]string, error) {
	var names []string
	for _, c := range charts {
		for _, f := range Formats {
			var buf bytes.Buffer
			if err := c.Render(&buf, f); err != nil {
				return names, fmt.Errorf("chart %s: %w", c.Name, err)
			}
			name := c.Name + "." + f
			if err := atomicfile.Write(filepath.Join(dir, name), buf.Bytes()); err != nil {
				return names, fmt.Errorf("chart %s: %w", c.Name, err)
			}
			names = append(names, name)
		}
	}
	return names, nil
}
