// Package compare compares two muxbench runs point by point: medians of
// latency, server CPU per request and (in closed loop) throughput, a
// Mann-Whitney U test across repetitions with a Benjamini-Hochberg
// correction, per-backend geometric means with an interval, and a
// regression gate for CI. It works from run.json alone and draws nothing,
// so it does not depend on the charting library the report package uses.
package compare

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/montanaflynn/stats"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// DefaultAlpha is the significance level compare uses unless told otherwise.
const DefaultAlpha = 0.05

// Correction names the multiple-comparison correction Runs applies
// across all the Mann-Whitney tests of one comparison. Benjamini-Hochberg
// bounds the expected share of false discoveries among the rows it flags
// by alpha; when nothing changed (an A/A comparison, the case a gate must
// not fail) that is the chance of flagging anything at all, as with
// Holm-Bonferroni. Unlike Holm it keeps the power to see a change that
// shows at many points at once, the usual shape of a code change, with the
// 4 to 5 repetitions a sweep can afford.
const Correction = "Benjamini-Hochberg"

// Significance values of a Delta.
const (
	Significant    = "significant"     // Benjamini-Hochberg adjusted p (Q) <= alpha
	NotSignificant = "not significant" // Q > alpha: no evidence of a change
	TooFew         = "n too small"     // too few repetitions for any p to reach alpha; not tested
)

// Verdict values of a Delta.
const (
	Better     = "better"     // significant, in the metric's better direction
	Worse      = "worse"      // significant, in the worse direction, within the gate's threshold (or no gate)
	Regression = "regression" // significant, worse by more than the gate's threshold
)

// Options configures Runs.
type Options struct {
	// Alpha is the false discovery rate of the corrected Mann-Whitney U
	// tests; 0 means DefaultAlpha. The per-backend intervals are at
	// confidence 1-Alpha.
	Alpha float64
	// Gate turns on the regression gate: any significant change in the
	// worse direction by more than Threshold is a Regression.
	Gate bool
	// Threshold is the gate's tolerance as a fraction of the old median:
	// 0.10 lets a metric get 10% worse before it counts.
	Threshold float64
	// OldName and NewName name the runs in the output (e.g. their paths).
	OldName, NewName string
}

// Comparison is the result of comparing two runs point by point.
type Comparison struct {
	Old        RunInfo `json:"old"`
	New        RunInfo `json:"new"`
	Alpha      float64 `json:"alpha"`
	Correction string  `json:"correction"` // Correction
	Gate       bool    `json:"gate"`
	Threshold  float64 `json:"threshold"` // fraction; meaningful when Gate is set
	Power      Power   `json:"power"`
	// Omitted lists the metrics left out of this comparison, each with why.
	Omitted []string `json:"omitted_metrics,omitempty"`
	// Summary is one row per backend and metric, in table order.
	Summary []BackendSummary `json:"summary"`
	Tables  []MetricTable    `json:"metrics"`
	Skipped []Skipped        `json:"skipped,omitempty"`
	Notes   []string         `json:"notes,omitempty"` // differences in scenario or environment worth knowing
	// Undecided says why the comparison cannot pass a gate: it compared
	// nothing ("nothing compared: ...") or its repetitions are too few for
	// any test to reach alpha ("cannot decide: ..."). Empty when it can.
	Undecided string `json:"undecided,omitempty"`
	// Regressions lists, one line each, what fails the gate: significant
	// regressions beyond the threshold, and points that were ok in OLD and
	// not in NEW. Always empty when Gate is off, and when the runs are of
	// different scenarios.
	Regressions []string `json:"regressions"`
}

// Power says what the comparison's repetitions can detect.
type Power struct {
	// OldN and NewN are the repetitions of the best-measured compared
	// point; MinP is the smallest p the U test can give with them.
	OldN int     `json:"old_n"`
	NewN int     `json:"new_n"`
	MinP float64 `json:"min_p"`
	// Tests is the number of U tests the correction spans.
	Tests int `json:"tests"`
	// NeedReps is how many repetitions per side any test needs to reach
	// alpha after the correction: MinRepetitions(alpha).
	NeedReps int `json:"need_reps"`
	// MinTests is the fewest tests that must reach MinP together (every
	// NEW repetition beyond every OLD one) for the correction to flag
	// them; Tests+1 when none can.
	MinTests int `json:"min_tests"`
	// NeedRepsOne is how many repetitions per side a change confined to a
	// single test needs: MinRepetitions(alpha/Tests).
	NeedRepsOne int `json:"need_reps_one"`
}

// RunInfo identifies one side of a comparison.
type RunInfo struct {
	Name        string    `json:"name"`
	Scenario    string    `json:"scenario"`
	Host        string    `json:"host"`
	Commit      string    `json:"commit,omitempty"`
	Started     time.Time `json:"started"`
	Repetitions int       `json:"repetitions"`
	Incomplete  bool      `json:"incomplete,omitempty"`
}

// BackendSummary condenses one backend's rows of one metric: the geometric
// mean of the per-point NEW/OLD median ratios, with a Student t-interval on
// the log ratios across the points (see geomeanCI), and the median
// detectable change (see Delta.Detectable).
type BackendSummary struct {
	Backend        string  `json:"backend"`
	Metric         string  `json:"metric"`
	HigherIsBetter bool    `json:"higher_is_better"`
	Points         int     `json:"points"` // rows with a ratio
	Ratio          float64 `json:"ratio"`
	// Lo and Hi bound Ratio at confidence Confidence; 0 with fewer than
	// two points.
	Lo         float64 `json:"lo,omitempty"`
	Hi         float64 `json:"hi,omitempty"`
	Confidence float64 `json:"confidence"`
	// Detectable is the median of the rows' Detectable over those with
	// two or more repetitions a side; nil when there are none.
	Detectable *float64 `json:"detectable"`
}

// MetricTable compares one headline metric at every point both runs measured.
type MetricTable struct {
	Metric         string   `json:"metric"` // p50, p99, cpu, rate
	Title          string   `json:"title"`
	Unit           string   `json:"unit"` // ns or req/s
	HigherIsBetter bool     `json:"higher_is_better"`
	Rows           []Delta  `json:"rows"`
	Geomean        *Geomean `json:"geomean,omitempty"` // nil when no row has a ratio
}

// Delta is one backend at one point: old and new medians and whether the
// difference is significant across repetitions.
type Delta struct {
	Backend string  `json:"backend"`
	Active  int     `json:"active"`
	FDs     int     `json:"fds"`
	Old     float64 `json:"old"` // median across OLD's repetitions
	New     float64 `json:"new"`
	OldN    int     `json:"old_n"` // repetitions measured
	NewN    int     `json:"new_n"`
	Ratio   float64 `json:"ratio"` // New/Old; 0 when either median is not positive
	// P is the Mann-Whitney U p-value and Q the same after the correction
	// across the comparison; both nil when not tested (n too small).
	P            *float64 `json:"p,omitempty"`
	Q            *float64 `json:"q,omitempty"`
	Significance string   `json:"significance"`
	Verdict      string   `json:"verdict,omitempty"` // Better, Worse, Regression, or "" for no significant change
	// Detectable is the smallest change this point can show, as a
	// fraction: its repetitions' spread max/min-1, the noisier side's
	// (see spread); 0 when a side has a single repetition, which shows no
	// spread.
	Detectable float64 `json:"detectable"`
}

// Geomean is the geometric mean of the old and new medians over the rows
// with a ratio, the summary benchstat gives.
type Geomean struct {
	Old   float64 `json:"old"`
	New   float64 `json:"new"`
	Ratio float64 `json:"ratio"`
	N     int     `json:"n"`
}

// Skipped is a group of points that could not be compared, with why.
type Skipped struct {
	Backend string `json:"backend"`
	Active  int    `json:"active"`
	FDs     []int  `json:"fds"`
	Reason  string `json:"reason"`
	// Lost is set when the points were ok in OLD and are not in NEW
	// (saturated, errors, unsupported or failed): a regression of its own.
	Lost bool `json:"lost,omitempty"`
}

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
	if o.Scenario.Mode == loadgen.ModeClosed && n.Scenario.Mode == loadgen.ModeClosed {
		return append(metrics, rateMetric), nil
	}
	return metrics, []string{rateOmitted}
}

// pointKey identifies a point across runs.
type pointKey struct {
	backend     string
	active, fds int
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

	oldPts, newPts := indexPoints(results.Summarize(oldRun.Samples)), indexPoints(results.Summarize(newRun.Samples))
	both, common := c.classify(oldRun, newRun, oldPts, newPts)

	scopes, scopeNote := cpuScopes(both, oldPts, newPts)
	if scopeNote != "" {
		c.Notes = append(c.Notes, scopeNote)
	}
	oldSamples, newSamples := indexSamples(oldRun.Samples), indexSamples(newRun.Samples)
	for _, m := range metrics {
		t := MetricTable{Metric: m.name, Title: m.title, Unit: m.unit, HigherIsBetter: m.higherIsBetter}
		if m.name == cpuMetric.name && scopes != "" {
			t.Title += " (" + scopes + ")"
		}
		for _, k := range both {
			op, np := oldPts[k], newPts[k]
			d := Delta{
				Backend: k.backend, Active: k.active, FDs: k.fds,
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
					d.Backend, t.Title, human.Thousands(float64(d.FDs)), human.Plural(d.Active, "active connection"),
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
					s.Backend, fdInts(s.FDs), human.Plural(s.Active, "active connection"), s.Reason))
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
			human.Plural(len(differ), "point"), k.backend, human.Thousands(float64(k.fds)), recorded(oldPts[k].ServerCPUScope), recorded(newPts[k].ServerCPUScope))
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
		return "nothing compared: no (backend, fds, active) point is in both runs"
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
	skips := map[[3]string]*Skipped{} // backend, active, reason
	var skipOrder [][3]string
	skip := func(k pointKey, reason string, lost bool) {
		id := [3]string{k.backend, fmt.Sprint(k.active), reason}
		s, ok := skips[id]
		if !ok {
			s = &Skipped{Backend: k.backend, Active: k.active, Reason: reason, Lost: lost}
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

func runInfo(name string, r *results.Run) RunInfo {
	return RunInfo{
		Name:        name,
		Scenario:    r.Scenario.Name,
		Host:        r.Env.Hostname,
		Commit:      r.Env.ShortCommit(),
		Started:     r.Started,
		Repetitions: r.Scenario.Repetitions,
		Incomplete:  r.Incomplete,
	}
}

func indexPoints(pts []results.Point) map[pointKey]results.Point {
	m := make(map[pointKey]results.Point, len(pts))
	for _, p := range pts {
		m[pointKey{p.Backend, p.Active, p.FDs}] = p
	}
	return m
}

// indexSamples groups the ok samples by point: the repetitions the
// significance test compares. Runs only tests points whose every sample
// is ok, so this is all of their samples.
func indexSamples(ss []results.Sample) map[pointKey][]results.Sample {
	m := map[pointKey][]results.Sample{}
	for _, s := range ss {
		if s.Status != results.StatusOK {
			continue
		}
		k := pointKey{s.Backend, s.Active, s.FDs}
		m[k] = append(m[k], s)
	}
	return m
}

// unionKeys returns every point of either run, ordered by backend (OLD's
// scenario order, then NEW's, then any others by name), active and fds.
func unionKeys(oldRun, newRun *results.Run, a, b map[pointKey]results.Point) []pointKey {
	rank := map[string]int{}
	for _, r := range []*results.Run{oldRun, newRun} {
		for _, be := range r.Scenario.Backends {
			if _, ok := rank[be]; !ok {
				rank[be] = len(rank)
			}
		}
	}
	set := map[pointKey]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	keys := make([]pointKey, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ki, kj := keys[i], keys[j]
		ri, iok := rank[ki.backend]
		rj, jok := rank[kj.backend]
		switch {
		case iok != jok:
			return iok
		case ri != rj:
			return ri < rj
		case ki.backend != kj.backend:
			return ki.backend < kj.backend
		case ki.active != kj.active:
			return ki.active < kj.active
		}
		return ki.fds < kj.fds
	})
	return keys
}

// statusReason is a point's status with its reason; a saturated point
// without one says what it achieved.
func statusReason(p results.Point) string {
	switch {
	case p.Reason != "":
		return p.Status + " (" + human.OneLine(p.Reason) + ")"
	case p.Status == results.StatusSaturated && p.RateRequested > 0:
		return fmt.Sprintf("%s (achieved %s of %s req/s)", p.Status, human.Thousands(p.RateAchieved.Median), human.Thousands(p.RateRequested))
	}
	return p.Status
}

func notOK(op, np results.Point) string {
	if op.Status == np.Status && op.Reason == np.Reason {
		return statusReason(op) + " in both"
	}
	return statusReason(op) + " in OLD, " + statusReason(np) + " in NEW"
}

func values(ss []results.Sample, f func(results.Sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// repsText says how many repetitions a comparison's points had: "3
// repetitions" when both sides had the same, "3+5 repetitions" otherwise.
func repsText(oldN, newN int) string {
	if oldN == newN {
		return human.Plural(oldN, "repetition")
	}
	return fmt.Sprintf("%d+%d repetitions", oldN, newN)
}

// verdict classifies a row: no significant change, better, worse, or
// worse beyond the gate's threshold (only when gate is set).
func verdict(d Delta, higherIsBetter, gate bool, threshold float64) string {
	if d.Significance != Significant || d.Ratio == 0 || d.Ratio == 1 {
		return ""
	}
	worse := d.Ratio > 1
	if higherIsBetter {
		worse = d.Ratio < 1
	}
	if !worse {
		return Better
	}
	if gate {
		exceeds := d.Ratio > 1+threshold
		if higherIsBetter {
			exceeds = d.Ratio < 1-threshold
		}
		if exceeds {
			return Regression
		}
	}
	return Worse
}

func geomean(rows []Delta) *Geomean {
	var so, sn float64
	n := 0
	for _, d := range rows {
		if d.Ratio == 0 {
			continue
		}
		so += math.Log(d.Old)
		sn += math.Log(d.New)
		n++
	}
	if n == 0 {
		return nil
	}
	g := &Geomean{Old: math.Exp(so / float64(n)), New: math.Exp(sn / float64(n)), N: n}
	g.Ratio = g.New / g.Old
	return g
}

// differences lists what differs between the runs' scenarios and
// environments, so a reader knows what else changed besides the code.
func differences(o, n *results.Run) []string {
	var out []string
	diff := func(what, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s differs: OLD %s, NEW %s", what, orNone(a), orNone(b)))
		}
	}
	so, sn := o.Scenario, n.Scenario
	diff("scenario", so.Name, sn.Name)
	diff("mode", so.Mode, sn.Mode)
	diff("rate", human.Thousands(so.Rate)+" req/s", human.Thousands(sn.Rate)+" req/s")
	diff("message size", fmt.Sprintf("%d B", so.Size), fmt.Sprintf("%d B", sn.Size))
	diff("protocol", so.Proto, sn.Proto)
	diff("idle keep-alive", so.KeepAlive, sn.KeepAlive)
	diff("warm-up", so.Warmup, sn.Warmup)
	diff("measured window", so.Duration, sn.Duration)
	diff("repetitions", fmt.Sprint(so.Repetitions), fmt.Sprint(sn.Repetitions))
	eo, en := o.Env, n.Env
	diff("host", eo.Hostname, en.Hostname)
	diff("kernel", eo.Kernel, en.Kernel)
	diff("CPU model", eo.CPUModel, en.CPUModel)
	diff("Go version", eo.GoVersion, en.GoVersion)
	diff("server CPUs", eo.ServerCPUs, en.ServerCPUs)
	diff("load generator CPUs", eo.ClientCPUs, en.ClientCPUs)
	if o.Incomplete {
		out = append(out, "OLD is an incomplete run")
	}
	if n.Incomplete {
		out = append(out, "NEW is an incomplete run")
	}
	return out
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}

func fdInts(fds []int) string {
	s := make([]string, len(fds))
	for i, f := range fds {
		s[i] = human.Thousands(float64(f))
	}
	return strings.Join(s, ", ")
}
