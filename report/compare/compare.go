// Package compare compares two muxbench runs point by point: medians of
// latency, server CPU per request and (in closed loop) throughput, a
// Mann-Whitney U test across repetitions with a Benjamini-Hochberg
// correction, per-backend geometric means with an interval, and a
// regression gate for CI. It works from run.json alone and draws nothing,
// so it does not depend on the charting library the report package uses.
package compare

import (
	"fmt"
	"slices"
	"strings"

	"github.com/montanaflynn/stats"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/results"
)

// metricDef ties a metric to its place in a Point and in a Sample.
type metricDef struct {
	name, title, unit string
	higherIsBetter    bool
	point             func(results.Point) results.Stat
	sample            func(results.Sample) float64
}

var (
	p50Metric = metricDef{"p50", "p50 latency", "ns", false,
		func(p results.Point) results.Stat { return p.P50 },
		func(s results.Sample) float64 { return float64(s.Latency.P50) }}
	p99Metric = metricDef{"p99", "p99 latency", "ns", false,
		func(p results.Point) results.Stat { return p.P99 },
		func(s results.Sample) float64 { return float64(s.Latency.P99) }}
	cpuMetric = metricDef{"cpu", "server CPU per request", "ns", false,
		func(p results.Point) results.Stat { return p.ServerCPUPerReq },
		func(s results.Sample) float64 { return s.Server.CPUNsPerReq }}
	rateMetric = metricDef{"rate", "achieved rate", "req/s", true,
		func(p results.Point) results.Stat { return p.RateAchieved },
		func(s results.Sample) float64 { return s.RateAchieved }}
)

// rateOmitted says why open-loop comparisons leave the achieved rate out.
const rateOmitted = "rate (open loop: the scenario sets it; a point that misses it is saturated, so skipped, or lost if OLD was ok)"

// compareMetrics returns the metrics worth testing for these runs, and
// those left out with why. The requested rate is the scenario's, not a
// measurement; in open loop the achieved rate of an ok point is the
// requested rate give or take the generator's timing, so testing it would
// only add tests for the correction to pay for. In closed loop it is the
// throughput, the measurement that matters most.
func compareMetrics(o, n *results.Run) (metrics []metricDef, omitted []string) {
	metrics = []metricDef{p50Metric, p99Metric, cpuMetric}
	if o.Scenario.Mode == traffic.Closed && n.Scenario.Mode == traffic.Closed {
		return append(metrics, rateMetric), nil
	}
	return metrics, []string{rateOmitted}
}

// pointKey identifies a point across runs: the backend, active and fds,
// and the scenario's other axes where it has them (results.Summarize's
// point), so that a claim-herd or rate-sweep run's points stay apart.
type pointKey struct {
	backend     string
	active, fds int
	loops       int     // 0: one loop
	churn       bool    // a connection per request
	rate        float64 // the requested rate where a run sweeps it, else 0
}

// where is the key's point but for its fds, as a row records it.
func (k pointKey) where() Where {
	return Where{Backend: k.backend, Line: k.line(), Loops: k.loops, Churn: k.churn, Rate: k.rate, Active: k.active}
}

// line names the key's backend with its axes beside fds and active, as
// the tables show it: "epoll-exclusive loops=4 churn", "poll 500 req/s";
// the backend alone when it has none.
func (k pointKey) line() string {
	s := k.backend
	if k.loops > 1 {
		s += fmt.Sprintf(" loops=%d", k.loops)
	}
	if k.churn {
		s += " churn"
	}
	if k.rate > 0 {
		s += " " + human.Thousands(k.rate) + " req/s"
	}
	return s
}

// Runs compares NEW against OLD at every backend × point that is ok in
// both: medians of p50, p99, server CPU per request (and achieved rate in
// closed loop), their ratio, and a Mann-Whitney U test across the
// repetitions (benchmath.AssumeNothing) whose p-values are adjusted with
// the Benjamini-Hochberg correction across every test of the comparison.
// It summarises each backend and metric by the geometric mean of the
// ratios with a Student t-interval (geomeanCI). Points present in only one
// run, or not ok in one, are listed in Skipped, not tested; ok in OLD and
// not in NEW is a lost point, which fails the gate. Comparison.Undecided
// says when nothing was compared or no test could reach alpha.
func Runs(oldRun, newRun *results.Run, opt Options) (*Comparison, error) {
	if oldRun == nil || newRun == nil {
		return nil, fmt.Errorf("compare: nil run")
	}
	alpha := opt.Alpha
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	if !(alpha > 0 && alpha < 1) {
		return nil, fmt.Errorf("compare: alpha %v out of range (0, 1)", alpha)
	}
	if opt.Gate && !(opt.Threshold >= 0) {
		return nil, fmt.Errorf("compare: threshold %v must not be negative", opt.Threshold)
	}
	metrics, omitted := compareMetrics(oldRun, newRun)
	c := &Comparison{
		Old:        runInfo(opt.OldName, oldRun),
		New:        runInfo(opt.NewName, newRun),
		Alpha:      alpha,
		Correction: Correction,
		Gate:       opt.Gate,
		Threshold:  opt.Threshold,
		Omitted:    omitted,
		Notes:      differences(oldRun, newRun),
	}
	// Runs of different scenarios are still tabulated for a reader, but
	// their rows are never a regression: the gate compared nothing.
	c.Undecided = unrelated(oldRun, newRun)
	gate := opt.Gate && c.Undecided == ""

	sweep := oldRun.Scenario.Rate.Several() || newRun.Scenario.Rate.Several()
	oldPts, newPts := indexPoints(results.Summarize(oldRun.Samples), sweep), indexPoints(results.Summarize(newRun.Samples), sweep)
	both, common := c.classify(oldRun, newRun, oldPts, newPts)

	scopes, scopeNote := cpuScopes(both, oldPts, newPts)
	if scopeNote != "" {
		c.Notes = append(c.Notes, scopeNote)
	}
	oldSamples, newSamples := indexSamples(oldRun.Samples, sweep), indexSamples(newRun.Samples, sweep)
	for _, m := range metrics {
		t := MetricTable{Metric: m.name, Title: m.title, Unit: m.unit, HigherIsBetter: m.higherIsBetter}
		if m.name == cpuMetric.name && scopes != "" {
			t.Title += " (" + scopes + ")"
		}
		for _, k := range both {
			op, np := oldPts[k], newPts[k]
			d := Delta{
				Where: k.where(), FDs: k.fds,
				Old: m.point(op).Median, New: m.point(np).Median,
			}
			ov, nv := values(oldSamples[k], m.sample), values(newSamples[k], m.sample)
			d.OldN, d.NewN = len(ov), len(nv)
			if d.OldN > 1 && d.NewN > 1 {
				d.Detectable = spread(m.point(op), m.point(np))
			}
			if d.Old > 0 && d.New > 0 {
				d.Ratio = d.New / d.Old
			}
			d.Significance = TooFew
			if minUTestP(d.OldN, d.NewN) <= alpha {
				p := uTest(ov, nv)
				d.P = &p
			}
			t.Rows = append(t.Rows, d)
		}
		c.Tables = append(c.Tables, t)
	}
	c.Power = c.correct()
	for ti := range c.Tables {
		t := &c.Tables[ti]
		for i := range t.Rows {
			d := &t.Rows[i]
			d.Verdict = verdict(*d, t.HigherIsBetter, gate, opt.Threshold)
			if d.Verdict == Regression {
				c.Regressions = append(c.Regressions, fmt.Sprintf("%s %s at %s fds, %s: %s → %s (%s, p=%.3f, q=%.3f)",
					d.Line, t.Title, human.Thousands(float64(d.FDs)), human.Plural(d.Active, "active connection"),
					formatValue(d.Old, t.Unit), formatValue(d.New, t.Unit), formatDelta(d.Ratio), *d.P, *d.Q))
			}
		}
		t.Geomean = geomean(t.Rows)
	}
	c.Summary = summarize(c.Tables, 1-alpha)
	if gate {
		for _, s := range c.Skipped {
			if s.Lost {
				c.Regressions = append(c.Regressions, fmt.Sprintf("%s at %s fds, %s: %s",
					s.Line, fdInts(s.FDs), human.Plural(s.Active, "active connection"), s.Reason))
			}
		}
	}
	if c.Undecided == "" {
		c.Undecided = c.undecided(len(both), common)
	}
	return c, nil
}

// cpuScopes says whose CPU the cpu metric counts at the compared points
// (Point.ServerCPUScope: "loop thread", or "process: gonet; loop thread:
// poll, epoll-lt" when backends differ), "" when no run recorded it, and
// notes the points where OLD and NEW counted different CPU: their ratios
// compare different things.
func cpuScopes(both []pointKey, oldPts, newPts map[pointKey]results.Point) (title, note string) {
	var order []string
	byScope := map[string][]string{}
	var differ []pointKey
	for _, k := range both {
		op, np := oldPts[k], newPts[k]
		if op.ServerCPUScope != np.ServerCPUScope {
			differ = append(differ, k)
		}
		sc := np.ServerCPUScope
		if sc == "" {
			continue
		}
		if _, ok := byScope[sc]; !ok {
			order = append(order, sc)
		}
		if !slices.Contains(byScope[sc], k.backend) {
			byScope[sc] = append(byScope[sc], k.backend)
		}
	}
	switch len(order) {
	case 0:
	case 1:
		title = order[0]
	default:
		parts := make([]string, len(order))
		for i, sc := range order {
			parts[i] = sc + ": " + strings.Join(byScope[sc], ", ")
		}
		title = strings.Join(parts, "; ")
	}
	if len(differ) > 0 {
		k := differ[0]
		recorded := func(s string) string {
			if s == "" {
				return "not recorded"
			}
			return s
		}
		note = fmt.Sprintf("server CPU scope differs at %s (e.g. %s at %s fds: OLD %s, NEW %s): the cpu ratios there compare different CPU",
			human.Plural(len(differ), "point"), k.line(), human.Thousands(float64(k.fds)), recorded(oldPts[k].ServerCPUScope), recorded(newPts[k].ServerCPUScope))
	}
	return title, note
}

// unrelated says why two runs cannot be compared at all: one has no
// samples, or they ran different scenarios. It returns "" when they can.
func unrelated(o, n *results.Run) string {
	switch {
	case len(o.Samples) == 0:
		return "nothing compared: OLD has no samples"
	case len(n.Samples) == 0:
		return "nothing compared: NEW has no samples"
	case o.Scenario.Name != n.Scenario.Name:
		return fmt.Sprintf("nothing compared: different scenarios (OLD %s, NEW %s)", orNone(o.Scenario.Name), orNone(n.Scenario.Name))
	}
	return ""
}

// undecided says why a comparison of related runs cannot pass a gate:
// no point in common, every common point skipped, or no test able to
// reach alpha. It returns "" when the comparison can decide.
func (c *Comparison) undecided(compared, common int) string {
	switch {
	case common == 0:
		return "nothing compared: no point (backend, fds, active, and loops, churn or rate where swept) is in both runs"
	case compared == 0:
		return "nothing compared: every point in both runs was skipped (see skipped)"
	case c.Power.Tests == 0:
		return fmt.Sprintf("cannot decide: %s, need >= %d per side", repsText(c.Power.OldN, c.Power.NewN), c.Power.NeedReps)
	}
	return ""
}

// classify sorts the points of both runs into those to compare (ok in
// both), returned in table order, and c.Skipped; common counts the points
// present in both runs whatever their status.
func (c *Comparison) classify(oldRun, newRun *results.Run, oldPts, newPts map[pointKey]results.Point) (both []pointKey, common int) {
	skips := map[[3]string]*Skipped{} // line, active, reason
	var skipOrder [][3]string
	skip := func(k pointKey, reason string, lost bool) {
		id := [3]string{k.line(), fmt.Sprint(k.active), reason}
		s, ok := skips[id]
		if !ok {
			s = &Skipped{Where: k.where(), Reason: reason, Lost: lost}
			skips[id] = s
			skipOrder = append(skipOrder, id)
		}
		s.FDs = append(s.FDs, k.fds)
	}
	for _, k := range unionKeys(oldRun, newRun, oldPts, newPts) {
		op, inOld := oldPts[k]
		np, inNew := newPts[k]
		if inOld && inNew {
			common++
		}
		oldOK, newOK := op.Status == results.StatusOK, np.Status == results.StatusOK
		switch {
		case !inNew:
			skip(k, "only in OLD", false)
		case !inOld:
			skip(k, "only in NEW", false)
		case oldOK && newOK:
			both = append(both, k)
		case oldOK:
			skip(k, "ok in OLD, "+statusReason(np)+" in NEW", true)
		case newOK:
			skip(k, statusReason(op)+" in OLD, ok in NEW", false)
		default:
			skip(k, notOK(op, np), false)
		}
	}
	for _, id := range skipOrder {
		c.Skipped = append(c.Skipped, *skips[id])
	}
	return both, common
}

// correct applies the correction across every tested row of every table,
// setting each row's Q and Significance, and returns what the repetitions
// can detect.
func (c *Comparison) correct() Power {
	var rows []*Delta
	var ps []float64
	pw := Power{MinP: 1, NeedReps: MinRepetitions(c.Alpha)}
	first := true
	for ti := range c.Tables {
		for i := range c.Tables[ti].Rows {
			d := &c.Tables[ti].Rows[i]
			if mp := minUTestP(d.OldN, d.NewN); first || mp < pw.MinP {
				pw.MinP, pw.OldN, pw.NewN, first = mp, d.OldN, d.NewN, false
			}
			if d.P != nil {
				rows = append(rows, d)
				ps = append(ps, *d.P)
			}
		}
	}
	for i, q := range bhAdjust(ps) {
		d := rows[i]
		d.Q = &q
		d.Significance = NotSignificant
		if q <= c.Alpha {
			d.Significance = Significant
		}
	}
	pw.Tests = len(ps)
	pw.MinTests = bhMinTests(pw.MinP, c.Alpha, pw.Tests)
	if pw.Tests > 0 {
		pw.NeedRepsOne = MinRepetitions(c.Alpha / float64(pw.Tests))
	}
	return pw
}

// summarize returns, per backend and metric, the geometric mean of the rows'
// ratios with its interval at confidence, and their median detectable
// change; backends in table order.
func summarize(tables []MetricTable, confidence float64) []BackendSummary {
	var order []string
	seen := map[string]bool{}
	for _, t := range tables {
		for _, d := range t.Rows {
			if !seen[d.Backend] {
				seen[d.Backend] = true
				order = append(order, d.Backend)
			}
		}
	}
	var out []BackendSummary
	for _, be := range order {
		for _, t := range tables {
			var ratios, detect []float64
			for _, d := range t.Rows {
				if d.Backend != be || d.Ratio == 0 {
					continue
				}
				ratios = append(ratios, d.Ratio)
				if d.OldN > 1 && d.NewN > 1 {
					detect = append(detect, d.Detectable)
				}
			}
			if len(ratios) == 0 {
				continue
			}
			s := BackendSummary{Backend: be, Metric: t.Metric, HigherIsBetter: t.HigherIsBetter, Points: len(ratios), Confidence: confidence}
			s.Ratio, s.Lo, s.Hi = geomeanCI(ratios, confidence)
			if len(detect) > 0 {
				med, _ := stats.Median(detect) // not empty
				s.Detectable = &med
			}
			out = append(out, s)
		}
	}
	return out
}
