// Package pollertest is the Poller-level test suite every backend runs:
// add, modify, remove, wait, timeout and close against real socket pairs.
package pollertest

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
)

// Run runs the suite against pollers made by newPoller. edge says whether
// the backend is edge-triggered (readiness is reported once per change).
func Run(t *testing.T, newPoller func() (backends.Poller, error), edge bool) {
	t.Run("timeout", func(t *testing.T) {
		p := open(t, newPoller)
		a, _ := pair(t)
		must(t, p.Add(a, backends.Read))
		// A wait may also end early with no events when the runtime's
		// preemption signal interrupts it (EINTR); either way it reports
		// nothing for an idle fd and does return.
		for start := time.Now(); time.Since(start) < 30*time.Millisecond; {
			n, err := p.Wait(make([]backends.Event, 8), 20)
			if err != nil || n != 0 {
				t.Fatalf("Wait on an idle fd = %d, %v; want 0, nil", n, err)
			}
		}
	})
	t.Run("readable", func(t *testing.T) {
		p := open(t, newPoller)
		a, b := pair(t)
		must(t, p.Add(a, backends.Read))
		write(t, b, "x")
		ev := waitOne(t, p)
		if int(ev.FD) != a || ev.Ready&backends.Readable == 0 {
			t.Fatalf("event = %+v; want fd %d readable", ev, a)
		}
	})
	t.Run("level or edge", func(t *testing.T) {
		p := open(t, newPoller)
		a, b := pair(t)
		must(t, p.Add(a, backends.Read))
		write(t, b, "x")
		waitOne(t, p)
		// Unread data: level-triggered reports it again, edge-triggered does not.
		n, err := p.Wait(make([]backends.Event, 8), 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 0, false: 1}[edge]; n != want {
			t.Fatalf("second Wait with unread data = %d events; want %d (edge-triggered %v)", n, want, edge)
		}
	})
	t.Run("modify to write", func(t *testing.T) {
		p := open(t, newPoller)
		a, _ := pair(t)
		must(t, p.Add(a, backends.Read))
		if n, _ := p.Wait(make([]backends.Event, 8), 0); n != 0 {
			t.Fatalf("idle fd with read interest reported ready (%d events)", n)
		}
		must(t, p.Modify(a, backends.Write))
		ev := waitOne(t, p)
		if int(ev.FD) != a || ev.Ready&backends.Writable == 0 {
			t.Fatalf("event = %+v; want fd %d writable", ev, a)
		}
	})
	t.Run("remove", func(t *testing.T) {
		p := open(t, newPoller)
		a, b := pair(t)
		c, d := pair(t)
		must(t, p.Add(a, backends.Read))
		must(t, p.Add(c, backends.Read))
		must(t, p.Remove(a))
		write(t, b, "x")
		write(t, d, "y")
		ev := waitOne(t, p)
		if int(ev.FD) != c {
			t.Fatalf("event for fd %d; want only fd %d (fd %d was removed)", ev.FD, c, a)
		}
		if err := p.Remove(a); err == nil {
			t.Errorf("Remove of an fd already removed succeeded; want an error")
		}
	})
	t.Run("hangup", func(t *testing.T) {
		p := open(t, newPoller)
		a, b := pair(t)
		must(t, p.Add(a, backends.Read))
		must(t, unix.Shutdown(b, unix.SHUT_WR))
		ev := waitOne(t, p)
		if ev.Ready&(backends.Readable|backends.Hangup) == 0 {
			t.Fatalf("event after peer shutdown = %+v; want readable or hangup", ev)
		}
	})
	t.Run("many fds", func(t *testing.T) {
		p := open(t, newPoller)
		var fds, peers []int
		for i := 0; i < 100; i++ {
			a, b := pair(t)
			must(t, p.Add(a, backends.Read))
			fds, peers = append(fds, a), append(peers, b)
		}
		for i := 0; i < len(peers); i += 10 {
			write(t, peers[i], "x")
		}
		seen := map[int]bool{}
		evs := make([]backends.Event, 4) // smaller than the ready set: must be reported over several calls
		deadline := time.Now().Add(5 * time.Second)
		for len(seen) < 10 && time.Now().Before(deadline) {
			n, err := p.Wait(evs, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs[:n] {
				seen[int(ev.FD)] = true
				var buf [1]byte
				unix.Read(int(ev.FD), buf[:]) // consume, so level-triggered moves on
			}
		}
		for i := 0; i < len(fds); i += 10 {
			if !seen[fds[i]] {
				t.Errorf("fd %d had data but was never reported", fds[i])
			}
		}
		if len(seen) != 10 {
			t.Errorf("%d fds reported; want 10", len(seen))
		}
	})
	if !edge {
		t.Run("fair", func(t *testing.T) { fair(t, newPoller) })
	}
	t.Run("add twice", func(t *testing.T) {
		p := open(t, newPoller)
		a, _ := pair(t)
		must(t, p.Add(a, backends.Read))
		if err := p.Add(a, backends.Read); err == nil {
			t.Errorf("second Add of fd %d succeeded; want an error", a)
		}
	})
	t.Run("close", func(t *testing.T) {
		p, err := newPoller()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
	})
}

func open(t *testing.T, newPoller func() (backends.Poller, error)) backends.Poller {
	t.Helper()
	p, err := newPoller()
	if err != nil {
		t.Fatalf("new poller: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// pair returns a connected non-blocking socket pair, closed at cleanup.
func pair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func write(t *testing.T, fd int, s string) {
	t.Helper()
	if _, err := unix.Write(fd, []byte(s)); err != nil {
		t.Fatalf("write fd %d: %v", fd, err)
	}
}

// waitOne waits (bounded) for exactly one event.
func waitOne(t *testing.T, p backends.Poller) backends.Event {
	t.Helper()
	evs := make([]backends.Event, 8)
	n, err := p.Wait(evs, 5000)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if n != 1 {
		t.Fatalf("Wait = %d events %+v; want 1", n, evs[:n])
	}
	return evs[0]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fair: with more fds ready than one Wait returns, every ready fd is
// reported within ceil(ready/len(events)) waits — a level-triggered
// backend must not report the same first ones every time and starve the
// rest (epoll rotates its ready list; poll and select rotate their scan).
func fair(t *testing.T, newPoller func() (backends.Poller, error)) {
	p := open(t, newPoller)
	const ready, batch = 40, 16
	want := map[int32]bool{}
	for i := 0; i < ready; i++ {
		a, b := pair(t)
		must(t, p.Add(a, backends.Read))
		write(t, b, "x")
		want[int32(a)] = true
	}
	seen := map[int32]bool{}
	evs := make([]backends.Event, batch)
	for w := 0; w < (ready+batch-1)/batch; w++ {
		n, err := p.Wait(evs, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs[:n] {
			seen[ev.FD] = true
		}
	}
	for fd := range want {
		if !seen[fd] {
			t.Errorf("fd %d ready all along but not reported in %d waits of %d events (%d of %d seen)", fd, (ready+batch-1)/batch, batch, len(seen), ready)
		}
	}
}

// Unsupported describes a poller whose support check fails with reason,
// as io_uring's does where it is disabled, for tests of what the harness,
// the preflight and serve do with one; its New fails, and a test that
// sees "must not be constructed" caught someone starting it anyway. A
// test binary registers it with backends.Register.
func Unsupported(name, reason string) backends.Info {
	return backends.Info{
		Name:        name,
		Description: "a backend this kernel cannot run (test)",
		Check:       func() error { return errors.New(reason) },
		New:         func() (backends.Poller, error) { return nil, errors.New("must not be constructed") },
	}
}
