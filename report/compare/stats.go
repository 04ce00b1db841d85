package compare

import (
	"math"
	"slices"
	"sort"

	"github.com/montanaflynn/stats"
	"golang.org/x/perf/benchmath"

	"github.com/muxbench/muxbench/results"
)

// This file holds the statistics behind Runs as pure functions: the
// Mann-Whitney U test and the smallest p it can give, the
// Benjamini-Hochberg adjustment across a comparison's tests, the Student
// t-interval of the per-backend geometric means, and the spread rule for
// the smallest detectable change.

// uTest returns the two-sided Mann-Whitney U p-value of old against new
// (benchmath.AssumeNothing, exact for small samples, corrected for ties).
// It leaves the caller's slices in their order.
func uTest(old, new []float64) float64 {
	// CompareAlpha only decides benchmath's warnings, which compare does not
	// use: the significance decision is made after the correction.
	th := &benchmath.Thresholds{CompareAlpha: DefaultAlpha}
	s1 := benchmath.NewSample(slices.Clone(old), th) // NewSample sorts in place
	s2 := benchmath.NewSample(slices.Clone(new), th)
	return benchmath.AssumeNothing.Compare(s1, s2).P
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
// Mann-Whitney U test can reach alpha at all. Under the Benjamini-Hochberg
// correction this is also what any test of a comparison needs: a change
// that separates the repetitions completely in every test keeps its
// smallest p. A change confined to one of m tests needs
// MinRepetitions(alpha/m).
func MinRepetitions(alpha float64) int {
	for n := 1; n < 100; n++ {
		if minUTestP(n, n) <= alpha {
			return n
		}
	}
	return 100
}

// bhAdjust returns the Benjamini-Hochberg adjusted p-values of ps, in ps's
// order: ranking the m p-values from smallest (rank 1), the adjusted value
// at rank i is the smallest m·p/rank over ranks i and above, capped at 1.
// Rejecting every test whose adjusted value is <= alpha keeps the expected
// share of false discoveries among the rejections at or below alpha.
func bhAdjust(ps []float64) []float64 {
	m := len(ps)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ps[order[a]] < ps[order[b]] })
	q := make([]float64, m)
	running := 1.0
	for r := m; r >= 1; r-- {
		i := order[r-1]
		running = math.Min(running, ps[i]*float64(m)/float64(r))
		q[i] = running
	}
	return q
}

// bhMinTests is the fewest of m tests that must all reach p at once for
// the Benjamini-Hochberg procedure at alpha to reject them: the k smallest
// p-values are rejected when the k-th is <= k·alpha/m. It is m+1 when even
// all m cannot.
func bhMinTests(p, alpha float64, m int) int {
	k := int(math.Ceil(p * float64(m) / alpha * (1 - 1e-12))) // tolerate p·m/alpha landing a hair above an integer
	if k < 1 {
		k = 1
	}
	if k > m {
		return m + 1
	}
	return k
}

// studentCDF is P(T <= t) for Student's t distribution with df degrees of
// freedom (df >= 1), by the finite series for integer df (Abramowitz and
// Stegun 26.7.3 and 26.7.4).
func studentCDF(t float64, df int) float64 {
	theta := math.Atan(t / math.Sqrt(float64(df)))
	sin, cos := math.Sincos(theta)
	cos2 := cos * cos
	var a float64 // P(|T| < t), signed with t
	if df%2 == 1 {
		sum := 0.0
		if df > 1 {
			term := cos
			sum = term
			for k := 1; k <= (df-3)/2; k++ {
				term *= cos2 * float64(2*k) / float64(2*k+1)
				sum += term
			}
		}
		a = 2 / math.Pi * (theta + sin*sum)
	} else {
		term, sum := 1.0, 1.0
		for k := 1; k <= (df-2)/2; k++ {
			term *= cos2 * float64(2*k-1) / float64(2*k)
			sum += term
		}
		a = sin * sum
	}
	return (1 + a) / 2
}

// studentQuantile is the t with P(T <= t) = p for p in (0.5, 1), found by
// bisection on studentCDF.
func studentQuantile(p float64, df int) float64 {
	lo, hi := 0.0, 1.0
	for studentCDF(hi, df) < p {
		lo, hi = hi, hi*2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if studentCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// geomeanCI returns the geometric mean of ratios and a Student t-interval
// for it at the given confidence: the mean of the log ratios ± t·s/√k over
// the k ratios, exponentiated. It treats the ratios as independent draws,
// which points of one sweep are not quite (they share code paths), so the
// interval says how consistent the change is across points rather than
// bounding it rigorously. With fewer than two ratios lo and hi are 0.
func geomeanCI(ratios []float64, confidence float64) (gm, lo, hi float64) {
	logs := make(stats.Float64Data, len(ratios))
	for i, r := range ratios {
		logs[i] = math.Log(r)
	}
	mean, err := stats.Mean(logs)
	if err != nil {
		return 0, 0, 0
	}
	gm = math.Exp(mean)
	if len(logs) < 2 {
		return gm, 0, 0
	}
	sd, _ := stats.StandardDeviationSample(logs) // defined for >= 2 values
	half := studentQuantile(1-(1-confidence)/2, len(logs)-1) * sd / math.Sqrt(float64(len(logs)))
	return gm, math.Exp(mean - half), math.Exp(mean + half)
}

// spread is the detectable-change rule for one point: the factor max/min
// of its repetitions, minus 1, taking the noisier of OLD and NEW. It is
// the change that moves every NEW repetition beyond every OLD one if NEW
// keeps that spread. With a handful of repetitions and a corrected
// threshold, only that complete separation gives the smallest p, and
// usually only the smallest p is significant; so a change below the spread
// is, as a rule, not detected. It is 0 when a minimum is not positive.
func spread(o, n results.Stat) float64 {
	one := func(s results.Stat) float64 {
		if s.Min <= 0 {
			return 0
		}
		return s.Max/s.Min - 1
	}
	return math.Max(one(o), one(n))
}
