package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
)

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

func TestSignificance(t *testing.T) {
	tests := []struct {
		name     string
		old, new []float64
		alpha    float64
		want     string
		wantP    float64 // -1: no p-value
	}{
		{"one repetition each", []float64{1}, []float64{2}, 0.05, TooFew, -1},
		{"three each cannot reach 0.05", []float64{1, 2, 3}, []float64{7, 8, 9}, 0.05, TooFew, -1},
		{"three each can reach 0.2", []float64{1, 2, 3}, []float64{7, 8, 9}, 0.2, Significant, 0.1},
		{"five each, separated", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 0.05, Significant, 2.0 / 252},
		{"five each, interleaved", []float64{1, 3, 5, 7, 9}, []float64{2, 4, 6, 8, 10}, 0.05, NotSignificant, -2},
		{"five each, identical", []float64{5, 5, 5, 5, 5}, []float64{5, 5, 5, 5, 5}, 0.05, NotSignificant, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := append([]float64(nil), tt.old...)
			p, got := significance(tt.old, tt.new, tt.alpha)
			if got != tt.want {
				t.Errorf("significance = %q; want %q", got, tt.want)
			}
			switch {
			case tt.wantP == -1 && p != nil:
				t.Errorf("p = %v; want none", *p)
			case tt.wantP >= 0 && (p == nil || math.Abs(*p-tt.wantP) > 1e-9):
				t.Errorf("p = %v; want %v", p, tt.wantP)
			}
			if strings.Join(fmtFloats(old), ",") != strings.Join(fmtFloats(tt.old), ",") {
				t.Error("significance reordered the caller's slice")
			}
		})
	}
}

func fmtFloats(v []float64) []string {
	s := make([]string, len(v))
	for i, f := range v {
		s[i] = groupDigits(f)
	}
	return s
}

func TestVerdict(t *testing.T) {
	p := 0.001
	sig := func(r float64) Delta { return Delta{Ratio: r, P: &p, Significance: Significant} }
	gate10 := CompareOptions{Gate: true, Threshold: 0.10}
	tests := []struct {
		name   string
		d      Delta
		higher bool
		opt    CompareOptions
		want   string
	}{
		{"latency doubled", sig(2), false, gate10, Regression},
		{"latency up 5%, under the threshold", sig(1.05), false, gate10, Worse},
		{"latency up 11%", sig(1.11), false, gate10, Regression},
		{"latency halved", sig(0.5), false, gate10, Better},
		{"rate halved", sig(0.5), true, gate10, Regression},
		{"rate up", sig(1.3), true, gate10, Better},
		{"rate down 5%", sig(0.95), true, gate10, Worse},
		{"no gate", sig(2), false, CompareOptions{}, Worse},
		{"gate at 0%", sig(1.01), false, CompareOptions{Gate: true}, Regression},
		{"not significant", Delta{Ratio: 2, Significance: NotSignificant}, false, gate10, ""},
		{"too few", Delta{Ratio: 2, Significance: TooFew}, false, gate10, ""},
		{"no ratio", Delta{Ratio: 0, P: &p, Significance: Significant}, false, gate10, ""},
	}
	for _, tt := range tests {
		if got := verdict(tt.d, tt.higher, tt.opt); got != tt.want {
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
	opt := CompareOptions{Gate: true, Threshold: 0.10}

	c, err := Compare(old, reporttest.Run(rerun), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Regressions) != 0 {
		t.Errorf("rerun with noise: regressions %q; want none", c.Regressions)
	}

	c, err = Compare(old, reporttest.Run(slow), opt)
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
	c, err = Compare(old, reporttest.Run(slow), opt)
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
	c, err := Compare(old, slow, CompareOptions{Gate: true, Threshold: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range c.Tables {
		for _, d := range tb.Rows {
			if d.Significance != TooFew || d.P != nil || d.Verdict != "" {
				t.Errorf("%s %s: %+v; want n too small, no p, no verdict", tb.Metric, d.Backend, d)
			}
		}
	}
	if len(c.Regressions) != 0 {
		t.Errorf("regressions %q from single repetitions; want none", c.Regressions)
	}
	var buf bytes.Buffer
	if err := c.Write(&buf, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"n too small", "rerun with ≥ 4 repetitions per side", "Gate: PASS"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, buf.String())
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
	c, err := Compare(old, newer, CompareOptions{Gate: true, Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	var compared []string
	for _, d := range c.Tables[0].Rows {
		compared = append(compared, d.Backend+"@"+groupDigits(float64(d.FDs)))
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
		"poll 2,001: measured in OLD, failed (server exited: signal: killed) in NEW",
		"poll 5,001: only in NEW",
		"epoll-lt 101: only in OLD",
		"epoll-lt 5,001: only in NEW",
		"gonet 1,001, 2,001, 5,001: only in NEW",
	}
	if strings.Join(skipped, "\n") != strings.Join(want, "\n") {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(strings.Join(c.Regressions, "\n"), "poll at 2,001 fds, 32 active connections: measured in OLD, failed") {
		t.Errorf("the lost poll point is not a regression: %q", c.Regressions)
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
		opt      CompareOptions
	}{
		{"nil run", nil, run, CompareOptions{}},
		{"alpha 1", run, run, CompareOptions{Alpha: 1}},
		{"negative alpha", run, run, CompareOptions{Alpha: -0.1}},
		{"negative threshold", run, run, CompareOptions{Gate: true, Threshold: -0.1}},
	} {
		if _, err := Compare(tt.old, tt.new, tt.opt); err == nil {
			t.Errorf("%s: got nil error", tt.name)
		}
	}
	c, err := Compare(run, run, CompareOptions{})
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
	c, err := Compare(old, slow, CompareOptions{Gate: true, Threshold: 0.1})
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
	if len(back.Tables) != 4 || len(back.Regressions) != len(c.Regressions) || len(back.Regressions) == 0 {
		t.Errorf("decoded %d tables, %d regressions; want 4 and %d", len(back.Tables), len(back.Regressions), len(c.Regressions))
	}
}
