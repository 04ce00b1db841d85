package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"golang.org/x/perf/benchmath"

	"github.com/muxbench/muxbench/results"
)

// DefaultAlpha is the significance level compare uses unless told otherwise.
const DefaultAlpha = 0.05

// Significance values of a Delta.
const (
	Significant    = "significant"     // Mann-Whitney U p < alpha
	NotSignificant = "not significant" // p >= alpha: no evidence of a change
	TooFew         = "n too small"     // too few repetitions for any p to reach alpha
)

// Verdict values of a Delta.
const (
	Better     = "better"     // significant, in the metric's better direction
	Worse      = "worse"      // significant, in the worse direction, within the gate's threshold (or no gate)
	Regression = "regression" // significant, worse by more than the gate's threshold
)

// CompareOptions configures Compare.
type CompareOptions struct {
	// Alpha is the significance level of the Mann-Whitney U test; 0 means
	// DefaultAlpha.
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
	Old       RunInfo       `json:"old"`
	New       RunInfo       `json:"new"`
	Alpha     float64       `json:"alpha"`
	Gate      bool          `json:"gate"`
	Threshold float64       `json:"threshold"` // fraction; meaningful when Gate is set
	Tables    []MetricTable `json:"metrics"`
	Skipped   []Skipped     `json:"skipped,omitempty"`
	Notes     []string      `json:"notes,omitempty"` // differences in scenario or environment worth knowing
	// Regressions lists, one line each, what fails the gate: significant
	// regressions beyond the threshold, and points OLD measured that NEW
	// could not. Always empty when Gate is off.
	Regressions []string `json:"regressions"`
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
	Backend      string   `json:"backend"`
	Active       int      `json:"active"`
	FDs          int      `json:"fds"`
	Old          float64  `json:"old"` // median across OLD's repetitions
	New          float64  `json:"new"`
	OldN         int      `json:"old_n"` // repetitions measured
	NewN         int      `json:"new_n"`
	Ratio        float64  `json:"ratio"`       // New/Old; 0 when either median is not positive
	P            *float64 `json:"p,omitempty"` // Mann-Whitney U p-value; nil when not computed (n too small)
	Significance string   `json:"significance"`
	Verdict      string   `json:"verdict,omitempty"` // Better, Worse, Regression, or "" for no significant change
	OldStatus    string   `json:"old_status"`
	NewStatus    string   `json:"new_status"`
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
	// Lost is set when OLD measured these points and NEW could not
	// (unsupported or failed): a regression of its own.
	Lost bool `json:"lost,omitempty"`
}

// metricDef ties a metric to its place in a Point and in a Sample.
type metricDef struct {
	name, title, unit string
	higherIsBetter    bool
	point             func(results.Point) results.Stat
	sample            func(results.Sample) float64
}

var compareMetrics = []metricDef{
	{"p50", "p50 latency", "ns", false,
		func(p results.Point) results.Stat { return p.P50 },
		func(s results.Sample) float64 { return float64(s.Latency.P50) }},
	{"p99", "p99 latency", "ns", false,
		func(p results.Point) results.Stat { return p.P99 },
		func(s results.Sample) float64 { return float64(s.Latency.P99) }},
	{"cpu", "server CPU per request", "ns", false,
		func(p results.Point) results.Stat { return p.ServerCPUPerReq },
		func(s results.Sample) float64 { return s.Server.CPUNsPerReq }},
	{"rate", "achieved rate", "req/s", true,
		func(p results.Point) results.Stat { return p.RateAchieved },
		func(s results.Sample) float64 { return s.RateAchieved }},
}

// pointKey identifies a point across runs.
type pointKey struct {
	backend     string
	active, fds int
}

// Compare compares NEW against OLD at every backend × point both measured:
// medians of p50, p99, server CPU per request and achieved rate, their
// ratio, and a Mann-Whitney U test across the repetitions
// (benchmath.AssumeNothing). Points present in only one run, or not
// measured in one, are listed in Skipped, not compared.
func Compare(oldRun, newRun *results.Run, opt CompareOptions) (*Comparison, error) {
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
	c := &Comparison{
		Old:       runInfo(opt.OldName, oldRun),
		New:       runInfo(opt.NewName, newRun),
		Alpha:     alpha,
		Gate:      opt.Gate,
		Threshold: opt.Threshold,
		Notes:     differences(oldRun, newRun),
	}

	oldPts, newPts := indexPoints(results.Summarize(oldRun.Samples)), indexPoints(results.Summarize(newRun.Samples))
	oldSamples, newSamples := indexSamples(oldRun.Samples), indexSamples(newRun.Samples)
	keys := unionKeys(oldRun, newRun, oldPts, newPts)

	var both []pointKey
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
	for _, k := range keys {
		op, inOld := oldPts[k]
		np, inNew := newPts[k]
		switch {
		case !inNew:
			skip(k, "only in OLD", false)
		case !inOld:
			skip(k, "only in NEW", false)
		case !measured(op) && !measured(np):
			skip(k, notMeasured(op, np), false)
		case !measured(np):
			skip(k, "measured in OLD, "+statusReason(np)+" in NEW", true)
		case !measured(op):
			skip(k, statusReason(op)+" in OLD, measured in NEW", false)
		default:
			both = append(both, k)
		}
	}
	for _, id := range skipOrder {
		c.Skipped = append(c.Skipped, *skips[id])
	}

	for _, m := range compareMetrics {
		t := MetricTable{Metric: m.name, Title: m.title, Unit: m.unit, HigherIsBetter: m.higherIsBetter}
		for _, k := range both {
			op, np := oldPts[k], newPts[k]
			d := Delta{
				Backend: k.backend, Active: k.active, FDs: k.fds,
				Old: m.point(op).Median, New: m.point(np).Median,
				OldStatus: op.Status, NewStatus: np.Status,
			}
			ov, nv := values(oldSamples[k], m.sample), values(newSamples[k], m.sample)
			d.OldN, d.NewN = len(ov), len(nv)
			if d.Old > 0 && d.New > 0 {
				d.Ratio = d.New / d.Old
			}
			d.P, d.Significance = significance(ov, nv, alpha)
			d.Verdict = verdict(d, m.higherIsBetter, opt)
			t.Rows = append(t.Rows, d)
			if d.Verdict == Regression {
				c.Regressions = append(c.Regressions, fmt.Sprintf("%s %s at %s fds, %s: %s → %s (%s, p=%.3f)",
					k.backend, m.title, groupDigits(float64(k.fds)), plural(k.active, "active connection"),
					formatValue(d.Old, m.unit), formatValue(d.New, m.unit), formatDelta(d.Ratio), *d.P))
			}
		}
		t.Geomean = geomean(t.Rows)
		c.Tables = append(c.Tables, t)
	}
	if opt.Gate {
		for _, s := range c.Skipped {
			if s.Lost {
				c.Regressions = append(c.Regressions, fmt.Sprintf("%s at %s fds, %s: %s",
					s.Backend, fdInts(s.FDs), plural(s.Active, "active connection"), s.Reason))
			}
		}
	}
	return c, nil
}

func runInfo(name string, r *results.Run) RunInfo {
	return RunInfo{
		Name:        name,
		Scenario:    r.Scenario.Name,
		Host:        r.Env.Hostname,
		Commit:      shortCommit(r.Env.Commit, r.Env.Dirty),
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

// indexSamples groups the measured samples (not unsupported or failed) by
// point: these are the repetitions the significance test compares.
func indexSamples(ss []results.Sample) map[pointKey][]results.Sample {
	m := map[pointKey][]results.Sample{}
	for _, s := range ss {
		if s.Status == results.StatusUnsupported || s.Status == results.StatusFailed {
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

func statusReason(p results.Point) string {
	if p.Reason == "" {
		return p.Status
	}
	return p.Status + " (" + oneLine(p.Reason) + ")"
}

func notMeasured(op, np results.Point) string {
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

// significance runs the Mann-Whitney U test on the two sets of repetitions.
// When the samples are so small that even completely separated values
// could not reach alpha (e.g. 3 against 3 at 0.05, or a single repetition),
// the test cannot say anything and TooFew is returned without a p-value.
func significance(old, new []float64, alpha float64) (*float64, string) {
	if minUTestP(len(old), len(new)) > alpha {
		return nil, TooFew
	}
	th := &benchmath.Thresholds{CompareAlpha: alpha}
	// NewSample sorts in place; keep the caller's order.
	s1 := benchmath.NewSample(append([]float64(nil), old...), th)
	s2 := benchmath.NewSample(append([]float64(nil), new...), th)
	cmp := benchmath.AssumeNothing.Compare(s1, s2)
	p := cmp.P
	if p < alpha {
		return &p, Significant
	}
	return &p, NotSignificant
}

// minUTestP is the smallest two-sided p-value the Mann-Whitney U test can
// give for samples of n1 and n2 values: every old value below every new one
// is one of C(n1+n2, n1) equally likely orderings, doubled for two sides.
func minUTestP(n1, n2 int) float64 {
	if n1 < 1 || n2 < 1 {
		return 1
	}
	// C(n1+n2, n1) computed in floating point; it only needs to be compared
	// with alpha.
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// MinRepetitions returns the fewest repetitions per side with which the
// Mann-Whitney U test can reach alpha at all.
func MinRepetitions(alpha float64) int {
	for n := 1; n < 100; n++ {
		if minUTestP(n, n) <= alpha {
			return n
		}
	}
	return 100
}

// verdict classifies a row: no significant change, better, worse, or
// worse beyond the gate's threshold.
func verdict(d Delta, higherIsBetter bool, opt CompareOptions) string {
	if d.Significance != Significant || d.Ratio == 0 {
		return ""
	}
	worse := d.Ratio > 1
	if higherIsBetter {
		worse = d.Ratio < 1
	}
	if d.Ratio == 1 {
		return ""
	}
	if !worse {
		return Better
	}
	if opt.Gate {
		exceeds := d.Ratio > 1+opt.Threshold
		if higherIsBetter {
			exceeds = d.Ratio < 1-opt.Threshold
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
	diff("rate", groupDigits(so.Rate)+" req/s", groupDigits(sn.Rate)+" req/s")
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
		s[i] = groupDigits(float64(f))
	}
	return strings.Join(s, ", ")
}
