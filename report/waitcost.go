package report

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

// This file is the report of a waitcost sweep (the multiplexer alone):
// its charts, ns per wait call (hot scan) or per wake-up (blocking)
// against watched fds per backend on log-log axes, and its markdown
// section with the fits, their verdicts and the observations they allow
// (what a shared fd table costs, what a wake-up costs against a scan).
// Like the rest of the report it reads the record only.

// WaitcostFile is the markdown section WriteWaitcost creates.
const WaitcostFile = "waitcost.md"

// modeText names a mode in titles and sentences.
var modeText = map[string]struct{ title, unit, what string }{
	waitcost.ModeHot: {"hot scan", "thread CPU per wait call",
		"back-to-back wait calls (timeout %d ms) over fds already ready: no wait-queue entry, no sleep, no wake-up; the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) per call"},
	waitcost.ModeBlocking: {"blocking wake-up", "thread CPU per wake-up",
		"a waiter blocked in its wait (timeout -1) with nothing ready, woken by a peer thread on CPU %d that makes one fd readable once it has seen the waiter asleep: the waiter's thread CPU (CLOCK_THREAD_CPUTIME_ID) inside each wait, what a server pays per wait"},
}

// modeWhat is the sentence saying how mode was measured.
func modeWhat(cfg waitcost.Config, mode string) string {
	if mode == waitcost.ModeHot {
		return fmt.Sprintf(modeText[mode].what, cfg.TimeoutMs)
	}
	return fmt.Sprintf(modeText[mode].what, cfg.PeerCPU)
}

// waitcostChartName is the file name of a mode's dense or sparse chart: the hot
// scan's keep the names they had before there were modes.
func waitcostChartName(mode string, sparse bool) string {
	name := "waitcost"
	if mode != waitcost.ModeHot {
		name += "-" + mode
	}
	if sparse {
		name += "-sparse"
	}
	return name
}

// WaitcostCharts are the charts of a waitcost record, per mode measured:
// dense (one ready fd at the lowest and at the highest position, and for
// the hot scan every fd ready) and, when the sweep had sparse layouts,
// sparse (a few watched fds against their highest number). The hot scan's
// are "waitcost" and "waitcost-sparse", the blocking wake-up's
// "waitcost-blocking" and "waitcost-blocking-sparse". With both fd tables
// each backend has two lines: the private table's solid, the shared
// table's dashed.
func WaitcostCharts(rec *waitcost.Record) []*Chart {
	foot := waitcostFootnote(rec)
	cfg := rec.Config
	var out []*Chart
	for _, mode := range cfg.Modes {
		mt := modeText[mode]
		inMode := func(keep func(waitcost.Point) bool) func(waitcost.Point) bool {
			return func(p waitcost.Point) bool { return p.Mode == mode && keep(p) }
		}
		dense := &Chart{
			Name:     waitcostChartName(mode, false),
			Kind:     "waitcost",
			Title:    fmt.Sprintf("waitcost, %s: %s vs watched fds (the multiplexer alone)", mt.title, mt.unit),
			Subtitle: chartSubtitle(cfg, mode),
			XLabel:   "watched fds (N)",
			Footnote: foot,
		}
		for _, pos := range []string{waitcost.PositionLow, waitcost.PositionHigh} {
			if panel, ok := waitcostPanel(rec, mode, "one ready fd, "+map[string]string{waitcost.PositionLow: "the lowest", waitcost.PositionHigh: "the highest"}[pos],
				inMode(func(p waitcost.Point) bool {
					return p.Layout == waitcost.LayoutDense && p.K == 1 && (p.Position == pos || p.Position == waitcost.PositionAll)
				}), func(p waitcost.Point) int { return p.N }); ok {
				dense.Panels = append(dense.Panels, panel)
			}
		}
		if mode == waitcost.ModeHot {
			if panel, ok := waitcostPanel(rec, mode, "every fd ready (k = N)", inMode(func(p waitcost.Point) bool {
				return p.Layout == waitcost.LayoutDense && p.K == p.N
			}), func(p waitcost.Point) int { return p.N }); ok {
				dense.Panels = append(dense.Panels, panel)
			}
		}
		if len(dense.Panels) > 0 {
			out = append(out, dense)
		}
		if panel, ok := waitcostPanel(rec, mode, "", inMode(func(p waitcost.Point) bool { return p.Layout == waitcost.LayoutSparse }),
			func(p waitcost.Point) int { return p.Top }); ok {
			out = append(out, &Chart{
				Name:     waitcostChartName(mode, true),
				Kind:     "waitcost",
				Title:    fmt.Sprintf("waitcost, %s: %s vs the highest watched fd number", mt.title, mt.unit),
				Subtitle: fmt.Sprintf("%d watched fds numbered just below the highest, one ready; %s", cfg.SparseFDs, chartSubtitle(cfg, mode)),
				XLabel:   "highest watched fd number",
				Panels:   []Panel{panel},
				Footnote: foot,
			})
		}
	}
	return out
}

func chartSubtitle(cfg waitcost.Config, mode string) string {
	s := "back-to-back waits, timeout " + fmt.Sprint(cfg.TimeoutMs) + " ms"
	if mode == waitcost.ModeBlocking {
		s = fmt.Sprintf("waiter blocked with nothing ready, woken by a peer on CPU %d", cfg.PeerCPU)
	}
	s += ", socket pairs with both ends watched"
	if len(cfg.Tables) > 1 {
		s += "; dashed: the shared fd table"
	} else if len(cfg.Tables) == 1 {
		s += "; " + cfg.Tables[0] + " fd table"
	}
	return s
}

// waitcostPanel is one log-log panel of the points that keep, at x: a
// series per backend and fd table that measured at least one of them.
func waitcostPanel(rec *waitcost.Record, mode, title string, keep func(waitcost.Point) bool, x func(waitcost.Point) int) (Panel, bool) {
	pan := Panel{Title: title, YLabel: modeText[mode].unit, LogY: true, Micros: true}
	for _, b := range rec.Config.Backends {
		for ti, table := range rec.Config.Tables {
			s := Series{Label: b, Backend: b, Run: ti}
			if len(rec.Config.Tables) > 1 && table == waitcost.TableShared {
				s.Label = b + ", shared fd table"
			}
			measured := false
			for _, p := range rec.Points {
				if p.Backend != b || p.Table != table || !keep(p) {
					continue
				}
				status := p.Status
				if status == results.StatusOK && p.Reps == 0 {
					status = results.StatusFailed
				}
				measured = measured || status == results.StatusOK
				s.Points = append(s.Points, SeriesPoint{FDs: x(p), Y: p.NsPerCall.Median / 1e3, Min: p.NsPerCall.Min / 1e3, Max: p.NsPerCall.Max / 1e3, Status: status, Reason: p.Reason})
			}
			// A backend the mode cannot measure at all (an
			// edge-triggered one in the hot scan) has no line to draw;
			// the markdown says why.
			if measured {
				pan.Series = append(pan.Series, s)
			}
		}
	}
	return pan, len(pan.Series) > 0
}

func waitcostFootnote(rec *waitcost.Record) []string {
	cfg := rec.Config
	env := rec.Env
	env.ServerCPUs, env.ClientCPUs = "", "" // one process here, no server or load generator
	return []string{
		fmt.Sprintf("Points: median of %d repetitions, backends interleaved; error bars: min–max. Each sample: ≥ %d calls or wake-ups and ≥ %v, or %v, whichever first.",
			cfg.Repetitions, cfg.MinCalls, cfg.MinTime, cfg.MaxTime),
		envText(env) + fmt.Sprintf(" · pinned to CPU %d", cfg.CPU),
	}
}

// WriteWaitcost renders the waitcost charts (SVG and PNG) and
// WaitcostFile into dir, each file replaced atomically.
func WriteWaitcost(dir string, rec *waitcost.Record) error {
	charts := WaitcostCharts(rec)
	for _, c := range charts {
		for _, f := range Formats {
			var buf bytes.Buffer
			if err := c.Render(&buf, f); err != nil {
				return fmt.Errorf("write waitcost report: %w", err)
			}
			if err := atomicfile.Write(filepath.Join(dir, c.Name+"."+f), buf.Bytes()); err != nil {
				return fmt.Errorf("write waitcost report: %w", err)
			}
		}
	}
	var md bytes.Buffer
	WaitcostMarkdown(&md, rec, charts)
	if err := atomicfile.Write(filepath.Join(dir, WaitcostFile), md.Bytes()); err != nil {
		return fmt.Errorf("write waitcost report: %w", err)
	}
	return nil
}
