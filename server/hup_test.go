package server_test

import (
	"testing"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/server"
)

// writeOnlyWakeups wraps a poller and, once it has reported an fd's
// hang-up, reports that fd's later writable events as writable only,
// though the hang-up (and any input) is still there: what io_uring's
// multishot poll does (a CQE carries its wake-up's mask, and a write-space
// wake-up's is POLLOUT, not the socket's state), here over epoll so the
// test does not depend on when the kernel coalesces wake-ups.
type writeOnlyWakeups struct {
	backends.Poller
	hup map[int32]bool
}

func (p writeOnlyWakeups) Wait(events []backends.Event, timeoutMs int) (int, error) {
	n, err := p.Poller.Wait(events, timeoutMs)
	for i := range events[:n] {
		ev := &events[i]
		switch {
		case p.hup[ev.FD] && ev.Ready&backends.Writable != 0:
			ev.Ready = backends.Writable
		case ev.Ready&backends.Hangup != 0:
			p.hup[ev.FD] = true
		}
	}
	return n, err
}

// TestHangupRemembered: an edge-triggered loop that saw the peer's
// hang-up while its reply was stuck still reads to EOF once the reply has
// gone out, though the event that says so reports only "writable" (the
// half-close conformance test under load left uring-poll's connection
// open: every byte echoed, no close).
func TestHangupRemembered(t *testing.T) {
	info, err := backends.Lookup("epoll-et")
	if err != nil {
		t.Fatal(err)
	}
	newPoller := info.New
	info.New = func() (backends.Poller, error) {
		p, err := newPoller()
		return writeOnlyWakeups{p, map[int32]bool{}}, err
	}
	srv, err := server.New(info, server.Config{Addr: "127.0.0.1:0", Proto: traffic.Echo, SendBuffer: hupSendBuffer})
	if err != nil {
		t.Fatal(err)
	}
	hupWhileBlocked(t, srv, held(t, srv), true, true)
}
