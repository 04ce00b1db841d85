// Package suite runs a suite (`muxbench run claims`): several scenarios,
// the multiplexer-alone measurement and the pitfalls, into one directory,
// one subdirectory per part, and heads its report.md with the claims
// table. It sits beside the harness's scenario runner, which runs each
// scenario part; the command supplies how a scenario is swept and how the
// parts that are not sweeps run, and prints the outcome.
package suite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/report/claims"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/scenarios"
)

// ClaimsFile is the computed claims table a suite writes beside its parts,
// one claims.Row per claim.
const ClaimsFile = "claims.json"

// Step runs one part of a suite that is not a sweep (waitcost, pitfalls)
// into dir; quick asks for its short form.
type Step func(ctx context.Context, dir string, quick bool, stderr io.Writer) error

// EvidenceReader reads what a part that is not a sweep measured, from its
// directory, into ev.
type EvidenceReader func(dir string, ev *claims.Evidence) error

// ErrInterrupted is Run's error when ctx ended the suite: the parts
// finished are kept and the suite is marked incomplete.
var ErrInterrupted = errors.New("interrupted")

// Options is one suite run.
type Options struct {
	Suite     scenarios.Suite
	Scenarios []results.Scenario // the suite's scenarios, parsed
	Dir       string             // the suite's directory, existing
	// Sweep runs one scenario into dir. A run it returns with an error
	// still counts its samples.
	Sweep func(ctx context.Context, sc results.Scenario, dir string) (*results.Run, error)
	// Report writes a scenario part's report into its directory; nil
	// writes none.
	Report func(dir string, run *results.Run) error
	// Steps and Evidence run and read the parts that are not sweeps, by
	// part kind (results.PartPitfalls, results.PartWaitCost).
	Steps    map[string]Step
	Evidence map[string]EvidenceReader
	// Stderr gets a header per part and the parts' errors.
	Stderr io.Writer
}

// Outcome is what a suite run that was not interrupted measured.
type Outcome struct {
	Record  *results.Suite
	Rows    []claims.Row     // the claims table
	Samples []results.Sample // every scenario part's
	Failed  int              // parts that did not finish
}

// Run runs every part in order. A part that fails is recorded and the
// rest still run; an interrupt stops at once, keeps what finished and
// returns ErrInterrupted. suite.json is rewritten after every part; at the
// end claims.json and report.md are written.
func Run(ctx context.Context, o Options) (Outcome, error) {
	rec := &results.Suite{Name: o.Suite.Name, Description: o.Suite.Description, Started: time.Now().UTC()}
	out := Outcome{Record: rec}
	save := func() error {
		if err := results.WriteSuite(o.Dir, rec); err != nil {
			return fmt.Errorf("%w (%s holds the parts finished so far)", err, o.Dir)
		}
		return nil
	}
	if err := save(); err != nil {
		return out, err
	}
	part := func(kind, name string, do func(dir string) error) error {
		fmt.Fprintf(o.Stderr, "\n== %s %s\n", kind, name)
		p := results.SuitePart{Kind: kind, Name: name, Dir: name}
		dir := filepath.Join(o.Dir, name)
		err := os.MkdirAll(dir, 0o755)
		if err == nil {
			err = do(dir)
		}
		if err != nil {
			p.Error = err.Error()
			rec.Incomplete = true
			out.Failed++
			fmt.Fprintf(o.Stderr, "%s %s: %v\n", kind, name, err)
		}
		rec.Parts = append(rec.Parts, p)
		if serr := save(); serr != nil {
			return serr
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v): %s holds the parts finished (suite marked incomplete)", ErrInterrupted, context.Cause(ctx), o.Dir)
		}
		return nil
	}
	for _, sc := range o.Scenarios {
		err := part(results.PartScenario, sc.Name, func(dir string) error {
			run, err := o.Sweep(ctx, sc, dir)
			if run != nil {
				out.Samples = append(out.Samples, run.Samples...)
			}
			if run != nil && len(run.Samples) > 0 && o.Report != nil {
				if rerr := o.Report(dir, run); rerr != nil && err == nil {
					err = rerr
				}
			}
			return err
		})
		if err != nil {
			return out, err
		}
	}
	steps := []struct {
		kind string
		want bool
	}{{results.PartPitfalls, o.Suite.Pitfalls}, {results.PartWaitCost, o.Suite.WaitCost != ""}} // waitcost pins this process: last
	for _, st := range steps {
		if !st.want {
			continue
		}
		step := o.Steps[st.kind]
		err := part(st.kind, st.kind, func(dir string) error {
			if step == nil {
				return fmt.Errorf("this build has no %s command", st.kind)
			}
			return step(ctx, dir, o.Suite.WaitCost == "quick", o.Stderr)
		})
		if err != nil {
			return out, err
		}
	}
	rec.Finished = time.Now().UTC()
	if err := save(); err != nil {
		return out, err
	}
	rows, err := WriteReport(o.Dir, rec, o.Evidence)
	out.Rows = rows
	return out, err
}

// readEvidence gathers what a suite's parts measured.
func readEvidence(dir string, rec *results.Suite, readers map[string]EvidenceReader) (claims.Evidence, error) {
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
		if read := readers[p.Kind]; read != nil {
			if err := read(pdir, &ev); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.Dir, err))
			}
		}
	}
	return ev, errors.Join(errs...)
}

// WriteReport computes the claims table from the suite's parts (readers
// read those that are not sweeps) and writes claims.json and report.md:
// the table first, then the parts. `muxbench report` on a suite's
// directory calls it too.
func WriteReport(dir string, rec *results.Suite, readers map[string]EvidenceReader) ([]claims.Row, error) {
	ev, err := readEvidence(dir, rec, readers)
	if err != nil {
		return nil, err
	}
	rows := claims.Table(ev)
	var charts []*report.Chart
	for _, r := range ev.Runs {
		charts = append(charts, report.ActiveCharts(r)...)
		rc, err := report.RateCharts(r)
		if err != nil {
			return nil, err
		}
		charts = append(charts, rc...)
	}
	if _, err := report.WriteCharts(dir, charts); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(dir, ClaimsFile), append(data, '\n')); err != nil {
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
