package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/harness/suite"
	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/report/claims"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/scenarios"
)

// suiteSteps and evidenceReaders are filled by the files of the commands
// that provide a suite's parts that are not sweeps (waitcost.go,
// pitfalls.go).
var (
	suiteSteps      = map[string]suite.Step{}
	evidenceReaders = map[string]suite.EvidenceReader{}
)

// suiteRun is what runSuite needs besides the suite.
type suiteRun struct {
	suite     scenarios.Suite
	scenarios []results.Scenario
	dir, exe  string
	timeout   time.Duration
	noReport  bool
}

// runSuite runs a suite with package suite and ends, as a single run does,
// with the claims on stdout and a line of how the scenario parts' samples
// ended; it exits 1 when a part did not finish or a sample failed or
// counted errors.
func runSuite(ctx context.Context, o suiteRun, stdout, stderr io.Writer) error {
	opts := suite.Options{
		Suite: o.suite, Scenarios: o.scenarios, Dir: o.dir,
		Sweep: func(ctx context.Context, sc results.Scenario, dir string) (*results.Run, error) {
			return sweep(ctx, sc, dir, o.exe, o.timeout, nil, nil, stderr)
		},
		Steps: suiteSteps, Evidence: evidenceReaders, Stderr: stderr,
	}
	if !o.noReport {
		opts.Report = func(dir string, run *results.Run) error {
			_, err := writeReport(dir, report.Input{Run: run})
			return err
		}
	}
	out, err := suite.Run(ctx, opts)
	if errors.Is(err, suite.ErrInterrupted) {
		return &exitError{code: interruptStatus(ctx), err: err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := claimsSummary(stdout, out.Rows); err != nil {
		return err
	}
	line, samplesErr := outcome(out.Samples, filepath.Join(o.dir, "*", results.RunFile))
	fmt.Fprintf(stderr, "\n%s\nresults: %s (%s, %s, report.md)\n", line, o.dir, results.SuiteFile, suite.ClaimsFile)
	if out.Failed > 0 {
		return fmt.Errorf("%d of %d parts did not finish (see %s); the claims they would test say not measured", out.Failed, len(out.Record.Parts), filepath.Join(o.dir, results.SuiteFile))
	}
	return samplesErr
}

// sweep runs one scenario into dir, showing progress on stderr: against
// servers it starts with exe, or against remote, if set.
func sweep(ctx context.Context, sc results.Scenario, dir, exe string, timeout time.Duration, remote *harness.Remote, ext *harness.External, stderr io.Writer) (*results.Run, error) {
	return harness.Run(ctx, harness.Options{
		Scenario:      sc,
		ServerCommand: []string{exe, "serve"},
		OutDir:        dir,
		Env:           harness.CollectEnvironment(),
		Progress:      newProgress(stderr),
		Timeout:       timeout,
		Remote:        remote,
		External:      ext,
	})
}

// claimsSummary prints one line per claim: its number, verdict and detail.
func claimsSummary(w io.Writer, rows []claims.Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLAIM\tVERDICT\tWHY")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", r.N, r.Verdict, r.Detail)
	}
	return tw.Flush()
}
