package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

// The waitcost section of a report: the markdown around the charts, with
// the fits, the observations and the medians per point.

// WaitcostMarkdown writes the waitcost section: how each mode was
// measured, the charts, the fits with their intervals and verdicts, the
// observations, and the medians per point.
func WaitcostMarkdown(w io.Writer, rec *waitcost.Record, charts []*Chart) {
	b := &bytes.Buffer{}
	cfg := rec.Config
	env := rec.Env
	env.ServerCPUs, env.ClientCPUs = "", ""
	fmt.Fprintf(b, "## The multiplexer alone (waitcost)\n\n")
	fmt.Fprintf(b, "Each poller over N watched fds (socket pairs, both ends watched); median of %d repetitions, backends interleaved, measuring thread pinned to CPU %d. %s.\n\n",
		cfg.Repetitions, cfg.CPU, human.OneLine(envText(env)))
	for _, mode := range cfg.Modes {
		fmt.Fprintf(b, "- **%s**: %s.\n", modeText[mode].title, modeWhat(cfg, mode))
	}
	for _, table := range cfg.Tables {
		fmt.Fprintf(b, "- **%s fd table**: %s.\n", table, tableText[table])
	}
	if share, ok := cpuShare(rec); ok {
		fmt.Fprintf(b, "\nThe measuring thread was on its CPU for %s of the hot samples' wall time (median, [min–max] over samples); the rest, other tasks held it, which thread CPU time leaves out.\n", share)
	}
	fmt.Fprintln(b)
	for _, c := range charts {
		fmt.Fprintf(b, "![%s](%s.svg)\n\n", c.Title, c.Name)
	}
	fmt.Fprintf(b, "Fits (95%% intervals): ns = a + b·N over the one-ready samples; c from a + b·N + c·k over all dense samples; "+
		"β from log(ns) = α + β·log N for N ≥ %d; sparse: ns = a + b·(highest fd number). Per call in the hot scan, per wake-up in the blocking mode.\n\n", cfg.UpperFrom)
	fmt.Fprintln(b, "| mode | fd table | backend | a (ns) | b: ns per watched fd | R² | c: ns per event | β (N ≥ "+fmt.Sprint(cfg.UpperFrom)+") | sparse: ns per fd number | verdict |")
	fmt.Fprintln(b, "| --- | --- | --- | ---: | --- | ---: | --- | --- | --- | --- |")
	for _, f := range rec.Fits {
		row := []string{modeText[f.Mode].title, f.Table, f.Backend, "–", "–", "–", "–", "–", "–", verdicts(f)}
		if lf := f.Idle; lf != nil {
			row[3], row[4], row[5] = fmt.Sprintf("%.3g", lf.Intercept.Value), estText(lf.PerFD), fmt.Sprintf("%.3f", lf.R2)
		}
		if lf := f.Events; lf != nil && lf.PerEvent != nil {
			row[6] = estText(*lf.PerEvent)
		}
		if pf := f.Upper; pf != nil {
			row[7] = fmt.Sprintf("%.2f [%.2f, %.2f]", pf.Beta.Value, pf.Beta.Lo, pf.Beta.Hi)
		}
		if lf := f.Sparse; lf != nil {
			row[8] = estText(lf.PerFD)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "Verdict rules (package waitcost): grows = b's interval excludes 0 and b·N_max ≥ 10% of a; linear = grows and R² ≥ 0.9; "+
		"flat = b's interval includes 0 or b·N_max < 10% of a; superlinear = β's interval lies above 1; "+
		"follows the highest fd = the sparse slope's interval excludes 0 and adds ≥ 10% of a.")
	fmt.Fprintln(b)
	if obs := WaitcostObservations(rec); len(obs) > 0 {
		fmt.Fprintln(b, "Observations (from the fits' slopes b; a difference counts only when its interval excludes 0):")
		fmt.Fprintln(b)
		for _, o := range obs {
			fmt.Fprintf(b, "- %s\n", o)
		}
		fmt.Fprintln(b)
	}
	for _, mode := range cfg.Modes {
		for _, table := range cfg.Tables {
			if len(cfg.Modes) > 1 || len(cfg.Tables) > 1 {
				fmt.Fprintf(b, "### %s, %s fd table\n\n", capital(modeText[mode].title), table)
			}
			writePerFD(b, rec, mode, table)
			writeWaitcostPoints(b, rec, mode, table)
		}
	}
	writeWaitcostProblems(b, rec)
	w.Write(b.Bytes())
}

// cpuShare is the thread's CPU time over the wall time of the ok hot
// samples, median and range, as text; false for a record without CPU
// times (version 1).
func cpuShare(rec *waitcost.Record) (string, bool) {
	var v []float64
	for _, s := range rec.Samples {
		if s.Mode == waitcost.ModeHot && s.Status == results.StatusOK && s.Seconds > 0 && s.CPUSeconds > 0 {
			v = append(v, s.CPUSeconds/s.Seconds)
		}
	}
	if len(v) == 0 {
		return "", false
	}
	slices.Sort(v)
	return fmt.Sprintf("%.0f%% [%.0f%%–%.0f%%]", 100*v[len(v)/2], 100*v[0], 100*v[len(v)-1]), true
}

// tableText says what each fd table is.
var tableText = map[string]string{
	waitcost.TablePrivate: "the measuring thread called unshare(CLONE_FILES) and opened its fds in a table of its own, as a single-threaded process has; the kernel's fdget takes no reference on the files it looks up",
	waitcost.TableShared:  "the process's one table, shared by every Go thread: fdget takes and drops a reference on every file a wait looks up",
}

// WaitcostObservations are the sentences the fits allow beyond the
// verdicts: per mode, what a multi-threaded process (the shared fd table)
// pays per watched fd over a private table (the record's SharedCost: the
// fit of the two tables' paired differences, with its interval); and per fd
// table, what a blocking wake-up costs per watched fd against the hot
// scan. Only backends whose cost grows with N in one of the fits are
// compared: for epoll and io_uring a per-fd slope is noise around 0.
func WaitcostObservations(rec *waitcost.Record) []string {
	var out []string
	scanning := func(be, mode string) bool {
		for _, table := range rec.Config.Tables {
			if f, ok := rec.FitOf(be, mode, table); ok {
				if g, _ := waitcost.Grows(f); g {
					return true
				}
			}
		}
		return false
	}
	unit := map[string]string{waitcost.ModeHot: "per call (hot scan)", waitcost.ModeBlocking: "per wake-up (blocking)"}
	for _, c := range rec.Shared {
		if !scanning(c.Backend, c.Mode) {
			continue
		}
		d := c.Fit.PerFD
		s := fmt.Sprintf("%s: a multi-threaded process pays %.3g ns [%.3g, %.3g] per watched fd %s: shared minus private fd table, %d points paired by N (%s–%s), fitted with weights 1/N²",
			c.Backend, d.Value, d.Lo, d.Hi, unit[c.Mode], c.Fit.Obs, human.Thousands(c.Fit.XMin), human.Thousands(c.Fit.XMax))
		if !d.Excludes0() {
			s += "; the interval includes 0: no difference shown"
		}
		out = append(out, s)
	}
	for _, table := range rec.Config.Tables {
		for _, be := range rec.Config.Backends {
			h, ok1 := rec.FitOf(be, waitcost.ModeHot, table)
			k, ok2 := rec.FitOf(be, waitcost.ModeBlocking, table)
			if !ok1 || !ok2 || h.Idle == nil || k.Idle == nil || !scanning(be, waitcost.ModeHot) || h.Idle.PerFD.Lo <= 0 {
				continue
			}
			hp, kp := h.Idle.PerFD, k.Idle.PerFD
			out = append(out, fmt.Sprintf("%s, %s fd table: a blocking wake-up costs %.3g ns per watched fd, %.2f× the hot scan's %.3g ns per call (%.2f–%.2f from the two intervals)",
				be, table, kp.Value, kp.Value/hp.Value, hp.Value, kp.Lo/hp.Hi, kp.Hi/hp.Lo))
		}
	}
	return out
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

// measuredIn lists the backends with at least one point measured ok in
// mode and table: columns of the tables below.
func measuredIn(rec *waitcost.Record, mode, table string) []string {
	var out []string
	for _, be := range rec.Config.Backends {
		if slices.ContainsFunc(rec.Points, func(p waitcost.Point) bool {
			return p.Backend == be && p.Mode == mode && p.Table == table && p.Status == results.StatusOK && p.Reps > 0
		}) {
			out = append(out, be)
		}
	}
	return out
}

// writePerFD is the median time per call (or wake-up) divided by N, one
// ready fd at the lowest position: the per-fd cost at each N, whose
// growth is what the superlinear rule tests.
func writePerFD(b *bytes.Buffer, rec *waitcost.Record, mode, table string) {
	bs := measuredIn(rec, mode, table)
	if len(bs) == 0 || len(rec.Config.FDs) == 0 {
		return
	}
	fmt.Fprintf(b, "%s per watched fd (median / N, one ready fd, the lowest):\n\n| N | %s |\n| ---: |%s\n",
		capital(modeText[mode].unit), strings.Join(bs, " | "), strings.Repeat(" ---: |", len(bs)))
	for _, n := range rec.Config.FDs {
		cols := []string{fmt.Sprint(n)}
		for _, be := range bs {
			c := "–"
			for _, p := range rec.Points {
				if p.Backend == be && p.Mode == mode && p.Table == table && p.Layout == waitcost.LayoutDense && p.N == n && p.K == 1 && p.Position != waitcost.PositionHigh {
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

// writeWaitcostPoints is the table of medians in one mode and table: one
// row per layout and case, one column per backend measured there.
func writeWaitcostPoints(b *bytes.Buffer, rec *waitcost.Record, mode, table string) {
	bs := measuredIn(rec, mode, table)
	if len(bs) == 0 {
		return
	}
	type row struct {
		layout, pos string
		n, k, top   int
	}
	var rows []row
	cell := map[row]map[string]waitcost.Point{}
	for _, p := range rec.Points {
		if p.Mode != mode || p.Table != table {
			continue
		}
		r := row{p.Layout, p.Position, p.N, p.K, p.Top}
		if cell[r] == nil {
			cell[r] = map[string]waitcost.Point{}
			rows = append(rows, r)
		}
		cell[r][p.Backend] = p
	}
	// Points come sorted by backend first; order rows as the first
	// backend's points are, which is layout, N, k, position.
	fmt.Fprintf(b, "Median %s (min–max over repetitions):\n\n| layout | N | highest fd | k | ready at | %s |\n| --- | ---: | ---: | ---: | --- |%s\n",
		modeText[mode].unit, strings.Join(bs, " | "), strings.Repeat(" ---: |", len(bs)))
	for _, r := range rows {
		top := 0
		for _, p := range cell[r] {
			top = max(top, p.MaxFD)
		}
		cols := []string{r.layout, fmt.Sprint(r.n), fmt.Sprint(top), fmt.Sprint(r.k), r.pos}
		for _, be := range bs {
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
}

// writeWaitcostProblems is one line per backend, mode and status that was not ok:
// the first reason, and where.
func writeWaitcostProblems(b *bytes.Buffer, rec *waitcost.Record) {
	type problem struct {
		backend, mode, status, reason string
		where                         []string
	}
	var probs []*problem
	for _, p := range rec.Points {
		if p.Status == results.StatusOK {
			continue
		}
		var pr *problem
		for _, q := range probs {
			if q.backend == p.Backend && q.mode == p.Mode && q.status == p.Status {
				pr = q
			}
		}
		if pr == nil {
			pr = &problem{backend: p.Backend, mode: p.Mode, status: p.Status, reason: human.OneLine(p.Reason)}
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
		mode := ""
		if len(rec.Config.Modes) > 1 {
			mode = " (" + modeText[pr.mode].title + ")"
		}
		fmt.Fprintf(b, "- %s %s%s at %s: %s\n", pr.backend, pr.status, mode, strings.Join(pr.where, ", "), pr.reason)
	}
	if len(probs) > 0 {
		fmt.Fprintln(b)
	}
}

// capital is s with its first letter in upper case, to start a heading.
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
