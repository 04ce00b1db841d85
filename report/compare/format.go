package compare

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/muxbench/muxbench/internal/human"
)

// Formats lists the output formats of Comparison.Write.
var Formats = []string{"text", "markdown", "csv", "json"}

// Write writes the comparison to w as "text" (aligned tables), "markdown",
// "csv" (one row per metric and point, plus per-backend and geomean rows)
// or "json" (the Comparison itself). Every format but json opens with what
// was tested and how (the correction, the power of the repetitions), puts
// the per-backend summary before the per-point tables, and ends with the
// outcome.
func (c *Comparison) Write(w io.Writer, format string) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case "text":
		c.writeText(&buf)
	case "markdown":
		c.writeMarkdown(&buf)
	case "csv":
		err = c.writeCSV(&buf)
	case "json":
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(c)
	default:
		return fmt.Errorf("write comparison: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("write comparison as %s: %w", format, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// formatValue formats a median in its unit.
func formatValue(v float64, unit string) string {
	if unit == "ns" {
		return human.Ns(v)
	}
	return human.Thousands(v)
}

// formatDelta formats a ratio as a signed percentage change.
func formatDelta(r float64) string {
	if r == 0 {
		return "n/a"
	}
	d := (r - 1) * 100
	if math.Abs(d) < 0.05 {
		return "0.0%" // not "-0.0%"
	}
	return fmt.Sprintf("%+.1f%%", d)
}

func pText(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%.3f", *p)
}

// verdictText is the last column: what the row means.
func (d Delta) verdictText() string {
	switch {
	case d.Significance == TooFew:
		return "n too small"
	case d.Verdict == Regression:
		return "REGRESSION"
	case d.Verdict != "":
		return d.Verdict
	}
	return "~"
}

func (t MetricTable) heading() string {
	dir := "lower is better"
	if t.HigherIsBetter {
		dir = "higher is better"
	}
	if t.Unit == "ns" {
		return fmt.Sprintf("%s (%s)", t.Title, dir) // the values carry their time unit
	}
	return fmt.Sprintf("%s (%s, %s)", t.Title, t.Unit, dir)
}

func (r RunInfo) describe() string {
	var parts []string
	if r.Scenario != "" {
		parts = append(parts, r.Scenario)
	}
	if r.Host != "" {
		parts = append(parts, "host "+r.Host)
	}
	if r.Commit != "" {
		parts = append(parts, "commit "+r.Commit)
	}
	if !r.Started.IsZero() {
		parts = append(parts, r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	}
	parts = append(parts, human.Plural(r.Repetitions, "repetition"))
	if r.Incomplete {
		parts = append(parts, "INCOMPLETE")
	}
	s := strings.Join(parts, ", ")
	if r.Name != "" {
		s = r.Name + " (" + s + ")"
	}
	return s
}

// testLine says which test and which correction: the header line.
func (c *Comparison) testLine() string {
	tests := "all tests"
	if c.Power.Tests > 0 {
		tests = "all " + human.Plural(c.Power.Tests, "test")
	}
	return fmt.Sprintf("Mann-Whitney U per point and metric, %s correction across %s, false discovery rate %g", c.Correction, tests, c.Alpha)
}

// powerLines say what the repetitions can detect; none when nothing was
// compared.
func (c *Comparison) powerLines() []string {
	pw := c.Power
	if pw.OldN+pw.NewN == 0 {
		return nil
	}
	reps := fmt.Sprintf("%s, smallest p %.2g", repsText(pw.OldN, pw.NewN), pw.MinP)
	if pw.Tests == 0 {
		return []string{fmt.Sprintf("power: %s > %g: no test can reach it; need >= %d repetitions per side", reps, c.Alpha, pw.NeedReps)}
	}
	return []string{
		fmt.Sprintf("power: %s: a change is flagged only if every NEW repetition lies beyond every OLD one in >= %d of the %d tests at once; a change in one test alone (one metric at one point) needs >= %d repetitions per side",
			reps, pw.MinTests, pw.Tests, pw.NeedRepsOne),
		"detectable: as a rule, a change smaller than a point's spread (max/min - 1 of its repetitions, the noisier side's) is not seen; per backend in the summary",
	}
}

func (c *Comparison) gateLine() string {
	if !c.Gate {
		return "off (report only; -threshold turns it on)"
	}
	return fmt.Sprintf("fail on a significant regression beyond %s, or on a point ok in OLD and not in NEW", pctText(c.Threshold))
}

// headerLines are the lines under old: and new:, as "label: text".
func (c *Comparison) headerLines() []string {
	lines := []string{"test: " + c.testLine()}
	lines = append(lines, c.powerLines()...)
	for _, o := range c.Omitted {
		lines = append(lines, "omitted: "+o)
	}
	return append(lines, "gate: "+c.gateLine())
}

func pctText(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}

// blind reports whether a summary row's detectable change exceeds the
// gate's threshold: a regression just over the threshold can pass there.
func (c *Comparison) blind(s BackendSummary) bool {
	return c.Gate && s.Detectable != nil && *s.Detectable > c.Threshold
}

func (c *Comparison) summaryHeading() string {
	return fmt.Sprintf("summary by backend: geomean of NEW/OLD medians across points, %s t-interval on the log ratios", pctText(c.confidence()))
}

func (c *Comparison) confidence() float64 {
	if len(c.Summary) > 0 {
		return c.Summary[0].Confidence
	}
	return 1 - c.Alpha
}

// summaryCells are one summary row's cells after backend and metric.
func (c *Comparison) summaryCells(s BackendSummary) (points, delta, ci, detect string) {
	ci = "—"
	if s.Points > 1 {
		ci = "[" + formatDelta(s.Lo) + ", " + formatDelta(s.Hi) + "]"
	}
	detect = "—"
	if s.Detectable != nil {
		detect = fmt.Sprintf("%.1f%%", *s.Detectable*100)
	}
	if c.blind(s) {
		detect += " !"
	}
	return strconv.Itoa(s.Points), formatDelta(s.Ratio), ci, detect
}

// blindLine names the summary rows whose detectable change exceeds the
// threshold, or returns "".
func (c *Comparison) blindLine() string {
	var names []string
	for _, s := range c.Summary {
		if c.blind(s) {
			names = append(names, s.Backend+" "+s.Metric)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("! detectable change above the %s threshold (%s): a regression just beyond it can pass there unseen; more repetitions or a quieter machine narrow it", pctText(c.Threshold), strings.Join(names, ", "))
}

// outcome summarises the comparison in a few sentences.
func (c *Comparison) outcome() []string {
	var better, worse, tooFew, tested int
	for _, t := range c.Tables {
		for _, d := range t.Rows {
			switch {
			case d.Significance == TooFew:
				tooFew++
				continue
			case d.Verdict == Better:
				better++
			case d.Verdict == Worse || d.Verdict == Regression:
				worse++
			}
			tested++
		}
	}
	var out []string
	switch {
	case tested > 0:
		s := fmt.Sprintf("%s: %d significantly worse, %d significantly better.", human.Plural(tested, "test"), worse, better)
		if tooFew > 0 {
			s += fmt.Sprintf(" %d rows with too few repetitions to test.", tooFew)
		}
		out = append(out, s)
	case tooFew > 0:
		out = append(out, fmt.Sprintf("No test: all %d rows have too few repetitions.", tooFew))
	}
	switch {
	case c.Gate && len(c.Regressions) > 0:
		if c.Undecided != "" {
			out = append(out, c.Undecided+".")
		}
		out = append(out, fmt.Sprintf("Gate: FAIL (%d beyond %s or lost):", len(c.Regressions), pctText(c.Threshold)))
	case c.Gate && c.Undecided != "":
		out = append(out, "Gate: FAIL, "+c.Undecided+".")
	case c.Gate:
		out = append(out, fmt.Sprintf("Gate: PASS (no significant regression beyond %s, no point lost).", pctText(c.Threshold)))
	case c.Undecided != "":
		out = append(out, c.Undecided+" (report only; a gate would exit 2).")
	}
	return out
}

func (c *Comparison) writeText(b *bytes.Buffer) {
	fmt.Fprintf(b, "old: %s\n", c.Old.describe())
	fmt.Fprintf(b, "new: %s\n", c.New.describe())
	for _, l := range c.headerLines() {
		fmt.Fprintln(b, l)
	}
	if len(c.Summary) > 0 {
		fmt.Fprintf(b, "\n%s\n", c.summaryHeading())
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "backend\tmetric\tpoints\tdelta\tinterval\tdetectable\t")
		for _, s := range c.Summary {
			points, delta, ci, detect := c.summaryCells(s)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Backend, s.Metric, points, delta, ci, detect)
		}
		tw.Flush()
		if l := c.blindLine(); l != "" {
			fmt.Fprintln(b, l)
		}
	}
	for _, t := range c.Tables {
		if len(t.Rows) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n%s\n", t.heading())
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "backend\tactive\tfds\told\tnew\tdelta\tp\tq\tn\t")
		for _, d := range t.Rows {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d+%d\t%s\n", d.Backend, d.Active, human.Thousands(float64(d.FDs)),
				formatValue(d.Old, t.Unit), formatValue(d.New, t.Unit), formatDelta(d.Ratio), pText(d.P), pText(d.Q), d.OldN, d.NewN, d.verdictText())
		}
		if g := t.Geomean; g != nil {
			fmt.Fprintf(tw, "geomean\t\t\t%s\t%s\t%s\t\t\t\t\n", formatValue(g.Old, t.Unit), formatValue(g.New, t.Unit), formatDelta(g.Ratio))
		}
		tw.Flush()
	}
	if len(c.Skipped) > 0 {
		b.WriteString("\nskipped (not ok in both runs, so not tested):\n")
		for _, s := range c.Skipped {
			fmt.Fprintf(b, "  %s, %s, fds %s: %s\n", s.Backend, human.Plural(s.Active, "active connection"), fdInts(s.FDs), s.Reason)
		}
	}
	if len(c.Notes) > 0 {
		b.WriteString("\nnotes:\n")
		for _, n := range c.Notes {
			fmt.Fprintf(b, "  %s\n", n)
		}
	}
	b.WriteString("\n")
	for _, l := range c.outcome() {
		fmt.Fprintln(b, l)
	}
	for _, r := range c.Regressions {
		fmt.Fprintf(b, "  %s\n", r)
	}
}

func (c *Comparison) writeMarkdown(b *bytes.Buffer) {
	b.WriteString("## muxbench compare\n\n")
	fmt.Fprintf(b, "- old: %s\n- new: %s\n", human.MDCell(c.Old.describe()), human.MDCell(c.New.describe()))
	for _, l := range c.headerLines() {
		fmt.Fprintf(b, "- %s\n", human.MDCell(l))
	}
	if len(c.Summary) > 0 {
		fmt.Fprintf(b, "\n### Summary by backend\n\nG%s.\n\n", strings.TrimPrefix(c.summaryHeading(), "summary by backend: g"))
		b.WriteString("| backend | metric | points | delta | interval | detectable |\n|---|---|---:|---:|---:|---:|\n")
		for _, s := range c.Summary {
			points, delta, ci, detect := c.summaryCells(s)
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", s.Backend, s.Metric, points, delta, ci, detect)
		}
		if l := c.blindLine(); l != "" {
			fmt.Fprintf(b, "\n%s\n", human.MDCell(l))
		}
	}
	for _, t := range c.Tables {
		if len(t.Rows) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n### %s\n\n", t.heading())
		b.WriteString("| backend | active | fds | old | new | delta | p | q | n | |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, d := range t.Rows {
			v := d.verdictText()
			if d.Verdict == Regression {
				v = "**" + v + "**"
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %d+%d | %s |\n", d.Backend, d.Active, human.Thousands(float64(d.FDs)),
				formatValue(d.Old, t.Unit), formatValue(d.New, t.Unit), formatDelta(d.Ratio), pText(d.P), pText(d.Q), d.OldN, d.NewN, v)
		}
		if g := t.Geomean; g != nil {
			fmt.Fprintf(b, "| geomean | | | %s | %s | %s | | | | |\n", formatValue(g.Old, t.Unit), formatValue(g.New, t.Unit), formatDelta(g.Ratio))
		}
	}
	if len(c.Skipped) > 0 {
		b.WriteString("\n### Skipped (not ok in both runs, so not tested)\n\n")
		for _, s := range c.Skipped {
			fmt.Fprintf(b, "- %s, %s, fds %s: %s\n", s.Backend, human.Plural(s.Active, "active connection"), fdInts(s.FDs), human.MDCell(s.Reason))
		}
	}
	if len(c.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range c.Notes {
			fmt.Fprintf(b, "- %s\n", n)
		}
	}
	b.WriteString("\n")
	for _, l := range c.outcome() {
		fmt.Fprintf(b, "%s\n", l)
	}
	if len(c.Regressions) > 0 {
		b.WriteString("\n")
		for _, r := range c.Regressions {
			fmt.Fprintf(b, "- %s\n", human.MDCell(r))
		}
	}
}

// writeCSV writes one row per metric and point ("point"), per backend and
// metric ("backend": the summary, its interval in ratio_lo and ratio_hi)
// and per metric ("geomean").
func (c *Comparison) writeCSV(b *bytes.Buffer) error {
	w := csv.NewWriter(b)
	w.Write([]string{"row", "metric", "unit", "higher_is_better", "backend", "active", "fds", "old", "new", "ratio", "ratio_lo", "ratio_hi",
		"p", "q", "old_n", "new_n", "points", "significance", "verdict", "detectable"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	opt := func(v float64) string {
		if v == 0 {
			return ""
		}
		return num(v)
	}
	ptr := func(p *float64) string {
		if p == nil {
			return ""
		}
		return num(*p)
	}
	unit := map[string]string{}
	for _, t := range c.Tables {
		unit[t.Metric] = t.Unit
	}
	for _, s := range c.Summary {
		w.Write([]string{"backend", s.Metric, unit[s.Metric], strconv.FormatBool(s.HigherIsBetter), s.Backend, "", "", "", "", num(s.Ratio), opt(s.Lo), opt(s.Hi),
			"", "", "", "", strconv.Itoa(s.Points), "", "", ptr(s.Detectable)})
	}
	for _, t := range c.Tables {
		hib := strconv.FormatBool(t.HigherIsBetter)
		for _, d := range t.Rows {
			w.Write([]string{"point", t.Metric, t.Unit, hib, d.Backend, strconv.Itoa(d.Active), strconv.Itoa(d.FDs), num(d.Old), num(d.New), opt(d.Ratio), "", "",
				ptr(d.P), ptr(d.Q), strconv.Itoa(d.OldN), strconv.Itoa(d.NewN), "1", d.Significance, d.Verdict, opt(d.Detectable)})
		}
		if g := t.Geomean; g != nil {
			w.Write([]string{"geomean", t.Metric, t.Unit, hib, "", "", "", num(g.Old), num(g.New), num(g.Ratio), "", "",
				"", "", "", "", strconv.Itoa(g.N), "", "", ""})
		}
	}
	w.Flush()
	return w.Error()
}
