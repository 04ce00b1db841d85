package poll

import (
	"testing"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/pollertest"
)

func TestPoller(t *testing.T) {
	pollertest.Run(t, func() (backends.Poller, error) { return New(), nil }, false)
}

// TestRemoveSwaps checks the O(1) swap removal keeps the index consistent.
func TestRemoveSwaps(t *testing.T) {
	p := New()
	for fd := 10; fd < 15; fd++ {
		if err := p.Add(fd, backends.Read); err != nil {
			t.Fatal(err)
		}
	}
	for _, fd := range []int{10, 14, 12} {
		if err := p.Remove(fd); err != nil {
			t.Fatalf("Remove(%d) = %v", fd, err)
		}
	}
	if len(p.fds) != 2 {
		t.Fatalf("%d entries left; want 2", len(p.fds))
	}
	for i, pfd := range p.fds {
		if got := p.lookup(int(pfd.Fd)); got != i {
			t.Errorf("index of fd %d = %d; want %d", pfd.Fd, got, i)
		}
	}
	for _, fd := range []int{11, 13} {
		if err := p.Modify(fd, backends.Write); err != nil {
			t.Errorf("Modify(%d) after removals = %v", fd, err)
		}
	}
}
