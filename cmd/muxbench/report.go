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
	out := fs.String("out", "", "write charts and report.md to `DIR` (default: the run's directory; required with several runs); it must be empty, or a run's own directory, unless -force")
	force := fs.Bool("force", false, "with -out, write into a directory that holds other files: a previous report's report.md and charts there are removed first")
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
	if *force && *out == "" {
		return usageErrorf("-force needs -out (a run's own report is always rewritten in place)")
	}
	if *out != "" && !ownDir(*out, paths) {
		if err := checkReportOut(*out, *force); err != nil {
			return err
		}
	}
	names := defaultLabels(paths)
	if *labels != "" {
		names = strings.Split(*labels, ",")
		if len(names) != len(paths) {
			return usageErrorf("-labels has %d names for %d runs", len(names), len(paths))
		}
	}

	if len(paths) == 1 {
		if rec, ok, err := results.ReadSuite(runDir(paths[0])); ok {
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if *out != "" || *labels != "" {
				return usageErrorf("%s is a suite's directory: its report.md is rewritten in place (drop -out and -labels)", paths[0])
			}
			if _, err := writeSuiteReport(dir, rec); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "muxbench report: wrote %s\n", describeWritten(dir, []string{claimsFile, report.ReportFile}))
			return nil
		}
	}
	inputs := make([]report.Input, len(paths))
	for i, p := range paths {
		run, err := results.ReadRun(p)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("read %s: %w", p, err)}
		}
		if len(run.Samples) == 0 {
			return usageErrorf("%s has no samples: nothing to chart (was the run stopped before its first sample finished?)", p)
		}
		inputs[i] = report.Input{Label: strings.TrimSpace(names[i]), Run: run}
	}
	written, err := writeReport(dir, inputs...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "muxbench report: wrote %s\n", describeWritten(dir, written))
	return nil
}

// writeReport writes the report of inputs into dir with report.Write and
// returns the files it wrote, checked on disk: a file counts when it is new
// or was replaced (report.Write renames a new file over the old one). On
// error, it says which of the report's files were written and which not.
func writeReport(dir string, inputs ...report.Input) (written []string, err error) {
	charts, err := report.Charts(inputs...)
	if err != nil {
		return nil, err
	}
	want := []string{}
	for _, c := range charts {
		for _, f := range report.Formats {
			want = append(want, c.Name+"."+f)
		}
	}
	want = append(want, report.ReportFile) // written last
	before := map[string]os.FileInfo{}
	for _, name := range want {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			before[name] = fi
		}
	}
	werr := report.Write(dir, inputs...)
	var missing []string
	for _, name := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err == nil && (before[name] == nil || !os.SameFile(before[name], fi)) {
			written = append(written, name)
		} else {
			missing = append(missing, name)
		}
	}
	switch {
	case werr != nil:
		return written, fmt.Errorf("%w\nwrote %s; not written: %s", werr, describeWritten(dir, written), strings.Join(missing, ", "))
	case len(missing) > 0: // report.Write said it succeeded, but the files say otherwise
		return written, fmt.Errorf("write report: %s not written to %s", strings.Join(missing, ", "), dir)
	}
	return written, nil
}

// ownDir reports whether dir is the results directory of one of the runs:
// their report is rewritten in place, as without -out.
func ownDir(dir string, paths []string) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return false
	}
	for _, p := range paths {
		if pi, err := os.Stat(runDir(p)); err == nil && os.SameFile(fi, pi) {
			return true
		}
	}
	return false
}

// checkReportOut refuses an -out that holds anything unless force; with
// force it removes a previous report's report.md and charts there, so the
// new report's files are never mixed with an old one's.
func checkReportOut(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case err != nil || len(entries) == 0:
		return nil // nothing there to overwrite; writing says what else is wrong with dir
	case !force:
		return usageErrorf("-out %s is not empty (it holds %s): choose a new directory, or add -force to replace the report in it", dir, entries[0].Name())
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		for _, pat := range reportFilePatterns() {
			if ok, _ := filepath.Match(pat, e.Name()); ok {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
					return fmt.Errorf("-force: remove the previous report's %s: %w", e.Name(), err)
				}
				break
			}
		}
	}
	return nil
}

// reportFilePatterns are the files a report writes, as glob patterns.
func reportFilePatterns() []string {
	pats := []string{report.ReportFile}
	for _, f := range report.Formats {
		pats = append(pats, "*."+f)
	}
	return pats
}

// describeWritten lists the files written into dir, or says there are none.
func describeWritten(dir string, names []string) string {
	if len(names) == 0 {
		return "nothing in " + dir
	}
	return fmt.Sprintf("%d files in %s: %s", len(names), dir, strings.Join(names, ", "))
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
