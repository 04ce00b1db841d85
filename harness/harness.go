// Package harness runs a scenario: for every repetition, point and backend
// (backends interleaved within a repetition, so drift hits all alike) it
// starts `muxbench serve` as a child process pinned to the server CPUs,
// drives it with the in-process load generator pinned to the client CPUs,
// samples the server's counters and CPU at the measured window's start and
// end, and records a results.Sample. The server under test may instead be
// one on another host (Remote) or one muxbench did not write (External),
// read from outside; each kind is one implementation of the server
// interface (server.go), and one sample path drives them all. Points a backend cannot run are
// recorded as unsupported with the reason; a server that dies or hangs is
// recorded as failed, and the sweep goes on. The results directory is
// rewritten after every sample, so an interrupted run keeps what it finished.
package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// Options configure Run.
type Options struct {
	// Scenario is the scenario to run, defaults filled in (scenarios.Load).
	Scenario results.Scenario
	// ServerCommand is the argv prefix that starts a server, e.g.
	// {"/path/to/muxbench", "serve"}; Run appends -backend, -addr, -proto
	// and -cpus.
	ServerCommand []string
	// OutDir receives run.json, summary.csv and bench.txt, rewritten after
	// every sample. Empty: nothing is written.
	OutDir string
	// Env is recorded in the run (see CollectEnvironment).
	Env results.Environment
	// Progress is told about every sample; nil means silent.
	Progress Progress
	// Timeout is the load generator's per-request timeout (0: its default).
	Timeout time.Duration
	// Remote, if set, is a server the harness did not start: every sample
	// measures it (ServerCommand is then unused) and the scenario's
	// backends must be its one backend.
	Remote *Remote
	// External, if set, is a server muxbench did not write, started for
	// every sample or attached to, and read from outside (sock_diag,
	// /proc); ServerCommand is then unused and the scenario's backends
	// must be just its label.
	External *External
}

// Progress receives the harness's progress: Plan once, then Start and Done
// for every sample.
type Progress interface {
	Plan(total int, estimate time.Duration)
	Start(i int, p Job)
	Done(i int, p Job, s results.Sample)
}

// PhaseReporter is what a Progress may also implement to hear about a long
// phase inside a sample (e.g. "accepted", done of total connections).
type PhaseReporter interface {
	Phase(name string, done, total int)
}

// Job is one sample to take.
type Job struct {
	Backend string
	FDs     int
	Active  int
	Rep     int
	// Loops is how many loops the server runs (1: one); Churn whether
	// every request is a connection of its own.
	Loops int
	Churn bool
	// Rate is the point's total requests/s (the scenario's rate axis; 0
	// in closed loop). A generator sharing a remote server drives its
	// share of it (loadgen.Config.Share).
	Rate float64
}

// Conns is the number of connections the job opens: every watched fd but
// the server's own.
func (j Job) Conns() int { return j.FDs - results.ServerOwnFDs }

// Jobs lists the samples of a scenario in run order: repetition, then
// churn, then active connections, then rate, then loops, then fds, then
// backend innermost.
func Jobs(sc results.Scenario) []Job {
	var jobs []Job
	for rep := 0; rep < sc.Repetitions; rep++ {
		for _, churn := range sc.Churn.Values() {
			for _, active := range sc.Active {
				for _, rate := range sc.Rate.Values() {
					for _, loops := range sc.LoopCounts() {
						for _, fds := range sc.FDs {
							for _, b := range sc.Backends {
								jobs = append(jobs, Job{Backend: b, FDs: fds, Active: active, Rep: rep, Loops: loops, Churn: churn, Rate: rate})
							}
						}
					}
				}
			}
		}
	}
	return jobs
}

// Estimate is how long the scenario should take: warm-up, window, opening
// connections and about half a second of server start and stop per sample.
// Samples that will be recorded unsupported at once (more active
// connections than the point has, or fds past the backend's own limit such
// as select's FD_SETSIZE) take only the start and stop.
func Estimate(sc results.Scenario) time.Duration {
	var d time.Duration
	for _, j := range Jobs(sc) {
		d += 500 * time.Millisecond
		if !plannedUnsupported(j) {
			d += sc.Warmup.D() + sc.Duration.D() + time.Duration(float64(j.Conns())/loadgen.DefaultConnectRate*float64(time.Second))
		}
	}
	return d
}

// plannedUnsupported reports whether j will be recorded unsupported before
// any connection opens (the server's own fds are not known yet: a point just
// under the backend's limit may still be).
func plannedUnsupported(j Job) bool {
	if j.Active > j.Conns() {
		return true
	}
	if lineup.Unsupported(j.Backend) != "" {
		return true
	}
	b, err := lineup.Lookup(j.Backend)
	return err == nil && b.MaxFD > 0 && j.FDs > b.MaxFD
}

// Run runs the scenario and returns the record. When ctx ends (Ctrl-C) it
// kills the current server, marks the run incomplete, writes what it has and
// returns the record with ctx's error.
func Run(ctx context.Context, opts Options) (*results.Run, error) {
	sc := opts.Scenario
	if len(opts.ServerCommand) == 0 && opts.Remote == nil && opts.External == nil {
		return nil, errors.New("harness: no server command")
	}
	if opts.Remote != nil && opts.External != nil {
		return nil, errors.New("harness: a remote and an external server at once")
	}
	if r := opts.Remote; r != nil {
		if len(sc.Backends) != 1 || sc.Backends[0] != r.Hello.Backend {
			return nil, fmt.Errorf("harness: the remote server runs %s; the scenario's backends must be just that, not %v", r.Hello.Backend, sc.Backends)
		}
		if loops := sc.LoopCounts(); len(loops) != 1 || loops[0] != r.Hello.LoopCount() {
			return nil, fmt.Errorf("harness: the remote server runs %d loops; the scenario's loops must be just that, not %v (serve -loops sets them)", r.Hello.LoopCount(), loops)
		}
		if r.Generators > 1 && r.StartAt.IsZero() {
			return nil, errors.New("harness: generators sharing a remote server need a common start time")
		}
		if !r.StartAt.IsZero() {
			r.slots = r.Schedule(sc)
		}
	}
	var ext *externalServer
	if x := opts.External; x != nil {
		if loops := sc.LoopCounts(); len(loops) != 1 || loops[0] != 1 {
			return nil, fmt.Errorf("harness: an external server runs as many loops as it was configured with; the scenario's loops %v sweep muxbench's own servers only (remove loops from the scenario)", loops)
		}
		var err error
		if ext, err = newExternal(*x, sc, opts.OutDir); err != nil {
			return nil, err
		}
	}
	clientCPUs, err := cpuset.Parse(sc.ClientCPUs)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: client_cpus: %w", sc.Name, err)
	}
	// The load generator's loop holds a P in raw wait calls: keep a second.
	if err := clientCPUs.PinProcess(max(2, runtime.GOMAXPROCS(0))); err != nil {
		return nil, err
	}
	run := &results.Run{
		Schema: results.SchemaVersion, Tool: "muxbench",
		Started: time.Now().UTC(), Env: opts.Env, Scenario: sc,
		Incomplete: true,
	}
	run.Env.ServerCPUs, run.Env.ClientCPUs = sc.ServerCPUs, clientCPUs.String()
	if r := opts.Remote; r != nil {
		run.Remote = r.record()
		run.Env.ServerCPUs = r.Hello.CPUs
		if opts.OutDir != "" {
			if err := os.MkdirAll(filepath.Join(opts.OutDir, LoadsDir), 0o755); err != nil {
				return nil, fmt.Errorf("results directory: %w", err)
			}
		}
	}
	if ext != nil {
		run.External = opts.External.record(opts.OutDir)
	}
	save := func() error {
		if opts.OutDir == "" {
			return nil
		}
		return results.WriteDir(opts.OutDir, run)
	}
	if err := save(); err != nil {
		return nil, err
	}
	var srv server = &childServer{opts: opts}
	if r := opts.Remote; r != nil {
		r.sc, r.outDir = sc, opts.OutDir
		srv = r
	}
	if ext != nil {
		srv = ext
	}
	jobs := Jobs(sc)
	if opts.Progress != nil {
		estimate := Estimate(sc)
		if r := opts.Remote; r != nil && len(r.slots) > 0 {
			estimate = time.Until(r.slots[len(r.slots)-1].End)
		}
		opts.Progress.Plan(len(jobs), estimate)
	}
	for i, job := range jobs {
		if ctx.Err() != nil {
			break
		}
		if opts.Progress != nil {
			opts.Progress.Start(i, job)
		}
		s := sample(ctx, opts, srv, i, job)
		if ctx.Err() != nil {
			break // a sample cut short by the interrupt is not a result
		}
		run.Samples = append(run.Samples, s)
		if err := save(); err != nil {
			return run, err
		}
		if opts.Progress != nil {
			opts.Progress.Done(i, job, s)
		}
	}
	run.Finished = time.Now().UTC()
	run.Incomplete = ctx.Err() != nil
	if err := save(); err != nil {
		return run, err
	}
	if ctx.Err() != nil {
		return run, fmt.Errorf("%w after %d of %d samples: %v", errInterrupted, len(run.Samples), len(jobs), context.Cause(ctx))
	}
	return run, nil
}

// errInterrupted marks Run's error for a run stopped by its context.
var errInterrupted = errors.New("interrupted")

// IsInterrupted reports whether err is Run's error for an interrupted run.
func IsInterrupted(err error) bool { return errors.Is(err, errInterrupted) }
