package waitcost

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/results"
)

// fdMargin is kept free below the open-file limit for what the process
// opens while it measures: the blocking wake-up's trigger pairs (4) and
// the peer's two /proc files, /proc/self/fd to count, the results at the
// end.
const fdMargin = 16

// Progress is told about each layout of each repetition once it is
// measured: done of total samples, and that layout's samples.
type Progress func(done, total int, rep int, s []Sample)

// Run measures the sweep. Each measuring thread pins itself to cfg.CPU
// and the blocking wake-up's peer to cfg.PeerCPU; the caller pins the
// rest of the process (cpuset.PinProcess) away from cfg.CPU when it
// measures the blocking wake-up, so that nothing of this process runs
// there while the waiter sleeps, with GOMAXPROCS at least 3 (the waiter
// holds its P through raw wait calls, the peer spins on another). Run turns the garbage collector off while it measures (the
// timed loops allocate nothing, but a collection triggered elsewhere
// would run on the same CPU). Each layout is measured once per fd table,
// on a fresh locked thread pinned to cfg.CPU (see measureLayout), the
// tables' order alternating from layout to layout; on it every case of
// every mode is measured on every backend, the backends' order rotated
// from case to case, so drift hits them all. On ctx's end Run stops
// between layouts and returns what it measured with ctx's error.
func Run(ctx context.Context, cfg Config, progress Progress) (Limit, []Sample, error) {
	if err := cfg.Validate(); err != nil {
		return Limit{}, nil, err
	}
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
			if err := m.layout(Sample{Layout: LayoutDense, N: n, Repetition: rep}, 0); err != nil {
				return lim, m.samples, err
			}
		}
		for _, top := range cfg.SparseTop {
			if err := ctx.Err(); err != nil {
				return lim, m.samples, err
			}
			base := Sample{Layout: LayoutSparse, N: cfg.SparseFDs, Top: top, Repetition: rep}
			if err := m.layout(base, top-cfg.SparseFDs+1); err != nil {
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
	layouts  int // alternates the fd tables' order
	progress Progress
}

// cases lists the cases of base's layout in mode.
func (m *meter) cases(base Sample, mode string) []Case {
	if base.Layout == LayoutSparse {
		return []Case{SparseCase}
	}
	return m.cfg.DenseCases(mode, base.N)
}

// layout measures one layout in every fd table. An error returned is one
// that stops the sweep (the machine misbehaves); a point that cannot be
// measured is a sample with a status.
func (m *meter) layout(base Sample, moveTo int) error {
	first := len(m.samples)
	defer func() {
		if m.progress != nil {
			m.progress(len(m.samples), m.total, base.Repetition, m.samples[first:])
		}
	}()
	tables := slices.Clone(m.cfg.Tables)
	if m.layouts++; m.layouts%2 == 0 {
		slices.Reverse(tables)
	}
	need := fdsNeeded(base.N)
	reason := ""
	switch {
	case need > m.lim.Available:
		reason = fmt.Sprintf("%d watched fds need %d open files; RLIMIT_NOFILE %d with %d already open leaves %d (raise it with ulimit -n, or lower -fds)",
			base.N, need, m.lim.NoFileSoft, m.lim.OpenFDs, m.lim.Available)
	case moveTo > 0 && uint64(base.Top) >= m.lim.NoFileSoft:
		reason = fmt.Sprintf("fd number %d is not below RLIMIT_NOFILE %d (raise it with ulimit -n, or lower -sparse-highest)", base.Top, m.lim.NoFileSoft)
	}
	if reason != "" {
		for _, table := range tables {
			for _, mode := range m.cfg.Modes {
				for _, c := range m.cases(base, mode) {
					for _, b := range m.cfg.Backends {
						s := base
						s.Backend, s.Mode, s.Table, s.K, s.Position = b, mode, table, c.K, c.Position
						s.Status, s.Reason = results.StatusUnsupported, reason
						m.samples = append(m.samples, s)
					}
				}
			}
		}
		return nil
	}
	// The peer's trigger pairs are opened here, in the shared table,
	// before the measuring thread may unshare it.
	var trig *triggers
	if m.cfg.Blocking() {
		var err error
		if trig, err = newTriggers(len(m.cfg.Positions)); err != nil {
			return err
		}
		defer trig.close()
	}
	for _, table := range tables {
		done := make(chan error, 1)
		go func() {
			// Never unlocked: the thread exits with this goroutine (see
			// measureLayout).
			runtime.LockOSThread()
			done <- m.measureLayout(base, moveTo, table, trig)
		}()
		if err := <-done; err != nil {
			return err
		}
	}
	return nil
}

// measureLayout builds the layout on the calling goroutine's thread, which
// is locked to it and is never returned to the runtime, measures every
// case of every mode on every backend, and closes what it opened.
//
// With TablePrivate the thread first calls unshare(CLONE_FILES): it gets a
// copy of the process's fd table that it alone uses, so the kernel's fdget
// takes no reference on the files a wait looks up, as in a single-threaded
// process. This is safe in a Go process because the thread is never used
// for anything else: a locked thread runs only its goroutine; the runtime
// never clones a new thread from a locked one (it asks its template
// thread), so no thread inherits the private table; and the goroutine
// exits while still locked, so the runtime destroys the thread instead of
// handing it to other goroutines, whose files would then vanish from the
// rest of the process. What the thread opens after unshare — the layout,
// the pollers — exists only in its table: no other thread sees those fds,
// not the runtime's netpoller, not /proc/self/fd (the count of open fds,
// which lists the main thread's table), not the peer thread (which reaches
// the fds it makes ready through the trigger pairs opened before unshare).
// So only raw unix calls touch them here, never os.File, and this
// function closes them itself; the exit drops its copies of the rest.
func (m *meter) measureLayout(base Sample, moveTo int, table string, trig *triggers) error {
	var set unix.CPUSet
	set.Set(m.cfg.CPU)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin the measuring thread to CPU %d: %w", m.cfg.CPU, err)
	}
	if table == TablePrivate {
		if err := unix.Unshare(unix.CLONE_FILES); err != nil {
			return fmt.Errorf("give the measuring thread a private fd table (unshare CLONE_FILES): %w", err)
		}
	}
	l, err := newLayout(base.N, moveTo)
	if err != nil {
		return fmt.Errorf("build %s layout of %d fds: %w", base.Layout, base.N, err)
	}
	defer l.close()
	base.Table, base.MaxFD = table, l.maxFD()

	// The blocking wake-up's targets: one fd at each position, made
	// readable by the peer through a trigger pair.
	var targets []target
	if trig != nil {
		var idx []int
		for _, pos := range m.cfg.Positions {
			lo, _ := span(base.N, 1, pos)
			if base.Layout == LayoutSparse {
				lo = 0
			}
			if !slices.Contains(idx, lo) {
				idx = append(idx, lo)
			}
		}
		if targets, err = trig.place(l, idx, table == TablePrivate); err != nil {
			return err
		}
	}

	// One poller per backend for the whole layout; a backend that cannot
	// watch it (select past FD_SETSIZE, io_uring not here) gets its reason
	// in every case.
	pollers := make([]backends.Poller, len(m.cfg.Backends))
	infos := make([]backends.Info, len(m.cfg.Backends))
	why := make([]string, len(m.cfg.Backends))
	defer func() {
		for _, p := range pollers {
			if p != nil {
				p.Close()
			}
		}
	}()
	for i, name := range m.cfg.Backends {
		pollers[i], infos[i], why[i], err = watch(name, l, m.cfg.Modes)
		if err != nil {
			return err
		}
	}
	var pr *peer
	if trig != nil {
		if pr, err = startPeer(m.cfg.PeerCPU, unix.Gettid()); err != nil {
			return err
		}
		defer pr.stop()
	}
	for _, mode := range m.cfg.Modes {
		for _, c := range m.cases(base, mode) {
			lo, hi := span(base.N, c.K, c.Position)
			if base.Layout == LayoutSparse {
				lo, hi = 0, c.K
			}
			if mode == ModeHot {
				if err := l.ready(lo, hi); err != nil {
					return err
				}
			}
			for j := range m.cfg.Backends {
				i := (j + m.turn) % len(m.cfg.Backends)
				s := base
				s.Backend, s.Mode, s.K, s.Position = m.cfg.Backends[i], mode, c.K, c.Position
				switch {
				case why[i] != "":
					s.Status, s.Reason = results.StatusUnsupported, why[i]
				case mode == ModeHot && infos[i].EdgeTriggered:
					s.Status, s.Reason = results.StatusUnsupported, edgeHot
				case mode == ModeHot:
					m.measureHot(pollers[i], l, lo, hi, &s)
				default:
					t := targets[slices.IndexFunc(targets, func(t target) bool { return t.index == lo })]
					m.measureBlocking(pollers[i], pr, t, int32(l.fds[lo]), &s)
				}
				m.samples = append(m.samples, s)
			}
			m.turn++
			if mode == ModeHot {
				if err := l.unready(lo, hi); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// edgeHot is why the hot scan does not measure an edge-triggered poller.
const edgeHot = "edge-triggered: reports a ready fd once, so back-to-back waits would return nothing (the blocking wake-up measures it)"

// watch makes backend name's poller watch every fd of l for reading. A
// reason (and no poller) says why the backend cannot; an error is a
// failure of the machine. An edge-triggered poller is made only when a
// mode can use it (the blocking wake-up).
func watch(name string, l *layout, modes []string) (backends.Poller, backends.Info, string, error) {
	info, err := backends.Lookup(name)
	if err != nil {
		return nil, info, "", err
	}
	if info.EdgeTriggered && !slices.Contains(modes, ModeBlocking) {
		return nil, info, edgeHot, nil
	}
	if info.Check != nil {
		if err := info.Check(); err != nil {
			return nil, info, "cannot run here: " + err.Error(), nil
		}
	}
	if info.MaxFD > 0 && l.maxFD() >= info.MaxFD {
		return nil, info, fmt.Sprintf("highest fd %d ≥ %d, the most %s can watch (FD_SETSIZE for select)", l.maxFD(), info.MaxFD, name), nil
	}
	p, err := info.New()
	if err != nil {
		return nil, info, "", fmt.Errorf("new %s poller: %w", name, err)
	}
	for _, fd := range l.fds {
		if err := p.Add(fd, backends.Read); err != nil {
			p.Close()
			if errors.Is(err, backends.ErrFDLimit) {
				return nil, info, err.Error(), nil
			}
			return nil, info, "", fmt.Errorf("%s: watch fd %d: %w", name, fd, err)
		}
	}
	return p, info, "", nil
}

// measureHot times back-to-back waits of p into s. The first call is
// checked in full (exactly the ready fds, readable); the timed loop only
// counts calls that returned another number of events. The figure is the
// thread's CPU time per call, read before and after the timed calls: on
// a quiet CPU it is their wall time, and on a shared one it leaves out
// the time other tasks held the CPU (the sample keeps both).
func (m *meter) measureHot(p backends.Poller, l *layout, lo, hi int, s *Sample) {
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
	cpu0 := threadCPU()
	t, err := TimeWaits(p, evs, m.cfg.TimeoutMs, m.cfg.Budget(ModeHot))
	s.CPUSeconds = float64(threadCPU()-cpu0) / 1e9
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
		s.NsPerCall = s.CPUSeconds * 1e9 / float64(t.Calls)
	}
}

// measureBlocking times wake-ups of p through the peer into s: first the
// edges and completions earlier cases left in p are drained, then a
// tenth of the minimum time, and at least a tenth of the minimum
// wake-ups, warms up, untimed.
func (m *meter) measureBlocking(p backends.Poller, pr *peer, t target, fd int32, s *Sample) {
	if err := drain(p, m.events); err != nil {
		s.Status, s.Reason = results.StatusFailed, err.Error()
		return
	}
	evs := m.events[:1]
	b := m.cfg.Budget(ModeBlocking)
	warm := Budget{MinCalls: max(1, b.MinCalls/10), MinTime: b.MinTime / 10, MaxTime: b.MaxTime / 10, MaxCalls: b.MinCalls}
	if _, err := TimeWakeups(p, evs, pr, t, fd, warm); err != nil {
		s.Status, s.Reason = results.StatusFailed, err.Error()
		return
	}
	w, err := TimeWakeups(p, evs, pr, t, fd, b)
	s.Calls, s.Seconds, s.CPUSeconds, s.Interrupted = w.Cycles, w.Elapsed.Seconds(), w.CPU.Seconds(), w.Interrupted
	s.Slept, s.Switches = w.Slept, w.Switches
	switch {
	case err != nil:
		s.Status, s.Reason = results.StatusFailed, err.Error()
	case w.Slept == 0:
		s.Status, s.Reason = results.StatusFailed, fmt.Sprintf("none of %d wake-ups slept in its wait", w.Cycles)
	case w.Cycles-w.Slept > w.Interrupted:
		// A wake-up may miss its sleep only when a signal interrupted
		// the wait the peer saw asleep, and the next one found the fd
		// ready; any more means the peer wrote too early.
		s.Status, s.Reason = results.StatusFailed, fmt.Sprintf("%d of %d waits returned without sleeping, with %d interrupted: the fd was ready before the waiter blocked",
			w.Cycles-w.Slept, w.Cycles, w.Interrupted)
	default:
		s.Status = results.StatusOK
		s.NsPerCall = float64(w.CPU.Nanoseconds()) / float64(w.Slept)
	}
}

// drain empties p of readiness reported for nothing that is ready now:
// an edge-triggered poller keeps the edges of fds made ready and idle
// again (the hot scan's, the other backends' wake-ups) until a wait
// collects them — epoll's ready list, or uring-poll's deferred
// completions, which report the readiness the wake-up carried even if
// the fd is idle again by then. It waits with a 1 ms timeout until a call
// returns nothing: not 0, because an io_uring ring set up with
// DEFER_TASKRUN runs only a batch (about 20) of its deferred completions
// in an enter that does not wait, and a batch of idle fds yields no
// event while thousands more wait. The bound is in events, not waits:
// each watched fd was made ready at most a few times.
func drain(p backends.Poller, events []backends.Event) error {
	limit := 16 * (len(events) + 64)
	for got := 0; got <= limit; {
		n, err := p.Wait(events, 1)
		if err != nil {
			return fmt.Errorf("drain stale readiness: wait: %w", err)
		}
		if n == 0 {
			return nil
		}
		got += n
	}
	return fmt.Errorf("drain stale readiness: waits still return events after %d: something is ready that should not be", limit)
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
