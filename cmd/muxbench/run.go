package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/scenarios"
)

func init() {
	commands["run"] = command{
		summary: "sweep a scenario over every backend and write a results directory",
		run:     runRun,
	}
}

func runRun(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [flags] [SCENARIO|FILE.yaml]   (default scenario: quick; see muxbench list)", stderr)
	out := fs.String("out", "", "results `directory` (default results/SCENARIO-YYYYMMDD-HHMMSS)")
	timeout := fs.Duration("timeout", 0, "per-request `timeout` of the load generator (default: its own, 2s)")
	noReport := fs.Bool("no-report", false, "skip charts and report.md (run.json, summary.csv and bench.txt are still written)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageErrorf("one scenario at a time (got %d: %v)", len(rest), rest)
	}
	name := "quick"
	if len(rest) == 1 {
		name = rest[0]
	}
	sc, err := scenarios.Load(name)
	if err != nil {
		return usageErrorf("%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start servers with: %w", err)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("results", fmt.Sprintf("%s-%s", sc.Name, time.Now().Format("20060102-150405")))
	}

	fmt.Fprintf(stderr, "scenario %s: %s\n", sc.Name, sc.Description)
	fatal := false
	for _, c := range harness.Preflight(sc) {
		if c.Level == "ok" {
			fmt.Fprintf(stderr, "  %-9s %s\n", c.Name, c.Detail)
			continue
		}
		fmt.Fprintf(stderr, "  %-9s %s: %s\n            fix: %s\n", c.Name, c.Level, c.Detail, c.Fix)
		fatal = fatal || c.Level == "fail"
	}
	if fatal {
		return usageErrorf("preflight failed; fix the scenario or the machine as shown above")
	}
	fmt.Fprintf(stderr, "writing %s\n", dir)

	var progress harness.Progress = &harness.LineProgress{W: stderr}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = &harness.BarProgress{W: stderr}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run, runErr := harness.Run(ctx, harness.Options{
		Scenario:      sc,
		ServerCommand: []string{exe, "serve"},
		OutDir:        dir,
		Env:           harness.CollectEnvironment(),
		Progress:      progress,
		Timeout:       *timeout,
	})
	if run == nil {
		return runErr
	}
	stop() // a second Ctrl-C now kills us the usual way
	if len(run.Samples) > 0 {
		fmt.Fprintln(stdout)
		if err := results.Human(stdout, results.Summarize(run.Samples)); err != nil {
			return err
		}
		if !*noReport {
			if err := report.Write(dir, report.Input{Run: run}); err != nil {
				fmt.Fprintf(stderr, "muxbench run: charts and report: %v (the results files are complete)\n", err)
			}
		}
	}
	if runErr != nil {
		if harness.IsInterrupted(runErr) {
			fmt.Fprintf(stderr, "interrupted: %s holds the %d samples finished (run marked incomplete)\n", dir, len(run.Samples))
			return &exitError{code: 130, err: runErr}
		}
		return runErr
	}
	fmt.Fprintf(stderr, "\nresults: %s (run.json, summary.csv, bench.txt%s)\n", dir, map[bool]string{false: ", report.md, charts", true: ""}[*noReport])
	return nil
}
