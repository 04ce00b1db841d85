package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/muxbench/muxbench/pitfalls"
	"github.com/muxbench/muxbench/report/claims"
	"github.com/muxbench/muxbench/results"
)

func init() {
	commands["pitfalls"] = command{
		summary: "run the classic event-loop mistakes beside the correct loop and report what broke",
		run:     runPitfalls,
	}
}

// pitfallFiles are what a pitfalls run writes: -force removes exactly these.
var pitfallFiles = []string{pitfalls.JSONFile, pitfalls.ReportFile}

func runPitfalls(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	// Pitfall 5's child: this process is the unchecked select program,
	// started by a pitfalls run with its environment variable set.
	if pitfalls.IsChild() {
		return pitfalls.RunChild(stdout)
	}
	fs := newFlagSet("pitfalls", "pitfalls [-out DIR] [-force] [-only NAME,...]", stderr)
	out := fs.String("out", "", "results `directory`, created if missing; an existing one must be empty unless -force (default results/pitfalls-YYYYMMDD-HHMMSS)")
	force := fs.Bool("force", false, "with -out, replace the previous pitfalls run in that directory: its "+strings.Join(pitfallFiles, " and ")+" are removed first")
	only := fs.String("only", "", "comma-separated pitfall `names` to run (default all: "+strings.Join(pitfalls.Names(), ", ")+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *force && *out == "" {
		return usageErrorf("-force needs -out (a default results directory is always new)")
	}
	var names []string
	if *only != "" {
		for _, n := range strings.Split(*only, ",") {
			n = strings.TrimSpace(n)
			if !slices.Contains(pitfalls.Names(), n) {
				return usageErrorf("-only: unknown pitfall %q (known: %s)", n, strings.Join(pitfalls.Names(), ", "))
			}
			names = append(names, n)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start servers with: %w", err)
	}
	if *out != "" {
		if err := checkOutDir(*out, *force); err != nil {
			return err
		}
	}
	dir := *out
	if dir == "" {
		if dir, err = results.CreateDir(filepath.Join("results", "pitfalls-"+time.Now().Format("20060102-150405"))); err != nil {
			return err
		}
	} else if err := preparePitfallsDir(dir, *force); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "writing %s\n", dir)

	ctx, stop := notifyInterrupts()
	defer stop()
	f, runErr := pitfalls.Run(ctx, pitfalls.Options{
		ServeCommand: []string{exe, "serve"},
		ChildCommand: []string{exe, "pitfalls"},
		Only:         names,
		Progress:     stderr,
	})
	if f == nil {
		return runErr
	}
	if err := pitfalls.Write(dir, f); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, p := range f.Pitfalls {
		fmt.Fprintf(stdout, "%d %-26s %-18s wrong: %s\n", p.Number, p.Name, p.Status, pitfallFigure(p.Wrong))
	}
	if runErr != nil {
		return &exitError{code: interruptStatus(ctx), err: fmt.Errorf("interrupted: %s holds the %d pitfalls finished: %w", dir, len(f.Pitfalls), runErr)}
	}
	var failed []string
	for _, p := range f.Pitfalls {
		if p.Status == pitfalls.StatusError {
			failed = append(failed, fmt.Sprintf("%s: %s", p.Name, p.Error))
		}
	}
	fmt.Fprintf(stderr, "\nresults: %s (%s)\n", dir, strings.Join(pitfallFiles, ", "))
	if len(failed) > 0 {
		return fmt.Errorf("%d pitfall runs could not be made (see %s):\n  %s", len(failed), filepath.Join(dir, pitfalls.ReportFile), strings.Join(failed, "\n  "))
	}
	return nil
}

func pitfallFigure(o pitfalls.Outcome) string {
	if o.Error != "" {
		return "error"
	}
	return o.Figure
}

// preparePitfallsDir creates dir, or with force removes a previous
// pitfalls run's files from it.
func preparePitfallsDir(dir string, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create results directory: %w", err)
	}
	if !force {
		return nil
	}
	for _, name := range pitfallFiles {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("-force: remove the previous run's %s: %w", name, err)
		}
	}
	return nil
}

func init() {
	suiteSteps[results.PartPitfalls] = pitfallsStep
	evidenceReaders[results.PartPitfalls] = readPitfallEvidence
}

// pitfallsStep runs every pitfall into dir as part of a suite. A pitfall
// that could not be run is recorded as such in pitfalls.json (its claim
// then says not measured); only an interrupt or a write failure is an
// error of the part.
func pitfallsStep(ctx context.Context, dir string, _ bool, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start servers with: %w", err)
	}
	f, runErr := pitfalls.Run(ctx, pitfalls.Options{
		ServeCommand: []string{exe, "serve"},
		ChildCommand: []string{exe, "pitfalls"},
		Progress:     stderr,
	})
	if f == nil {
		return runErr
	}
	if err := pitfalls.Write(dir, f); err != nil {
		return err
	}
	return runErr
}

// readPitfallEvidence turns a pitfalls run into the evidence of the claims
// table's rows 6, 7 and 9.
func readPitfallEvidence(dir string, ev *claims.Evidence) error {
	f, err := pitfalls.Read(filepath.Join(dir, pitfalls.JSONFile))
	if err != nil {
		return err
	}
	ev.Pitfalls = append(ev.Pitfalls, pitfalls.ClaimEvidence(f)...)
	return nil
}
