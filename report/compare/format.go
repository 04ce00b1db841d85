package compare

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
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
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d+%d\t%s\n", d.Line, d.Active, human.Thousands(float64(d.FDs)),
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
			fmt.Fprintf(b, "  %s, %s, fds %s: %s\n", s.Line, human.Plural(s.Active, "active connection"), fdInts(s.FDs), s.Reason)
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
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %d+%d | %s |\n", d.Line, d.Active, human.Thousands(float64(d.FDs)),
				formatValue(d.Old, t.Unit), formatValue(d.New, t.Unit), formatDelta(d.Ratio), pText(d.P), pText(d.Q), d.OldN, d.NewN, v)
		}
		if g := t.Geomean; g != nil {
			fmt.Fprintf(b, "| geomean | | | %s | %s | %s | | | | |\n", formatValue(g.Old, t.Unit), formatValue(g.New, t.Unit), formatDelta(g.Ratio))
		}
	}
	if len(c.Skipped) > 0 {
		b.WriteString("\n### Skipped (not ok in both runs, so not tested)\n\n")
		for _, s := range c.Skipped {
			fmt.Fprintf(b, "- %s, %s, fds %s: %s\n", s.Line, human.Plural(s.Active, "active connection"), fdInts(s.FDs), human.MDCell(s.Reason))
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
			w.Write([]string{"point", t.Metric, t.Unit, hib, d.Line, strconv.Itoa(d.Active), strconv.Itoa(d.FDs), num(d.Old), num(d.New), opt(d.Ratio), "", "",
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
