package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/report/claims"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/scenarios"
)

// A suite (`muxbench run claims`) runs several scenarios, the
// multiplexer-alone measurement and the pitfalls into one directory, one
// subdirectory per part, and heads its report.md with the Claims table.

// Files a suite writes beside its parts.
const (
	claimsFile = "claims.json" // the computed table, claims.Row per claim
)

// suiteStep runs one part of a suite that is not a sweep (waitcost,
// pitfalls) into dir; quick asks for its short form.
type suiteStep func(ctx context.Context, dir string, quick bool, stderr io.Writer) error

// suiteSteps and evidenceReaders are filled by the files of the commands
// that provide those parts (waitcost.go, pitfalls.go).
var (
	suiteSteps      = map[string]suiteStep{}
	evidenceReaders = map[string]func(dir string, ev *claims.Evidence) error{}
)

// suiteRun is what runSuite needs besides the suite.
type suiteRun struct {
	suite     scenarios.Suite
	scenarios []results.Scenario
	dir, exe  string
	timeout   time.Duration
	noReport  bool
}

// runSuite runs every part in order. A part that fails is recorded and the
// rest still run; an interrupt stops at once and keeps what finished. It
// ends, as a single run does, with a line of how the scenario parts'
// samples ended, and exits 1 when a part did not finish or a sample failed
// or counted errors.
func runSuite(ctx context.Context, o suiteRun, stdout, stderr io.Writer) error {
	rec := &results.Suite{Name: o.suite.Name, Description: o.suite.Description, Started: time.Now().UTC()}
	save := func() error {
		if err := results.WriteSuite(o.dir, rec); err != nil {
			return fmt.Errorf("%w (%s holds the parts finished so far)", err, o.dir)
		}
		return nil
	}
	if err := save(); err != nil {
		return err
	}
	failed := 0
	part := func(kind, name string, do func(dir string) error) error {
		fmt.Fprintf(stderr, "\n== %s %s\n", kind, name)
		p := results.SuitePart{Kind: kind, Name: name, Dir: name}
		dir := filepath.Join(o.dir, name)
		err := os.MkdirAll(dir, 0o755)
		if err == nil {
			err = do(dir)
		}
		if err != nil {
			p.Error = err.Error()
			rec.Incomplete = true
			failed++
			fmt.Fprintf(stderr, "%s %s: %v\n", kind, name, err)
		}
		rec.Parts = append(rec.Parts, p)
		if serr := save(); serr != nil {
			return serr
		}
		if ctx.Err() != nil {
			return &exitError{code: interruptStatus(ctx), err: fmt.Errorf("interrupted (%v): %s holds the parts finished (suite marked incomplete)", context.Cause(ctx), o.dir)}
		}
		return nil
	}
	var samples []results.Sample // every scenario part's
	for _, sc := range o.scenarios {
		err := part(results.PartScenario, sc.Name, func(dir string) error {
			run, err := sweep(ctx, sc, dir, o.exe, o.timeout, nil, nil, stderr)
			if run != nil {
				samples = append(samples, run.Samples...)
			}
			if run != nil && len(run.Samples) > 0 && !o.noReport {
				if _, rerr := writeReport(dir, report.Input{Run: run}); rerr != nil && err == nil {
					err = rerr
				}
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	steps := []struct {
		kind string
		want bool
	}{{results.PartPitfalls, o.suite.Pitfalls}, {results.PartWaitCost, o.suite.WaitCost != ""}} // waitcost pins this process: last
	for _, st := range steps {
		if !st.want {
			continue
		}
		step := suiteSteps[st.kind]
		err := part(st.kind, st.kind, func(dir string) error {
			if step == nil {
				return fmt.Errorf("this build has no %s command", st.kind)
			}
			return step(ctx, dir, o.suite.WaitCost == "quick", stderr)
		})
		if err != nil {
			return err
		}
	}
	rec.Finished = time.Now().UTC()
	if err := save(); err != nil {
		return err
	}
	rows, err := writeSuiteReport(o.dir, rec)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := claimsSummary(stdout, rows); err != nil {
		return err
	}
	line, samplesErr := outcome(samples, filepath.Join(o.dir, "*", results.RunFile))
	fmt.Fprintf(stderr, "\n%s\nresults: %s (%s, %s, report.md)\n", line, o.dir, results.SuiteFile, claimsFile)
	if failed > 0 {
		return fmt.Errorf("%d of %d parts did not finish (see %s); the claims they would test say not measured", failed, len(rec.Parts), filepath.Join(o.dir, results.SuiteFile))
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

// readEvidence gathers what a suite's parts measured.
func readEvidence(dir string, rec *results.Suite) (claims.Evidence, error) {
	var ev claims.Evidence
	var errs []error
	for _, p := range rec.Parts {
		if p.Error != "" {
			continue // its claims say not measured
		}
		pdir := filepath.Join(dir, p.Dir)
		if p.Kind == results.PartScenario {
			run, err := results.ReadRun(pdir)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ev.Runs = append(ev.Runs, run)
			continue
		}
		if read := evidenceReaders[p.Kind]; read != nil {
			if err := read(pdir, &ev); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.Dir, err))
			}
		}
	}
	return ev, errors.Join(errs...)
}

// writeSuiteReport computes the claims table from the suite's parts and
// writes claims.json and report.md: the table first, then the parts.
func writeSuiteReport(dir string, rec *results.Suite) ([]claims.Row, error) {
	ev, err := readEvidence(dir, rec)
	if err != nil {
		return nil, err
	}
	rows := claims.Table(ev)
	var charts []*report.Chart
	for _, r := range ev.Runs {
		charts = append(charts, report.ActiveCharts(r)...)
	}
	if _, err := report.WriteCharts(dir, charts); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(dir, claimsFile), append(data, '\n')); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# muxbench %s\n\n%s\n\n", rec.Name, rec.Description)
	if rec.Incomplete {
		b.WriteString("**Incomplete:** a part was interrupted or failed (listed below); the claims it would test say not measured.\n\n")
	}
	b.WriteString(claims.Markdown(rows))
	if len(charts) > 0 {
		b.WriteString("\n## Charts\n\n")
		for _, c := range charts {
			fmt.Fprintf(&b, "![%s](%s.svg)\n\n", c.Title, c.Name)
		}
	}
	b.WriteString("\n## Parts\n\n")
	for _, p := range rec.Parts {
		status := "[report](" + filepath.ToSlash(filepath.Join(p.Dir, report.ReportFile)) + ")"
		if p.Error != "" {
			status = "did not finish: " + p.Error
		}
		fmt.Fprintf(&b, "- %s `%s`: %s\n", p.Kind, p.Name, status)
	}
	if err := atomicfile.Write(filepath.Join(dir, report.ReportFile), []byte(b.String())); err != nil {
		return nil, err
	}
	return rows, nil
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
