package harness

import (
	"context"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/pollertest"
	"github.com/muxbench/muxbench/results"
)

// A poller whose support check fails, as io_uring's does on a kernel with
// kernel.io_uring_disabled=2: registered for this test binary only.
const noKernel = "test-no-kernel"

func init() {
	backends.Register(pollertest.Unsupported(noKernel, "unsupported: disabled by sysctl x=2: set x=0"))
}

// TestUnsupportedBackend: a backend whose Check fails has every point
// recorded unsupported with the check's reason, without starting a server
// (the server command here would fail every sample), and its samples are
// planned as taking no load time.
func TestUnsupportedBackend(t *testing.T) {
	keepAffinity(t)
	sc := tinyScenario()
	sc.Backends = []string{noKernel}
	run, err := Run(context.Background(), Options{Scenario: sc, ServerCommand: []string{"sh", "-c", "exit 9"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(run.Samples) != len(sc.FDs) {
		t.Fatalf("%d samples; want %d", len(run.Samples), len(sc.FDs))
	}
	for _, s := range run.Samples {
		if s.Status != results.StatusUnsupported || !strings.Contains(s.Reason, "disabled by sysctl x=2") || !strings.HasPrefix(s.Reason, noKernel+": ") {
			t.Errorf("%s at %d fds: %s %q; want unsupported with the check's reason", s.Backend, s.FDs, s.Status, s.Reason)
		}
	}
	for _, j := range Jobs(sc) {
		if !plannedUnsupported(j) {
			t.Errorf("job %+v not planned unsupported", j)
		}
	}
}
