package harness

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// One sample: a server child, the load generator, the window's edges
// checked and its counters turned into a results.Sample.

// sample takes sample i; every failure is recorded in it, not returned.
func sample(ctx context.Context, opts Options, i int, job Job) results.Sample {
	sc := opts.Scenario
	s := results.Sample{
		Backend: job.Backend, FDs: job.FDs, Idle: job.Conns() - job.Active, Active: job.Active,
		Repetition: job.Rep, Mode: sc.Mode, Size: sc.Size,
	}
	if sc.Mode == traffic.Open {
		s.RateRequested = sc.Rate
	}
	if job.Active > job.Conns() {
		return failed(s, results.StatusUnsupported, "%d active connections need at least %d fds (the server watches %d of its own)", job.Active, job.Active+results.ServerOwnFDs, results.ServerOwnFDs)
	}
	if opts.Remote != nil {
		return opts.Remote.sample(ctx, opts, i, job, s)
	}
	if reason := lineup.Unsupported(job.Backend); reason != "" {
		return failed(s, results.StatusUnsupported, "%s", reason)
	}
	return childSample(ctx, opts, job, s)
}

// failed returns s with its status and the reason.
func failed(s results.Sample, status, format string, args ...any) results.Sample {
	s.Status, s.Reason = status, fmt.Sprintf(format, args...)
	return s
}

// childSample takes a sample of a server child started for it.
func childSample(ctx context.Context, opts Options, job Job, s results.Sample) results.Sample {
	sc := opts.Scenario
	argv := append(append([]string(nil), opts.ServerCommand...),
		"-backend", job.Backend, "-addr", "127.0.0.1:0", "-proto", string(sc.Proto), "-cpus", sc.ServerCPUs)
	if sc.ServerSendBuffer > 0 {
		argv = append(argv, "-sndbuf", strconv.Itoa(sc.ServerSendBuffer))
	}
	srv, err := startChild(argv)
	if err != nil {
		return failed(s, results.StatusFailed, "%v", err)
	}
	defer srv.kill() // after a clean stop this only reaps
	stopWatch := srv.watchContext(ctx)
	defer stopWatch()

	h := srv.hello
	if reason := limitFault(job, h); reason != "" {
		srv.stop()
		return failed(s, results.StatusUnsupported, "%s", reason)
	}
	cfg := loadConfig(opts, job, h)
	if err := loadgen.Check(cfg); err != nil {
		srv.stop()
		return failed(s, results.StatusUnsupported, "%v", err)
	}
	var start, end wire.Report
	var startErr, endErr error
	memBefore, memErr := procfs.ReadMemory(h.PID)
	var memory *results.MemoryDelta
	cfg.OnConnected = func(ctx context.Context) error {
		err := awaitPopulated(ctx, srv.report, childPopulation(job.Conns()), phase(opts, job))
		if err == nil && memErr == nil {
			if after, err := procfs.ReadMemory(h.PID); err == nil {
				memory = memoryDelta(memBefore, after, job.Conns())
			}
		}
		return err
	}
	serverCPUs, _ := cpuset.Parse(sc.ServerCPUs)   // validated with the scenario
	var statStart, statEnd map[int]procfs.CPUTicks // nil if unreadable: busy then stays absent
	cfg.OnWindowStart = func() { statStart, _ = procfs.ProcStat(); start, startErr = srv.report() }
	cfg.OnWindowEnd = func() { end, endErr = srv.report(); statEnd, _ = procfs.ProcStat() }
	res, err := loadgen.Run(ctx, cfg)
	died := srv.exitedEarly() // before stop, which ends it either way
	stopErr := srv.stop()
	switch {
	case err != nil:
		if died {
			return failed(s, results.StatusFailed, "%v; load generator: %v", srv.exitReason(), err)
		}
		return failed(s, results.StatusFailed, "load generator: %v", err)
	case startErr != nil:
		return failed(s, results.StatusFailed, "%v", startErr)
	case endErr != nil:
		return failed(s, results.StatusFailed, "%v", endErr)
	}
	fill(&s, res, h, start, end, float64(res.Requests))
	s.Memory = memory
	if cpus := serverCPUs.CPUs(); len(cpus) > 0 {
		s.Server.CPUSetBusy, _ = procfs.BusyFraction(statStart, statEnd, cpus)
	}
	return judge(s, sc, job, res, h, start, end, stopErr)
}

// limitFault is why the server cannot hold the job's connections (its
// backend's fd limit, its RLIMIT_NOFILE), or "".
func limitFault(job Job, h wire.Hello) string {
	if need := h.OpenFDs + job.Conns(); h.MaxFD > 0 && need > h.MaxFD {
		return fmt.Sprintf("%s: %d connections need fd numbers up to %d, past its limit of %d (FD_SETSIZE); use poll or epoll",
			job.Backend, job.Conns(), need-1, h.MaxFD)
	}
	if need := uint64(h.OpenFDs + job.Conns()); h.NoFileSoft > 0 && need > h.NoFileSoft {
		return fmt.Sprintf("server needs %d fds, RLIMIT_NOFILE is %d: lower fds or raise the limit (ulimit -n; hard limit %d)",
			need, h.NoFileSoft, h.NoFileHard)
	}
	return ""
}

// loadConfig is the load generator's config for job against the server
// that said h.
func loadConfig(opts Options, job Job, h wire.Hello) loadgen.Config {
	sc := opts.Scenario
	return loadgen.Config{
		Target: h.Addr, Conns: job.Conns(), Active: job.Active, Mode: sc.Mode, Rate: sc.Rate,
		Size: sc.Size, KeepAlive: sc.KeepAlive.D(), Warmup: sc.Warmup.D(), Duration: sc.Duration.D(),
		Timeout: opts.Timeout, Proto: sc.Proto, ServerNoFile: h.NoFileSoft, Churn: sc.Churn,
		Path: sc.Path, Line: sc.Line, Expect: sc.Expect,
	}
}

// phase reports the accepted count to a Progress that hears phases.
func phase(opts Options, job Job) func(open int) {
	return func(open int) {
		if r, ok := opts.Progress.(PhaseReporter); ok {
			r.Phase("accepted", open, job.Conns())
		}
	}
}

// judge checks the window's edges and sets s's status from what was
// measured; stopErr is the server's failure to stop cleanly, if any.
func judge(s results.Sample, sc results.Scenario, job Job, res *loadgen.Result, h wire.Hello, start, end wire.Report, stopErr error) results.Sample {
	if reason := windowFault(job, sc.Churn, h, start, end); reason != "" {
		// The window did not measure what the point claims: never plotted.
		return failed(s, results.StatusFailed, "%s", reason)
	}
	if stopErr != nil {
		s.Errors[results.ErrKindServerExit]++
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
		s.Reason = fmt.Sprintf("achieved %.0f of %.0f req/s requested (< %.0f%%)", res.RateAchieved, res.RateRequested, traffic.SaturatedBelow*100)
	case sc.Mode == traffic.Open && !busyPolls(job.Backend) && max(s.Server.CPUUtil, s.Server.CPUSetBusy) >= results.SaturatedCPU:
		// The rate was met, but only by answering several requests per
		// wait: CPU per request is then just 1/rate, not the backend's
		// cost. The server's CPU set counts as busy too when the kernel's
		// work for it (softirq) or anything else fills it. (In closed loop
		// the server is always busy; there CPU per request is the
		// measurement; a busy-polling loop's CPU is full by design, so
		// only the achieved rate tells whether it kept up.)
		s.Status = results.StatusSaturated
		busy := fmt.Sprintf("server %s %.0f%% busy", s.Server.CPUScope, s.Server.CPUUtil*100)
		if s.Server.CPUSetBusy > 0 { // absent for a remote server: its CPUs are not this machine's
			busy = fmt.Sprintf("server CPU %s %.0f%% busy (%s %.0f%%)", sc.ServerCPUs, s.Server.CPUSetBusy*100, s.Server.CPUScope, s.Server.CPUUtil*100)
		}
		s.Reason = fmt.Sprintf("%s: CPU per request is capped at 1/rate, %.0f µs", busy, 1e6/max(s.RateAchieved, 1))
	default:
		s.Status = results.StatusOK
	}
	return s
}

// windowFault checks the conditions a sample claims, at both edges of its
// window: every connection accepted before the window (no accept inside
// it), and exactly the job's connections open — and, where the server
// counts them, exactly the job's fds watched — at its start and its end.
// It returns why the window is not a measurement of the point, or "".
func windowFault(job Job, churn bool, h wire.Hello, start, end wire.Report) string {
	conns := int64(job.Conns())
	var faults []string
	if churn {
		// Accepting is the work. At an edge an active slot may have no
		// connection open (between two), or two: the server can accept
		// the slot's next connection before it reads the close of the last.
		active := int64(job.Active)
		for _, edge := range []wire.Report{start, end} {
			if open := edge.ConnsOpen; open > conns+active || open < conns-active {
				faults = append(faults, fmt.Sprintf("%d connections open at a window edge; want %d idle plus 0 to %d churning", open, conns-active, 2*active))
			}
		}
		return strings.Join(faults, "; ")
	}
	if n := end.Accepts - start.Accepts; n > 0 {
		faults = append(faults, fmt.Sprintf("%d accepts inside the measured window", n))
	}
	for _, edge := range []struct {
		name string
		r    wire.Report
	}{{"start", start}, {"end", end}} {
		if edge.r.ConnsOpen != conns {
			faults = append(faults, fmt.Sprintf("%d of %d connections open at the window's %s", edge.r.ConnsOpen, conns, edge.name))
		}
		if h.LoopThread && edge.r.Watched != int64(job.FDs) {
			faults = append(faults, fmt.Sprintf("%d of %d fds watched at the window's %s", edge.r.Watched, job.FDs, edge.name))
		}
	}
	return strings.Join(faults, "; ")
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
// into s; the server's per-request figures divide by requests.
func fill(s *results.Sample, res *loadgen.Result, h wire.Hello, start, end wire.Report, requests float64) {
	s.WindowNs = res.WindowNs
	s.RateAchieved = res.RateAchieved
	s.Requests = res.Requests
	s.Latency = results.Latency(res.Latency)
	s.ServiceLatency = results.Latency(res.ServiceLatency)
	s.Histogram = res.Histogram
	s.Watched = end.Watched
	s.MaxWatchedFD = end.MaxWatchedFD
	s.Errors = map[string]int64{}
	for k, v := range res.Errors {
		if v > 0 {
			s.Errors[k] = v
		}
	}
	if res.Unanswered > 0 {
		s.Errors[results.ErrKindUnanswered] = res.Unanswered
	}
	results.AddServerErrors(s.Errors, start, end)
	s.Server = results.ServerDeltaOf(h, start, end, requests)
	s.Client = results.ClientDelta{
		CPUNs: res.ClientCPUNs, CPUNsPerReq: res.ClientCPUPerRq,
		ConnectSeconds: res.ConnectSeconds, SetupSeconds: res.PopulateSeconds,
	}
}

func errorSummary(errs map[string]int64) string {
	r := &loadgen.Result{Errors: errs}
	return "errors: " + r.ErrorString()
}

// memoryDelta is what n connections cost between two snapshots.
func memoryDelta(before, after procfs.Memory, n int) *results.MemoryDelta {
	d := &results.MemoryDelta{
		Conns:       n,
		SlabBytes:   after.SlabBytes - before.SlabBytes,
		EpitemBytes: after.EpitemBytes - before.EpitemBytes,
		TCPMemBytes: after.TCPMemBytes - before.TCPMemBytes,
		ServerRSS:   after.RSSBytes - before.RSSBytes,
	}
	if n > 0 {
		d.BytesPerConn = float64(d.SlabBytes+d.TCPMemBytes+d.ServerRSS) / float64(n)
	}
	return d
}

// busyPolls reports whether the backend's loop spins (epoll-busy), so its
// CPU is full whatever the load.
func busyPolls(backend string) bool {
	b, err := lineup.Lookup(backend)
	return err == nil && b.Poller != nil && b.Poller.BusyPoll
}
