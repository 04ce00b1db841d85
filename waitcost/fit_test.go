package waitcost

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/results"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want)) }

// TestOLSTextbook checks coefficients, intervals and R² against values
// computed independently (closed-form simple regression, t(0.975, 3) =
// 3.182446).
func TestOLSTextbook(t *testing.T) {
	rows := [][]float64{{1}, {2}, {3}, {4}, {5}}
	y := []float64{1, 2, 1.3, 3.75, 2.25}
	coef, r2, err := OLS(rows, y)
	if err != nil {
		t.Fatal(err)
	}
	want := []Estimate{{0.785, -2.434268994574624, 4.004268994574624}, {0.425, -0.5456461231117002, 1.3956461231117}}
	for i, w := range want {
		g := coef[i]
		if !near(g.Value, w.Value, 1e-9) || !near(g.Lo, w.Lo, 1e-6) || !near(g.Hi, w.Hi, 1e-6) {
			t.Errorf("coef %d = %v; want %v", i, g, w)
		}
	}
	if !near(r2, 0.3929192951925169, 1e-9) {
		t.Errorf("R² = %v; want 0.392919", r2)
	}
}

// TestOLSExact recovers a noise-free plane with two predictors exactly,
// with zero-width intervals.
func TestOLSExact(t *testing.T) {
	var obs []Obs
	for _, n := range []float64{10, 100, 1000, 10000, 19960} {
		for _, k := range []float64{1, math.Round(n / 10), n} {
			obs = append(obs, Obs{X: n, K: k, Ns: 300 + 2.5*n + 40*k})
		}
	}
	f, err := FitLinear(obs, true)
	if err != nil {
		t.Fatal(err)
	}
	if !near(f.Intercept.Value, 300, 1e-6) || !near(f.PerFD.Value, 2.5, 1e-9) || !near(f.PerEvent.Value, 40, 1e-9) {
		t.Errorf("fit = %v + %v·N + %v·k; want 300 + 2.5·N + 40·k", f.Intercept, f.PerFD, f.PerEvent)
	}
	if f.PerFD.Hi-f.PerFD.Lo > 1e-6 || !near(f.R2, 1, 1e-12) {
		t.Errorf("exact data: per-fd interval %v, R² %v; want zero width and 1", f.PerFD, f.R2)
	}
	if f.XMin != 10 || f.XMax != 19960 || f.Obs != len(obs) {
		t.Errorf("range %v–%v over %d; want 10–19960 over %d", f.XMin, f.XMax, f.Obs, len(obs))
	}
}

func TestOLSErrors(t *testing.T) {
	if _, _, err := OLS([][]float64{{1}, {2}}, []float64{1, 2}); !errors.Is(err, ErrFewPoints) {
		t.Errorf("2 points, 2 coefficients: err = %v; want ErrFewPoints", err)
	}
	if _, _, err := OLS([][]float64{{5}, {5}, {5}}, []float64{1, 2, 3}); !errors.Is(err, ErrSingular) {
		t.Errorf("constant predictor: err = %v; want ErrSingular", err)
	}
	if _, _, err := OLS([][]float64{{1, 2}, {2, 4}, {3, 6}, {4, 8}}, []float64{1, 2, 3, 4}); !errors.Is(err, ErrSingular) {
		t.Errorf("collinear predictors: err = %v; want ErrSingular", err)
	}
	if _, err := FitPower([]Obs{{X: 1000, Ns: 1}, {X: 2000, Ns: 2}, {X: 2000, Ns: 2.1}}, 1000); !errors.Is(err, ErrFewPoints) {
		t.Errorf("two distinct N: err = %v; want ErrFewPoints", err)
	}
	// Fewer than three N at or above from: the three largest instead.
	pf, err := FitPower([]Obs{{X: 10, Ns: 10}, {X: 100, Ns: 100}, {X: 300, Ns: 300}, {X: 1000, Ns: 1000}, {X: 1000, Ns: 1001}}, 1000)
	if err != nil || pf.From != 100 || pf.To != 1000 || !near(pf.Beta.Value, 1, 1e-3) {
		t.Errorf("range below from: %+v, %v; want 100–1000 with β 1", pf, err)
	}
}

// synthetic makes samples of one backend: ns(N) at k = 1 for each N and
// repetition, with multiplicative noise of ±noise (uniform, fixed seed),
// plus sparse samples from sparse(F).
func synthetic(backend string, ns func(n float64) float64, noise float64, sparse func(f float64) float64) []Sample {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []Sample
	for rep := 0; rep < 5; rep++ {
		for _, n := range Default.FDs {
			for _, pos := range []string{PositionLow, PositionHigh} {
				v := ns(float64(n)) * (1 + noise*(2*rng.Float64()-1))
				out = append(out, Sample{Backend: backend, Mode: ModeHot, Table: TableShared, Layout: LayoutDense, N: n, K: 1, Position: pos, Repetition: rep, Status: results.StatusOK, NsPerCall: v})
			}
		}
		for _, top := range Default.SparseTop {
			v := sparse(float64(top)) * (1 + noise*(2*rng.Float64()-1))
			out = append(out, Sample{Backend: backend, Mode: ModeHot, Table: TableShared, Layout: LayoutSparse, N: 10, K: 1, Position: PositionLow, MaxFD: top, Top: top, Repetition: rep, Status: results.StatusOK, NsPerCall: v})
		}
	}
	// A point with a failed repetition must not move any fit, however
	// far off its ok repetitions are.
	for rep := 0; rep < 5; rep++ {
		s := Sample{Backend: backend, Mode: ModeHot, Table: TableShared, Layout: LayoutDense, N: 15000, K: 1, Position: PositionLow, Repetition: rep, Status: results.StatusOK, NsPerCall: 1e12}
		if rep == 0 {
			s.Status, s.NsPerCall = results.StatusFailed, 0
		}
		out = append(out, s)
	}
	return out
}

// TestVerdicts is the golden test of the verdict rules: synthetic
// datasets shaped like the three claims, each of which must come out as
// exactly its verdict.
func TestVerdicts(t *testing.T) {
	flatCost := func(float64) float64 { return 900 }
	tests := []struct {
		name                             string
		ns, sparse                       func(float64) float64
		linear, flat, superlinear, highf bool
		grows                            bool
	}{
		// poll as the notes describe it: a fixed cost plus 30 ns per fd.
		{"linear", func(n float64) float64 { return 500 + 30*n }, flatCost, true, false, false, false, true},
		// epoll_wait: ~0.9 µs per call from 10 to 19,960 fds.
		{"flat", flatCost, flatCost, false, true, false, false, false},
		// A step where the fds leave the cache: 50 ns per fd to 1,000,
		// 190 above. The large N dominate least squares, so a line still
		// explains it (linear), and the log-log slope says superlinear.
		{"step", func(n float64) float64 {
			if n <= 1000 {
				return 300 + 50*n
			}
			return 300 + 190*n
		}, flatCost, true, false, true, false, true},
		// poll as a C loop measured it here: 0.27 µs per fd at 1,000
		// fds, 1.24 µs per fd at 10,000 (cache): cost ∝ N^1.66.
		{"superlinear", func(n float64) float64 { return 270 * 1000 * math.Pow(n/1000, 1.662) }, flatCost, true, false, true, false, true},
		// select over 10 fds numbered ever higher: 2 ns per fd number.
		{"follows highest fd", flatCost, func(f float64) float64 { return 400 + 2*f }, false, true, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := FitBackend(Summarize(synthetic("b", tt.ns, 0.05, tt.sparse), nil), "b", ModeHot, TableShared, Default.UpperFrom)
			for _, v := range []struct {
				rule string
				fn   func(Fit) (bool, string)
				want bool
			}{{"Linear", Linear, tt.linear}, {"Flat", Flat, tt.flat}, {"Superlinear", Superlinear, tt.superlinear}, {"FollowsHighestFD", FollowsHighestFD, tt.highf}, {"Grows", Grows, tt.grows}} {
				got, why := v.fn(f)
				if got != v.want {
					t.Errorf("%s = %v (%s); want %v", v.rule, got, why, v.want)
				}
				if !strings.HasPrefix(why, "b: ") {
					t.Errorf("%s: why %q does not name the backend first", v.rule, why)
				}
			}
		})
	}
}

// TestFitValues checks that the fits recover what the synthetic data was
// made with, within what 5% noise allows.
func TestFitValues(t *testing.T) {
	samples := synthetic("poll", func(n float64) float64 { return 500 + 30*n }, 0.05, func(f float64) float64 { return 400 + 2*f })
	if f := FitBackend(Summarize(samples, nil), "poll", ModeHot, TableShared, 1000); f.Events != nil || !strings.Contains(strings.Join(f.Missing, ";"), "events:") {
		t.Errorf("k = 1 only: events fit %v, missing %q; want none, saying why", f.Events, f.Missing)
	}
	for _, n := range Default.FDs { // every fd ready: + 40 ns per event
		samples = append(samples, Sample{Backend: "poll", Mode: ModeHot, Table: TableShared, Layout: LayoutDense, N: n, K: n, Position: PositionAll, Status: results.StatusOK, NsPerCall: 500 + 70*float64(n)})
	}
	f := FitBackend(Summarize(samples, nil), "poll", ModeHot, TableShared, 1000)
	if f.Idle == nil || f.Upper == nil || f.Sparse == nil || f.Events == nil {
		t.Fatalf("missing fits: %v", f.Missing)
	}
	if b := f.Idle.PerFD; math.Abs(b.Value-30) > 1 || b.Hi-b.Lo > 3 || !b.Excludes0() {
		t.Errorf("per-fd slope %v; want 30 ± 1, an interval narrower than 3", b)
	}
	if c := f.Events.PerEvent; math.Abs(c.Value-40) > 2 {
		t.Errorf("per-event cost %v; want 40 ± 2", c)
	}
	if b := f.Sparse.PerFD; math.Abs(b.Value-2) > 0.1 || !b.Excludes0() {
		t.Errorf("sparse slope %v; want 2 ± 0.1, excluding 0", b)
	}
	// 500 + 30N is nearly proportional above 1,000 fds: β close to 1.
	if b := f.Upper.Beta; !(b.Lo < 1.0 && 0.95 < b.Hi) {
		t.Errorf("β = %v; want an interval reaching 0.95–1", b)
	}
	if f.Upper.From != 1000 || f.Upper.To != 19960 {
		t.Errorf("log-log range %v–%v; want 1000–19960", f.Upper.From, f.Upper.To)
	}
}

func TestFitBackendMissing(t *testing.T) {
	f := FitBackend(nil, "select", ModeHot, TableShared, 1000)
	if got := Summarize(nil, nil); len(got) != 0 {
		t.Errorf("Summarize(nil) = %v; want no points", got)
	}
	if f.Idle != nil || len(f.Missing) == 0 {
		t.Fatalf("no samples: Idle %v, Missing %v; want nil and reasons", f.Idle, f.Missing)
	}
	for _, fn := range []func(Fit) (bool, string){Linear, Flat, Superlinear, FollowsHighestFD, Grows} {
		got, why := fn(f)
		if got || !strings.Contains(why, "not measured") {
			t.Errorf("no samples: verdict %v (%s); want false, not measured", got, why)
		}
	}
}

// TestFitShared: the shared fd table's extra cost per watched fd is
// recovered from paired points whose noise grows with the cost, with an
// interval that holds it, although each table's cost is superlinear.
func TestFitShared(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var samples []Sample
	for rep := 0; rep < 5; rep++ {
		for _, n := range Default.FDs {
			for _, pos := range []string{PositionLow, PositionHigh} {
				priv := 50*float64(n) + 250*float64(n)*math.Pow(float64(n)/20000, 1.5)
				// A fixed order, so the seeded noise is the same every run.
				for i, table := range []string{TablePrivate, TableShared} {
					v := priv + float64(i)*(300+5*float64(n))
					samples = append(samples, Sample{Backend: "poll", Mode: ModeHot, Table: table, Layout: LayoutDense, N: n, K: 1, Position: pos,
						Repetition: rep, Status: results.StatusOK, NsPerCall: v * (1 + 0.01*(2*rng.Float64()-1))})
				}
			}
		}
	}
	pts := Summarize(samples, nil)
	c, err := FitShared(pts, "poll", ModeHot)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shared cost per fd %v, fixed %v", c.Fit.PerFD, c.Fit.Intercept)
	if b := c.Fit.PerFD; b.Lo > 5 || b.Hi < 5 || !b.Excludes0() || b.Hi-b.Lo > 4 {
		t.Errorf("shared cost %v per fd; want an interval narrower than 4 holding 5, excluding 0", b)
	}
	if a := c.Fit.Intercept; math.Abs(a.Value-300) > 200 {
		t.Errorf("fixed shared cost %v; want about 300", a)
	}
	if c.Fit.XMin != 10 || c.Fit.XMax != 19960 || c.Fit.Obs != 2*len(Default.FDs) {
		t.Errorf("fit over N %v–%v, %d points; want 10–19960, one per N and position", c.Fit.XMin, c.Fit.XMax, c.Fit.Obs)
	}
	if _, err := FitShared(pts, "poll", ModeBlocking); err == nil {
		t.Error("no blocking points: no error")
	}
	rec := Record{Config: Config{Backends: []string{"poll"}, Modes: []string{ModeHot}, Tables: Tables, UpperFrom: 1000}, Samples: samples}
	rec.Complete()
	if got, ok := rec.SharedOf("poll", ModeHot); !ok || got.Fit.PerFD != c.Fit.PerFD {
		t.Errorf("record's shared cost %+v, %v; want %+v", got, ok, c)
	}
	rec.Config.Tables = []string{TablePrivate}
	rec.Complete()
	if len(rec.Shared) != 0 {
		t.Errorf("one fd table: shared costs %+v; want none", rec.Shared)
	}
}
