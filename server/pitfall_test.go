package server_test

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/start"
)

// The pitfalls (backends.Pitfall) are left out of TestConformance: they
// fail it on purpose. These tests show that each one's mistake happens —
// so the policy is wired into the loop — and that the correct loop over
// the same poller does not make it. Each runs the correct backend and the
// pitfall through the same steps; where "does not happen" has to be shown,
// a round trip on another connection is the barrier: the loop is one
// thread, so once that is answered, every event queued before it was
// handled.

// heldServer creates the server but does not run its loop until serve is
// called, so a test can queue connections and data first.
func heldServer(t *testing.T, backend string, cfg server.Config) (srv server.Runner, serve func()) {
	t.Helper()
	srv, err := start.Server(backend, cfg)
	if err != nil {
		t.Fatalf("start %s: %v", backend, err)
	}
	return srv, held(t, srv)
}

// held returns the func that runs srv's loop, and stops it at cleanup.
func held(t *testing.T, srv server.Runner) (serve func()) {
	done := make(chan error, 1)
	running := false
	serve = func() {
		running = true
		go func() { done <- srv.Serve() }()
	}
	t.Cleanup(func() {
		if !running {
			serve() // Serve's return closes the listener and the poller
		}
		srv.Shutdown()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(deadline):
			t.Errorf("Serve did not return within %v of Shutdown", deadline)
		}
	})
	return serve
}

// rawSocket connects a blocking client socket whose every read and write
// gives up after the suite's deadline; rcvbuf > 0 sets SO_RCVBUF first (a
// slow reader's small window).
func rawSocket(t *testing.T, addr string, rcvbuf int) int {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if rcvbuf > 0 {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf) // before the handshake advertises a window
	}
	tv := unix.NsecToTimeval(int64(deadline))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	return fd
}

func writeAll(t *testing.T, fd int, b []byte) {
	t.Helper()
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		b = b[n:]
	}
}

func readFull(t *testing.T, fd int, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	for got := 0; got < n; {
		m, err := unix.Read(fd, b[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m == 0 {
			t.Fatalf("read %d of %d bytes: %d, %v", got, n, m, err)
		}
		got += m
	}
	return b
}

// waitDelivered waits until the peer has acknowledged everything fd sent,
// the FIN included (SIOCOUTQ counts it until acknowledged): it is then in
// the peer's receive queue, accepted or not.
func waitDelivered(t *testing.T, fd int) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
		if err != nil {
			t.Fatalf("SIOCOUTQ: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%d bytes still unacknowledged after %v", n, deadline)
		}
		time.Sleep(time.Millisecond)
	}
}

// barrier makes one round trip on a new connection.
func barrier(t *testing.T, srv server.Runner) {
	t.Helper()
	roundTrip(t, dial(t, srv), pattern(64, 7))
}

// pair runs fn for the correct backend and for the pitfall.
func pair(t *testing.T, correct, pitfall string, fn func(t *testing.T, backend string, wrong bool)) {
	t.Run(correct, func(t *testing.T) { fn(t, correct, false) })
	t.Run(pitfall, func(t *testing.T) { fn(t, pitfall, true) })
}

// TestPitfallETAcceptOnce: connections queued before the loop runs raise
// one listener edge. The correct loop accepts them all; accepting once per
// edge leaves all but one in the queue, and a later connect (a new edge)
// takes one more, never the rest.
func TestPitfallETAcceptOnce(t *testing.T) {
	pair(t, "epoll-et", "pitfall-et-accept-once", func(t *testing.T, backend string, wrong bool) {
		srv, serve := heldServer(t, backend, server.Config{Addr: "127.0.0.1:0"})
		const n = 50
		for i := 0; i < n; i++ {
			dialRaw(t, srv.Addr(), 0) // the kernel completes the handshake; the connection waits in the accept queue
		}
		serve()
		if !wrong {
			waitStats(t, srv, "every queued connection accepted", func(s wire.Stats) bool { return s.Accepts == n })
			return
		}
		waitStats(t, srv, "the first accept", func(s wire.Stats) bool { return s.Accepts >= 1 })
		dialRaw(t, srv.Addr(), 0)
		st := waitStats(t, srv, "the accept after a new edge", func(s wire.Stats) bool { return s.Accepts >= 2 })
		if st.Accepts != 2 {
			t.Errorf("accepts = %d; want 2 (one per edge, %d left in the queue)", st.Accepts, n-1)
		}
	})
}

// TestPitfallETShortReadIgnoreHup: data and the client's close, both
// queued before the server accepts, arrive in one edge. The correct loop
// answers and closes; the pitfall answers, stops at the short read and
// never sees the close: the connection leaks.
func TestPitfallETShortReadIgnoreHup(t *testing.T) {
	pair(t, "epoll-et", "pitfall-et-short-read-ignore-hup", func(t *testing.T, backend string, wrong bool) {
		srv, serve := heldServer(t, backend, server.Config{Addr: "127.0.0.1:0"})
		fd := rawSocket(t, srv.Addr(), 0)
		msg := pattern(100, 3)
		writeAll(t, fd, msg)
		unix.Shutdown(fd, unix.SHUT_WR)
		waitDelivered(t, fd)
		serve()
		if got := readFull(t, fd, len(msg)); firstDiff(got, msg) >= 0 {
			t.Fatal("echo differs")
		}
		if !wrong {
			waitStats(t, srv, "the close seen", func(s wire.Stats) bool { return s.ConnsClosed == 1 })
			return
		}
		barrier(t, srv)
		if st := srv.Stats(); st.ConnsClosed != 0 || st.ConnsOpen != 2 {
			t.Errorf("closed %d, open %d; want 0 closed and the closed client's connection still open (2)", st.ConnsClosed, st.ConnsOpen)
		}
		var b [1]byte
		if n, _, err := unix.Recvfrom(fd, b[:], unix.MSG_DONTWAIT); err != unix.EAGAIN {
			t.Errorf("client read = %d, %v; want EAGAIN (no EOF: the server never closes)", n, err)
		}
	})
}

// TestPitfallETReadOnce: more than one read's worth of input, queued before
// the server accepts, arrives in one edge. The correct loop drains and
// echoes it all; reading once per edge echoes one read's worth and leaves
// the rest queued with no edge to come.
func TestPitfallETReadOnce(t *testing.T) {
	pair(t, "epoll-et", "pitfall-et-read-once", func(t *testing.T, backend string, wrong bool) {
		srv, serve := heldServer(t, backend, server.Config{Addr: "127.0.0.1:0"})
		fd := rawSocket(t, srv.Addr(), 0)
		msg := pattern(backends.ReadBufferSize+backends.ReadBufferSize/2, 4)
		writeAll(t, fd, msg)
		waitDelivered(t, fd)
		serve()
		if !wrong {
			if got := readFull(t, fd, len(msg)); firstDiff(got, msg) >= 0 {
				t.Fatal("echo differs")
			}
			return
		}
		if got := readFull(t, fd, backends.ReadBufferSize); firstDiff(got, msg[:len(got)]) >= 0 {
			t.Fatal("echo of the first read differs")
		}
		barrier(t, srv)
		if st := srv.Stats(); st.BytesIn != uint64(backends.ReadBufferSize+64) {
			t.Errorf("bytes in = %d; want %d (one read of the %d queued, plus the barrier's 64)", st.BytesIn, backends.ReadBufferSize+64, len(msg))
		}
	})
}

// slowReader connects with a tiny receive window, sends one read's worth
// and never reads: the server's echo cannot all be written.
func slowReader(t *testing.T, srv server.Runner) {
	t.Helper()
	fd := rawSocket(t, srv.Addr(), 4096)
	writeAll(t, fd, pattern(backends.ReadBufferSize, 5))
}

// TestPitfallSleepSend: a reader that never reads. The correct loop keeps
// the unsent reply pending and serves another client meanwhile; the
// pitfall sleeps and retries inside the write, so the other client is
// answered only after it gave up on the slow one and closed it.
func TestPitfallSleepSend(t *testing.T) {
	pair(t, "epoll-lt", "pitfall-sleep-send", func(t *testing.T, backend string, wrong bool) {
		srv := startServerConfig(t, backend, server.Config{Addr: "127.0.0.1:0", SendBuffer: 4096})
		slowReader(t, srv)
		waitStats(t, srv, "a write that returned EAGAIN", func(s wire.Stats) bool { return s.WriteEAGAIN >= 1 })
		barrier(t, srv) // dialled while the pitfall sleeps in its write
		st := srv.Stats()
		if !wrong {
			if st.ConnsClosed != 0 || st.ConnsOpen != 2 {
				t.Errorf("closed %d, open %d; want the slow reader still open beside the barrier (0, 2)", st.ConnsClosed, st.ConnsOpen)
			}
			return
		}
		if st.ConnsClosed != 1 || st.Errors.Other != 1 || st.WriteEAGAIN < backends.SleepSendRetries {
			t.Errorf("when the barrier was answered: closed %d, other errors %d, write EAGAINs %d; want the slow reader given up on first (1, 1, >= %d)",
				st.ConnsClosed, st.Errors.Other, st.WriteEAGAIN, backends.SleepSendRetries)
		}
	})
}

// TestPitfallLTKeepEpollout: once a connection's pending output is flushed,
// the correct loop waits only for what comes in — round trips on another
// connection cost about one wait each — while the pitfall keeps write
// interest on a socket that is always writable and spins, waiting without
// any traffic at all.
func TestPitfallLTKeepEpollout(t *testing.T) {
	pair(t, "epoll-lt", "pitfall-lt-keep-epollout", func(t *testing.T, backend string, wrong bool) {
		srv := startServerConfig(t, backend, server.Config{Addr: "127.0.0.1:0", SendBuffer: 4096})
		fd := rawSocket(t, srv.Addr(), 4096)
		msg := pattern(backends.ReadBufferSize, 6)
		writeAll(t, fd, msg)
		waitStats(t, srv, "output left pending", func(s wire.Stats) bool { return s.WriteEAGAIN >= 1 })
		if got := readFull(t, fd, len(msg)); firstDiff(got, msg) >= 0 {
			t.Fatal("echo differs")
		}
		before := waitStats(t, srv, "the pending output flushed", func(s wire.Stats) bool { return s.BytesOut == uint64(len(msg)) })
		if wrong {
			const spin = 10000
			after := waitStats(t, srv, "waits without traffic", func(s wire.Stats) bool { return s.Waits >= before.Waits+spin })
			if after.BytesIn != before.BytesIn || after.Events-before.Events < spin {
				t.Errorf("bytes in %d -> %d, events +%d; want no traffic and an event per wait", before.BytesIn, after.BytesIn, after.Events-before.Events)
			}
			return
		}
		const trips = 200
		c := dial(t, srv)
		for i := 0; i < trips; i++ {
			roundTrip(t, c, pattern(64, i))
		}
		// One wait for the accept and one per round trip; a few more where a
		// request arrives in two pieces.
		if waits := srv.Stats().Waits - before.Waits; waits > 2*trips {
			t.Errorf("%d waits for %d round trips; want at most %d (the flushed connection is not reported again)", waits, trips, 2*trips)
		}
	})
}
