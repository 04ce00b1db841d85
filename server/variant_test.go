package server_test

import (
	"testing"

	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
)

// TestBusyPollCountsEmptyWaits: epoll-busy spins in epoll_wait with
// timeout 0; with nothing to do, every poll is a wait that returned no
// event — counted in Waits (so events per wait shows the spin), never as
// an interrupted wait.
func TestBusyPollCountsEmptyWaits(t *testing.T) {
	srv := startServer(t, "epoll-busy", traffic.Echo)
	const polls = 1000
	st := waitStats(t, srv, "empty polls", func(s wire.Stats) bool { return s.Waits >= polls })
	if st.Events != 0 || st.WaitsInterrupted != 0 {
		t.Errorf("events %d, interrupted waits %d after %d idle polls; want 0, 0", st.Events, st.WaitsInterrupted, st.Waits)
	}
	roundTrip(t, dial(t, srv), pattern(64, 1)) // and it still serves
}
