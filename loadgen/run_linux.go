package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// Run opens c.Conns connections to c.Target (c.Active of them carrying
// traffic), calls c.OnConnected, warms up for c.Warmup, measures for
// c.Duration, drains echoes still in flight and closes everything it
// opened. It checks c (Validate, then Check's limits) before opening
// anything.
//
// A request belongs to the measured window by when it was meant to be
// sent, not by when its echo arrived: in open loop by its intended send
// time, in closed loop by its actual send time (with Churn, by its
// connection's connect, from which its latency counts), in [Warmup,
// Warmup+Duration) after traffic started. Answers to window requests that
// arrive in the drain after the window count (Result.Requests and the
// histograms); window requests still unanswered when the drain ends, or
// lost on a connection that failed, are Result.Unanswered; requests sent
// before or after the window never count, whenever they are answered.
//
// Integrity errors during the run (mismatches, timeouts, resets…) are
// counted in Result.Errors, not returned. Run returns an error when the
// run could not be done: an invalid Config, a limit (*LimitError), a
// connection that could not be opened (*ConnectError), an error from
// c.OnConnected (wrapped), a reply framed in a way it does not read
// (*ReplyError: an HTTP body without Content-Length), or ctx cancelled — then it stops within
// milliseconds and returns ctx's error wrapped.
func Run(ctx context.Context, c Config) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	target, err := resolveTarget(c.Target)
	if err != nil {
		return nil, err
	}
	ports, err := localPorts(c.LocalPorts)
	if err != nil {
		return nil, err
	}
	sources := planSources(target.Addr(), c.Conns, c.SourceIPs, ports.Size())
	if err := checkLimits(c, target.Addr(), ports, sources); err != nil {
		return nil, err
	}
	if err := raiseNoFile(uint64(c.Conns + openFDs() + SpareFDs)); err != nil {
		return nil, err
	}
	d, err := newDialer(target, sources, c.LocalPorts)
	if err != nil {
		return nil, err
	}
	g, err := newGen(c, d)
	if err != nil {
		return nil, err
	}
	defer g.close()
	rep := newProgress(c.Progress)

	g.base = time.Now()
	connStart := time.Now()
	if err := g.connectAll(ctx, func(done, total int) { rep.report("connect", int64(done), int64(total), false) }); err != nil {
		return nil, err
	}
	connectSeconds := time.Since(connStart).Seconds()
	rep.report("connect", int64(c.Conns), int64(c.Conns), true)
	if c.OnConnected != nil {
		// Nothing of the generator runs meanwhile (no traffic loop, no
		// keep-alive, no timeout check) and no request is in flight, so
		// however long the hook waits nothing can time out: connections
		// sit untouched, and checkIdle later sees only what the server did.
		if err := c.OnConnected(ctx); err != nil {
			return nil, fmt.Errorf("after opening %d connections: OnConnected: %w", c.Conns, err)
		}
	}
	populateSeconds := time.Since(connStart).Seconds()

	// The schedule is fixed before the loop starts: request n is intended
	// at n/Rate after the loop's start, the window is [Warmup,
	// Warmup+Duration) after it. Set only now, so time spent in
	// OnConnected neither eats into the warm-up nor shifts intended times.
	g.base = time.Now()
	g.win = window{start: int64(c.Warmup), end: int64(c.Warmup + c.Duration)}
	if !g.closed && c.Active > 0 {
		g.pace = newPacer(1e9/c.Rate, c.Active, c.spinBefore(), c.spinReply())
	}
	if c.KeepAlive > 0 && len(g.idle) > 0 {
		g.ka = newPacer(float64(c.KeepAlive)/float64(len(g.idle)), len(g.idle), 0, 0)
	}
	g.hkEvery = int64(min(max(c.timeout()/4, time.Millisecond), 50*time.Millisecond))

	loopDone := make(chan struct{})
	runCPU0 := cpuNs()
	go g.loop(loopDone)
	// stopLoop stops the traffic; drain lets echoes in flight arrive
	// first (bounded), which a cancelled run skips.
	stopLoop := func(drain bool) error {
		if !drain {
			g.abort.Store(true)
		}
		g.stop.Store(true)
		var one [8]byte
		one[0] = 1 // eventfd counters are host-endian; any non-zero value wakes
		_, _ = unix.Write(g.wakeFD, one[:])
		select {
		case <-loopDone:
			return g.loopErr
		case <-time.After(drainMax + 5*time.Second):
			// Cannot happen unless a syscall hangs: every wait in the
			// loop is bounded. Leave the fds to the stuck loop.
			g.active, g.idle = nil, nil
			return fmt.Errorf("load loop did not stop within %v", drainMax+5*time.Second)
		}
	}

	var cpu0, cpu1 int64
	windowStart := g.base.Add(c.Warmup)
	windowEnd := windowStart.Add(c.Duration)
	if err := waitUntil(ctx, windowStart, loopDone, func(left time.Duration) {
		rep.report("warmup", int64(c.Warmup-left)/1e6, int64(c.Warmup)/1e6, false)
	}); err != nil {
		return nil, stopWith(stopLoop(false), err)
	}
	if c.OnWindowStart != nil {
		c.OnWindowStart()
	}
	cpu0 = cpuNs()
	if err := waitUntil(ctx, windowEnd, loopDone, func(left time.Duration) {
		rep.report("measure", int64(c.Duration-left)/1e6, int64(c.Duration)/1e6, false)
	}); err != nil {
		return nil, stopWith(stopLoop(false), err)
	}
	cpu1 = cpuNs()
	if c.OnWindowEnd != nil {
		c.OnWindowEnd()
	}
	rep.report("measure", int64(c.Duration)/1e6, int64(c.Duration)/1e6, true)
	if err := stopLoop(true); err != nil {
		return nil, err
	}
	runCPU1 := cpuNs()
	g.checkIdle()
	if c.BeforeClose != nil {
		c.BeforeClose(ctx)
	}
	return g.result(c, measures{
		sources:         sources,
		connectSeconds:  connectSeconds,
		populateSeconds: populateSeconds,
		runCPUNs:        runCPU1 - runCPU0,
		windowCPUNs:     cpu1 - cpu0,
		examples:        g.examples[:],
	})
}

// errLoopStopped is waitUntil's error when the traffic loop ended by
// itself: stopping it then returns the loop's own error, which is the one
// to report (a *ReplyError, a failed wait).
var errLoopStopped = errors.New("load loop stopped early")

func stopWith(stopErr, err error) error {
	if stopErr != nil && errors.Is(err, errLoopStopped) {
		return stopErr
	}
	if stopErr != nil {
		return fmt.Errorf("%w (and stopping: %v)", err, stopErr)
	}
	return err
}

// waitUntil sleeps until t, reporting progress a few times a second. It
// returns early with an error if ctx is done or the loop died.
func waitUntil(ctx context.Context, t time.Time, loopDone <-chan struct{}, tick func(left time.Duration)) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("load run interrupted: %w", context.Cause(ctx))
		case <-loopDone:
			return errLoopStopped
		case <-ticker.C:
			tick(max(0, time.Until(t)))
		}
	}
}

// cpuNs returns this process's user+system CPU time (getrusage
// RUSAGE_SELF; microsecond resolution).
func cpuNs() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// progress rate-limits reports to Config.Progress.
type progress struct {
	w    io.Writer
	r    ProgressReporter
	last time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if r, ok := w.(ProgressReporter); ok {
		p.r = r
	}
	return p
}

func (p *progress) report(phase string, done, total int64, final bool) {
	if p.w == nil {
		return
	}
	if !final && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	if p.r != nil {
		p.r.Report(phase, done, total)
		return
	}
	unit := "ms"
	if phase == "connect" {
		unit = "connections"
	}
	fmt.Fprintf(p.w, "%s: %d/%d %s\n", phase, done, total, unit)
}
