package report

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

// This file is the report of a waitcost sweep (the multiplexer alone):
// its charts, ns per wait call against watched fds per backend on log-log
// axes, and its markdown section with the fits and their verdicts. Like
// the rest of the report it reads the record only.

// WaitcostFile is the markdown section WriteWaitcost creates.
const WaitcostFile = "waitcost.md"

// WaitcostCharts are the charts of a waitcost record: "waitcost" (dense
// layout: one ready fd at the lowest and at the highest position, and
// every fd ready) and, when the sweep had sparse layouts,
// "waitcost-sparse" (a few watched fds against their highest number).
func WaitcostCharts(rec *waitcost.Record) []*Chart {
	foot := waitcostFootnote(rec)
	cfg := rec.Config
	dense := &Chart{
		Name:     "waitcost",
		Kind:     "waitcost",
		Title:    "waitcost: ns per wait call vs watched fds (the multiplexer alone)",
		Subtitle: fmt.Sprintf("back-to-back waits, timeout %d ms, socket pairs with both ends watched", cfg.TimeoutMs),
		XLabel:   "watched fds (N)",
		Footnote: foot,
	}
	for _, pos := range []string{waitcost.PositionLow, waitcost.PositionHigh} {
		if panel, ok := waitcostPanel(rec, "one ready fd, "+map[string]string{waitcost.PositionLow: "the lowest", waitcost.PositionHigh: "the highest"}[pos],
			func(p waitcost.Point) bool {
				return p.Layout == waitcost.LayoutDense && p.K == 1 && (p.Position == pos || p.Position == waitcost.PositionAll)
			}, func(p waitcost.Point) int { return p.N }); ok {
			dense.Panels = append(dense.Panels, panel)
		}
	}
	if panel, ok := waitcostPanel(rec, "every fd ready (k = N)", func(p waitcost.Point) bool {
		return p.Layout == waitcost.LayoutDense && p.K == p.N
	}, func(p waitcost.Point) int { return p.N }); ok {
		dense.Panels = append(dense.Panels, panel)
	}
	var out []*Chart
	if len(dense.Panels) > 0 {
		out = append(out, dense)
	}
	if panel, ok := waitcostPanel(rec, "", func(p waitcost.Point) bool { return p.Layout == waitcost.LayoutSparse },
		func(p waitcost.Point) int { return p.Top }); ok {
		out = append(out, &Chart{
			Name:     "waitcost-sparse",
			Kind:     "waitcost",
			Title:    "waitcost: ns per wait call vs the highest watched fd number",
			Subtitle: fmt.Sprintf("%d watched fds numbered just below the highest, one ready, timeout %d ms", cfg.SparseFDs, cfg.TimeoutMs),
			XLabel:   "highest watched fd number",
			Panels:   []Panel{panel},
			Footnote: foot,
		})
	}
	return out
}

// waitcostPanel is one log-log panel of the points that keep, at x.
func waitcostPanel(rec *waitcost.Record, title string, keep func(waitcost.Point) bool, x func(waitcost.Point) int) (Panel, bool) {
	pan := Panel{Title: title, YLabel: "time per wait call", LogY: true, Micros: true}
	any := false
	for _, b := range rec.Config.Backends {
		s := Series{Label: b, Backend: b}
		for _, p := range rec.Points {
			if p.Backend != b || !keep(p) {
				continue
			}
			status := p.Status
			if status == results.StatusOK && p.Reps == 0 {
				status = results.StatusFailed
			}
			s.Points = append(s.Points, SeriesPoint{FDs: x(p), Y: p.NsPerCall.Median / 1e3, Min: p.NsPerCall.Min / 1e3, Max: p.NsPerCall.Max / 1e3, Status: status, Reason: p.Reason})
		}
		if len(s.Points) > 0 {
			pan.Series = append(pan.Series, s)
			any = true
		}
	}
	return pan, any
}

func waitcostFootnote(rec *waitcost.Record) []string {
	cfg := rec.Config
	env := rec.Env
	env.ServerCPUs, env.ClientCPUs = "", "" // one process here, no server or load generator
	return []string{
		fmt.Sprintf("Points: median of %d repetitions, backends interleaved; error bars: min–max. Each sample: ≥ %d calls and ≥ %v, or %v, whichever first.",
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

// WaitcostMarkdown writes the waitcost section: the charts, the fits with
// their intervals and verdicts, and the medians per point.
func WaitcostMarkdown(w io.Writer, rec *waitcost.Record, charts []*Chart) {
	b := &bytes.Buffer{}
	cfg := rec.Config
	fmt.Fprintf(b, "## The multiplexer alone (waitcost)\n\n")
	fmt.Fprintf(b, "Back-to-back wait calls (timeout %d ms) of each poller over N watched fds (socket pairs, both ends watched), k of them readable; "+
		"median of %d repetitions, backends interleaved, pinned to CPU %d. %s.\n\n",
		cfg.TimeoutMs, cfg.Repetitions, cfg.CPU, human.OneLine(envText(func() results.Environment { e := rec.Env; e.ServerCPUs, e.ClientCPUs = "", ""; return e }())))
	for _, c := range charts {
		fmt.Fprintf(b, "![%s](%s.svg)\n\n", c.Title, c.Name)
	}
	fmt.Fprintf(b, "Fits (95%% intervals): ns/call = a + b·N over the one-ready samples; c from a + b·N + c·k over all dense samples; "+
		"β from log(ns/call) = α + β·log N for N ≥ %d; sparse: ns/call = a + b·(highest fd number).\n\n", cfg.UpperFrom)
	fmt.Fprintln(b, "| backend | a (ns) | b: ns per watched fd | R² | c: ns per event | β (N ≥ "+fmt.Sprint(cfg.UpperFrom)+") | sparse: ns per fd number | verdict |")
	fmt.Fprintln(b, "| --- | ---: | --- | ---: | --- | --- | --- | --- |")
	for _, f := range rec.Fits {
		row := []string{f.Backend, "–", "–", "–", "–", "–", "–", verdicts(f)}
		if lf := f.Idle; lf != nil {
			row[1], row[2], row[3] = fmt.Sprintf("%.3g", lf.Intercept.Value), estText(lf.PerFD), fmt.Sprintf("%.3f", lf.R2)
		}
		if lf := f.Events; lf != nil && lf.PerEvent != nil {
			row[4] = estText(*lf.PerEvent)
		}
		if pf := f.Upper; pf != nil {
			row[5] = fmt.Sprintf("%.2f [%.2f, %.2f]", pf.Beta.Value, pf.Beta.Lo, pf.Beta.Hi)
		}
		if lf := f.Sparse; lf != nil {
			row[6] = estText(lf.PerFD)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "Verdict rules (package waitcost): grows = b's interval excludes 0 and b·N_max ≥ 10% of a; linear = grows and R² ≥ 0.9; "+
		"flat = b's interval includes 0 or b·N_max < 10% of a; superlinear = β's interval lies above 1; "+
		"follows the highest fd = the sparse slope's interval excludes 0 and adds ≥ 10% of a.")
	fmt.Fprintln(b)
	writePerFD(b, rec)
	writeWaitcostPoints(b, rec)
	w.Write(b.Bytes())
}

// estText is an estimate to 3 significant digits, small ones included
// (epoll's per-fd slope is thousandths of a ns).
func estText(e waitcost.Estimate) string {
	return fmt.Sprintf("%.3g [%.3g, %.3g]", e.Value, e.Lo, e.Hi)
}

// verdicts names the rules that hold for f, or why none could be decided.
func verdicts(f waitcost.Fit) string {
	var held []string
	for _, v := range []struct {
		name string
		rule func(waitcost.Fit) (bool, string)
	}{{"grows", waitcost.Grows}, {"linear", waitcost.Linear}, {"flat", waitcost.Flat}, {"superlinear", waitcost.Superlinear}, {"follows highest fd", waitcost.FollowsHighestFD}} {
		if ok, _ := v.rule(f); ok {
			held = append(held, v.name)
		}
	}
	if len(held) == 0 {
		if f.Idle == nil {
			return "not measured"
		}
		return "none of the rules"
	}
	return strings.Join(held, ", ")
}

// writePerFD is the median time per call divided by N, one ready fd at
// the lowest position: the per-fd cost at each N, whose growth is what
// the superlinear rule tests.
func writePerFD(b *bytes.Buffer, rec *waitcost.Record) {
	bs := rec.Config.Backends
	fmt.Fprintf(b, "Time per call per watched fd (median / N, one ready fd, the lowest):\n\n| N | %s |\n| ---: |%s\n", strings.Join(bs, " | "), strings.Repeat(" ---: |", len(bs)))
	for _, n := range rec.Config.FDs {
		cols := []string{fmt.Sprint(n)}
		for _, be := range bs {
			c := "–"
			for _, p := range rec.Points {
				if p.Backend == be && p.Layout == waitcost.LayoutDense && p.N == n && p.K == 1 && p.Position != waitcost.PositionHigh {
					c = p.Status
					if p.Status == results.StatusOK && p.Reps > 0 {
						c = fmt.Sprintf("%.3g ns", p.NsPerCall.Median/float64(n))
					}
				}
			}
			cols = append(cols, c)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cols, " | "))
	}
	fmt.Fprintln(b)
}

// writeWaitcostPoints is the table of medians: one row per layout and
// case, one column per backend.
func writeWaitcostPoints(b *bytes.Buffer, rec *waitcost.Record) {
	type row struct {
		layout, pos string
		n, k, top   int
	}
	var rows []row
	cell := map[row]map[string]waitcost.Point{}
	for _, p := range rec.Points {
		r := row{p.Layout, p.Position, p.N, p.K, p.Top}
		if cell[r] == nil {
			cell[r] = map[string]waitcost.Point{}
			rows = append(rows, r)
		}
		cell[r][p.Backend] = p
	}
	// Points come sorted by backend first; order rows as the first
	// backend's points are, which is layout, N, k, position.
	fmt.Fprintf(b, "Median time per wait call (min–max over repetitions):\n\n| layout | N | highest fd | k | ready at | %s |\n| --- | ---: | ---: | ---: | --- |%s\n",
		strings.Join(rec.Config.Backends, " | "), strings.Repeat(" ---: |", len(rec.Config.Backends)))
	for _, r := range rows {
		p0 := cell[r][rec.Config.Backends[0]]
		top := fmt.Sprint(p0.MaxFD)
		cols := []string{r.layout, fmt.Sprint(r.n), top, fmt.Sprint(r.k), r.pos}
		for _, be := range rec.Config.Backends {
			p, ok := cell[r][be]
			switch {
			case !ok:
				cols = append(cols, "–")
			case p.Reps == 0:
				cols = append(cols, p.Status)
			default:
				cols = append(cols, fmt.Sprintf("%s (%s–%s)", human.Ns(p.NsPerCall.Median), human.Ns(p.NsPerCall.Min), human.Ns(p.NsPerCall.Max)))
			}
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cols, " | "))
	}
	fmt.Fprintln(b)
	// One line per backend and status: the first reason, and where.
	type problem struct {
		backend, status, reason string
		where                   []string
	}
	var probs []*problem
	for _, p := range rec.Points {
		if p.Status == results.StatusOK {
			continue
		}
		var pr *problem
		for _, q := range probs {
			if q.backend == p.Backend && q.status == p.Status {
				pr = q
			}
		}
		if pr == nil {
			pr = &problem{backend: p.Backend, status: p.Status, reason: human.OneLine(p.Reason)}
			probs = append(probs, pr)
		}
		at := fmt.Sprintf("N %d", p.N)
		if p.Layout == waitcost.LayoutSparse {
			at = fmt.Sprintf("sparse to fd %d", p.Top)
		}
		if !slices.Contains(pr.where, at) {
			pr.where = append(pr.where, at)
		}
	}
	for _, pr := range probs {
		fmt.Fprintf(b, "- %s %s at %s: %s\n", pr.backend, pr.status, strings.Join(pr.where, ", "), pr.reason)
	}
	reasons := probs
	if len(reasons) > 0 {
		fmt.Fprintln(b)
	}
}
