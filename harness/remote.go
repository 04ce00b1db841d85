package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/loadfile"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// A remote sample: a server the harness did not start (muxbench run
// -server), sampled through its TCP control port with the same population
// proof and window checks as a child, and, when several generators share
// each point, at fixed wall-clock slots they all compute alike.

// Remote is a server the harness did not start — `muxbench serve -control
// tcp:ADDR` on another host — and this generator's part in driving it.
// The harness never stops it and reads nothing of its host: no memory, no
// load of its CPU set; only what its control port reports.
type Remote struct {
	// Addr is where this generator reaches the server's listener,
	// HOST:PORT (its hello may name a wildcard or another interface).
	Addr string
	// Client is the open control connection; Hello what it said before
	// the run.
	Client *wire.Client
	Hello  wire.Hello
	// Generators and Index: this generator opens share Index of
	// Generators of every point's connections, active connections and
	// rate (the first total%Generators shares take one more). 1 and 0:
	// the whole point.
	Generators, Index int
	// StartAt, if not zero, is when the first sample's slot starts: every
	// sample then has a fixed slot (Schedule), so generators on several
	// hosts given the same StartAt and scenario open, measure and close
	// together. Required when Generators > 1.
	StartAt time.Time
	// Setup is every slot's time for opening the connections; 0 means
	// SetupTime of the point's connections.
	Setup time.Duration
	// Host names this generator in its load files.
	Host string

	slots []Slot
}

// LoadsDir is the subdirectory of a remote run's results directory that
// holds one mergeable load file per measured sample (loads/NNN.json, NNN
// the sample's index): `muxbench merge` combines several generators'
// shares of a run from them.
const LoadsDir = "loads"

// LoadFile is the path of sample i's load file in a remote run's dir.
func LoadFile(dir string, i int) string {
	return filepath.Join(dir, LoadsDir, fmt.Sprintf("%03d.json", i))
}

// Slot is one sample's fixed place in a scheduled remote run.
type Slot struct {
	Start    time.Time // connecting begins
	WarmupAt time.Time // every generator's connections are open; warm-up begins
	Hold     time.Time // connections stay open until then (the window's end plus a margin)
	End      time.Time // every connection closed; the next slot starts
}

// Slot margins: how long after the window's end connections stay open,
// more than the drain (1 s) and the generators' clocks differ; and how
// long closing them may take before the next slot connects.
const (
	slotLinger = time.Second
	slotClose  = time.Second
)

// SetupTime is a slot's default time for opening conns connections and
// having the server accept them: 2 s plus 200 µs per connection, a
// quarter of the rate a 2-CPU machine reaches with poll at 20,000 fds.
func SetupTime(conns int) time.Duration {
	return 2*time.Second + time.Duration(conns)*200*time.Microsecond
}

// Schedule lists every sample's slot from r.StartAt, one after another in
// Jobs order. A sample whose outcome is known from the scenario and the
// server's hello alone (more active connections than it has, fds past the
// backend's limit) gets an empty slot: every generator skips it alike.
func (r *Remote) Schedule(sc results.Scenario) []Slot {
	at := r.StartAt
	var slots []Slot
	for _, j := range Jobs(sc) {
		s := Slot{Start: at, WarmupAt: at, Hold: at, End: at}
		if j.Active <= j.Conns() && limitFault(j, r.Hello) == "" {
			setup := r.Setup
			if setup == 0 {
				setup = SetupTime(j.Conns())
			}
			s.WarmupAt = at.Add(setup)
			s.Hold = s.WarmupAt.Add(sc.Warmup.D() + sc.Duration.D() + slotLinger)
			s.End = s.Hold.Add(slotClose + time.Duration(j.Conns())*20*time.Microsecond)
		}
		slots = append(slots, s)
		at = s.End
	}
	return slots
}

// record is what the run records of the server and this generator.
func (r *Remote) record() *results.RemoteServer {
	h := r.Hello
	h.Token = "" // a secret of the server's, not a result
	rec := &results.RemoteServer{Addr: r.Addr, Hello: h, Generators: max(r.Generators, 1), GeneratorIndex: r.Index}
	if !r.StartAt.IsZero() {
		at := r.StartAt.UTC()
		rec.StartAt = &at
	}
	return rec
}

// idleTimeout bounds the wait, before an unscheduled sample, for the
// server to have closed the last sample's connections.
const idleTimeout = 10 * time.Second

// awaitIdle waits until the server has no connection open.
func (r *Remote) awaitIdle(ctx context.Context) error {
	deadline := time.Now().Add(idleTimeout)
	for {
		rep, err := r.Client.Stats()
		if err != nil {
			return err
		}
		if rep.ConnsOpen == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server still has %d connections open %v after the last sample: another client is connected to it (a generator of a shared run needs -start-at)", rep.ConnsOpen, idleTimeout)
		}
		if err := sleepUntil(ctx, time.Now().Add(populatePoll)); err != nil {
			return err
		}
	}
}

// sleepUntil waits until t or ctx's end.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// sample takes sample i of the remote server.
func (r *Remote) sample(ctx context.Context, opts Options, i int, job Job, s results.Sample) results.Sample {
	sc := opts.Scenario
	if reason := limitFault(job, r.Hello); reason != "" {
		return failed(s, results.StatusUnsupported, "%s", reason)
	}
	// A server restarted since (a new process, a new token) refuses us.
	h, err := r.Client.Hello()
	if err != nil {
		return failed(s, results.StatusFailed, "server's control port: %v", err)
	}
	cfg := loadConfig(opts, job, h)
	cfg.Target = r.Addr
	if cfg, err = cfg.Share(max(r.Generators, 1), r.Index); err != nil {
		return failed(s, results.StatusUnsupported, "%v", err)
	}
	if err := loadgen.Check(cfg); err != nil {
		return failed(s, results.StatusUnsupported, "%v", err)
	}
	if s.RateRequested > 0 {
		s.RateRequested = cfg.Rate // this share's, as its requests and latencies are
	}
	pop := population{conns: job.Conns(), shared: r.Generators > 1}
	var slot *Slot
	if r.slots != nil {
		slot = &r.slots[i]
		if err := sleepUntil(ctx, slot.Start); err != nil {
			return failed(s, results.StatusFailed, "%v", err)
		}
		if late := time.Since(slot.WarmupAt); late > 0 {
			return failed(s, results.StatusFailed, "this generator reached the sample %.3f s after its slot's warm-up was due (%s): the previous sample overran its slot", late.Seconds(), slot.WarmupAt.UTC().Format(time.RFC3339Nano))
		}
		pop.deadline = slot.WarmupAt
		pop.late = fmt.Sprintf("by the slot's warm-up time %s: every generator must have its share open by then (one is late, failed or missing; or give -setup more than %v)",
			slot.WarmupAt.UTC().Format(time.RFC3339Nano), slot.WarmupAt.Sub(slot.Start))
	} else {
		if err := r.awaitIdle(ctx); err != nil {
			return failed(s, results.StatusFailed, "%v", err)
		}
		timeout := populateTimeout(job.Conns())
		pop.deadline = time.Now().Add(timeout)
		pop.late = fmt.Sprintf("within %v; its accept queue may have overflowed (somaxconn) or the backend accepts too slowly", timeout)
	}
	if pop.base, err = r.Client.Stats(); err != nil {
		return failed(s, results.StatusFailed, "server's control port: %v", err)
	}
	cfg.OnConnected = func(ctx context.Context) error {
		if err := awaitPopulated(ctx, r.Client.Stats, pop, phase(opts, job)); err != nil {
			return err
		}
		if slot != nil {
			return sleepUntil(ctx, slot.WarmupAt)
		}
		return nil
	}
	if slot != nil {
		cfg.BeforeClose = func(ctx context.Context) { sleepUntil(ctx, slot.Hold) }
	}
	var start, end wire.Report
	var startErr, endErr error
	var winStart, winEnd time.Time
	cfg.OnWindowStart = func() { winStart = time.Now(); start, startErr = r.Client.Stats() }
	cfg.OnWindowEnd = func() { winEnd = time.Now(); end, endErr = r.Client.Stats() }
	res, err := loadgen.Run(ctx, cfg)
	switch {
	case err != nil:
		return failed(s, results.StatusFailed, "load generator: %v", err)
	case startErr != nil:
		return failed(s, results.StatusFailed, "server stats at the window's start: %v", startErr)
	case endErr != nil:
		return failed(s, results.StatusFailed, "server stats at the window's end: %v", endErr)
	}
	// The server's per-request figures divide by the requests it read
	// itself when other generators sent some of them.
	requests := float64(res.Requests)
	if r.Generators > 1 {
		requests = float64(end.BytesIn-start.BytesIn) / float64(max(sc.Size, 1))
	}
	fill(&s, res, h, start, end, requests)
	s = judge(s, sc, job, res, h, start, end, nil)
	if opts.OutDir != "" {
		if err := r.writeLoad(LoadFile(opts.OutDir, i), cfg, res, h, start, end, winStart, winEnd, slot); err != nil {
			return failed(s, results.StatusFailed, "%v", err)
		}
	}
	return s
}

// writeLoad writes the sample's mergeable load file: this generator's
// share and the server's reports at its window's edges.
func (r *Remote) writeLoad(path string, cfg loadgen.Config, res *loadgen.Result, h wire.Hello, start, end wire.Report, winStart, winEnd time.Time, slot *Slot) error {
	c := loadfile.ConfigOf(cfg)
	c.Generators, c.GeneratorIndex = max(r.Generators, 1), r.Index
	if slot != nil {
		at := slot.WarmupAt.Add(cfg.Warmup).UTC()
		c.StartAt = &at
	}
	f := loadfile.New(r.Host, c, res, winStart, winEnd)
	f.Server = &loadfile.ServerEdges{Hello: h, Start: start, End: end}
	if err := loadfile.Write(path, f, false); err != nil {
		return fmt.Errorf("load file: %w", err)
	}
	return nil
}
