package waitcost

import (
	"fmt"
	"math"

	"github.com/muxbench/muxbench/results"
)

// Fit is every model fitted to one backend's ok samples in one mode and
// fd table. A nil fit could not be made; Missing says why. In the
// blocking mode "per call" reads "per wake-up".
type Fit struct {
	Backend string `json:"backend"`
	Mode    string `json:"mode"`
	Table   string `json:"fd_table"`
	// Idle is ns/call = a + b·N over the dense points with one ready fd
	// (both positions): b is the cost of one more watched, idle fd per call.
	Idle *LinearFit `json:"idle,omitempty"`
	// Events is ns/call = a + b·N + c·k over every dense sample: c is the
	// cost of one more returned event per call (points). The blocking
	// mode has one ready fd per wake-up, so no Events fit.
	Events *LinearFit `json:"events,omitempty"`
	// Upper is log(ns/call) = α + β·log N over the one-ready dense samples
	// with N ≥ UpperFrom: the superlinear test.
	Upper *PowerFit `json:"upper,omitempty"`
	// Sparse is ns/call = a + b·F over the sparse samples (SparseN
	// watched fds whose highest number is F): b is the cost per fd
	// *number*, which is what select pays and poll and epoll should not.
	Sparse *LinearFit `json:"sparse,omitempty"`
	// Missing lists, one line each, why a fit is nil.
	Missing []string `json:"missing,omitempty"`
}

// FitBackend makes a backend's fits in mode and table from the points
// (Summarize): each
// point's median over its repetitions is one observation. Medians, not
// the samples themselves, because on a shared machine one repetition in
// ten runs several times slower than the rest, and least squares gives
// such outliers the most weight. Only points whose every repetition was
// ok are fitted; others', the other backends', modes' and tables' points
// are ignored. upperFrom is the smallest N of the log-log fit's range.
func FitBackend(points []Point, backend, mode, table string, upperFrom int) Fit {
	f := Fit{Backend: backend, Mode: mode, Table: table}
	var idle, all, sparse []Obs
	ks := map[int]bool{}
	for _, p := range points {
		if p.Backend != backend || p.Mode != mode || p.Table != table || p.Status != results.StatusOK || p.Reps == 0 {
			continue
		}
		switch p.Layout {
		case LayoutDense:
			o := Obs{X: float64(p.N), K: float64(p.K), Ns: p.NsPerCall.Median}
			all = append(all, o)
			ks[p.K] = true
			if p.K == 1 {
				idle = append(idle, o)
			}
		case LayoutSparse:
			sparse = append(sparse, Obs{X: float64(p.MaxFD), K: float64(p.K), Ns: p.NsPerCall.Median})
		}
	}
	fitLin := func(name string, obs []Obs, withK bool) *LinearFit {
		if len(obs) == 0 {
			f.Missing = append(f.Missing, name+": no ok samples")
			return nil
		}
		lf, err := FitLinear(obs, withK)
		if err != nil {
			f.Missing = append(f.Missing, name+": "+err.Error())
			return nil
		}
		return &lf
	}
	f.Idle = fitLin("idle", idle, false)
	if len(all) > 0 && len(ks) == 1 {
		f.Missing = append(f.Missing, "events: every call returned the same number of events, so there is no per-event term to fit")
	} else {
		f.Events = fitLin("events", all, true)
	}
	f.Sparse = fitLin("sparse", sparse, false)
	if len(idle) > 0 {
		if pf, err := FitPower(idle, float64(upperFrom)); err != nil {
			f.Missing = append(f.Missing, "upper: "+err.Error())
		} else {
			f.Upper = &pf
		}
	}
	return f
}

// SharedCost is what a multi-threaded process pays over a single-threaded
// one, per watched fd: the fit of Δ = ns(shared fd table) − ns(private fd
// table) = a + b·N over the dense one-ready points both tables measured
// ok, paired by N and position. Fitting the paired differences, rather
// than differencing two fits, leaves out the shape both tables share
// (poll's growth past the caches, which a straight line fits badly in
// each) and gives b the interval the differences support. The fit is
// weighted by 1/N² — least squares of Δ/N = b + a·(1/N) — because the
// spread of repetitions grows with the cost, so that the largest N, a
// few noisy milliseconds, do not decide alone what a nanosecond per fd
// is.
type SharedCost struct {
	Backend string    `json:"backend"`
	Mode    string    `json:"mode"`
	Fit     LinearFit `json:"fit"` // Fit.PerFD: ns per watched fd per call (or wake-up)
}

// FitShared makes backend's SharedCost in mode from the points, or says
// why it cannot (a table not measured, too few common points).
func FitShared(points []Point, backend, mode string) (SharedCost, error) {
	type at struct {
		n   int
		pos string
	}
	priv := map[at]float64{}
	ok := func(p Point) bool {
		return p.Backend == backend && p.Mode == mode && p.Layout == LayoutDense && p.K == 1 && p.Status == results.StatusOK && p.Reps > 0
	}
	for _, p := range points {
		if ok(p) && p.Table == TablePrivate {
			priv[at{p.N, p.Position}] = p.NsPerCall.Median
		}
	}
	var rows [][]float64
	var y []float64
	f := LinearFit{XMin: math.Inf(1), XMax: math.Inf(-1)}
	for _, p := range points {
		if v, both := priv[at{p.N, p.Position}]; both && ok(p) && p.Table == TableShared {
			n := float64(p.N)
			rows = append(rows, []float64{1 / n})
			y = append(y, (p.NsPerCall.Median-v)/n)
			f.XMin, f.XMax = math.Min(f.XMin, n), math.Max(f.XMax, n)
		}
	}
	if len(y) == 0 {
		return SharedCost{}, fmt.Errorf("%s, %s: no point measured ok in both fd tables", backend, mode)
	}
	coef, r2, err := OLS(rows, y)
	if err != nil {
		return SharedCost{}, fmt.Errorf("%s, %s: shared − private fd table: %w", backend, mode, err)
	}
	// Δ/N = b + a/N: the regression's intercept is the per-fd cost.
	f.PerFD, f.Intercept, f.R2, f.Obs = coef[0], coef[1], r2, len(y)
	return SharedCost{Backend: backend, Mode: mode, Fit: f}, nil
}

// The verdict rules. Each returns whether the property holds and a
// sentence giving the figures it was decided on, or, when the fit it
// needs is missing, false and why. They are independent tests: a
// superlinear cost usually passes Linear as well (a straight line still
// explains most of it), so a claim "grows linearly" holds when Linear
// does and should add "and faster than linearly above N" when Superlinear
// also holds; Flat and Linear (or Grows) never both hold.

// Linear holds when the per-watched-fd slope of the Idle fit is positive
// with its 95% interval excluding 0, the fit explains at least MinR2 of
// the variance, and the slope matters: b·N_max ≥ FlatShare of the
// intercept (otherwise the cost is Flat, however significant the slope).
func Linear(f Fit) (bool, string) {
	lf := f.Idle
	if lf == nil {
		return false, f.Backend + ": not measured (no per-fd fit: " + missing(f, "idle") + ")"
	}
	b, why := lf.PerFD, slopeText(f.Backend, lf)
	switch {
	case b.Lo <= 0:
		return false, why + ": the interval does not exclude 0 from below"
	case lf.R2 < MinR2:
		return false, why + fmt.Sprintf(": R² %.3f < %.2f", lf.R2, MinR2)
	case smallSlope(lf):
		return false, why + fmt.Sprintf(": b·N_max is %.1f%% of the intercept (< %.0f%%), flat", share(lf)*100, FlatShare*100)
	}
	return true, why + fmt.Sprintf(", R² %.3f: linear in watched fds", lf.R2)
}

// Grows holds when the Idle fit's per-fd slope is positive with its 95%
// interval excluding 0 and adds at least FlatShare of the intercept at
// the largest N: the cost rises with idle fds, whatever the shape (Linear
// also asks that a straight line explain at least MinR2 of it, which a
// noisy or curved growth may not). Grows and Flat never both hold.
func Grows(f Fit) (bool, string) {
	lf := f.Idle
	if lf == nil {
		return false, f.Backend + ": not measured (no per-fd fit: " + missing(f, "idle") + ")"
	}
	why := slopeText(f.Backend, lf)
	if lf.PerFD.Lo > 0 && !smallSlope(lf) {
		return true, why + ": b·N_max is " + shareText(lf) + ", grows with watched fds"
	}
	return false, why + ": does not grow with watched fds"
}

// Flat holds when the Idle fit's per-fd slope interval includes 0, or the
// slope adds less than FlatShare of the intercept at the largest N
// measured (b·N_max < FlatShare·a).
func Flat(f Fit) (bool, string) {
	lf := f.Idle
	if lf == nil {
		return false, f.Backend + ": not measured (no per-fd fit: " + missing(f, "idle") + ")"
	}
	why := slopeText(f.Backend, lf)
	switch {
	case !lf.PerFD.Excludes0():
		return true, why + ": the interval includes 0, flat"
	case smallSlope(lf):
		return true, why + fmt.Sprintf(": b·N_max is %.1f%% of the intercept (< %.0f%%), flat", share(lf)*100, FlatShare*100)
	}
	return false, why + ": b·N_max is " + shareText(lf) + ", not flat"
}

// Superlinear holds when the exponent β of the Upper fit (log ns/call
// against log N, N ≥ its From) has its whole 95% interval above 1: each
// watched fd costs more per call the more fds there are.
func Superlinear(f Fit) (bool, string) {
	pf := f.Upper
	if pf == nil {
		return false, f.Backend + ": not measured (no log-log fit: " + missing(f, "upper") + ")"
	}
	why := fmt.Sprintf("%s: β = %.2f [%.2f, %.2f] over %g–%g fds", f.Backend, pf.Beta.Value, pf.Beta.Lo, pf.Beta.Hi, pf.From, pf.To)
	if pf.Beta.Lo > 1 {
		return true, why + ": the interval lies above 1, superlinear"
	}
	return false, why + ": the interval does not lie above 1"
}

// FollowsHighestFD holds when the Sparse fit (a few watched fds, numbered
// ever higher) has a positive per-fd-number slope whose interval excludes
// 0 and which adds at least FlatShare of the intercept at the highest
// number measured: the cost follows the highest fd, not the count.
func FollowsHighestFD(f Fit) (bool, string) {
	lf := f.Sparse
	if lf == nil {
		return false, f.Backend + ": not measured (no sparse fit: " + missing(f, "sparse") + ")"
	}
	why := fmt.Sprintf("%s: %.3g ns per fd number [%.3g, %.3g] up to fd %g", f.Backend, lf.PerFD.Value, lf.PerFD.Lo, lf.PerFD.Hi, lf.XMax)
	if lf.PerFD.Lo > 0 && !smallSlope(lf) {
		return true, why + " (b·F_max is " + shareText(lf) + "): follows the highest fd"
	}
	return false, why + ": does not follow the highest fd"
}

func slopeText(backend string, lf *LinearFit) string {
	return fmt.Sprintf("%s: %.3g ns per watched fd [%.3g, %.3g], intercept %.3g ns, N %g–%g", backend,
		lf.PerFD.Value, lf.PerFD.Lo, lf.PerFD.Hi, lf.Intercept.Value, lf.XMin, lf.XMax)
}

// share is b·N_max as a share of the intercept; +Inf when the intercept is
// not positive (a fit with no fixed cost is not flat by this rule).
func share(lf *LinearFit) float64 {
	if lf.Intercept.Value <= 0 {
		if lf.PerFD.Value*lf.XMax <= 0 {
			return 0
		}
		return inf
	}
	return lf.PerFD.Value * lf.XMax / lf.Intercept.Value
}

// shareText is share as people read it.
func shareText(lf *LinearFit) string {
	if lf.Intercept.Value <= 0 {
		return fmt.Sprintf("%.3g ns with an intercept ≤ 0", lf.PerFD.Value*lf.XMax)
	}
	return fmt.Sprintf("%.3gx the intercept", share(lf))
}

func smallSlope(lf *LinearFit) bool { return share(lf) < FlatShare }

func missing(f Fit, name string) string {
	for _, m := range f.Missing {
		if len(m) > len(name) && m[:len(name)] == name && m[len(name)] == ':' {
			return m[len(name)+2:]
		}
	}
	return "no samples"
}
