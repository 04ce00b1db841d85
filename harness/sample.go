package harness

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// One sample, whatever the server under test (server.go): started or
// reached, connected to, proven populated, read at both window edges,
// stopped, and its figures and window turned into a results.Sample.

// sample takes sample i of srv; every failure is recorded in it, not
// returned.
func sample(ctx context.Context, opts Options, srv server, i int, job Job) results.Sample {
	sc := opts.Scenario
	s := results.Sample{
		Backend: job.Backend, FDs: job.FDs, Idle: job.Conns() - job.Active, Active: job.Active,
		Repetition: job.Rep, Mode: sc.Mode, Size: sc.Size, Churn: job.Churn,
	}
	if job.Loops > 1 {
		s.Loops = job.Loops
	}
	if sc.Mode == traffic.Open {
		s.RateRequested = job.Rate
	}
	if job.Active > job.Conns() {
		return failed(s, results.StatusUnsupported, "%d active connections need at least %d fds (the server watches %d of its own)", job.Active, job.Active+results.ServerOwnFDs, results.ServerOwnFDs)
	}
	h, err := srv.start(ctx, i, job)
	if err != nil {
		return failed(s, statusOf(err), "%v", err)
	}
	cfg := loadConfig(opts, job, h)
	if err := srv.ready(ctx, &cfg, &s); err != nil {
		srv.stop()
		return failed(s, statusOf(err), "%v", err)
	}
	var start, end edge
	var startErr, endErr error
	cfg.OnConnected = func(ctx context.Context) error { return srv.populated(ctx, job, phase(opts, job)) }
	cfg.OnWindowStart = func() { start, startErr = srv.edge(false) }
	cfg.OnWindowEnd = func() { end, endErr = srv.edge(true) }
	res, err := loadgen.Run(ctx, cfg)
	early, stopErr := srv.stop()
	switch {
	case err != nil:
		if early == "" && stopErr != nil {
			// The server was ending as the load generator failed (its
			// listener closed, not yet exited): how the stop found it
			// says more than the refused connection.
			early = stopErr.Error()
		}
		if early != "" {
			return failed(s, results.StatusFailed, "%s; load generator: %v", early, err)
		}
		return failed(s, results.StatusFailed, "load generator: %v", err)
	case startErr != nil:
		return failed(s, results.StatusFailed, "%v", startErr)
	case endErr != nil:
		return failed(s, results.StatusFailed, "%v", endErr)
	}
	fillLoad(&s, res)
	fault := srv.measure(&s, job, res, start, end)
	return judge(s, sc, job, res, fault, stopErr)
}

// failed returns s with its status and the reason.
func failed(s results.Sample, status, format string, args ...any) results.Sample {
	s.Status, s.Reason = status, fmt.Sprintf(format, args...)
	return s
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
		Target: h.Addr, Conns: job.Conns(), Active: job.Active, Mode: sc.Mode, Rate: job.Rate,
		Size: sc.Size, KeepAlive: sc.KeepAlive.D(), Warmup: sc.Warmup.D(), Duration: sc.Duration.D(),
		Timeout: opts.Timeout, Proto: sc.Proto, ServerNoFile: h.NoFileSoft, Churn: job.Churn,
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

// judge sets s's status from what was measured: fault is why the window
// does not measure the point (server.measure), stopErr the server's
// failure to stop cleanly, if any.
func judge(s results.Sample, sc results.Scenario, job Job, res *loadgen.Result, fault string, stopErr error) results.Sample {
	if fault != "" {
		// The window did not measure what the point claims: never plotted.
		// Errors the load generator counted often say why (wrong replies
		// close connections, which then miss at an edge).
		if len(s.Errors) > 0 {
			fault += "; " + errorSummary(s.Errors, res.ErrorExamples)
		}
		return failed(s, results.StatusFailed, "%s", fault)
	}
	if stopErr != nil {
		s.Errors[results.ErrKindServerExit]++
		s.Reason = stopErr.Error()
	}
	cpuFull := sc.Mode == traffic.Open && !busyPolls(job.Backend) && max(s.Server.CPUUtil/loopCores(sc, job), s.Server.CPUSetBusy) >= results.SaturatedCPU
	switch {
	case len(s.Errors) > 0 && !overrun(s, res, cpuFull):
		s.Status = results.StatusErrors
		if s.Reason == "" {
			s.Reason = errorSummary(s.Errors, res.ErrorExamples)
		}
	case res.Saturated:
		s.Status = results.StatusSaturated
		s.Reason = fmt.Sprintf("achieved %.0f of %.0f req/s requested (< %.0f%%)", res.RateAchieved, res.RateRequested, traffic.SaturatedBelow*100)
		if n := s.Errors[results.ErrKindUnanswered]; n > 0 {
			s.Reason += fmt.Sprintf(", %d requests still unanswered at the drain's end with the server's CPU full: it could not keep up", n)
		}
	case cpuFull:
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

// overrun reports whether the sample's only errors are requests still
// unanswered at the drain's end of an open-loop window whose rate was not
// met while the server's CPU was full: a server that cannot keep up
// leaves a backlog (under churn every request waits for its connection to
// be accepted), which is saturation, a measurement, not a wrong answer.
// A server that answers nothing with its CPU idle, or loses requests
// while it keeps up, still counts errors.
func overrun(s results.Sample, res *loadgen.Result, cpuFull bool) bool {
	return res.Saturated && cpuFull && len(s.Errors) == 1 && s.Errors[results.ErrKindUnanswered] > 0
}

// windowFault checks the conditions a sample claims, at both edges of its
// window: every connection accepted before the window (no accept inside
// it), and exactly the job's connections open — and, where the server
// counts them, exactly the job's fds watched — at its start and its end.
// It returns why the window is not a measurement of the point, or "".
func windowFault(job Job, h wire.Hello, start, end wire.Report) string {
	conns := int64(job.Conns())
	var faults []string
	if reason := loopsFault(h, start, end); reason != "" {
		faults = append(faults, reason)
	}
	if job.Churn {
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
		if want := watchedFDs(job, h); h.LoopThread && edge.r.Watched != want {
			faults = append(faults, fmt.Sprintf("%d of %d fds watched at the window's %s", edge.r.Watched, want, edge.name))
		}
	}
	return strings.Join(faults, "; ")
}

// watchedFDs is how many fds the server that said h watches at job's
// point: the connections, and a listener and the wake-up eventfd per
// poller (one, or one per loop: backends.Sharing.Pollers).
func watchedFDs(job Job, h wire.Hello) int64 {
	pollers := 1
	if b, err := lineup.Lookup(h.Backend); err == nil {
		pollers = b.Sharing.Pollers(h.LoopCount())
	}
	return results.WatchedFDs(job.FDs, pollers)
}

// loopsFault checks a server of several loops at the window's edges: the
// reports list every loop, each running on the same thread at both (its
// wake-ups and CPU are that thread's counts), or it says why not.
func loopsFault(h wire.Hello, start, end wire.Report) string {
	n := h.LoopCount()
	if n < 2 {
		return ""
	}
	if len(start.Loops) != n || len(end.Loops) != n {
		return fmt.Sprintf("the server runs %d loops but reported %d and %d at the window's edges", n, len(start.Loops), len(end.Loops))
	}
	for i := range end.Loops {
		if s, e := start.Loops[i].TID, end.Loops[i].TID; s == 0 || s != e {
			return fmt.Sprintf("loop %d ran on thread %d at the window's start and %d at its end; want one thread, running", i, s, e)
		}
	}
	return ""
}

// loopCores is how many cores the server's loops can use at once: one per
// loop, up to the server's CPUs (every CPU when unpinned). Their summed
// CPU time over the window is saturated at that many cores.
func loopCores(sc results.Scenario, job Job) float64 {
	cores := runtime.NumCPU()
	if set, err := cpuset.Parse(sc.ServerCPUs); err == nil && !set.Empty() {
		cores = set.Len()
	}
	return float64(max(1, min(job.Loops, cores)))
}

// fillLoad copies the load generator's result into s: the window, the
// requests, latency, errors and the generator's own cost.
func fillLoad(s *results.Sample, res *loadgen.Result) {
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
	if res.Unanswered > 0 {
		s.Errors[results.ErrKindUnanswered] = res.Unanswered
	}
	s.Client = results.ClientDelta{
		CPUNs: res.ClientCPUNs, CPUNsPerReq: res.ClientCPUPerRq,
		ConnectSeconds: res.ConnectSeconds, SetupSeconds: res.PopulateSeconds,
	}
}

// measureReports fills s's server figures from a muxbench server's own
// reports at the window's edges (child and remote servers), dividing the
// per-request figures by requests, and returns windowFault's verdict.
func measureReports(s *results.Sample, job Job, h wire.Hello, start, end wire.Report, requests float64) string {
	s.Watched = end.Watched
	s.MaxWatchedFD = end.MaxWatchedFD
	results.AddServerErrors(s.Errors, start, end)
	s.Server = results.ServerDeltaOf(h, start, end, requests)
	return windowFault(job, h, start, end)
}

// errorSummary is a sample's reason for its errors: the count of each
// kind, then the first error of each kind the load generator quoted (a
// request/reply protocol's wrong reply: what the server said).
func errorSummary(errs map[string]int64, examples map[string]string) string {
	r := &loadgen.Result{Errors: errs}
	s := "errors: " + r.ErrorString()
	kinds := slices.Sorted(maps.Keys(examples))
	for _, k := range kinds {
		s += fmt.Sprintf("; first %s: %s", k, examples[k])
	}
	return s
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
