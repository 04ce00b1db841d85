package uringpoll

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/pollertest"
)

func TestPoller(t *testing.T) {
	pollertest.Run(t, func() (backends.Poller, error) { return New() }, true)
}

// TestRearmAfterOverflow fills a tiny CQ ring so that multishot polls end
// (their last CQE overflows, without IORING_CQE_F_MORE) and checks that
// every ready fd is still reported and that the re-armed polls report new
// data again.
func TestRearmAfterOverflow(t *testing.T) {
	p, err := newSized(4, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	const n = 24
	var fds, peers [n]int
	for i := range fds {
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(sp[0]); unix.Close(sp[1]) })
		fds[i], peers[i] = sp[0], sp[1]
		if err := p.Add(fds[i], backends.Read); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Wait(make([]backends.Event, 64), 0); err != nil { // arm them all
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		for _, b := range peers {
			unix.Write(b, []byte("x"))
		}
		seen := map[int]bool{}
		evs := make([]backends.Event, 64)
		for deadline := time.Now().Add(5 * time.Second); len(seen) < n && time.Now().Before(deadline); {
			k, err := p.Wait(evs, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs[:k] {
				if ev.Ready&backends.Readable == 0 {
					t.Errorf("round %d: fd %d reported %v; want readable", round, ev.FD, ev.Ready)
				}
				seen[int(ev.FD)] = true
				var buf [8]byte
				unix.Read(int(ev.FD), buf[:])
			}
		}
		if len(seen) != n {
			t.Fatalf("round %d: %d of %d readable fds reported through a CQ ring of 8", round, len(seen), n)
		}
	}
	if p.rearms == 0 {
		t.Errorf("no poll ended and was re-armed: the test did not overflow the CQ ring")
	}
}

// TestStaleAfterReuse removes an fd with a completion pending, closes it,
// and gets the same fd number for a new socket: the old request's CQEs
// must not be reported for the new one.
func TestStaleAfterReuse(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := sp[0], sp[1]
	t.Cleanup(func() { unix.Close(b) })
	if err := p.Add(a, backends.Read); err != nil {
		t.Fatal(err)
	}
	p.Wait(make([]backends.Event, 8), 0)
	unix.Write(b, []byte("x")) // a CQE for the old request
	if err := p.Remove(a); err != nil {
		t.Fatal(err)
	}
	unix.Close(a)
	sp2, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(sp2[0]); unix.Close(sp2[1]) })
	if sp2[0] != a {
		t.Skipf("fd %d not reused (got %d)", a, sp2[0])
	}
	if err := p.Add(sp2[0], backends.Read); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		n, err := p.Wait(make([]backends.Event, 8), 10)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("idle new socket on reused fd %d reported ready (%d events): a stale CQE leaked", a, n)
		}
	}
}
