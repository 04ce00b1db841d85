package waitcost

import (
	"context"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/procfs"
	_ "github.com/muxbench/muxbench/lineup" // registers every poller
	"github.com/muxbench/muxbench/results"
)

// tiny is a sweep that takes a second or so: correctness, not timing.
func tiny(t *testing.T) Config {
	if runtime.NumCPU() < 2 {
		t.Skip("the blocking wake-up needs a second CPU for its peer thread")
	}
	// The waiter holds a P through its raw waits and the peer spins on
	// another: leave one for the test's other goroutines.
	procs := runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0)))
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	bs := []string{"select", "poll", "epoll-lt", "epoll-et"}
	if info, err := backends.Lookup("uring-poll"); err == nil && info.Check() == nil {
		bs = append(bs, "uring-poll")
	}
	return Config{
		Backends:    bs,
		Modes:       Modes,
		Tables:      Tables,
		FDs:         []int{3, 40},
		Ready:       []string{"1", "50%", "100%"},
		Positions:   []string{PositionLow, PositionHigh},
		SparseFDs:   4,
		SparseTop:   []int{200, 1500},
		Repetitions: 2,
		MinCalls:    5,
		MaxCalls:    50,
		MinTime:     time.Millisecond,
		MaxTime:     5 * time.Millisecond,
		MinWakeups:  5,
		CPU:         0,
		PeerCPU:     1,
		UpperFrom:   10,
	}
}

// TestRun runs a tiny sweep of both modes in both fd tables and checks
// every sample: the hot scan measured what is level-triggered; every
// blocking wake-up slept in its wait (the peer wrote only once it saw the
// waiter asleep: one voluntary context switch per wake-up); nothing
// leaked, neither fds nor threads.
func TestRun(t *testing.T) {
	cfg := tiny(t)
	before, err := openFDs()
	if err != nil {
		t.Fatal(err)
	}
	threads, err := procfs.Threads()
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	lim, samples, err := Run(context.Background(), cfg, func(done, total, rep int, s []Sample) {
		calls++
		if done > total || len(s) == 0 {
			t.Errorf("progress %d/%d with %d samples", done, total, len(s))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != cfg.Samples() {
		t.Fatalf("%d samples; want %d", len(samples), cfg.Samples())
	}
	if calls != cfg.Repetitions*(len(cfg.FDs)+len(cfg.SparseTop)) {
		t.Errorf("progress called %d times; want once per layout per repetition", calls)
	}
	if lim.Available <= 0 || lim.NoFileSoft == 0 {
		t.Errorf("limit %+v; want the soft limit and what it leaves", lim)
	}
	count := map[[2]string]int{}
	for _, s := range samples {
		count[[2]string{s.Mode, s.Table}]++
		edge := s.Backend == "epoll-et" || s.Backend == "uring-poll"
		switch {
		case s.Mode == ModeHot && edge:
			if s.Status != results.StatusUnsupported || !strings.Contains(s.Reason, "edge-triggered") {
				t.Errorf("%s hot scan %+v; want unsupported as edge-triggered", s.Backend, s)
			}
		case s.Backend == "select" && s.MaxFD >= 1024:
			if s.Status != results.StatusUnsupported || !strings.Contains(s.Reason, "FD_SETSIZE") {
				t.Errorf("select at fd %d: %+v; want unsupported naming FD_SETSIZE", s.MaxFD, s)
			}
		case s.Status != results.StatusOK || s.Calls < 1 || s.NsPerCall <= 0 || s.CPUSeconds <= 0:
			t.Errorf("%+v; want ok with calls and their CPU time", s)
		case s.Mode == ModeBlocking:
			// Every wake-up slept in its wait (a voluntary context
			// switch inside it), but one whose wait a signal interrupted
			// after the peer saw it asleep.
			if s.K != 1 || s.Calls-s.Slept > s.Interrupted || s.Switches < s.Slept {
				t.Errorf("%s blocking wake-up %+v: %d voluntary switches, %d slept of %d wake-ups, %d interrupted; want all slept but the interrupted",
					s.Backend, s, s.Switches, s.Slept, s.Calls, s.Interrupted)
			}
			if got := s.CPUSeconds * 1e9 / float64(s.Slept); math.Abs(got-s.NsPerCall) > 1e-6*got {
				t.Errorf("%s blocking: %v ns per wake-up; want the thread CPU per wake-up that slept, %v", s.Backend, s.NsPerCall, got)
			}
		}
		if s.Layout == LayoutSparse && (s.MaxFD < s.Top || s.MaxFD > s.Top+10) {
			t.Errorf("sparse layout asked for highest fd %d got %d", s.Top, s.MaxFD)
		}
	}
	if len(count) != 4 || count[[2]string{ModeHot, TablePrivate}] == 0 || count[[2]string{ModeBlocking, TableShared}] == 0 {
		t.Errorf("samples per mode and fd table %v; want all four", count)
	}
	after, err := openFDs()
	if err != nil {
		t.Fatal(err)
	}
	if l := leaked(before, after); len(l) > 0 {
		t.Errorf("fds %v open after Run and not before: layouts, pollers or trigger pairs leaked", l)
	}
	// Every layout ran on threads that exited with their goroutines; a
	// few may linger while the kernel reaps them, and the runtime keeps
	// some idle ones.
	deadline := time.Now().Add(5 * time.Second)
	for {
		now, err := procfs.Threads()
		if err != nil {
			t.Fatal(err)
		}
		if now <= threads+4 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d threads after Run, %d before: the measuring and peer threads were not destroyed", now, threads)
			break
		}
		runtime.Gosched()
	}
	rec := Record{Schema: SchemaVersion, Config: cfg, Samples: samples}
	rec.Complete()
	if len(rec.Points) != cfg.Samples()/cfg.Repetitions {
		t.Errorf("%d points; want %d", len(rec.Points), cfg.Samples()/cfg.Repetitions)
	}
	if len(rec.Fits) != len(Modes)*len(Tables)*len(cfg.Backends) {
		t.Errorf("%d fits; want one per mode, table and backend", len(rec.Fits))
	}
}

// openFDs lists the fd numbers open in this process's (shared) table,
// the one it opens to list them included.
func openFDs() ([]string, error) {
	ents, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(ents)
	buf := make([]byte, 1<<16)
	var names []string
	for {
		k, err := unix.Getdents(ents, buf)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:k], -1, names)
	}
}

// leaked lists the fds open after that were not before. (Not a count:
// the runtime closes the cgroup files it watches for GOMAXPROCS once a
// test sets GOMAXPROCS, at a moment of its own.)
func leaked(before, after []string) []string {
	var out []string
	for _, fd := range after {
		if !slices.Contains(before, fd) {
			out = append(out, fd)
		}
	}
	return out
}

// TestLayoutReady checks the fd layout: idle ends are not readable, one
// byte makes exactly the chosen ends readable, and unready idles them.
func TestLayoutReady(t *testing.T) {
	l, err := newLayout(9, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	if len(l.fds) != 9 || len(l.spare) != 1 {
		t.Fatalf("9 watched fds: %d watched, %d spare; want 9 and 1", len(l.fds), len(l.spare))
	}
	readable := func() []int {
		pfd := make([]unix.PollFd, len(l.fds))
		for i, fd := range l.fds {
			pfd[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		}
		if _, err := unix.Poll(pfd, 0); err != nil {
			t.Fatal(err)
		}
		var out []int
		for i := range pfd {
			if pfd[i].Revents&unix.POLLIN != 0 {
				out = append(out, i)
			}
		}
		return out
	}
	if got := readable(); len(got) != 0 {
		t.Fatalf("idle layout: positions %v readable; want none", got)
	}
	lo, hi := span(9, 3, PositionHigh)
	if err := l.ready(lo, hi); err != nil {
		t.Fatal(err)
	}
	if got := readable(); len(got) != 3 || got[0] != 6 || got[2] != 8 {
		t.Fatalf("3 high ready: positions %v; want [6 7 8]", got)
	}
	if err := l.unready(lo, hi); err != nil {
		t.Fatal(err)
	}
	if got := readable(); len(got) != 0 {
		t.Fatalf("after unready: positions %v readable; want none", got)
	}
}

// TestTimeWaitsNoAlloc checks that the timed loop allocates nothing, on
// every level-triggered poller.
func TestTimeWaitsNoAlloc(t *testing.T) {
	l, err := newLayout(64, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	if err := l.ready(0, 8); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"select", "poll", "epoll-lt"} {
		p, _, why, err := watch(name, l, []string{ModeHot})
		if err != nil || why != "" {
			t.Fatalf("%s: %v %s", name, err, why)
		}
		t.Cleanup(func() { p.Close() })
		evs := make([]backends.Event, 8)
		b := Budget{MinCalls: 100, MaxCalls: 100, MinTime: time.Millisecond, MaxTime: time.Second}
		var tm Timing
		allocs := testing.AllocsPerRun(5, func() {
			tm, err = TimeWaits(p, evs, 0, b)
		})
		if err != nil || tm.Calls != 100 || tm.Wrong != 0 {
			t.Errorf("%s: %+v, %v; want 100 calls, none wrong", name, tm, err)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per TimeWaits; want 0", name, allocs)
		}
	}
}

// TestTimeWakeupsNoAlloc checks that the blocking wake-up's cycles
// allocate nothing, the peer's side included, on a level- and an
// edge-triggered poller.
func TestTimeWakeupsNoAlloc(t *testing.T) {
	tiny(t) // skips with one CPU; GOMAXPROCS for the peer
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread is pinned below and exits with the goroutine
		var set unix.CPUSet
		set.Set(0)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			t.Error(err)
			return
		}
		trig, err := newTriggers(1)
		if err != nil {
			t.Error(err)
			return
		}
		defer trig.close()
		l, err := newLayout(64, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer l.close()
		tg, err := trig.place(l, []int{63}, false)
		if err != nil {
			t.Error(err)
			return
		}
		pr, err := startPeer(1, unix.Gettid())
		if err != nil {
			t.Error(err)
			return
		}
		defer pr.stop()
		for _, name := range []string{"poll", "epoll-et"} {
			p, _, why, err := watch(name, l, Modes)
			if err != nil || why != "" {
				t.Errorf("%s: %v %s", name, err, why)
				return
			}
			evs := make([]backends.Event, 1)
			b := Budget{MinCalls: 20, MaxCalls: 20, MinTime: time.Millisecond, MaxTime: 10 * time.Second}
			// Not testing.AllocsPerRun: it runs with GOMAXPROCS 1, and the
			// waiter holds the one P through its raw waits, so the peer
			// would never run. The least of three runs, so that an
			// allocation elsewhere in the process now and then does not
			// count; one per cycle would show in every run, 20 or more.
			// The job's hand-off, outside the cycles, may allocate: each
			// side's blocking channel receive takes a sudog, from the heap
			// when the runtime's cache is empty (after a GC). Seen under a
			// parallel load, 1 in 60 runs, with the allocation's stack
			// (runtime.acquireSudog from chanrecv in TimeWakeups and in the
			// peer).
			const handoff = 2
			var w Wakeups
			allocs := uint64(math.MaxUint64)
			for range 3 {
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				w, err = TimeWakeups(p, evs, pr, tg[0], int32(l.fds[63]), b)
				runtime.ReadMemStats(&m1)
				allocs = min(allocs, m1.Mallocs-m0.Mallocs)
				if err != nil {
					break
				}
			}
			p.Close()
			if err != nil || w.Cycles != 20 || w.Wrong != 0 || w.Cycles-w.Slept > w.Interrupted {
				t.Errorf("%s: %+v, %v; want 20 cycles that slept (but after a signal), none wrong", name, w, err)
			}
			if allocs > handoff {
				t.Errorf("%s: %d allocations per TimeWakeups of 20 cycles; want none per cycle, at most %d (the job hand-off's channel receives)", name, allocs, handoff)
			}
		}
	}()
	<-done
}

func TestWatchLimits(t *testing.T) {
	l, err := newLayout(2, 2000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	if p, _, why, err := watch("select", l, Modes); err != nil || p != nil || !strings.Contains(why, "FD_SETSIZE") {
		t.Errorf("select over fd %d: poller %v, %q, %v; want none, naming FD_SETSIZE", l.maxFD(), p, why, err)
	}
	if p, _, why, err := watch("epoll-et", l, []string{ModeHot}); err != nil || p != nil || why != edgeHot {
		t.Errorf("epoll-et, hot scan only: poller %v, %q, %v; want none, as edge-triggered", p, why, err)
	}
	if _, _, _, err := watch("no-such", l, Modes); err == nil {
		t.Error("unknown backend: no error")
	}
}

// TestDrainEdgeTriggered: after the hot scan's cases made 3,000 fds
// ready and idle again, drain leaves an edge-triggered poller with
// nothing to report, so the blocking wake-up's waits see only the peer's
// fd. (uring-poll's ring runs its deferred completions about 20 per
// enter that does not wait, and a batch of idle fds yields no event.)
func TestDrainEdgeTriggered(t *testing.T) {
	runtime.LockOSThread() // uring-poll's ring is single-issuer
	defer runtime.UnlockOSThread()
	l, err := newLayout(3000, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	bs := []string{"epoll-et"}
	if info, err := backends.Lookup("uring-poll"); err == nil && info.Check() == nil {
		bs = append(bs, "uring-poll")
	}
	evs := make([]backends.Event, 3000)
	for _, name := range bs {
		p, _, why, err := watch(name, l, Modes)
		if err != nil || why != "" {
			t.Fatalf("%s: %v %s", name, err, why)
		}
		for _, c := range Default.DenseCases(ModeHot, 3000) {
			lo, hi := span(3000, c.K, c.Position)
			if err := l.ready(lo, hi); err != nil {
				t.Fatal(err)
			}
			if err := l.unready(lo, hi); err != nil {
				t.Fatal(err)
			}
		}
		if err := drain(p, evs); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for i := range 5 {
			if n, err := p.Wait(evs, 1); n != 0 || err != nil {
				t.Errorf("%s: wait %d after drain: %d events (first fd %d), %v; want none", name, i, n, evs[0].FD, err)
				break
			}
		}
		p.Close()
	}
}
