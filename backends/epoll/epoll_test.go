package epoll

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/pollertest"
)

func TestPollerLevel(t *testing.T) {
	pollertest.Run(t, func() (backends.Poller, error) { return New(LevelTriggered) }, false)
}

func TestPollerEdge(t *testing.T) {
	pollertest.Run(t, func() (backends.Poller, error) { return New(EdgeTriggered) }, true)
}

// TestOneshot: an fd is reported once, then not again while its data is
// unread, until Modify re-arms it; re-armed it is reported again, level-
// triggered, because the data is still there.
func TestOneshot(t *testing.T) {
	p, err := New(Oneshot)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := p.Add(fds[0], backends.Read); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(fds[1], []byte("x")); err != nil {
		t.Fatal(err)
	}
	evs := make([]backends.Event, 8)
	for i, want := range []int{1, 0, -1, 1, 0} {
		if want < 0 {
			if err := p.Modify(fds[0], backends.Read); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// A wait cut short by a signal returns 0 too: give the ones that
		// must report an event a few tries; the ones that must not, a
		// non-blocking look (the data is there, so a level-triggered
		// registration would report it at once).
		n, err := p.Wait(evs, 0)
		for try := 0; try < 100 && err == nil && n < want; try++ {
			n, err = p.Wait(evs, 1000)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("step %d: Wait = %d events; want %d (once per arming)", i, n, want)
		}
	}
}
