package fdselect

import (
	"errors"
	"testing"

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
