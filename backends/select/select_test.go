package fdselect

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/pollertest"
)

func TestPoller(t *testing.T) {
	pollertest.Run(t, func() (backends.Poller, error) { return New(), nil }, false)
}

func TestFDSetSizeRefused(t *testing.T) {
	p := New()
	for _, fd := range []int{FDSetSize, FDSetSize + 1, 1 << 20, -1} {
		err := p.Add(fd, backends.Read)
		var le *LimitError
		if !errors.As(err, &le) || !errors.Is(err, backends.ErrFDLimit) {
			t.Errorf("Add(%d) = %v; want *LimitError matching backends.ErrFDLimit", fd, err)
		}
	}
	if err := p.Add(FDSetSize-1, backends.Read); err != nil {
		t.Errorf("Add(%d) = %v; want nil (the largest fd select can hold)", FDSetSize-1, err)
	}
	if FDSetSize != 1024 {
		t.Errorf("FDSetSize = %d; want 1024 on Linux", FDSetSize)
	}
}

func TestPollerBig(t *testing.T) {
	pollertest.Run(t, func() (backends.Poller, error) { return NewBig(), nil }, false)
}

// TestBigPastFDSetSize: select-big watches and reports an fd that select's
// fd_set cannot hold, and select itself still refuses it.
func TestBigPastFDSetSize(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	high, err := unix.FcntlInt(uintptr(fds[0]), unix.F_DUPFD_CLOEXEC, FDSetSize+500)
	if err != nil {
		t.Skipf("cannot dup to an fd >= %d (open-file limit?): %v", FDSetSize+500, err)
	}
	defer unix.Close(high)
	if err := New().Add(high, backends.Read); !errors.Is(err, backends.ErrFDLimit) {
		t.Errorf("select Add(%d) = %v; want ErrFDLimit", high, err)
	}
	p := NewBig()
	if err := p.Add(fds[1], backends.Read); err != nil { // a low fd beside it
		t.Fatal(err)
	}
	if err := p.Add(high, backends.Read); err != nil {
		t.Fatalf("select-big Add(%d): %v", high, err)
	}
	if _, err := unix.Write(fds[1], []byte("x")); err != nil {
		t.Fatal(err)
	}
	evs := make([]backends.Event, 8)
	n := 0
	for try := 0; try < 100 && err == nil && n == 0; try++ { // a signal can end a wait early
		n, err = p.Wait(evs, 1000)
	}
	if err != nil || n != 1 || int(evs[0].FD) != high || evs[0].Ready&backends.Readable == 0 {
		t.Fatalf("Wait = %d, %v, %+v; want fd %d readable", n, err, evs[:n], high)
	}
	// Removing the high fd shrinks what is scanned back to the low one.
	if err := p.Remove(high); err != nil {
		t.Fatal(err)
	}
	if p.maxFD != fds[1] {
		t.Errorf("highest fd after Remove = %d; want %d", p.maxFD, fds[1])
	}
}
