package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/muxbench/muxbench/report/compare"
	"github.com/muxbench/muxbench/results"
)

func init() {
	commands["compare"] = command{
		summary: "compare two runs point by point, with significance; -threshold gates CI",
		run:     runCompare,
	}
}

const compareSynopsis = "compare [-alpha A] [-threshold PCT] [-format F] OLD NEW"

func runCompare(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", compareSynopsis, stderr)
	alpha := fs.Float64("alpha", compare.DefaultAlpha, "false discovery rate `A` of the corrected Mann-Whitney U tests, in (0, 1)")
	threshold := fs.String("threshold", "", "exit 1 when a metric gets significantly worse by more than `PCT` (e.g. 10%); default: report only")
	format := fs.String("format", "text", "output `format`: "+strings.Join(compare.Formats, ", "))
	fs.Usage = compareUsage(fs, stderr)
	paths, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(paths) != 2 {
		return usageErrorf("want OLD and NEW, got %d argument(s) (see muxbench compare -h)", len(paths))
	}
	if !(*alpha > 0 && *alpha < 1) {
		return usageErrorf("-alpha %v: want a value between 0 and 1, e.g. 0.05", *alpha)
	}
	if !slices.Contains(compare.Formats, *format) {
		return usageErrorf("-format %q: want one of %s", *format, strings.Join(compare.Formats, ", "))
	}
	opt := compare.Options{Alpha: *alpha, OldName: paths[0], NewName: paths[1]}
	if *threshold != "" {
		t, err := parsePercent(*threshold)
		if err != nil {
			return usageErrorf("-threshold %q: %v", *threshold, err)
		}
		opt.Gate, opt.Threshold = true, t
	}

	oldRun, err := results.ReadRun(paths[0])
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("read OLD %s: %w", paths[0], err)}
	}
	newRun, err := results.ReadRun(paths[1])
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("read NEW %s: %w", paths[1], err)}
	}
	cmp, err := compare.Runs(oldRun, newRun, opt)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := cmp.Write(stdout, *format); err != nil {
		return err
	}
	// A lost point is decided without statistics, so a regression outranks
	// an undecided comparison. Report-only mode exits 0 either way; the
	// output says when it could not decide.
	switch {
	case len(cmp.Regressions) > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d regression(s) beyond -threshold %s", len(cmp.Regressions), *threshold)}
	case opt.Gate && cmp.Undecided != "":
		return &exitError{code: 2, err: fmt.Errorf("-threshold %s: %s", *threshold, cmp.Undecided)}
	}
	return nil
}

// parsePercent parses "10%" or "10" as the fraction 0.10.
func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a percentage such as 10%%")
	}
	if v < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return v / 100, nil
}

// compareUsage is compare's -h: what it compares and its exit statuses.
func compareUsage(fs *flag.FlagSet, stderr io.Writer) func() {
	return func() {
		fmt.Fprintf(stderr, "usage: muxbench %s\n\n", compareSynopsis)
		fmt.Fprintln(stderr, "OLD and NEW are results directories or run.json files of the same scenario.")
		fmt.Fprintln(stderr, "For each backend and point that is ok in both, compares the medians of p50,")
		fmt.Fprintln(stderr, "p99 and server CPU per request (and achieved rate in closed loop), tests each")
		fmt.Fprintln(stderr, "difference across repetitions (Mann-Whitney U) with a "+compare.Correction)
		fmt.Fprintln(stderr, "correction across all the tests, and summarises each backend by the geomean")
		fmt.Fprintln(stderr, "of its ratios with a t-interval. Points not ok in both are listed as skipped.")
		fmt.Fprintf(stderr, "A gate needs >= %d repetitions per side at the default -alpha; a change seen\n", compare.MinRepetitions(compare.DefaultAlpha))
		fmt.Fprintln(stderr, "at only a few points needs more (the output's power line says how many).")
		fmt.Fprintln(stderr, "\nExit status: 0 no gate, or gate passed; 1 with -threshold, a significant")
		fmt.Fprintln(stderr, "regression beyond it (latency or CPU higher, rate lower) or a point ok in OLD")
		fmt.Fprintln(stderr, "and not in NEW; 2 bad arguments or unreadable input, or with -threshold, a")
		fmt.Fprintln(stderr, "comparison that cannot decide (too few repetitions) or compared nothing (no")
		fmt.Fprintln(stderr, "samples, different scenarios, no point in common, every point skipped).")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
}
