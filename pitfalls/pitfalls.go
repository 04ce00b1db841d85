// Package pitfalls runs the classic event-loop mistakes and catches them:
// each pitfall is a deliberately wrong loop (a backend of the one server
// loop, marked as a pitfall and never in a sweep) or, for select past
// FD_SETSIZE, a small child program, run beside the correct loop under the
// same client behaviour. A detector — a pure function over the counters
// and observations of one run — says fault or no fault and keeps the
// counters that prove it; the two verdicts together say whether the
// mistake did what the notes say it does (reproduced), did not (kernel
// behaviour changed: "did not reproduce", never a success), or whether the
// check itself cannot tell (the correct loop showed the fault too).
//
// `muxbench pitfalls` runs them all and writes pitfalls.json (File) and
// report.md; ClaimEvidence turns pitfalls.json into the evidence for the
// claims the pitfalls test (6, 7 and 9 of the claims table,
// report/claims.Claims), whose verdicts package claims computes.
package pitfalls

import (
	"time"

	"github.com/muxbench/muxbench/results"
)

// SchemaVersion is the version of the pitfalls.json layout.
const SchemaVersion = 1

// File names in a pitfalls results directory.
const (
	JSONFile   = "pitfalls.json"
	ReportFile = "report.md"
)

// Status values of a Result.
const (
	// StatusReproduced: the wrong loop showed the fault, the correct one
	// did not.
	StatusReproduced = "reproduced"
	// StatusNotReproduced: neither loop showed the fault — the mistake
	// did no harm here (the kernel's behaviour may have changed).
	StatusNotReproduced = "did not reproduce"
	// StatusInconclusive: the correct loop showed the fault too, so the
	// check cannot tell the mistake's effect from the machine's.
	StatusInconclusive = "inconclusive"
	// StatusError: a run could not be made (Error says why).
	StatusError = "error"
)

// File is pitfalls.json: every pitfall's result and where they ran.
type File struct {
	Schema   int                 `json:"schema"` // SchemaVersion
	Tool     string              `json:"tool"`   // always "muxbench"
	Started  time.Time           `json:"started"`
	Seconds  float64             `json:"seconds"` // wall time of the whole run
	Env      results.Environment `json:"environment"`
	Pitfalls []Result            `json:"pitfalls"`
}

// Result is one pitfall: what was done, both loops' outcomes and the
// verdict drawn from them.
type Result struct {
	Number int    `json:"number"` // 1..6: the order pitfalls runs and reports them in
	Name   string `json:"name"`   // short id, e.g. "et-accept-once"
	Title  string `json:"title"`
	// Claim is the number of the claim the pitfall tests in the claims
	// table (report/claims.Claims), 0 for none.
	Claim int `json:"claim,omitempty"`
	// Status is one of the Status constants; Reproduced is Status ==
	// StatusReproduced.
	Status      string  `json:"status"`
	Reproduced  bool    `json:"reproduced"`
	Did         string  `json:"did"`         // what was done, one line
	Explanation string  `json:"explanation"` // why the wrong loop does what it does, one line
	Correct     Outcome `json:"correct"`
	Wrong       Outcome `json:"wrong"`
	Error       string  `json:"error,omitempty"`
	Seconds     float64 `json:"seconds"` // wall time of both runs
}

// Outcome is one loop's run under a pitfall's client behaviour.
type Outcome struct {
	Backend string `json:"backend"` // the server backend, or the child program's name
	Verdict
	Error string `json:"error,omitempty"` // the run could not be made
}

// Verdict is what a detector says about one run.
type Verdict struct {
	Fault    bool      `json:"fault"`
	Figure   string    `json:"figure"`   // the outcome in one line, e.g. "137 of 500 connections never served"
	Counters []Counter `json:"counters"` // the counters that prove it, in the order they read best
}

// Counter is one named number behind a verdict.
type Counter struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Judge combines the two runs' verdicts into a Status.
func Judge(correct, wrong Outcome) string {
	switch {
	case correct.Error != "" || wrong.Error != "":
		return StatusError
	case correct.Fault:
		return StatusInconclusive
	case wrong.Fault:
		return StatusReproduced
	}
	return StatusNotReproduced
}
