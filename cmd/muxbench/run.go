package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/internal/preflight"
	"github.com/muxbench/muxbench/internal/runlock"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/loadgen"
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
	out := fs.String("out", "", "results `directory`, created if missing; an existing one must be empty unless -force (default results/SCENARIO-YYYYMMDD-HHMMSS, or -2, -3... when taken)")
	force := fs.Bool("force", false, "with -out, replace the previous run in that directory: its "+strings.Join(runFilePatterns(), ", ")+" and loads/ are removed first")
	timeout := fs.Duration("timeout", loadgen.DefaultTimeout, "per-request `timeout` of the load generator (> 0)")
	noReport := fs.Bool("no-report", false, "skip charts and report.md (run.json, summary.csv and bench.txt are still written)")
	var remote runRemote
	remote.flags(fs)
	var ext runExternal
	ext.flags(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageErrorf("-timeout %v: want a positive duration, e.g. %v (the default)", *timeout, loadgen.DefaultTimeout)
	}
	if *force && *out == "" {
		return usageErrorf("-force needs -out (a default results directory is always new)")
	}
	if len(rest) > 1 {
		return usageErrorf("one scenario at a time (got %d: %v)", len(rest), rest)
	}
	if err := remote.check(time.Now()); err != nil {
		return err
	}
	if err := ext.check(remote.on()); err != nil {
		return err
	}
	name := "quick"
	if len(rest) == 1 {
		name = rest[0]
	}
	suite, suiteScs, isSuite, err := scenarios.LoadSuite(name)
	if err != nil {
		return usageErrorf("%v", err)
	}
	var sc results.Scenario
	if isSuite && remote.on() {
		return usageErrorf("-server drives one scenario; suite %s also runs parts that start their own servers (pitfalls, waitcost): run its scenarios one at a time with -server", suite.Name)
	}
	if isSuite {
		sc = suiteScs[0]
	} else if sc, err = scenarios.Load(name); err != nil {
		return usageErrorf("%v", err)
	}
	x, err := ext.fit(&sc, suite.Name, stderr)
	if err != nil {
		return err
	}
	for _, s := range append([]results.Scenario{sc}, suiteScs...) {
		// Every server a run sweeps is one of muxbench's own, unless it
		// is an external server (-exec, -attach).
		if err := traffic.CheckServed(s.Proto); err != nil && x == nil {
			return usageErrorf("scenario %s: proto %s: %v", s.Name, s.Proto, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start servers with: %w", err)
	}
	// From here a signal stops the run with what it finished (none yet).
	ctx, stop := notifyInterrupts()
	defer stop()
	if *out != "" {
		if err := checkOutDir(*out, *force); err != nil {
			return err
		}
	}
	var rem *harness.Remote
	if remote.on() {
		if rem, err = remote.connect(&sc, stderr); err != nil {
			return err
		}
		defer rem.Client.Close()
	}

	checks := []results.Scenario{sc}
	if isSuite {
		fmt.Fprintf(stderr, "suite %s: %s\n", suite.Name, suite.Description)
		checks = suiteScs
	}
	fatal := false
	for _, sc := range checks {
		fmt.Fprintf(stderr, "scenario %s: %s\n", sc.Name, sc.Description)
		check := preflight.Scenario
		if rem != nil {
			check = preflight.RemoteScenario
		}
		for _, c := range check(sc) {
			if c.Level == preflight.OK {
				fmt.Fprintf(stderr, "  %-9s %s\n", c.Name, c.Detail)
				continue
			}
			fmt.Fprintf(stderr, "  %-9s %s: %s\n            fix: %s\n", c.Name, c.Level, c.Detail, c.Fix)
			fatal = fatal || c.Level == preflight.Fail
		}
	}
	if fatal {
		return usageErrorf("preflight failed; fix the scenario or the machine as shown above")
	}
	if rem == nil {
		// A remote server is not on these CPUs, and the generators of
		// one shared run may share a machine: only a run that starts its
		// own servers holds the CPUs' lock.
		lock, err := lockCPUs(sc)
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	dir := *out
	if dir == "" {
		label := sc.Name
		if rem != nil && rem.Generators > 1 {
			label = fmt.Sprintf("%s-gen%d", sc.Name, rem.Index)
		}
		if x != nil {
			label = sc.Name + "-" + x.Label
		}
		if isSuite {
			label = suite.Name
		}
		base := filepath.Join("results", fmt.Sprintf("%s-%s", label, time.Now().Format("20060102-150405")))
		if dir, err = results.CreateDir(base); err != nil {
			return err
		}
	} else if err := prepareOutDir(dir, *force); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "writing %s\n", dir)
	if isSuite {
		return runSuite(ctx, suiteRun{suite: suite, scenarios: suiteScs, dir: dir, exe: exe, timeout: *timeout, noReport: *noReport}, stdout, stderr)
	}
	run, runErr := sweep(ctx, sc, dir, exe, *timeout, rem, x, stderr)
	if run == nil {
		return runErr
	}
	stop() // a second Ctrl-C now kills us the usual way
	var reportErr error
	if len(run.Samples) > 0 {
		fmt.Fprintln(stdout)
		if err := results.Human(stdout, results.Summarize(run.Samples)); err != nil {
			return err
		}
		if !*noReport {
			_, reportErr = writeReport(dir, report.Input{Run: run})
		}
	}
	// Say what is on disk, as listed, not as intended.
	onDisk := "nothing"
	if names, err := runFiles(dir); err != nil {
		onDisk = fmt.Sprintf("unknown (%v)", err)
	} else if len(names) > 0 {
		onDisk = strings.Join(names, ", ")
	}
	if runErr != nil {
		if harness.IsInterrupted(runErr) {
			fmt.Fprintf(stderr, "interrupted: %s holds the %d samples finished (run marked incomplete): %s\n", dir, len(run.Samples), onDisk)
			return &exitError{code: interruptStatus(ctx), err: runErr}
		}
		return fmt.Errorf("%w (%s holds: %s)", runErr, dir, onDisk)
	}
	if reportErr != nil {
		return fmt.Errorf("charts and report: %w\n%s holds: %s (the results files are complete; muxbench report %s retries the rest)", reportErr, dir, onDisk, dir)
	}
	line, samplesErr := outcome(run.Samples, filepath.Join(dir, results.RunFile))
	fmt.Fprintf(stderr, "\n%s\nresults: %s (%s)\n", line, dir, onDisk)
	return samplesErr
}

// failingStatuses are the sample statuses that make run and merge exit 1:
// the sample was not measured (failed: the server died or hung, setup
// failed, the window's conditions did not hold) or the server's answers
// were wrong (errors: mismatched, lost or unanswered echoes, rejected
// connections). Unsupported (a limit, with its reason) and saturated (the
// rate was not met: a measurement) are results, not failures.
var failingStatuses = []string{results.StatusFailed, results.StatusErrors}

// tally counts samples by status: "21 samples: 20 ok, 1 unsupported", and
// how many have a failing status.
func tally(samples []results.Sample) (line string, failing int) {
	counts := map[string]int{}
	for _, s := range samples {
		counts[s.Status]++
		if slices.Contains(failingStatuses, s.Status) {
			failing++
		}
	}
	var parts []string
	for _, st := range results.Statuses {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	line = human.Plural(len(samples), "sample")
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	return line, failing
}

// outcome is the closing line of a run, how its samples ended, and an
// exit status 1 error when any of them failed or counted errors; record
// is where their reasons are.
func outcome(samples []results.Sample, record string) (line string, err error) {
	line, failing := tally(samples)
	if failing > 0 {
		err = &exitError{code: 1, err: fmt.Errorf("%d of %s failed or counted errors (their reasons are in %s)", failing, human.Plural(len(samples), "sample"), record)}
	}
	return line, err
}

// newProgress shows a sweep's progress on stderr: a bar on a terminal,
// lines otherwise.
func newProgress(stderr io.Writer) harness.Progress {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: stderr}
	}
	return &lineProgress{w: stderr}
}

// runFilePatterns are the files a run and its report leave in a results
// directory, as glob patterns: -force removes exactly these.
func runFilePatterns() []string {
	return append([]string{results.RunFile, results.SummaryFile, results.BenchFile}, reportFilePatterns()...)
}

// runFiles lists the files of dir that muxbench writes, sorted.
func runFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		for _, pat := range runFilePatterns() {
			if ok, _ := filepath.Match(pat, e.Name()); ok {
				names = append(names, e.Name())
				break
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// checkOutDir refuses an -out directory that holds anything, unless force
// allows replacing a previous run there, before anything runs.
func checkOutDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return usageErrorf("-out %s: %v", dir, err)
	case len(entries) == 0:
		return nil
	case !force:
		return usageErrorf("-out %s is not empty (it holds %s): choose a new directory, or add -force to replace the run in it", dir, entries[0].Name())
	}
	return nil
}

// prepareOutDir creates dir, or with force empties it of a previous run's
// files, so the new run's files are never mixed with an old run's.
func prepareOutDir(dir string, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create results directory: %w", err)
	}
	if !force {
		return nil
	}
	old, err := runFiles(dir)
	if err != nil {
		return fmt.Errorf("-force: list %s: %w", dir, err)
	}
	if err := os.RemoveAll(filepath.Join(dir, harness.LoadsDir)); err != nil {
		return fmt.Errorf("-force: remove the previous run's load files: %w", err)
	}
	for _, name := range old {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("-force: remove the previous run's %s: %w", name, err)
		}
	}
	// A previous suite: its parts' directories (as its record lists them,
	// each inside dir) and its own files.
	rec, isSuite, err := results.ReadSuite(dir)
	if err != nil {
		return fmt.Errorf("-force: %w (remove %s by hand)", err, dir)
	}
	if isSuite {
		for _, p := range rec.Parts {
			if err := os.RemoveAll(filepath.Join(dir, p.Dir)); err != nil {
				return fmt.Errorf("-force: remove the previous suite's %s: %w", p.Dir, err)
			}
		}
		for _, name := range []string{results.SuiteFile, claimsFile} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("-force: remove the previous suite's %s: %w", name, err)
			}
		}
	}
	return nil
}

// lockCPUs takes the run lock of every CPU the scenario pins the server or
// the load generator to (every CPU when either is unpinned), so a second run
// on the same CPUs is refused before it starts a server.
func lockCPUs(sc results.Scenario) (*runlock.Lock, error) {
	var cpus []int
	for _, list := range []string{sc.ServerCPUs, sc.ClientCPUs} {
		set, err := cpuset.Parse(list)
		if err != nil {
			return nil, usageErrorf("%v", err) // Preflight already reported it
		}
		if set.Empty() {
			for c := range runtime.NumCPU() {
				cpus = append(cpus, c)
			}
		}
		cpus = append(cpus, set.CPUs()...)
	}
	lock, err := runlock.Acquire(runlock.Dir(), cpus)
	var held *runlock.HeldError
	if errors.As(err, &held) {
		return nil, usageErrorf("%v: wait for that run to finish, or run this one on other CPUs (server_cpus and client_cpus in a scenario file)", err)
	}
	return lock, err
}
