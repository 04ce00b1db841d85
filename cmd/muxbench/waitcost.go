package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/internal/runlock"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/report/claims"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

func init() {
	commands["waitcost"] = command{
		summary: "time the multiplexer alone: ns per wait call (hot scan) and per wake-up (blocking) over N watched fds, with fits",
		run:     runWaitcost,
	}
}

// waitcostBackends is the default backend list: every poller that is not
// a variant and can run here (its support check passes), in canonical
// order, so a poller registered later is measured without a change here.
// Edge-triggered pollers only when the blocking wake-up is measured: the
// hot scan records them unsupported.
func waitcostBackends(modes []string) []string {
	var out []string
	for _, name := range lineup.Names() {
		b, err := lineup.Lookup(name)
		if err != nil || !b.EventLoop() || b.Variant || b.Pitfall {
			continue
		}
		if b.Poller.EdgeTriggered && !slices.Contains(modes, waitcost.ModeBlocking) {
			continue
		}
		if b.Check != nil && b.Check() != nil {
			continue
		}
		out = append(out, name)
	}
	return out
}

func runWaitcost(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("waitcost", "waitcost [flags]", stderr)
	def := waitcost.Default
	quick := fs.Bool("quick", false, "the CI sweep: fewer fd counts, k = 1 and 100%, shorter samples, the private fd table only (flags given explicitly still win)")
	modeF := fs.String("mode", strings.Join(def.Modes, ","), "what is timed, comma-separated `modes`: hot (back-to-back waits over ready fds) and blocking (wake-ups of a waiter blocked with nothing ready)")
	tableF := fs.String("fd-table", strings.Join(def.Tables, ","), "the measuring thread's fd `table`: private (its own, unshare CLONE_FILES), shared (the process's, as every Go thread has), or both")
	backendsF := fs.String("backends", "", "comma-separated `pollers` (see muxbench list; default every poller that runs here, edge-triggered ones only with -mode blocking); the hot scan records edge-triggered ones unsupported")
	fdsF := fs.String("fds", joinIntList(def.FDs), "watched fd `counts` N of the dense layout, comma-separated (\"none\" for no dense layout)")
	readyF := fs.String("ready", strings.Join(def.Ready, ","), "hot scan: ready fds per N, `counts or shares` like 1,10%,100% (the blocking wake-up has one)")
	posF := fs.String("positions", strings.Join(def.Positions, ","), "where the ready fds sit in fd order: `low,high` (the blocking wake-up: the first)")
	sparseN := fs.Int("sparse-fds", def.SparseFDs, "watched fds of each sparse layout")
	sparseF := fs.String("sparse-highest", joinIntList(def.SparseTop), "highest fd `numbers` of the sparse layouts, comma-separated (\"none\" for none)")
	reps := fs.Int("reps", def.Repetitions, "repetitions, interleaved across backends")
	timeoutMs := fs.Int("timeout-ms", def.TimeoutMs, "the hot scan's wait `timeout`: 0 or -1")
	minCalls := fs.Int64("min-calls", def.MinCalls, "a sample ends once it has this many calls and -min-time")
	maxCalls := fs.Int64("max-calls", def.MaxCalls, "or at this many calls or wake-ups")
	minWakeups := fs.Int64("min-wakeups", def.MinWakeups, "blocking: a sample ends once it has this many wake-ups and -min-time")
	minTime := fs.Duration("min-time", def.MinTime, "a sample ends once it has -min-calls and this `duration`")
	maxTime := fs.Duration("max-time", def.MaxTime, "or at this `duration`, whichever comes first")
	cpu := fs.Int("cpu", 0, "the CPU to pin the measurement to")
	peerCPU := fs.Int("peer-cpu", def.PeerCPU, "blocking: the CPU of the thread that makes an fd ready")
	upper := fs.Int("upper-from", def.UpperFrom, "smallest N of the log-log (superlinear) fit")
	out := fs.String("out", "", "results `directory` (default results/waitcost-YYYYMMDD-HHMMSS); one holding a waitcost.json needs -force")
	force := fs.Bool("force", false, "with -out, replace the waitcost record and charts already there")
	from := fs.String("from", "", "measure nothing: refit the samples of `DIR`/waitcost.json and rewrite its fits, charts and waitcost.md")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from != "" {
		return refitWaitcost(*from, stdout)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg := def
	if *quick {
		cfg = waitcost.Quick
	}
	var err error
	pick := func(name string, apply func() error) {
		if err == nil && (set[name] || !*quick) {
			if e := apply(); e != nil {
				err = usageErrorf("-%s: %v", name, e)
			}
		}
	}
	pick("mode", func() error { cfg.Modes = splitList(*modeF); return nil })
	pick("fd-table", func() error { cfg.Tables = splitList(*tableF); return nil })
	pick("fds", func() (e error) { cfg.FDs, e = parseIntList(*fdsF); return })
	pick("ready", func() error { cfg.Ready = splitList(*readyF); return nil })
	pick("positions", func() error { cfg.Positions = splitList(*posF); return nil })
	pick("sparse-highest", func() (e error) { cfg.SparseTop, e = parseIntList(*sparseF); return })
	pick("sparse-fds", func() error { cfg.SparseFDs = *sparseN; return nil })
	pick("reps", func() error { cfg.Repetitions = *reps; return nil })
	pick("timeout-ms", func() error { cfg.TimeoutMs = *timeoutMs; return nil })
	pick("min-calls", func() error { cfg.MinCalls = *minCalls; return nil })
	pick("max-calls", func() error { cfg.MaxCalls = *maxCalls; return nil })
	pick("min-wakeups", func() error { cfg.MinWakeups = *minWakeups; return nil })
	pick("min-time", func() error { cfg.MinTime = *minTime; return nil })
	pick("max-time", func() error { cfg.MaxTime = *maxTime; return nil })
	pick("upper-from", func() error { cfg.UpperFrom = *upper; return nil })
	if err != nil {
		return err
	}
	cfg.Backends, cfg.CPU, cfg.PeerCPU = splitList(*backendsF), *cpu, *peerCPU
	if !set["backends"] {
		cfg.Backends = waitcostBackends(cfg.Modes)
	}
	for _, b := range cfg.Backends {
		if _, err := lineup.Lookup(b); err != nil {
			return usageErrorf("-backends: %v", err)
		}
		if bk, _ := lineup.Lookup(b); !bk.EventLoop() {
			return usageErrorf("-backends: %s is a whole server, not a poller; waitcost times pollers only", b)
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	if *force && *out == "" {
		return usageErrorf("-force needs -out (a default results directory is always new)")
	}
	if _, err := parseCPUsFlag(strconv.Itoa(*cpu)); err != nil {
		return err
	}
	cpus := []int{*cpu}
	if cfg.Blocking() {
		v := strconv.Itoa(cfg.PeerCPU)
		if _, err := parseCPUsFlag(v); err != nil {
			return usageErrorf("-peer-cpu %s: %s", v, strings.TrimPrefix(err.Error(), "-cpus "+v+": "))
		}
		cpus = append(cpus, cfg.PeerCPU)
	}
	dir, err := waitcostDir(*out, *force)
	if err != nil {
		return err
	}

	lock, err := runlock.Acquire(runlock.Dir(), cpus)
	if err != nil {
		return fmt.Errorf("lock CPUs %v: %w", cpus, err)
	}
	defer lock.Release()
	ctx, stop := notifyInterrupts()
	defer stop()
	return measureWaitcost(ctx, cfg, dir, stdout, stderr)
}

// waitcostProcs is GOMAXPROCS while waitcost measures: the measuring
// goroutine holds its P through raw wait calls (package rawwait), the
// blocking wake-up's peer spins on another, and the signal watcher needs
// a third.
const waitcostProcs = 3

// measureWaitcost runs the sweep cfg describes (the caller holds the run
// locks of its CPUs) and writes the record, its charts and markdown into
// dir. It pins this whole process first: to the peer CPU when the
// blocking wake-up is measured, so that while the waiter sleeps no other
// thread of this process runs on the measuring CPU (each measuring
// thread pins itself there), else to the measuring CPU.
func measureWaitcost(ctx context.Context, cfg waitcost.Config, dir string, stdout, stderr io.Writer) error {
	rest := cfg.CPU
	if cfg.Blocking() {
		rest = cfg.PeerCPU
	}
	pin, err := cpuset.Parse(strconv.Itoa(rest))
	if err != nil {
		return err
	}
	if err := pin.PinProcess(waitcostProcs); err != nil {
		return err
	}
	rec := &waitcost.Record{Schema: waitcost.SchemaVersion, Env: harness.CollectEnvironment(), Config: cfg}
	rec.Env.ServerCPUs, rec.Env.ClientCPUs = strconv.Itoa(cfg.CPU), ""
	fmt.Fprintf(stderr, "waitcost: %d samples (%s; %s; fd tables %s; %d repetitions) into %s\n", cfg.Samples(), strings.Join(cfg.Modes, " and "),
		strings.Join(cfg.Backends, ", "), strings.Join(cfg.Tables, " and "), cfg.Repetitions, dir)
	start := time.Now()
	lim, samples, runErr := waitcost.Run(ctx, cfg, func(done, total, rep int, s []waitcost.Sample) {
		fmt.Fprintf(stderr, "  [%3d/%d %5.1fs] rep %d %s\n", done, total, time.Since(start).Seconds(), rep+1, progressLine(s))
	})
	rec.Limit, rec.Samples = lim, samples
	rec.Complete()
	if err := rec.Write(dir); err != nil {
		return err
	}
	if err := report.WriteWaitcost(dir, rec); err != nil {
		return err
	}
	printWaitcostFits(stdout, rec)
	fmt.Fprintf(stdout, "wrote %s (%s, charts and %s)\n", dir, waitcost.File, report.WaitcostFile)
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return &exitError{code: interruptStatus(ctx), err: fmt.Errorf("interrupted after %d of %d samples (kept in %s)", len(samples), cfg.Samples(), dir)}
		}
		return fmt.Errorf("after %d of %d samples: %w", len(samples), cfg.Samples(), runErr)
	}
	return nil
}

func init() {
	suiteSteps[results.PartWaitCost] = waitcostStep
	evidenceReaders[results.PartWaitCost] = func(dir string, ev *claims.Evidence) error {
		rec, err := waitcost.Read(dir)
		if err != nil {
			return err
		}
		ev.WaitCost = rec
		return nil
	}
}

// waitcostStep is a suite's waitcost part: the default backends measured
// on the suite's server CPU, the blocking wake-up's peer on its client CPU
// (the suite holds both CPUs' run locks), -quick's sweep when quick. It
// pins this whole process, so a suite runs it last.
func waitcostStep(ctx context.Context, dir string, quick bool, stderr io.Writer) error {
	cfg := waitcost.Default
	if quick {
		cfg = waitcost.Quick
	}
	cfg.Backends, cfg.CPU, cfg.PeerCPU = waitcostBackends(cfg.Modes), 0, 1
	if err := cfg.Validate(); err != nil {
		return err
	}
	return measureWaitcost(ctx, cfg, dir, stderr, stderr)
}

// refitWaitcost recomputes a record's points and fits from its samples
// (the fit or verdict code may be newer than the run) and rewrites it with
// its charts and markdown.
func refitWaitcost(dir string, stdout io.Writer) error {
	rec, err := waitcost.Read(dir)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("-from: %w", err)}
	}
	rec.Complete()
	if err := rec.Write(dir); err != nil {
		return err
	}
	if err := report.WriteWaitcost(dir, rec); err != nil {
		return err
	}
	printWaitcostFits(stdout, rec)
	fmt.Fprintf(stdout, "rewrote %s (%s, charts and %s)\n", dir, waitcost.File, report.WaitcostFile)
	return nil
}

// waitcostDir returns the directory to write into, created.
func waitcostDir(out string, force bool) (string, error) {
	if out == "" {
		return results.CreateDir(filepath.Join("results", "waitcost-"+time.Now().Format("20060102-150405")))
	}
	if _, err := os.Stat(filepath.Join(out, waitcost.File)); err == nil && !force {
		return "", usageErrorf("-out %s already holds a %s (add -force to replace it, or choose another directory)", out, waitcost.File)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("create -out directory: %w", err)
	}
	return out, nil
}

// progressLine is one layout's samples as "N=1000 k=1: poll 12.3µs, ...":
// the first case of each backend.
func progressLine(s []waitcost.Sample) string {
	if len(s) == 0 {
		return ""
	}
	head := fmt.Sprintf("%s N=%d", s[0].Layout, s[0].N)
	if s[0].Layout == waitcost.LayoutSparse {
		head += fmt.Sprintf(" highest fd %d", s[0].MaxFD)
	}
	var parts []string
	seen := map[string]bool{}
	for _, x := range s {
		if seen[x.Backend] {
			continue
		}
		seen[x.Backend] = true
		if x.NsPerCall > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", x.Backend, human.Ns(x.NsPerCall)))
		} else {
			parts = append(parts, x.Backend+" "+x.Status)
		}
	}
	return fmt.Sprintf("%s (k=%d %s): %s", head, s[0].K, s[0].Position, strings.Join(parts, ", "))
}

func printWaitcostFits(w io.Writer, rec *waitcost.Record) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "MODE\tFD TABLE\tBACKEND\tNS/FD [95%% CI]\tR²\tNS/EVENT [95%% CI]\tβ N≥%d [95%% CI]\tNS/FD-NUMBER (sparse)\n", rec.Config.UpperFrom)
	dash := func(ok bool, s func() string) string {
		if !ok {
			return "–"
		}
		return s()
	}
	for _, f := range rec.Fits {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Mode, f.Table, f.Backend,
			dash(f.Idle != nil, func() string { return f.Idle.PerFD.String() }),
			dash(f.Idle != nil, func() string { return fmt.Sprintf("%.3f", f.Idle.R2) }),
			dash(f.Events != nil && f.Events.PerEvent != nil, func() string { return f.Events.PerEvent.String() }),
			dash(f.Upper != nil, func() string {
				return fmt.Sprintf("%.2f [%.2f, %.2f]", f.Upper.Beta.Value, f.Upper.Beta.Lo, f.Upper.Beta.Hi)
			}),
			dash(f.Sparse != nil, func() string { return f.Sparse.PerFD.String() }))
	}
	tw.Flush()
	for _, f := range rec.Fits {
		for _, rule := range []func(waitcost.Fit) (bool, string){waitcost.Grows, waitcost.Linear, waitcost.Flat, waitcost.Superlinear, waitcost.FollowsHighestFD} {
			if ok, why := rule(f); ok {
				fmt.Fprintf(w, "  %s, %s fd table: %s\n", f.Mode, f.Table, why)
			}
		}
	}
	for _, o := range report.WaitcostObservations(rec) {
		fmt.Fprintf(w, "  %s\n", o)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseIntList(s string) ([]int, error) {
	if strings.TrimSpace(s) == "none" {
		return nil, nil
	}
	var out []int
	for _, p := range splitList(s) {
		v, err := strconv.Atoi(strings.ReplaceAll(p, "_", ""))
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number (write e.g. 10,100,1000)", p)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinIntList(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
