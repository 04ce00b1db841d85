package compare

import (
	"time"
)

// This file holds the types of a Comparison, which is also its JSON form
// (compare -format json), and the significance and verdict values.

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

// Where is where a row's point lies, but for its fd counts: the backend,
// and its other axes beside fds.
type Where struct {
	Backend string `json:"backend"`
	// Line is the backend with the point's other axes, as the tables show
	// it ("epoll-exclusive loops=4 churn", "poll 500 req/s"); Loops,
	// Churn and Rate are those axes (Rate only where a run sweeps it).
	Line   string  `json:"line"`
	Loops  int     `json:"loops,omitempty"`
	Churn  bool    `json:"churn,omitempty"`
	Rate   float64 `json:"rate,omitempty"`
	Active int     `json:"active"`
}

// Delta is one backend at one point: old and new medians and whether the
// difference is significant across repetitions.
type Delta struct {
	Where
	FDs   int     `json:"fds"`
	Old   float64 `json:"old"` // median across OLD's repetitions
	New   float64 `json:"new"`
	OldN  int     `json:"old_n"` // repetitions measured
	NewN  int     `json:"new_n"`
	Ratio float64 `json:"ratio"` // New/Old; 0 when either median is not positive
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
	Where
	FDs    []int  `json:"fds"`
	Reason string `json:"reason"`
	// Lost is set when the points were ok in OLD and are not in NEW
	// (saturated, errors, unsupported or failed): a regression of its own.
	Lost bool `json:"lost,omitempty"`
}
