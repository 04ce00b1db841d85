package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/results"
)

func init() {
	commands["report"] = command{
		summary: "regenerate charts and report.md from run.json (no rerun); several runs overlay",
		run:     runReport,
	}
}

const reportSynopsis = "report [-out DIR] [-labels A,B,...] RUN..."

func runReport(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", reportSynopsis, stderr)
	out := fs.String("out", "", "write charts and report.md to `DIR` (default: the run's directory; required with several runs)")
	labels := fs.String("labels", "", "comma-separated `names` for the runs' series when overlaying (default: the runs' directory names)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: muxbench %s\n\n", reportSynopsis)
		fmt.Fprintln(stderr, "Each RUN is a results directory or its run.json. One RUN: its charts (SVG, PNG)")
		fmt.Fprintln(stderr, "and report.md are rewritten in place. Several: one combined report overlaying")
		fmt.Fprintln(stderr, "them, series labelled \"backend (run)\", written to -out.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	paths, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageErrorf("no run given (want a results directory or run.json; see muxbench report -h)")
	}
	dir := *out
	if dir == "" {
		if len(paths) > 1 {
			return usageErrorf("-out is required when combining %d runs (refusing to pick one run's directory)", len(paths))
		}
		dir = runDir(paths[0])
	}
	names := defaultLabels(paths)
	if *labels != "" {
		names = strings.Split(*labels, ",")
		if len(names) != len(paths) {
			return usageErrorf("-labels has %d names for %d runs", len(names), len(paths))
		}
	}

	inputs := make([]report.Input, len(paths))
	for i, p := range paths {
		run, err := results.ReadRun(p)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("read %s: %w", p, err)}
		}
		inputs[i] = report.Input{Label: strings.TrimSpace(names[i]), Run: run}
	}
	if err := report.Write(dir, inputs...); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "muxbench report: wrote %s and charts %s (SVG and PNG)\n",
		filepath.Join(dir, report.ReportFile), strings.Join(report.ChartKinds(), ", "))
	return nil
}

// runDir is the results directory of a RUN argument: the argument itself,
// or the directory holding a run.json.
func runDir(path string) string {
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		return filepath.Dir(path)
	}
	return path
}

// defaultLabels names each run after its directory; when two directories
// share a name, the full paths as given; when even those repeat, nothing
// (the report package then labels them from what differs between them).
func defaultLabels(paths []string) []string {
	for _, f := range []func(string) string{
		func(p string) string { return filepath.Base(filepath.Clean(runDir(p))) },
		func(p string) string { return filepath.Clean(runDir(p)) },
	} {
		names := make([]string, len(paths))
		seen := map[string]bool{}
		ok := true
		for i, p := range paths {
			names[i] = f(p)
			if seen[names[i]] {
				ok = false
			}
			seen[names[i]] = true
		}
		if ok {
			return names
		}
	}
	return make([]string, len(paths))
}
