package waitcost

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/aclements/go-moremath/stats"
)

// This file is the statistics: ordinary least squares with 95% confidence
// intervals, the linear and log-log models fitted to the samples, and the
// verdict rules the Claims table applies to them. Everything is a pure
// function of numbers; nothing here measures.

// Confidence is the two-sided confidence level of every interval here.
const Confidence = 0.95

// Thresholds of the verdict rules (see Linear, Flat and Superlinear).
const (
	// MinR2 is the share of the variance a linear fit must explain to
	// call the cost linear.
	MinR2 = 0.9
	// FlatShare bounds what the per-fd term may add at the largest N,
	// as a share of the intercept, for the cost still to count as flat.
	FlatShare = 0.10
)

// Estimate is a fitted coefficient with its Confidence interval.
type Estimate struct {
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// Excludes0 reports whether the interval lies wholly on one side of zero.
func (e Estimate) Excludes0() bool { return e.Lo > 0 || e.Hi < 0 }

func (e Estimate) String() string {
	return fmt.Sprintf("%.4g [%.4g, %.4g]", e.Value, e.Lo, e.Hi)
}

// ErrFewPoints is returned (wrapped) when there are not more observations
// than coefficients, so no interval can be computed.
var ErrFewPoints = errors.New("too few observations for a fit with intervals")

// ErrSingular is returned (wrapped) when the predictors do not vary
// independently (e.g. every observation at one N).
var ErrSingular = errors.New("predictors are collinear or constant")

// OLS fits y = b0 + b1·x1 + ... + bp·xp by ordinary least squares. rows[i]
// holds the predictors of observation i (without the constant); every row
// has the same length. It returns the p+1 coefficients, intercept first,
// each with its Confidence interval from Student's t with n-p-1 degrees of
// freedom, and R², the share of y's variance the fit explains.
func OLS(rows [][]float64, y []float64) (coef []Estimate, r2 float64, err error) {
	n := len(y)
	if len(rows) != n {
		return nil, 0, fmt.Errorf("ols: %d rows of predictors for %d observations", len(rows), n)
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("ols: %w (none)", ErrFewPoints)
	}
	p := len(rows[0]) + 1
	if n <= p {
		return nil, 0, fmt.Errorf("ols: %w (%d observations, %d coefficients)", ErrFewPoints, n, p)
	}
	// Normal equations on centred and scaled predictors: the raw N and N²
	// sums span ten orders of magnitude, which costs precision for nothing.
	mean := make([]float64, p)
	scale := make([]float64, p)
	mean[0], scale[0] = 0, 1
	for j := 1; j < p; j++ {
		for i := range rows {
			if len(rows[i]) != p-1 {
				return nil, 0, fmt.Errorf("ols: row %d has %d predictors, row 0 has %d", i, len(rows[i]), p-1)
			}
			mean[j] += rows[i][j-1]
		}
		mean[j] /= float64(n)
		for i := range rows {
			d := rows[i][j-1] - mean[j]
			scale[j] += d * d
		}
		scale[j] = math.Sqrt(scale[j] / float64(n))
		if scale[j] == 0 {
			return nil, 0, fmt.Errorf("ols: predictor %d: %w", j, ErrSingular)
		}
	}
	x := func(i, j int) float64 {
		if j == 0 {
			return 1
		}
		return (rows[i][j-1] - mean[j]) / scale[j]
	}
	xtx := make([][]float64, p)
	xty := make([]float64, p)
	for a := 0; a < p; a++ {
		xtx[a] = make([]float64, p)
		for i := 0; i < n; i++ {
			xty[a] += x(i, a) * y[i]
			for b := 0; b < p; b++ {
				xtx[a][b] += x(i, a) * x(i, b)
			}
		}
	}
	inv, err := invert(xtx)
	if err != nil {
		return nil, 0, fmt.Errorf("ols: %w", err)
	}
	beta := make([]float64, p)
	for a := 0; a < p; a++ {
		for b := 0; b < p; b++ {
			beta[a] += inv[a][b] * xty[b]
		}
	}
	var rss, tss, ym float64
	for _, v := range y {
		ym += v
	}
	ym /= float64(n)
	for i := 0; i < n; i++ {
		fit := 0.0
		for a := 0; a < p; a++ {
			fit += beta[a] * x(i, a)
		}
		rss += (y[i] - fit) * (y[i] - fit)
		tss += (y[i] - ym) * (y[i] - ym)
	}
	df := float64(n - p)
	s2 := rss / df
	t := stats.InvCDF(stats.TDist{V: df})(1 - (1-Confidence)/2)

	// Back to the original units: b_j = beta_j/scale_j, and the intercept
	// absorbs the centring; its variance needs the full covariance.
	cov := func(a, b int) float64 { return s2 * inv[a][b] }
	coef = make([]Estimate, p)
	for j := 1; j < p; j++ {
		v := beta[j] / scale[j]
		se := math.Sqrt(cov(j, j)) / scale[j]
		coef[j] = Estimate{Value: v, Lo: v - t*se, Hi: v + t*se}
	}
	// intercept = beta0 - sum_j beta_j*mean_j/scale_j = w·beta with w0 = 1.
	w := make([]float64, p)
	w[0] = 1
	for j := 1; j < p; j++ {
		w[j] = -mean[j] / scale[j]
	}
	var b0, v0 float64
	for a := 0; a < p; a++ {
		b0 += w[a] * beta[a]
		for b := 0; b < p; b++ {
			v0 += w[a] * w[b] * cov(a, b)
		}
	}
	se0 := math.Sqrt(math.Max(v0, 0))
	coef[0] = Estimate{Value: b0, Lo: b0 - t*se0, Hi: b0 + t*se0}
	r2 = 1.0
	if tss > 0 {
		r2 = 1 - rss/tss
	}
	return coef, r2, nil
}

// invert inverts a small symmetric positive matrix by Gauss-Jordan
// elimination with partial pivoting.
func invert(m [][]float64) ([][]float64, error) {
	p := len(m)
	a := make([][]float64, p)
	for i := range m {
		a[i] = make([]float64, 2*p)
		copy(a[i], m[i])
		a[i][p+i] = 1
	}
	for c := 0; c < p; c++ {
		piv := c
		for r := c + 1; r < p; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
				piv = r
			}
		}
		if math.Abs(a[piv][c]) < 1e-9*float64(p) {
			return nil, ErrSingular
		}
		a[c], a[piv] = a[piv], a[c]
		d := a[c][c]
		for k := range a[c] {
			a[c][k] /= d
		}
		for r := 0; r < p; r++ {
			if r == c || a[r][c] == 0 {
				continue
			}
			f := a[r][c]
			for k := range a[r] {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	out := make([][]float64, p)
	for i := range a {
		out[i] = a[i][p:]
	}
	return out, nil
}

// LinearFit is ns/call = Intercept + PerFD·x (+ PerEvent·k), where x is
// the number of watched fds (or, for the sparse layout, the highest watched
// fd number) and k the number of events each call returned.
type LinearFit struct {
	Intercept Estimate  `json:"intercept_ns"`
	PerFD     Estimate  `json:"per_fd_ns"`              // ns per watched fd (or per fd number) per call
	PerEvent  *Estimate `json:"per_event_ns,omitempty"` // ns per returned event; nil when k was not a predictor
	R2        float64   `json:"r2"`                     // share of the variance explained
	Obs       int       `json:"observations"`           // samples fitted
	XMin      float64   `json:"x_min"`                  // smallest x in the data
	XMax      float64   `json:"x_max"`                  // largest x in the data
}

// Obs is one measured sample as the fits see it.
type Obs struct {
	X  float64 // watched fds (dense) or highest fd number (sparse)
	K  float64 // events per call
	Ns float64 // ns per call
}

// FitLinear fits ns = a + b·X, and with withK also + c·K.
func FitLinear(obs []Obs, withK bool) (LinearFit, error) {
	rows := make([][]float64, len(obs))
	y := make([]float64, len(obs))
	f := LinearFit{Obs: len(obs), XMin: math.Inf(1), XMax: math.Inf(-1)}
	for i, o := range obs {
		rows[i] = []float64{o.X}
		if withK {
			rows[i] = append(rows[i], o.K)
		}
		y[i] = o.Ns
		f.XMin, f.XMax = math.Min(f.XMin, o.X), math.Max(f.XMax, o.X)
	}
	coef, r2, err := OLS(rows, y)
	if err != nil {
		return LinearFit{}, err
	}
	f.Intercept, f.PerFD, f.R2 = coef[0], coef[1], r2
	if withK {
		f.PerEvent = &coef[2]
	}
	return f, nil
}

// PowerFit is log(ns/call) = Alpha + Beta·log(N) over From ≤ N ≤ To: Beta
// is the exponent of the cost's growth (0 flat, 1 linear, above 1
// superlinear: each fd costs more the more fds there are, e.g. once the
// working set leaves the caches).
type PowerFit struct {
	Alpha Estimate `json:"alpha"`
	Beta  Estimate `json:"beta"`
	R2    float64  `json:"r2"`
	Obs   int      `json:"observations"`
	From  float64  `json:"from_fds"`
	To    float64  `json:"to_fds"`
}

// FitPower fits the log-log model to the observations with X ≥ from. It
// needs at least three distinct X, or the exponent is a line through two
// points with no interval worth the name: when fewer than three lie at or
// above from (select stops at 1,024 fds), the range is the three largest
// distinct X instead, and From says where it started.
func FitPower(obs []Obs, from float64) (PowerFit, error) {
	var xs []float64
	for _, o := range obs {
		if o.X > 0 && o.Ns > 0 && !slices.Contains(xs, o.X) {
			xs = append(xs, o.X)
		}
	}
	if len(xs) < 3 {
		return PowerFit{}, fmt.Errorf("log-log fit: %w (%d distinct fd counts, want 3)", ErrFewPoints, len(xs))
	}
	slices.Sort(xs)
	if i, _ := slices.BinarySearch(xs, from); len(xs)-i < 3 {
		from = xs[len(xs)-3]
	}
	var rows [][]float64
	var y []float64
	f := PowerFit{From: math.Inf(1), To: math.Inf(-1)}
	for _, o := range obs {
		if o.X < from || o.X <= 0 || o.Ns <= 0 {
			continue
		}
		rows = append(rows, []float64{math.Log(o.X)})
		y = append(y, math.Log(o.Ns))
		f.From, f.To = math.Min(f.From, o.X), math.Max(f.To, o.X)
	}
	coef, r2, err := OLS(rows, y)
	if err != nil {
		return PowerFit{}, fmt.Errorf("log-log fit from %g fds: %w", from, err)
	}
	f.Alpha, f.Beta, f.R2, f.Obs = coef[0], coef[1], r2, len(y)
	return f, nil
}
