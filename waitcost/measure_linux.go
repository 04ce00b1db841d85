package waitcost

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/results"
)

// fdMargin is kept free below the open-file limit for what the process
// opens while it measures (/proc/self/fd to count, the results at the
// end).
const fdMargin = 8

// Progress is told about each layout of each repetition once it is
// measured: done of total samples, and that layout's samples.
type Progress func(done, total int, rep int, s []Sample)

// Run measures the sweep. The caller pins the process to cfg.CPU first
// (cpuset.PinProcess); Run locks its goroutine to its thread and turns
// the garbage collector off while it measures (the timed loop allocates
// nothing, but a collection triggered elsewhere would run on the same
// CPU). Backends are interleaved: within each repetition every layout is
// built once and every case of it measured on every backend, the
// backends' order rotated from case to case, so drift hits them all.
// On ctx's end Run stops between samples and returns what it measured
// with ctx's error.
func Run(ctx context.Context, cfg Config, progress Progress) (Limit, []Sample, error) {
	if err := cfg.Validate(); err != nil {
		return Limit{}, nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	var lim Limit
	soft, _, err := procfs.NoFile()
	if err != nil {
		return lim, nil, err
	}
	open, err := procfs.OpenFDs()
	if err != nil {
		return lim, nil, err
	}
	lim = Limit{NoFileSoft: soft, OpenFDs: open, Available: max(0, int(min(soft, 1<<30))-open-fdMargin)}

	m := &meter{cfg: cfg, lim: lim, total: cfg.Samples(), progress: progress}
	maxK := 1
	for _, n := range cfg.FDs {
		maxK = max(maxK, n)
	}
	m.events = make([]backends.Event, max(maxK, cfg.SparseFDs))
	for rep := 0; rep < cfg.Repetitions; rep++ {
		for _, n := range cfg.FDs {
			if err := ctx.Err(); err != nil {
				return lim, m.samples, err
			}
			base := Sample{Layout: LayoutDense, N: n, Repetition: rep}
			if err := m.layout(base, 0, Cases(n, cfg.ReadySpecs(), cfg.Positions)); err != nil {
				return lim, m.samples, err
			}
		}
		for _, top := range cfg.SparseTop {
			if err := ctx.Err(); err != nil {
				return lim, m.samples, err
			}
			base := Sample{Layout: LayoutSparse, N: cfg.SparseFDs, Top: top, Repetition: rep}
			if err := m.layout(base, top-cfg.SparseFDs+1, []Case{{K: 1, Position: PositionLow}}); err != nil {
				return lim, m.samples, err
			}
		}
	}
	return lim, m.samples, nil
}

type meter struct {
	cfg      Config
	lim      Limit
	total    int
	samples  []Sample
	events   []backends.Event
	turn     int // rotates the backends' order
	progress Progress
}

// layout builds one layout, measures every case on every backend and
// closes it. An error returned is one that stops the sweep (the machine
// misbehaves); a point that cannot be measured is a sample with a status.
func (m *meter) layout(base Sample, moveTo int, cases []Case) error {
	first := len(m.samples)
	defer func() {
		if m.progress != nil {
			m.progress(len(m.samples), m.total, base.Repetition, m.samples[first:])
		}
	}()
	each := func(status, reason string) {
		for _, c := range cases {
			for _, b := range m.cfg.Backends {
				s := base
				s.Backend, s.K, s.Position, s.Status, s.Reason = b, c.K, c.Position, status, reason
				m.samples = append(m.samples, s)
			}
		}
	}
	need := fdsNeeded(base.N)
	switch {
	case need > m.lim.Available:
		each(results.StatusUnsupported, fmt.Sprintf("%d watched fds need %d open files; RLIMIT_NOFILE %d with %d already open leaves %d (raise it with ulimit -n, or lower -fds)",
			base.N, need, m.lim.NoFileSoft, m.lim.OpenFDs, m.lim.Available))
		return nil
	case moveTo > 0 && uint64(base.Top) >= m.lim.NoFileSoft:
		each(results.StatusUnsupported, fmt.Sprintf("fd number %d is not below RLIMIT_NOFILE %d (raise it with ulimit -n, or lower -sparse-highest)", base.Top, m.lim.NoFileSoft))
		return nil
	}
	l, err := newLayout(base.N, moveTo)
	if err != nil {
		return fmt.Errorf("build %s layout of %d fds: %w", base.Layout, base.N, err)
	}
	defer l.close()
	base.MaxFD = l.maxFD()

	// One poller per backend for the whole layout; a backend that cannot
	// watch it (select past FD_SETSIZE, an edge-triggered poller) gets
	// its reason in every case.
	pollers := make([]backends.Poller, len(m.cfg.Backends))
	why := make([]string, len(m.cfg.Backends))
	defer func() {
		for _, p := range pollers {
			if p != nil {
				p.Close()
			}
		}
	}()
	for i, name := range m.cfg.Backends {
		pollers[i], why[i], err = watch(name, l)
		if err != nil {
			return err
		}
	}
	for _, c := range cases {
		lo, hi := span(base.N, c.K, c.Position)
		if err := l.ready(lo, hi); err != nil {
			return err
		}
		for j := range m.cfg.Backends {
			i := (j + m.turn) % len(m.cfg.Backends)
			s := base
			s.Backend, s.K, s.Position = m.cfg.Backends[i], c.K, c.Position
			if why[i] != "" {
				s.Status, s.Reason = results.StatusUnsupported, why[i]
			} else {
				m.measure(pollers[i], l, lo, hi, &s)
			}
			m.samples = append(m.samples, s)
		}
		m.turn++
		if err := l.unready(lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// watch makes backend name's poller watch every fd of l for reading. A
// reason (and no poller) says why the backend cannot; an error is a
// failure of the machine.
func watch(name string, l *layout) (backends.Poller, string, error) {
	info, err := backends.Lookup(name)
	if err != nil {
		return nil, "", err
	}
	if info.EdgeTriggered {
		return nil, "edge-triggered: reports a ready fd once, so back-to-back waits would return nothing (not re-armed here)", nil
	}
	if info.MaxFD > 0 && l.maxFD() >= info.MaxFD {
		return nil, fmt.Sprintf("highest fd %d ≥ %d, the most %s can watch (FD_SETSIZE for select)", l.maxFD(), info.MaxFD, name), nil
	}
	p, err := info.New()
	if err != nil {
		return nil, "", fmt.Errorf("new %s poller: %w", name, err)
	}
	for _, fd := range l.fds {
		if err := p.Add(fd, backends.Read); err != nil {
			p.Close()
			if errors.Is(err, backends.ErrFDLimit) {
				return nil, err.Error(), nil
			}
			return nil, "", fmt.Errorf("%s: watch fd %d: %w", name, fd, err)
		}
	}
	return p, "", nil
}

// measure times back-to-back waits of p into s. The first call is checked
// in full (exactly the ready fds, readable); the timed loop only counts
// calls that returned another number of events.
func (m *meter) measure(p backends.Poller, l *layout, lo, hi int, s *Sample) {
	k := hi - lo
	evs := m.events[:k]
	n, err := p.Wait(evs, m.cfg.TimeoutMs)
	if err != nil {
		s.Status, s.Reason = results.StatusFailed, err.Error()
		return
	}
	if reason := checkEvents(evs[:n], l.fds[lo:hi]); reason != "" {
		s.Status, s.Reason = results.StatusFailed, reason
		return
	}
	// Warm-up: a tenth of the minimum time, untimed.
	warm := Budget{MinCalls: 1, MinTime: m.cfg.MinTime / 10, MaxTime: m.cfg.MinTime / 10, MaxCalls: m.cfg.MinCalls}
	if _, err := TimeWaits(p, evs, m.cfg.TimeoutMs, warm); err != nil {
		s.Status, s.Reason = results.StatusFailed, err.Error()
		return
	}
	t, err := TimeWaits(p, evs, m.cfg.TimeoutMs, m.cfg.Budget())
	s.Calls, s.Seconds, s.Interrupted = t.Calls, t.Elapsed.Seconds(), t.Interrupted
	switch {
	case err != nil:
		s.Status, s.Reason = results.StatusFailed, err.Error()
	case t.Wrong > 0:
		s.Status, s.Reason = results.StatusFailed, fmt.Sprintf("%d of %d calls returned a number of events other than the %d ready", t.Wrong, t.Calls, k)
	case t.Interrupted*100 > t.Calls:
		s.Status, s.Reason = results.StatusFailed, fmt.Sprintf("%d of %d calls returned no event (interrupted, or the ready fds were lost)", t.Interrupted, t.Calls)
	default:
		s.Status = results.StatusOK
		s.NsPerCall = float64(t.Elapsed.Nanoseconds()) / float64(t.Calls)
	}
}

// checkEvents says what is wrong with a wait's events, "" if they are
// exactly the want fds, each readable.
func checkEvents(got []backends.Event, want []int) string {
	if len(got) != len(want) {
		return fmt.Sprintf("first wait returned %d events, want the %d ready fds", len(got), len(want))
	}
	ready := make(map[int32]bool, len(want))
	for _, fd := range want {
		ready[int32(fd)] = true
	}
	for _, e := range got {
		if !ready[e.FD] || e.Ready&backends.Readable == 0 {
			return fmt.Sprintf("first wait reported fd %d (ready %b), not one of the ready fds as readable", e.FD, e.Ready)
		}
		delete(ready, e.FD)
	}
	return ""
}
