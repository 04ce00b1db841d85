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

// TestRemoveWhileWakePending removes an fd whose poll request has a
// wake-up pending and closes it: the socket must really close (its peer
// sees the hang-up). With the ring's deferred task work the wake-up waits
// for the next enter, which submits the removal first, so the removal
// always meets a request the kernel is about to complete. An
// IORING_OP_POLL_REMOVE then fails (EALREADY) and the multishot request
// stays armed, holding the socket open after close: seen as a server that
// echoed a half-closed client's data and never closed (issue 19).
func TestRemoveWhileWakePending(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	evs := make([]backends.Event, 8)
	for _, in := range []backends.Interest{backends.Read, backends.Read | backends.Write} {
		what := map[backends.Interest]string{backends.Read: "read", backends.Read | backends.Write: "read+write"}[in]
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		a, b := sp[0], sp[1]
		t.Cleanup(func() { unix.Close(b) })
		if err := p.Add(a, in); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(evs, 0); err != nil { // arm it, and take the writable CQE
			t.Fatal(err)
		}
		unix.Write(b, []byte("x")) // a wake-up, completed at the next enter
		if err := p.Remove(a); err != nil {
			t.Fatal(err)
		}
		unix.Close(a)
		if _, err := p.Wait(evs, 0); err != nil { // submits the removal, runs the wake-up
			t.Fatal(err)
		}
		fds := []unix.PollFd{{Fd: int32(b), Events: unix.POLLIN}}
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
			if n, err := unix.Poll(fds, 100); err != nil && err != unix.EINTR {
				t.Fatal(err)
			} else if n > 0 && fds[0].Revents&unix.POLLHUP != 0 {
				break
			}
		}
		if fds[0].Revents&unix.POLLHUP == 0 {
			t.Fatalf("%s interest: the peer of a removed and closed fd sees no hang-up within 2 s (revents %#x): "+
				"the poll request still holds the socket open", what, fds[0].Revents)
		}
	}
}
