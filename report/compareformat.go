package report

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
)

// CompareFormats lists the output formats of Comparison.Write.
var CompareFormats = []string{"text", "markdown", "csv", "json"}

// Write writes the comparison to w as "text" (aligned tables), "markdown",
// "csv" (one row per metric and point, plus geomean rows) or "json" (the
// Comparison itself).
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
		return fmt.Errorf("write comparison: unknown format %q (want one of %s)", format, strings.Join(CompareFormats, ", "))
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
		return fmtNs(v)
	}
	return groupDigits(v)
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

func (d Delta) pText() string {
	if d.P == nil {
		return "—"
	}
	return fmt.Sprintf("%.3f", *d.P)
}

// verdictText is the last column: what the row means.
func (d Delta) verdictText() string {
	var s string
	switch {
	case d.Significance == TooFew:
		s = "n too small"
	case d.Verdict == Regression:
		s = "REGRESSION"
	case d.Verdict != "":
		s = d.Verdict
	default:
		s = "~"
	}
	if d.OldStatus != d.NewStatus {
		s += " [" + d.OldStatus + "→" + d.NewStatus + "]"
	}
	return s
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
	parts = append(parts, plural(r.Repetitions, "repetition"))
	if r.Incomplete {
		parts = append(parts, "INCOMPLETE")
	}
	s := strings.Join(parts, ", ")
	if r.Name != "" {
		s = r.Name + " (" + s + ")"
	}
	return s
}

func (c *Comparison) testLine() string {
	s := fmt.Sprintf("Mann-Whitney U test across repetitions, alpha %g", c.Alpha)
	if n := MinRepetitions(c.Alpha); n > 1 {
		s += fmt.Sprintf(" (needs ≥ %d repetitions per side)", n)
	}
	return s
}

func (c *Comparison) gateLine() string {
	if !c.Gate {
		return "off (report only; -threshold turns it on)"
	}
	return fmt.Sprintf("fail on a significant regression beyond %s", pctText(c.Threshold))
}

func pctText(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}

// outcome summarises the comparison in one or two sentences.
func (c *Comparison) outcome() []string {
	var better, worse, tooFew, rows int
	for _, t := range c.Tables {
		for _, d := range t.Rows {
			rows++
			switch {
			case d.Significance == TooFew:
				tooFew++
			case d.Verdict == Better:
				better++
			case d.Verdict == Worse || d.Verdict == Regression:
				worse++
			}
		}
	}
	var out []string
	switch {
	case rows == 0:
		out = append(out, "Nothing to compare: the runs have no measured point in common.")
	default:
		out = append(out, fmt.Sprintf("%d comparisons: %d significantly worse, %d significantly better, %d with too few repetitions to test.", rows, worse, better, tooFew))
	}
	if tooFew == rows && rows > 0 {
		out = append(out, fmt.Sprintf("No difference can be significant with these repetition counts; rerun with ≥ %d repetitions per side.", MinRepetitions(c.Alpha)))
	}
	if c.Gate {
		if len(c.Regressions) == 0 {
			out = append(out, fmt.Sprintf("Gate: PASS (no significant regression beyond %s).", pctText(c.Threshold)))
		} else {
			out = append(out, fmt.Sprintf("Gate: FAIL (%d beyond %s):", len(c.Regressions), pctText(c.Threshold)))
		}
	}
	return out
}

func (c *Comparison) writeText(b *bytes.Buffer) {
	fmt.Fprintf(b, "old: %s\n", c.Old.describe())
	fmt.Fprintf(b, "new: %s\n", c.New.describe())
	fmt.Fprintf(b, "test: %s\n", c.testLine())
	fmt.Fprintf(b, "gate: %s\n", c.gateLine())
	for _, t := range c.Tables {
		fmt.Fprintf(b, "\n%s\n", t.heading())
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "backend\tactive\tfds\told\tnew\tdelta\tp\tn\t")
		for _, d := range t.Rows {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d+%d\t%s\n", d.Backend, d.Active, groupDigits(float64(d.FDs)),
				formatValue(d.Old, t.Unit), formatValue(d.New, t.Unit), formatDelta(d.Ratio), d.pText(), d.OldN, d.NewN, d.verdictText())
		}
		if g := t.Geomean; g != nil {
			fmt.Fprintf(tw, "geomean\t\t\t%s\t%s\t%s\t\t\t\n", formatValue(g.Old, t.Unit), formatValue(g.New, t.Unit), formatDelta(g.Ratio))
		}
		tw.Flush()
	}
	if len(c.Skipped) > 0 {
		b.WriteString("\nskipped (not measured in both runs):\n")
		for _, s := range c.Skipped {
			fmt.Fprintf(b, "  %s, %s, fds %s: %s\n", s.Backend, plural(s.Active, "active connection"), fdInts(s.FDs), s.Reason)
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
	fmt.Fprintf(b, "- old: %s\n- new: %s\n- test: %s\n- gate: %s\n", mdCell(c.Old.describe()), mdCell(c.New.describe()), c.testLine(), c.gateLine())
	for _, t := range c.Tables {
		fmt.Fprintf(b, "\n### %s\n\n", t.heading())
		b.WriteString("| backend | active | fds | old | new | delta | p | n | |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, d := range t.Rows {
			v := d.verdictText()
			if d.Verdict == Regression {
				v = "**" + v + "**"
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %d+%d | %s |\n", d.Backend, d.Active, groupDigits(float64(d.FDs)),
				formatValue(d.Old, t.Unit), formatValue(d.New, t.Unit), formatDelta(d.Ratio), d.pText(), d.OldN, d.NewN, v)
		}
		if g := t.Geomean; g != nil {
			fmt.Fprintf(b, "| geomean | | | %s | %s | %s | | | |\n", formatValue(g.Old, t.Unit), formatValue(g.New, t.Unit), formatDelta(g.Ratio))
		}
	}
	if len(c.Skipped) > 0 {
		b.WriteString("\n### Skipped (not measured in both runs)\n\n")
		for _, s := range c.Skipped {
			fmt.Fprintf(b, "- %s, %s, fds %s: %s\n", s.Backend, plural(s.Active, "active connection"), fdInts(s.FDs), s.Reason)
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
			fmt.Fprintf(b, "- %s\n", r)
		}
	}
}

func (c *Comparison) writeCSV(b *bytes.Buffer) error {
	w := csv.NewWriter(b)
	w.Write([]string{"metric", "unit", "higher_is_better", "backend", "active", "fds", "old", "new", "ratio", "p", "old_n", "new_n", "significance", "verdict", "old_status", "new_status"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, t := range c.Tables {
		for _, d := range t.Rows {
			p := ""
			if d.P != nil {
				p = num(*d.P)
			}
			ratio := ""
			if d.Ratio != 0 {
				ratio = num(d.Ratio)
			}
			w.Write([]string{t.Metric, t.Unit, strconv.FormatBool(t.HigherIsBetter), d.Backend, strconv.Itoa(d.Active), strconv.Itoa(d.FDs),
				num(d.Old), num(d.New), ratio, p, strconv.Itoa(d.OldN), strconv.Itoa(d.NewN), d.Significance, d.Verdict, d.OldStatus, d.NewStatus})
		}
		if g := t.Geomean; g != nil {
			w.Write([]string{t.Metric, t.Unit, strconv.FormatBool(t.HigherIsBetter), "geomean", "", "", num(g.Old), num(g.New), num(g.Ratio), "", strconv.Itoa(g.N), strconv.Itoa(g.N), "", "", "", ""})
		}
	}
	w.Flush()
	return w.Error()
}
