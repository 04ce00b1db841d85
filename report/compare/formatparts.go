package compare

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
)

// This file holds the pieces every text format shares: values, deltas
// and p-values as cells, the header lines (test, power, gate), the summary
// cells and the outcome sentences.

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
		// Exit 2, not a failure: nothing was found worse, and nothing
		// could be shown not to be.
		gate := "Gate: cannot decide, " + c.Undecided + "."
		if strings.HasPrefix(c.Undecided, "cannot decide") {
			gate = "Gate: " + c.Undecided + "."
		}
		out = append(out, gate)
	case c.Gate:
		out = append(out, fmt.Sprintf("Gate: PASS (no significant regression beyond %s, no point lost).", pctText(c.Threshold)))
	case c.Undecided != "":
		out = append(out, c.Undecided+" (report only; a gate would exit 2).")
	}
	return out
}
