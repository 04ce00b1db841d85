package compare

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/internal/golden"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMinUTestP(t *testing.T) {
	tests := []struct {
		n1, n2 int
		want   float64
	}{
		{0, 5, 1}, {1, 1, 1}, {2, 2, 2.0 / 6}, {3, 3, 0.1}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {3, 5, 2.0 / 56},
	}
	for _, tt := range tests {
		if got := minUTestP(tt.n1, tt.n2); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("minUTestP(%d, %d) = %v; want %v", tt.n1, tt.n2, got, tt.want)
		}
	}
	if got := MinRepetitions(0.05); got != 4 {
		t.Errorf("MinRepetitions(0.05) = %d; want 4", got)
	}
	if got := MinRepetitions(0.01); got != 5 {
		t.Errorf("MinRepetitions(0.01) = %d; want 5", got)
	}
}

func TestUTest(t *testing.T) {
	tests := []struct {
		name     string
		old, new []float64
		want     float64 // -1: anything above 0.05
	}{
		{"three each, separated", []float64{1, 2, 3}, []float64{7, 8, 9}, 0.1},
		{"five each, separated", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 2.0 / 252},
		{"five each, separated downwards", []float64{6, 7, 8, 9, 10}, []float64{1, 2, 3, 4, 5}, 2.0 / 252},
		{"five each, interleaved", []float64{1, 3, 5, 7, 9}, []float64{2, 4, 6, 8, 10}, -1},
		{"five each, identical", []float64{5, 5, 5, 5, 5}, []float64{5, 5, 5, 5, 5}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := slices.Clone(tt.old)
			got := uTest(tt.old, tt.new)
			switch {
			case tt.want == -1 && got <= 0.05:
				t.Errorf("uTest = %v; want > 0.05", got)
			case tt.want >= 0 && math.Abs(got-tt.want) > 1e-9:
				t.Errorf("uTest = %v; want %v", got, tt.want)
			}
			if !slices.Equal(old, tt.old) {
				t.Error("uTest reordered the caller's slice")
			}
		})
	}
}

func TestBHAdjust(t *testing.T) {
	tests := []struct {
		ps, want []float64
	}{
		{nil, []float64{}},
		{[]float64{0.03}, []float64{0.03}},
		{[]float64{0.01, 0.04, 0.03, 0.005}, []float64{0.02, 0.04, 0.04, 0.02}},
		{[]float64{0.5, 0.001}, []float64{0.5, 0.002}},
		{[]float64{0.01, 0.01, 0.01}, []float64{0.01, 0.01, 0.01}},
		{[]float64{0.9, 0.8}, []float64{0.9, 0.9}}, // 2·0.8 capped by the larger p's 0.9
		{[]float64{0.7, 0.6, 0.65}, []float64{0.7, 0.7, 0.7}},
	}
	for _, tt := range tests {
		got := bhAdjust(tt.ps)
		ok := len(got) == len(tt.want)
		for i := range got {
			ok = ok && math.Abs(got[i]-tt.want[i]) < 1e-12
		}
		if !ok {
			t.Errorf("bhAdjust(%v) = %v; want %v", tt.ps, got, tt.want)
		}
	}
}

func TestBHMinTests(t *testing.T) {
	tests := []struct {
		p     float64
		alpha float64
		m     int
		want  int
	}{
		{2.0 / 252, 0.05, 30, 5}, // 5+5 repetitions: 5 fully separated tests of 30
		{2.0 / 252, 0.05, 1, 1},
		{2.0 / 70, 0.05, 10, 6},    // 4+4: most of the tests must move together
		{0.1, 0.05, 30, 31},        // 3+3: none can
		{0.05, 0.05, 1, 1},         // exactly at alpha
		{0.0001, 0.05, 500, 1},     // enough repetitions for one point alone
		{2.0 / 252, 0.05, 240, 39}, // the full default sweep
	}
	for _, tt := range tests {
		if got := bhMinTests(tt.p, tt.alpha, tt.m); got != tt.want {
			t.Errorf("bhMinTests(%v, %v, %d) = %d; want %d", tt.p, tt.alpha, tt.m, got, tt.want)
		}
	}
}

func TestStudentQuantile(t *testing.T) {
	// Two-sided 95% critical values from any t table.
	for _, tt := range []struct {
		df   int
		want float64
	}{{1, 12.7062}, {2, 4.3027}, {3, 3.1824}, {4, 2.7764}, {9, 2.2622}, {10, 2.2281}, {30, 2.0423}} {
		if got := studentQuantile(0.975, tt.df); math.Abs(got-tt.want) > 5e-4 {
			t.Errorf("studentQuantile(0.975, %d) = %.4f; want %.4f", tt.df, got, tt.want)
		}
	}
	if got := studentQuantile(0.95, 5); math.Abs(got-2.0150) > 5e-4 {
		t.Errorf("studentQuantile(0.95, 5) = %.4f; want 2.0150", got)
	}
	for _, df := range []int{1, 2, 7} {
		if got := studentCDF(0, df); math.Abs(got-0.5) > 1e-12 {
			t.Errorf("studentCDF(0, %d) = %v; want 0.5", df, got)
		}
		if got := studentCDF(-1.5, df) + studentCDF(1.5, df); math.Abs(got-1) > 1e-12 {
			t.Errorf("studentCDF(-1.5, %d) + studentCDF(1.5, %d) = %v; want 1", df, df, got)
		}
	}
}

func TestGeomeanCI(t *testing.T) {
	gm, lo, hi := geomeanCI([]float64{2, 2, 2}, 0.95)
	if math.Abs(gm-2) > 1e-12 || math.Abs(lo-2) > 1e-12 || math.Abs(hi-2) > 1e-12 {
		t.Errorf("geomeanCI(2, 2, 2) = %v [%v, %v]; want 2 [2, 2]", gm, lo, hi)
	}
	// Log ratios 0.1 and 0.3: mean 0.2, standard error 0.1, t(0.975, 1) 12.706.
	gm, lo, hi = geomeanCI([]float64{math.Exp(0.1), math.Exp(0.3)}, 0.95)
	if math.Abs(math.Log(gm)-0.2) > 1e-9 || math.Abs(math.Log(lo)-(0.2-1.27062)) > 1e-4 || math.Abs(math.Log(hi)-(0.2+1.27062)) > 1e-4 {
		t.Errorf("geomeanCI(e^0.1, e^0.3) = %v [%v, %v]; want e^0.2 [e^(0.2∓1.2706)]", gm, lo, hi)
	}
	if gm, lo, hi = geomeanCI([]float64{1.5}, 0.95); gm != 1.5 || lo != 0 || hi != 0 {
		t.Errorf("geomeanCI(1.5) = %v [%v, %v]; want 1.5 and no interval", gm, lo, hi)
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		o, n results.Stat
		want float64
	}{
		{results.Stat{Median: 10, Min: 9, Max: 11}, results.Stat{Median: 10, Min: 10, Max: 10}, 11.0/9 - 1},
		{results.Stat{Median: 10, Min: 10, Max: 10}, results.Stat{Median: 20, Min: 10, Max: 30}, 2},
		{results.Stat{Min: 0, Max: 5}, results.Stat{Min: 0, Max: 5}, 0},
	}
	for _, tt := range tests {
		if got := spread(tt.o, tt.n); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("spread(%+v, %+v) = %v; want %v", tt.o, tt.n, got, tt.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	q := 0.001
	sig := func(r float64) Delta { return Delta{Ratio: r, P: &q, Q: &q, Significance: Significant} }
	tests := []struct {
		name      string
		d         Delta
		higher    bool
		gate      bool
		threshold float64
		want      string
	}{
		{"latency doubled", sig(2), false, true, 0.10, Regression},
		{"latency up 5%, under the threshold", sig(1.05), false, true, 0.10, Worse},
		{"latency up 11%", sig(1.11), false, true, 0.10, Regression},
		{"latency halved", sig(0.5), false, true, 0.10, Better},
		{"rate halved", sig(0.5), true, true, 0.10, Regression},
		{"rate up", sig(1.3), true, true, 0.10, Better},
		{"rate down 5%", sig(0.95), true, true, 0.10, Worse},
		{"no gate", sig(2), false, false, 0, Worse},
		{"gate at 0%", sig(1.01), false, true, 0, Regression},
		{"not significant", Delta{Ratio: 2, Significance: NotSignificant}, false, true, 0.10, ""},
		{"too few", Delta{Ratio: 2, Significance: TooFew}, false, true, 0.10, ""},
		{"no ratio", Delta{Ratio: 0, P: &q, Significance: Significant}, false, true, 0.10, ""},
	}
	for _, tt := range tests {
		if got := verdict(tt.d, tt.higher, tt.gate, tt.threshold); got != tt.want {
			t.Errorf("%s: verdict = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func deltaOf(t *testing.T, c *Comparison, metric, backend string, fds int) Delta {
	t.Helper()
	for _, tb := range c.Tables {
		if tb.Metric != metric {
			continue
		}
		for _, d := range tb.Rows {
			if d.Backend == backend && d.FDs == fds {
				return d
			}
		}
	}
	t.Fatalf("no %s row for %s@%d", metric, backend, fds)
	return Delta{}
}

// TestCompareRegression: the same code rerun (other noise) passes the 10%
// gate; epoll-lt made 2× slower fails it on latency and CPU.
func TestCompareRegression(t *testing.T) {
	base := reporttest.Options{FDs: []int{101, 1001, 10001}}
	old := reporttest.Run(base)
	rerun := base
	rerun.Seed = 2
	slow := rerun
	slow.Scale = map[string]float64{"epoll-lt": 2}
	opt := Options{Gate: true, Threshold: 0.10}

	c, err := Runs(old, reporttest.Run(rerun), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Regressions) != 0 {
		t.Errorf("rerun with noise: regressions %q; want none", c.Regressions)
	}

	c, err = Runs(old, reporttest.Run(slow), opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"p50", "p99", "cpu"} {
		for _, fds := range base.FDs {
			d := deltaOf(t, c, m, "epoll-lt", fds)
			if d.Verdict != Regression || d.Ratio < 1.8 || d.OldN != 5 || d.NewN != 5 {
				t.Errorf("epoll-lt %s@%d: %+v; want a ~2× regression over 5+5 repetitions", m, fds, d)
			}
		}
	}
	if d := deltaOf(t, c, "cpu", "poll", 1001); d.Verdict == Regression {
		t.Errorf("poll cpu@1001 (unchanged code) flagged: %+v", d)
	}
	if len(c.Regressions) != 9 {
		t.Errorf("%d regressions; want 9 (3 metrics × 3 fd counts):\n%s", len(c.Regressions), strings.Join(c.Regressions, "\n"))
	}
	if g := c.Tables[2].Geomean; g == nil || g.N != 14 {
		t.Errorf("cpu geomean = %+v; want over 14 points (select stops at 10,001)", g)
	}

	// Without the gate the same changes are reported as worse, not failures.
	opt.Gate = false
	c, err = Runs(old, reporttest.Run(slow), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Regressions) != 0 || deltaOf(t, c, "cpu", "epoll-lt", 101).Verdict != Worse {
		t.Errorf("no gate: regressions %q, verdict %q; want none and %q", c.Regressions, deltaOf(t, c, "cpu", "epoll-lt", 101).Verdict, Worse)
	}
}

func TestCompareOneRepetition(t *testing.T) {
	old := reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1})
	slow := reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1, Scale: map[string]float64{"poll": 3}})
	c, err := Runs(old, slow, Options{Gate: true, Threshold: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range c.Tables {
		for _, d := range tb.Rows {
			if d.Significance != TooFew || d.P != nil || d.Q != nil || d.Verdict != "" {
				t.Errorf("%s %s: %+v; want n too small, no p, no verdict", tb.Metric, d.Backend, d)
			}
		}
	}
	if len(c.Regressions) != 0 {
		t.Errorf("regressions %q from single repetitions; want none", c.Regressions)
	}
	if want := "cannot decide: 1 repetition, need >= 4 per side"; c.Undecided != want {
		t.Errorf("Undecided = %q; want %q", c.Undecided, want)
	}
	var buf bytes.Buffer
	if err := c.Write(&buf, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"n too small", "no test can reach it; need >= 4 repetitions per side", "Gate: cannot decide: 1 repetition"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestCompareAA: two runs of the same code (5 repetitions each, ±15%
// noise) must pass a 25% gate however the noise falls, across 45 tests,
// though uncorrected tests find "significant" rows among them. Doubling
// the CPU per request everywhere must fail it, on CPU alone. Over the 20
// seed pairs the per-backend 95% intervals must hold the true ratio (1,
// then 2 for CPU) about as often as they claim to.
func TestCompareAA(t *testing.T) {
	base := reporttest.Options{FDs: []int{101, 501, 1001}, Noise: 0.15} // 5 backends × 3 fd counts × 3 metrics
	gate := Options{Gate: true, Threshold: 0.25}
	uncorrected, intervals, covered := 0, 0, 0
	coverage := func(s BackendSummary, want float64) {
		intervals++
		if s.Lo < want && want < s.Hi {
			covered++
		}
	}
	for seed := uint64(1); seed <= 20; seed++ {
		a, b := base, base
		a.Seed, b.Seed = 2*seed, 2*seed+1
		c, err := Runs(reporttest.Run(a), reporttest.Run(b), gate)
		if err != nil {
			t.Fatal(err)
		}
		if c.Power.Tests != 45 || c.Undecided != "" {
			t.Fatalf("seeds %d, %d: %d tests, undecided %q; want 45 and decided", a.Seed, b.Seed, c.Power.Tests, c.Undecided)
		}
		if len(c.Regressions) != 0 {
			t.Errorf("seeds %d, %d (same distribution): regressions %q; want none", a.Seed, b.Seed, c.Regressions)
		}
		for _, tb := range c.Tables {
			for _, d := range tb.Rows {
				if *d.P <= DefaultAlpha {
					uncorrected++
				}
			}
		}
		for _, s := range c.Summary {
			coverage(s, 1)
		}

		doubled := reporttest.Run(b)
		for i := range doubled.Samples {
			doubled.Samples[i].Server.CPUNsPerReq *= 2
		}
		c, err = Runs(reporttest.Run(a), doubled, gate)
		if err != nil {
			t.Fatal(err)
		}
		var flagged []string
		for _, tb := range c.Tables {
			for _, d := range tb.Rows {
				if d.Verdict == Regression {
					flagged = append(flagged, tb.Metric)
				}
			}
		}
		if got, want := strings.Join(flagged, " "), strings.TrimSpace(strings.Repeat("cpu ", 15)); got != want {
			t.Errorf("seeds %d, %d, CPU doubled: regressions in %q; want cpu at all 15 points", a.Seed, b.Seed, got)
		}
		for _, s := range c.Summary {
			if s.Metric == "cpu" {
				coverage(s, 2)
			}
		}
	}
	t.Logf("uncorrected p <= 0.05 in %d of %d A/A tests; intervals held the true ratio %d times of %d", uncorrected, 20*45, covered, intervals)
	if float64(covered) < 0.85*float64(intervals) {
		t.Errorf("intervals held the true ratio %d times of %d; want >= 85%% from 95%% intervals", covered, intervals)
	}
	if uncorrected == 0 {
		t.Error("no uncorrected p <= 0.05 in 900 A/A tests: the noise is too small for this test to show the correction working")
	}
}

// TestCompareSkipsNotOK: only points ok in both runs are tested; ok in
// OLD and not in NEW is a lost point, the other way round an improvement.
func TestCompareSkipsNotOK(t *testing.T) {
	opt := reporttest.Options{Backends: []string{"poll", "epoll-lt", "epoll-et"}, FDs: []int{101, 1001, 20001}}
	old := reporttest.Run(opt) // poll saturates at 20,001
	opt.Seed = 2
	opt.ErrorsAt = map[string]int{"epoll-et": 1001}
	newer := reporttest.Run(opt)
	for i, s := range newer.Samples {
		if s.Backend == "epoll-lt" && s.FDs == 101 { // a saturated point in OLD only
			old.Samples[i].Status = results.StatusSaturated
		}
	}
	c, err := Runs(old, newer, Options{Gate: true, Threshold: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, s := range c.Skipped {
		skipped = append(skipped, fmt.Sprintf("%s %s lost=%v: %s", s.Backend, fdInts(s.FDs), s.Lost, s.Reason))
	}
	want := []string{
		"poll 20,001 lost=false: saturated (achieved 5,912 of 10,000 req/s) in both",
		"epoll-lt 101 lost=false: saturated (achieved 9,980 of 10,000 req/s) in OLD, ok in NEW",
		"epoll-et 1,001 lost=true: ok in OLD, errors (3 connections reset by peer during the window) in NEW",
	}
	if strings.Join(skipped, "\n") != strings.Join(want, "\n") {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(want, "\n"))
	}
	if c.Power.Tests != 6*3 {
		t.Errorf("%d tests; want 18 (6 points ok in both × 3 metrics)", c.Power.Tests)
	}
	if len(c.Regressions) != 1 || !strings.Contains(c.Regressions[0], "epoll-et at 1,001 fds, 32 active connections: ok in OLD, errors") {
		t.Errorf("regressions %q; want the lost epoll-et point alone", c.Regressions)
	}
}

// TestCompareRate: open-loop runs leave the achieved rate out and say so;
// closed-loop runs test it, higher being better.
func TestCompareRate(t *testing.T) {
	for _, mode := range traffic.Modes {
		old := reporttest.Run(reporttest.Options{FDs: []int{101, 1001}})
		newer := reporttest.Run(reporttest.Options{FDs: []int{101, 1001}, Seed: 2})
		old.Scenario.Mode, newer.Scenario.Mode = mode, mode
		c, err := Runs(old, newer, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var metrics []string
		for _, tb := range c.Tables {
			metrics = append(metrics, tb.Metric)
		}
		got := strings.Join(metrics, " ") + " / " + strings.Join(c.Omitted, "; ")
		want := "p50 p99 cpu / " + rateOmitted
		if mode == "closed" {
			want = "p50 p99 cpu rate / "
		}
		if got != want {
			t.Errorf("%s loop: metrics / omitted = %q; want %q", mode, got, want)
		}
	}
}

// TestCompareUndecided: Runs says why a comparison cannot pass a gate.
func TestCompareUndecided(t *testing.T) {
	run := func(o reporttest.Options) *results.Run { return reporttest.Run(o) }
	base := reporttest.Options{FDs: []int{101, 1001}}
	empty := run(base)
	empty.Samples = nil
	other := run(base)
	other.Scenario.Name = "busy-sweep"
	slowOther := run(reporttest.Options{FDs: []int{101, 1001}, Scale: map[string]float64{"poll": 3}})
	slowOther.Scenario.Name = "busy-sweep"
	unsupported := run(reporttest.Options{Backends: []string{"select"}, FDs: []int{2001, 5001}})
	tests := []struct {
		name     string
		old, new *results.Run
		want     string
	}{
		{"comparable", run(base), run(base), ""},
		{"OLD empty", empty, run(base), "nothing compared: OLD has no samples"},
		{"NEW empty", run(base), empty, "nothing compared: NEW has no samples"},
		{"other scenario", run(base), other, "nothing compared: different scenarios (OLD idle-sweep, NEW busy-sweep)"},
		{"other scenario, 3× slower", run(base), slowOther, "nothing compared: different scenarios (OLD idle-sweep, NEW busy-sweep)"},
		{"disjoint points", run(base), run(reporttest.Options{FDs: []int{501}}), "nothing compared: no point (backend, fds, active, and loops, churn or rate where swept) is in both runs"},
		{"all unsupported", unsupported, unsupported, "nothing compared: every point in both runs was skipped (see skipped)"},
		{"3+3 repetitions", run(reporttest.Options{FDs: []int{101}, Reps: 3}), run(reporttest.Options{FDs: []int{101}, Reps: 3}), "cannot decide: 3 repetitions, need >= 4 per side"},
		{"3+5 repetitions", run(reporttest.Options{FDs: []int{101}, Reps: 3}), run(reporttest.Options{FDs: []int{101}}), ""}, // 2/56 < 0.05
		{"2+5 repetitions", run(reporttest.Options{FDs: []int{101}, Reps: 2}), run(reporttest.Options{FDs: []int{101}}), "cannot decide: 2+5 repetitions, need >= 4 per side"},
	}
	for _, tt := range tests {
		c, err := Runs(tt.old, tt.new, Options{Gate: true, Threshold: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		if c.Undecided != tt.want {
			t.Errorf("%s: Undecided = %q; want %q", tt.name, c.Undecided, tt.want)
		}
		if tt.want != "" && len(c.Regressions) != 0 {
			t.Errorf("%s: regressions %q; want none from an undecided comparison", tt.name, c.Regressions)
		}
	}
}

func TestCompareMismatched(t *testing.T) {
	old := reporttest.Run(reporttest.Options{Backends: []string{"select", "poll", "epoll-lt"}, FDs: []int{101, 1001, 2001}, Reps: 2})
	newer := reporttest.Run(reporttest.Options{Backends: []string{"poll", "epoll-lt", "gonet"}, FDs: []int{1001, 2001, 5001}, Reps: 2, Rate: 20000})
	// poll could not run at 2001 in the new run: a lost point.
	for i, s := range newer.Samples {
		if s.Backend == "poll" && s.FDs == 2001 {
			newer.Samples[i].Status, newer.Samples[i].Reason = results.StatusFailed, "server exited: signal: killed"
		}
	}
	c, err := Runs(old, newer, Options{Gate: true, Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	var compared []string
	for _, d := range c.Tables[0].Rows {
		compared = append(compared, d.Backend+"@"+human.Thousands(float64(d.FDs)))
	}
	if got, want := strings.Join(compared, " "), "poll@1,001 epoll-lt@1,001 epoll-lt@2,001"; got != want {
		t.Errorf("compared %s; want %s", got, want)
	}
	var skipped []string
	for _, s := range c.Skipped {
		skipped = append(skipped, s.Backend+" "+fdInts(s.FDs)+": "+s.Reason)
	}
	want := []string{
		"select 101, 1,001, 2,001: only in OLD",
		"poll 101: only in OLD",
		"poll 2,001: ok in OLD, failed (server exited: signal: killed) in NEW",
		"poll 5,001: only in NEW",
		"epoll-lt 101: only in OLD",
		"epoll-lt 5,001: only in NEW",
		"gonet 1,001, 2,001, 5,001: only in NEW",
	}
	if strings.Join(skipped, "\n") != strings.Join(want, "\n") {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(want, "\n"))
	}
	// Two repetitions cannot test anything, but the lost point needs no test.
	if !strings.Contains(strings.Join(c.Regressions, "\n"), "poll at 2,001 fds, 32 active connections: ok in OLD, failed") {
		t.Errorf("the lost poll point is not a regression: %q", c.Regressions)
	}
	if !strings.HasPrefix(c.Undecided, "cannot decide: 2 repetitions") {
		t.Errorf("Undecided = %q; want cannot decide with 2 repetitions", c.Undecided)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "rate differs: OLD 10,000 req/s, NEW 20,000 req/s") {
		t.Errorf("notes do not mention the rate change: %q", c.Notes)
	}
}

func TestCompareErrors(t *testing.T) {
	run := reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1})
	for _, tt := range []struct {
		name     string
		old, new *results.Run
		opt      Options
	}{
		{"nil run", nil, run, Options{}},
		{"alpha 1", run, run, Options{Alpha: 1}},
		{"negative alpha", run, run, Options{Alpha: -0.1}},
		{"negative threshold", run, run, Options{Gate: true, Threshold: -0.1}},
	} {
		if _, err := Runs(tt.old, tt.new, tt.opt); err == nil {
			t.Errorf("%s: got nil error", tt.name)
		}
	}
	c, err := Runs(run, run, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(&bytes.Buffer{}, "xml"); err == nil || !strings.Contains(err.Error(), `unknown format "xml"`) {
		t.Errorf("Write xml: err = %v", err)
	}
}

func TestCompareJSONRoundTrip(t *testing.T) {
	old := reporttest.Run(reporttest.Options{FDs: []int{101, 1001}, Reps: 5})
	slow := reporttest.Run(reporttest.Options{FDs: []int{101, 1001}, Reps: 5, Seed: 3, Scale: map[string]float64{"poll": 2}})
	c, err := Runs(old, slow, Options{Gate: true, Threshold: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Write(&buf, "json"); err != nil {
		t.Fatal(err)
	}
	var back Comparison
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("JSON output does not decode: %v", err)
	}
	if len(back.Tables) != 3 || len(back.Summary) != len(c.Summary) || len(back.Regressions) != len(c.Regressions) || len(back.Regressions) == 0 {
		t.Errorf("decoded %d tables, %d summary rows, %d regressions; want 3, %d and %d", len(back.Tables), len(back.Summary), len(back.Regressions), len(c.Summary), len(c.Regressions))
	}
}

// TestCompareGoldenText pins the text output of a passing gate (an A/A
// comparison), a failing one (CPU per request doubled) and one that cannot
// decide (3 repetitions a side).
func TestCompareGoldenText(t *testing.T) {
	base := reporttest.Options{Backends: []string{"poll", "epoll-lt", "gonet"}, FDs: []int{101, 1001, 10001}, Noise: 0.15}
	a, b := base, base
	b.Seed = 2
	doubled := reporttest.Run(b)
	for i := range doubled.Samples {
		doubled.Samples[i].Server.CPUNsPerReq *= 2
	}
	three := reporttest.Options{Backends: []string{"poll", "epoll-lt"}, FDs: []int{101, 1001}, Reps: 3}
	slow3 := three
	slow3.Seed, slow3.Scale = 2, map[string]float64{"poll": 2}
	for _, tt := range []struct {
		name     string
		old, new *results.Run
	}{
		{"compare-pass.golden.txt", reporttest.Run(a), reporttest.Run(b)},
		{"compare-fail.golden.txt", reporttest.Run(a), doubled},
		{"compare-undecided.golden.txt", reporttest.Run(three), reporttest.Run(slow3)},
	} {
		c, err := Runs(tt.old, tt.new, Options{Gate: true, Threshold: 0.25, OldName: "old", NewName: "new"})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := c.Write(&buf, "text"); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", tt.name), buf.Bytes(), *update)
	}
}

// TestCompareCPUScope: the cpu table says whose CPU it counts, and a
// note flags points where OLD and NEW counted different CPU.
func TestCompareCPUScope(t *testing.T) {
	scoped := func(seed uint64, loopScope string) *results.Run {
		r := reporttest.Run(reporttest.Options{Backends: []string{"poll", "gonet"}, FDs: []int{101, 1001}, Seed: seed})
		for i, s := range r.Samples {
			r.Samples[i].Server.CPUScope = loopScope
			if s.Backend == "gonet" {
				r.Samples[i].Server.CPUScope = results.CPUScopeProcess
			}
		}
		return r
	}
	tests := []struct {
		name      string
		old, new  *results.Run
		wantTitle string
		wantNote  string
	}{
		{"not recorded", reporttest.Run(reporttest.Options{FDs: []int{101}}), reporttest.Run(reporttest.Options{FDs: []int{101}}), "server CPU per request", ""},
		{"by backend", scoped(1, results.CPUScopeLoop), scoped(2, results.CPUScopeLoop),
			"server CPU per request (loop thread: poll; process: gonet)", ""},
		{"OLD before scopes", scoped(1, ""), scoped(2, results.CPUScopeLoop),
			"server CPU per request (loop thread: poll; process: gonet)",
			"server CPU scope differs at 2 points (e.g. poll at 101 fds: OLD not recorded, NEW loop thread): the cpu ratios there compare different CPU"},
	}
	for _, tt := range tests {
		c, err := Runs(tt.old, tt.new, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Tables[2].Title; got != tt.wantTitle {
			t.Errorf("%s: cpu title %q; want %q", tt.name, got, tt.wantTitle)
		}
		var note string
		for _, n := range c.Notes {
			if strings.HasPrefix(n, "server CPU scope") {
				note = n
			}
		}
		if note != tt.wantNote {
			t.Errorf("%s: scope note %q; want %q", tt.name, note, tt.wantNote)
		}
	}
}

// TestCompareAxes: points that differ by loops, churn or (in a rate
// sweep) rate are compared apart, each against its own, and named by
// their line: a change at one of them is found there and nowhere else.
func TestCompareAxes(t *testing.T) {
	// axes returns a run of epoll-lt at 1,001 fds whose points differ by
	// loops and churn (herd) or by rate (a sweep), the cpu of the point
	// slow (by its line) scaled 2×.
	axes := func(herd bool, slow string) *results.Run {
		base := reporttest.Run(reporttest.Options{Backends: []string{"epoll-lt"}, FDs: []int{1001}, Reps: 8, Seed: 7})
		r := *base
		r.Samples = nil
		type axis struct {
			loops int
			churn bool
			rate  float64
		}
		var points []axis
		if herd {
			r.Scenario.Loops, r.Scenario.Churn = []int{1, 4}, results.Churn{false, true}
			points = []axis{{0, false, 0}, {1, true, 0}, {4, false, 0}, {4, true, 0}}
		} else {
			r.Scenario.Rate = results.Rates{500, 2000}
			points = []axis{{1, false, 500}, {1, false, 2000}}
		}
		for _, a := range points {
			k := keyOf("epoll-lt", 32, 1001, a.loops, a.churn, a.rate, !herd)
			for _, s := range base.Samples {
				s.Loops, s.Churn = a.loops, a.churn
				if a.rate > 0 {
					s.RateRequested = a.rate
				}
				if k.line() == slow {
					s.Server.CPUNsPerReq *= 2
				}
				r.Samples = append(r.Samples, s)
			}
		}
		return &r
	}
	for _, tt := range []struct {
		name  string
		herd  bool
		slow  string
		lines []string
	}{
		{"loops and churn", true, "epoll-lt loops=4 churn", []string{"epoll-lt", "epoll-lt churn", "epoll-lt loops=4", "epoll-lt loops=4 churn"}},
		{"a rate sweep", false, "epoll-lt 2,000 req/s", []string{"epoll-lt 500 req/s", "epoll-lt 2,000 req/s"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Runs(axes(tt.herd, ""), axes(tt.herd, tt.slow), Options{Gate: true, Threshold: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			if c.Undecided != "" || len(c.Skipped) != 0 {
				t.Fatalf("undecided %q, skipped %+v; want every point compared", c.Undecided, c.Skipped)
			}
			for _, tb := range c.Tables {
				var lines []string
				for _, d := range tb.Rows {
					lines = append(lines, d.Line)
					if d.OldN != 8 || d.NewN != 8 {
						t.Errorf("%s %s: %d+%d repetitions; want 8+8 (one point's own)", tb.Metric, d.Line, d.OldN, d.NewN)
					}
					if slowed := tb.Metric == "cpu" && d.Line == tt.slow; slowed != (d.Verdict == Regression) {
						t.Errorf("%s %s: verdict %q (ratio %.2f); want a regression only at %s's cpu", tb.Metric, d.Line, d.Verdict, d.Ratio, tt.slow)
					}
				}
				if !slices.Equal(lines, tt.lines) {
					t.Errorf("%s rows %q; want %q", tb.Metric, lines, tt.lines)
				}
			}
			if len(c.Regressions) != 1 || !strings.HasPrefix(c.Regressions[0], tt.slow+" ") {
				t.Errorf("regressions %q; want one, at %s", c.Regressions, tt.slow)
			}
		})
	}
}
