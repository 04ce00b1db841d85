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

	slots  []Slot
	sc     results.Scenario // the run's, set by Run
	outDir string           // the run's results directory, set by Run
	cur    remoteSample     // the sample being taken
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

var _ server = (*Remote)(nil)

// remoteSample is what a Remote keeps of the sample being taken.
type remoteSample struct {
	index int // the sample's, naming its load file
	job   Job
	hello wire.Hello
	cfg   loadgen.Config
	pop   population
	slot  *Slot
}

// start checks the point against the server's hello and asks the server
// for it again: a server restarted since (a new process, a new token)
// refuses us.
func (r *Remote) start(_ context.Context, i int, job Job) (wire.Hello, error) {
	if reason := limitFault(job, r.Hello); reason != "" {
		return wire.Hello{}, unsupported("%s", reason)
	}
	h, err := r.Client.Hello()
	if err != nil {
		return wire.Hello{}, fmt.Errorf("server's control port: %v", err)
	}
	r.cur = remoteSample{index: i, job: job, hello: h}
	if r.slots != nil {
		r.cur.slot = &r.slots[i]
	}
	return h, nil
}

// ready gives the load generator this generator's share of the point and
// waits for the sample's slot (or, unscheduled, for the server to have
// closed the last sample's connections), then takes the server's counters
// as the population's base.
func (r *Remote) ready(ctx context.Context, cfg *loadgen.Config, s *results.Sample) error {
	cfg.Target = r.Addr
	var err error
	if *cfg, err = cfg.Share(max(r.Generators, 1), r.Index); err != nil {
		return unsupported("%v", err)
	}
	if err := loadgen.Check(*cfg); err != nil {
		return unsupported("%v", err)
	}
	if s.RateRequested > 0 {
		s.RateRequested = cfg.Rate // this share's, as its requests and latencies are
	}
	conns := r.cur.job.Conns() // the whole point's: the open count must be exact
	pop := population{conns: conns, shared: r.Generators > 1}
	if slot := r.cur.slot; slot != nil {
		if err := sleepUntil(ctx, slot.Start); err != nil {
			return err
		}
		if late := time.Since(slot.WarmupAt); late > 0 {
			return fmt.Errorf("this generator reached the sample %.3f s after its slot's warm-up was due (%s): the previous sample overran its slot", late.Seconds(), slot.WarmupAt.UTC().Format(time.RFC3339Nano))
		}
		pop.deadline = slot.WarmupAt
		pop.late = fmt.Sprintf("by the slot's warm-up time %s: every generator must have its share open by then (one is late, failed or missing; or give -setup more than %v)",
			slot.WarmupAt.UTC().Format(time.RFC3339Nano), slot.WarmupAt.Sub(slot.Start))
		cfg.BeforeClose = func(ctx context.Context) { sleepUntil(ctx, slot.Hold) }
	} else {
		if err := r.awaitIdle(ctx); err != nil {
			return err
		}
		timeout := populateTimeout(conns)
		pop.deadline = time.Now().Add(timeout)
		pop.late = fmt.Sprintf("within %v; its accept queue may have overflowed (somaxconn) or the backend accepts too slowly", timeout)
	}
	if pop.base, err = r.Client.Stats(); err != nil {
		return fmt.Errorf("server's control port: %v", err)
	}
	r.cur.pop, r.cur.cfg = pop, *cfg
	return nil
}

// populated waits until the server reports the point's connections
// accepted and open, and, in a slot, for the slot's warm-up time.
func (r *Remote) populated(ctx context.Context, _ Job, progress func(open int)) error {
	if err := awaitPopulated(ctx, r.Client.Stats, r.cur.pop, progress); err != nil {
		return err
	}
	if slot := r.cur.slot; slot != nil {
		return sleepUntil(ctx, slot.WarmupAt)
	}
	return nil
}

// edge asks the server for its counters.
func (r *Remote) edge(end bool) (edge, error) {
	e := edge{at: time.Now()}
	var err error
	if e.report, err = r.Client.Stats(); err != nil {
		which := "start"
		if end {
			which = "end"
		}
		return e, fmt.Errorf("server stats at the window's %s: %v", which, err)
	}
	return e, nil
}

// stop leaves the server running: it is not this run's to stop.
func (r *Remote) stop() (string, error) { return "", nil }

// measure fills the server figures from its reports and writes the
// sample's mergeable load file. The server's per-request figures divide
// by the requests it read itself when other generators sent some of them.
func (r *Remote) measure(s *results.Sample, job Job, res *loadgen.Result, start, end edge) string {
	requests := float64(res.Requests)
	if r.Generators > 1 {
		requests = float64(end.report.BytesIn-start.report.BytesIn) / float64(max(r.sc.Size, 1))
	}
	fault := measureReports(s, job, r.cur.hello, start.report, end.report, requests)
	if r.outDir != "" {
		if err := r.writeLoad(LoadFile(r.outDir, r.cur.index), r.cur.cfg, res, r.cur.hello, start.report, end.report, start.at, end.at, r.cur.slot); err != nil {
			return err.Error()
		}
	}
	return fault
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
