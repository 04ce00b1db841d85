package waitcost

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	_ "github.com/muxbench/muxbench/lineup" // registers every poller
	"github.com/muxbench/muxbench/results"
)

// tiny is a sweep that takes milliseconds: correctness, not timing.
func tiny() Config {
	return Config{
		Backends:    []string{"select", "poll", "epoll-lt", "epoll-et"},
		FDs:         []int{3, 40},
		Ready:       []string{"1", "50%", "100%"},
		Positions:   []string{PositionLow, PositionHigh},
		SparseFDs:   4,
		SparseTop:   []int{200, 1500},
		Repetitions: 2,
		MinCalls:    5,
		MaxCalls:    50,
		MinTime:     time.Millisecond,
		// A sample stops at MinCalls and MinTime, in about a millisecond;
		// MaxTime only cuts it short on a loaded machine, where 5 ms of
		// preemption left 1-3 calls and failed the check below.
		MaxTime:   time.Second,
		UpperFrom: 10,
	}
}

func TestRun(t *testing.T) {
	cfg := tiny()
	before, err := openFDs()
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
	for _, s := range samples {
		switch {
		case s.Backend == "epoll-et":
			if s.Status != results.StatusUnsupported || !strings.Contains(s.Reason, "edge-triggered") {
				t.Errorf("epoll-et %+v; want unsupported as edge-triggered", s)
			}
		case s.Backend == "select" && s.MaxFD >= 1024:
			if s.Status != results.StatusUnsupported || !strings.Contains(s.Reason, "FD_SETSIZE") {
				t.Errorf("select at fd %d: %+v; want unsupported naming FD_SETSIZE", s.MaxFD, s)
			}
		default:
			if s.Status != results.StatusOK || s.Calls < cfg.MinCalls || s.NsPerCall <= 0 {
				t.Errorf("%+v; want ok with at least %d calls", s, cfg.MinCalls)
			}
		}
		if s.Layout == LayoutSparse && (s.MaxFD < s.Top || s.MaxFD > s.Top+10) {
			t.Errorf("sparse layout asked for highest fd %d got %d", s.Top, s.MaxFD)
		}
	}
	after, err := openFDs()
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for fd := range after {
		if !before[fd] {
			left = append(left, fd)
		}
	}
	if len(left) > 0 {
		t.Errorf("%d fds opened by Run still open (layouts or pollers leaked): %v", len(left), left)
	}
	rec := Record{Schema: SchemaVersion, Config: cfg, Samples: samples}
	rec.Complete()
	if len(rec.Points) != cfg.Samples()/cfg.Repetitions {
		t.Errorf("%d points; want %d", len(rec.Points), cfg.Samples()/cfg.Repetitions)
	}
}

// openFDs lists this process's open fds as "FD TARGET" entries (a
// socket's target names its inode), so that a test can tell the fds it
// opened from fds another goroutine closed meanwhile: the fd table is the
// process's, and a count would mix the two.
func openFDs() (map[string]bool, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	fds := map[string]bool{}
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil { // the directory's own fd is closed by now
			fds[e.Name()+" "+l] = true
		}
	}
	return fds, nil
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
		p, why, err := watch(name, l)
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

func TestWatchLimits(t *testing.T) {
	l, err := newLayout(2, 2000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	if p, why, err := watch("select", l); err != nil || p != nil || !strings.Contains(why, "FD_SETSIZE") {
		t.Errorf("select over fd %d: poller %v, %q, %v; want none, naming FD_SETSIZE", l.maxFD(), p, why, err)
	}
	if _, _, err := watch("no-such", l); err == nil {
		t.Error("unknown backend: no error")
	}
}
