// Package harness runs a scenario: for every repetition, point and backend
// (backends interleaved within a repetition, so drift hits all alike) it
// starts `muxbench serve` as a child process pinned to the server CPUs,
// drives it with the in-process load generator pinned to the client CPUs,
// samples the server's counters and CPU at the measured window's start and
// end, and records a results.Sample. Points a backend cannot run are
// recorded as unsupported with the reason; a server that dies or hangs is
// recorded as failed, and the sweep goes on. The results directory is
// rewritten after every sample, so an interrupted run keeps what it finished.
package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/server"
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
}

// Progress receives the harness's progress: Plan once, then Start and Done
// for every sample.
type Progress interface {
	Plan(total int, estimate time.Duration)
	Start(i int, p Job)
	Done(i int, p Job, s results.Sample)
}

// Job is one sample to take.
type Job struct {
	Backend string
	FDs     int
	Active  int
	Rep     int
}

// Conns is the number of connections the job opens: every fd but the listener.
func (j Job) Conns() int { return j.FDs - 1 }

// Jobs lists the samples of a scenario in run order: repetition, then
// active connections, then fds, then backend innermost.
func Jobs(sc results.Scenario) []Job {
	var jobs []Job
	for rep := 0; rep < sc.Repetitions; rep++ {
		for _, active := range sc.Active {
			for _, fds := range sc.FDs {
				for _, b := range sc.Backends {
					jobs = append(jobs, Job{Backend: b, FDs: fds, Active: active, Rep: rep})
				}
			}
		}
	}
	return jobs
}

// timing is the scenario's durations, parsed.
type timing struct {
	warmup, duration, keepalive time.Duration
}

func parseTiming(sc results.Scenario) (timing, error) {
	var t timing
	var err error
	if t.warmup, err = time.ParseDuration(sc.Warmup); err != nil {
		return t, fmt.Errorf("scenario %s: warmup %q: %w", sc.Name, sc.Warmup, err)
	}
	if t.duration, err = time.ParseDuration(sc.Duration); err != nil {
		return t, fmt.Errorf("scenario %s: duration %q: %w", sc.Name, sc.Duration, err)
	}
	if sc.KeepAlive != "" {
		if t.keepalive, err = time.ParseDuration(sc.KeepAlive); err != nil {
			return t, fmt.Errorf("scenario %s: keepalive %q: %w", sc.Name, sc.KeepAlive, err)
		}
	}
	return t, nil
}

// saturatedCPU is the server CPU utilisation (of one core) from which a
// point is marked saturated even though the rate was met.
const saturatedCPU = 0.95

// connectRate is the load generator's default connect rate, used for estimates.
const connectRate = 25000

// Estimate is how long the scenario should take: warm-up, window, opening
// connections and about half a second of server start and stop per sample.
func Estimate(sc results.Scenario) time.Duration {
	t, err := parseTiming(sc)
	if err != nil {
		return 0
	}
	var d time.Duration
	for _, j := range Jobs(sc) {
		d += t.warmup + t.duration + 500*time.Millisecond +
			time.Duration(float64(j.Conns())/connectRate*float64(time.Second))
	}
	return d
}

// Run runs the scenario and returns the record. When ctx ends (Ctrl-C) it
// kills the current server, marks the run incomplete, writes what it has and
// returns the record with ctx's error.
func Run(ctx context.Context, opts Options) (*results.Run, error) {
	sc := opts.Scenario
	t, err := parseTiming(sc)
	if err != nil {
		return nil, err
	}
	if len(opts.ServerCommand) == 0 {
		return nil, errors.New("harness: no server command")
	}
	clientCPUs, err := cpuset.Parse(sc.ClientCPUs)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: client_cpus: %w", sc.Name, err)
	}
	if err := clientCPUs.PinProcess(); err != nil {
		return nil, err
	}
	run := &results.Run{
		Schema: results.SchemaVersion, Tool: "muxbench",
		Started: time.Now().UTC(), Env: opts.Env, Scenario: sc,
		Incomplete: true,
	}
	run.Env.ServerCPUs, run.Env.ClientCPUs = sc.ServerCPUs, clientCPUs.String()
	save := func() error {
		if opts.OutDir == "" {
			return nil
		}
		return results.WriteDir(opts.OutDir, run)
	}
	if err := save(); err != nil {
		return nil, err
	}
	jobs := Jobs(sc)
	if opts.Progress != nil {
		opts.Progress.Plan(len(jobs), Estimate(sc))
	}
	for i, job := range jobs {
		if ctx.Err() != nil {
			break
		}
		if opts.Progress != nil {
			opts.Progress.Start(i, job)
		}
		s := sample(ctx, opts, t, job)
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

// sample takes one sample; every failure is recorded in it, not returned.
func sample(ctx context.Context, opts Options, t timing, job Job) results.Sample {
	sc := opts.Scenario
	s := results.Sample{
		Backend: job.Backend, FDs: job.FDs, Idle: job.Conns() - job.Active, Active: job.Active,
		Repetition: job.Rep, Mode: sc.Mode, Size: sc.Size,
	}
	if sc.Mode == loadgen.ModeOpen {
		s.RateRequested = sc.Rate
	}
	fail := func(status, format string, args ...any) results.Sample {
		s.Status, s.Reason = status, fmt.Sprintf(format, args...)
		return s
	}
	if job.Active > job.Conns() {
		return fail(results.StatusUnsupported, "%d active connections need at least %d fds", job.Active, job.Active+1)
	}
	argv := append(append([]string(nil), opts.ServerCommand...),
		"-backend", job.Backend, "-addr", "127.0.0.1:0", "-proto", sc.Proto, "-cpus", sc.ServerCPUs)
	srv, err := startChild(argv)
	if err != nil {
		return fail(results.StatusFailed, "%v", err)
	}
	defer srv.kill() // after a clean stop this only reaps
	stopWatch := srv.watchContext(ctx)
	defer stopWatch()

	h := srv.hello
	if need := h.OpenFDs + job.Conns(); h.MaxFD > 0 && need > h.MaxFD {
		srv.stop()
		return fail(results.StatusUnsupported,
			"%s: %d connections need fd numbers up to %d, past its limit of %d (FD_SETSIZE); use poll or epoll",
			job.Backend, job.Conns(), need-1, h.MaxFD)
	}
	if need := uint64(h.OpenFDs + job.Conns()); h.NoFileSoft > 0 && need > h.NoFileSoft {
		srv.stop()
		return fail(results.StatusUnsupported,
			"server needs %d fds, RLIMIT_NOFILE is %d: lower fds or raise the limit (ulimit -n; hard limit %d)",
			need, h.NoFileSoft, h.NoFileHard)
	}
	cfg := loadgen.Config{
		Target: h.Addr, Conns: job.Conns(), Active: job.Active, Mode: sc.Mode, Rate: sc.Rate,
		Size: sc.Size, KeepAlive: t.keepalive, Warmup: t.warmup, Duration: t.duration,
		Timeout: opts.Timeout, Proto: sc.Proto, ServerNoFile: h.NoFileSoft,
	}
	if err := loadgen.Check(cfg); err != nil {
		srv.stop()
		return fail(results.StatusUnsupported, "%v", err)
	}
	var start, end server.Report
	var startErr, endErr error
	cfg.OnWindowStart = func() { start, startErr = srv.report() }
	cfg.OnWindowEnd = func() { end, endErr = srv.report() }
	res, err := loadgen.Run(ctx, cfg)
	died := srv.exitedEarly() // before stop, which ends it either way
	stopErr := srv.stop()
	switch {
	case err != nil:
		if died {
			return fail(results.StatusFailed, "server died (%v); load generator: %v", stopErr, err)
		}
		return fail(results.StatusFailed, "load generator: %v", err)
	case startErr != nil:
		return fail(results.StatusFailed, "%v", startErr)
	case endErr != nil:
		return fail(results.StatusFailed, "%v", endErr)
	}
	fill(&s, res, start, end)
	if stopErr != nil {
		s.Errors["server_exit"]++
		s.Reason = stopErr.Error()
	}
	switch {
	case len(s.Errors) > 0:
		s.Status = results.StatusErrors
		if s.Reason == "" {
			s.Reason = errorSummary(s.Errors)
		}
	case res.Saturated:
		s.Status = results.StatusSaturated
		s.Reason = fmt.Sprintf("achieved %.0f of %.0f req/s requested (< 95%%)", res.RateAchieved, res.RateRequested)
	case s.Server.CPUUtil >= saturatedCPU:
		// The rate was met, but only by answering several requests per
		// wait: CPU per request is then just 1/rate, not the backend's cost.
		s.Status = results.StatusSaturated
		s.Reason = fmt.Sprintf("server CPU %.0f%% busy: CPU per request is capped at 1/rate (%.0f µs); the cost per wait call and latency show the rest",
			s.Server.CPUUtil*100, 1e6/max(s.RateAchieved, 1))
	default:
		s.Status = results.StatusOK
	}
	return s
}

// exitedEarly reports whether the server process has already exited.
func (c *child) exitedEarly() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// fill copies the load generator's result and the server's counter deltas
// into s.
func fill(s *results.Sample, res *loadgen.Result, start, end server.Report) {
	s.WindowNs = res.WindowNs
	s.RateAchieved = res.RateAchieved
	s.Requests = res.Requests
	s.Latency = results.Latency(res.Latency)
	s.ServiceLatency = results.Latency(res.ServiceLatency)
	s.Histogram = res.Histogram
	s.Errors = map[string]int64{}
	for k, v := range res.Errors {
		if v > 0 {
			s.Errors[k] = v
		}
	}
	// Connections the server refused (select past FD_SETSIZE) count since
	// the server started: they happen while connecting, before the window.
	if end.ConnsRejected > 0 {
		s.Errors["rejected"] = int64(end.ConnsRejected)
	}
	if n := end.Errors.Protocol - start.Errors.Protocol; n > 0 {
		s.Errors["server_protocol"] = int64(n)
	}
	d := results.ServerDelta{
		UserNs:        end.UserNs - start.UserNs,
		SysNs:         end.SysNs - start.SysNs,
		MaxRSSKiB:     end.MaxRSSKiB,
		VolCtxSw:      end.VolCtxSw - start.VolCtxSw,
		InvolCtxSw:    end.InvolCtxSw - start.InvolCtxSw,
		Waits:         int64(end.Waits - start.Waits),
		Events:        int64(end.Events - start.Events),
		Accepts:       int64(end.Accepts - start.Accepts),
		Reads:         int64(end.Reads - start.Reads),
		Writes:        int64(end.Writes - start.Writes),
		ReadEAGAIN:    int64(end.ReadEAGAIN - start.ReadEAGAIN),
		WriteEAGAIN:   int64(end.WriteEAGAIN - start.WriteEAGAIN),
		InterestMods:  int64(end.InterestMods - start.InterestMods),
		BytesIn:       int64(end.BytesIn - start.BytesIn),
		BytesOut:      int64(end.BytesOut - start.BytesOut),
		LoopCPUNs:     end.LoopCPUNs - start.LoopCPUNs,
		ConnsOpen:     end.ConnsOpen,
		ConnsRejected: int64(end.ConnsRejected),
	}
	cpu := float64(d.UserNs + d.SysNs)
	if res.Requests > 0 {
		rq := float64(res.Requests)
		d.CPUNsPerReq = cpu / rq
		d.LoopCPUNsPerReq = float64(d.LoopCPUNs) / rq
		d.WaitsPerReq = float64(d.Waits) / rq
		d.SyscallsPerReq = float64(d.Waits+d.Reads+d.Writes+d.InterestMods) / rq
	}
	if w := end.MonoNs - start.MonoNs; w > 0 {
		d.CPUUtil = cpu / float64(w)
	}
	if d.Waits > 0 {
		d.EventsPerWait = float64(d.Events) / float64(d.Waits)
	}
	s.Server = d
	s.Client = results.ClientDelta{
		CPUNs: res.ClientCPUNs, CPUNsPerReq: res.ClientCPUPerRq, ConnectSeconds: res.ConnectSeconds,
	}
}

func errorSummary(errs map[string]int64) string {
	r := &loadgen.Result{Errors: errs}
	return "errors: " + r.ErrorString()
}
