package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/start"
	"github.com/muxbench/muxbench/server/uring"
)

// deadline bounds every wait in this suite: a stalled backend fails loudly.
const deadline = 20 * time.Second

// startServer runs a server for backend on 127.0.0.1:0 and stops it at cleanup.
func startServer(t testing.TB, backend string, proto traffic.Proto) server.Runner {
	t.Helper()
	return startServerConfig(t, backend, server.Config{Addr: "127.0.0.1:0", Proto: proto})
}

func startServerConfig(t testing.TB, name string, cfg server.Config) server.Runner {
	t.Helper()
	backend, cfg := withLoops(t, name, cfg)
	srv, err := start.Server(backend, cfg)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Shutdown()
		awaitServe(t, done)
	})
	awaitLoops(t, srv)
	return srv
}

// awaitLoops waits, bounded, until every loop of srv runs: has set its
// thread up (pinned it, unshared its fd table), which allocates, so that
// a test counting the loop's allocations or fds starts after it.
func awaitLoops(t testing.TB, srv server.Runner) {
	t.Helper()
	ls, ok := srv.(interface{ LoopStats() []server.LoopStat })
	if !ok {
		return
	}
	end := time.Now().Add(deadline)
	for {
		running := 0
		for _, l := range ls.LoopStats() {
			if l.TID != 0 {
				running++
			}
		}
		if running == len(ls.LoopStats()) {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%d of %d loops running %v after Serve", running, len(ls.LoopStats()), deadline)
		}
		time.Sleep(time.Millisecond)
	}
}

// withLoops splits the name of a server under test into its backend and
// cfg with its loops set, and gives GOMAXPROCS back at cleanup (Serve
// raises it to a P per loop and one more).
func withLoops(t testing.TB, name string, cfg server.Config) (backend string, _ server.Config) {
	backend, loops := backendOf(name)
	if loops > 1 {
		cfg.Loops = loops
		procs := runtime.GOMAXPROCS(0)
		t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	return backend, cfg
}

// awaitServe waits, bounded, for Serve's result on done after a Shutdown,
// and reports whether it came.
func awaitServe(t testing.TB, done <-chan error) bool {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		return true
	case <-time.After(deadline):
		t.Errorf("Serve did not return within %v of Shutdown", deadline)
		return false
	}
}

func dial(t *testing.T, srv server.Runner) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", srv.Addr(), deadline)
	if err != nil {
		t.Fatalf("dial %s: %v", srv.Addr(), err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(deadline))
	return c.(*net.TCPConn)
}

// waitStats polls the server's counters until cond holds or the deadline passes.
func waitStats(t *testing.T, srv server.Runner, what string, cond func(wire.Stats) bool) wire.Stats {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		st := srv.Stats()
		// Stats loads the counters one after another while the loop
		// goes on counting: one snapshot can hold ConnsClosed 1 but not
		// the EOF read and the Remove counted just before it (seen under
		// load). A second snapshot, taken after the first saw cond hold,
		// holds every count the loop made before the ones cond saw.
		if cond(st) {
			if again := srv.Stats(); cond(again) {
				return again
			}
		}
		if time.Now().After(end) {
			t.Fatalf("waiting for %s: not reached within %v; stats %+v", what, deadline, st)
		}
		time.Sleep(time.Millisecond)
	}
}

// pattern returns n bytes whose content depends on position and seed, so a
// dropped, duplicated or reordered byte is caught.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// roundTrip writes msg (concurrently with reading) and checks the echo.
func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	werr := make(chan error, 1)
	go func() { _, err := c.Write(msg); werr <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo of %d bytes: %v", len(msg), err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write %d bytes: %v", len(msg), err)
	}
	if i := firstDiff(got, msg); i >= 0 {
		t.Fatalf("echo of %d bytes differs at byte %d", len(msg), i)
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return len(a)
	}
	return -1
}

// isLoop reports whether the backend runs one loop on a locked thread
// (the event loop, or uring), and so has every counter.
func isLoop(name string) bool {
	backend, _ := backendOf(name)
	b, _ := lineup.Lookup(backend)
	return b.LoopThread()
}

// loopsSep joins a backend and a loop count in the name of a server under
// test: "epoll-exclusive loops=4" is that backend run as four loops.
const loopsSep = " loops="

// backendOf splits the name of a server under test into its backend and
// loops (1 for a plain backend name).
func backendOf(name string) (backend string, loops int) {
	backend, n, ok := strings.Cut(name, loopsSep)
	if !ok {
		return name, 1
	}
	loops, _ = strconv.Atoi(n)
	return backend, loops
}

// underTest names every server the conformance suite runs: every backend
// as one loop, and each backend with a sharing mode as 2 and 4 loops.
func underTest() []string {
	names := lineup.Names()
	for _, backend := range lineup.Sharing() {
		for _, loops := range []int{2, 4} {
			names = append(names, fmt.Sprintf("%s%s%d", backend, loopsSep, loops))
		}
	}
	return names
}

func TestConformance(t *testing.T) {
	for _, name := range underTest() {
		t.Run(name, func(t *testing.T) {
			for _, size := range []int{1, 64, 64 << 10, 1 << 20, 8 << 20} {
				t.Run(fmt.Sprintf("echo %d bytes", size), func(t *testing.T) { testEcho(t, name, size) })
			}
			t.Run("pipelined burst", func(t *testing.T) { testPipelined(t, name) })
			t.Run("200 concurrent clients", func(t *testing.T) { testConcurrent(t, name, 200) })
			t.Run("half-close", func(t *testing.T) { testHalfClose(t, name, 3<<20) })
			t.Run("data then close", func(t *testing.T) { testHalfClose(t, name, 100) })
			t.Run("hang-up while output pending", func(t *testing.T) { testHupWhileBlocked(t, name) })
			t.Run("reset mid-stream", func(t *testing.T) { testReset(t, name) })
			t.Run("slow reader", func(t *testing.T) { testSlowReader(t, name) })
			t.Run("accept burst 500", func(t *testing.T) { testConcurrent(t, name, 500) })
			t.Run("5000 idle 4 active", func(t *testing.T) { testIdle(t, name, 5000, 4) })
			t.Run("counters", func(t *testing.T) { testCounters(t, name) })
			t.Run("sockperf", func(t *testing.T) { testSockperf(t, name) })
			t.Run("shutdown", func(t *testing.T) { testShutdown(t, name) })
		})
	}
}

func testEcho(t *testing.T, backend string, size int) {
	if size < 1<<20 {
		srv := startServer(t, backend, traffic.Echo)
		roundTrip(t, dial(t, srv), pattern(size, size))
		return
	}
	// Large: small socket buffers on both sides (loopback autotuning would
	// otherwise absorb a whole MiB) and no reading until the server has hit
	// a full send buffer, so the back-pressure path must run.
	srv := startServerConfig(t, backend, server.Config{Addr: "127.0.0.1:0", SendBuffer: 32 << 10})
	c := dial(t, srv)
	msg := pattern(size, size)
	c.SetReadBuffer(32 << 10)
	werr := make(chan error, 1)
	go func() { _, err := c.Write(msg); werr <- err }()
	// The notes' loop (ModPerRequest) never writes into a full buffer: it
	// writes only when a wait reports the fd writable, so it counts no
	// EAGAIN — and every reply of it takes the pending path anyway.
	if b, _ := lineup.Lookup(backendOf1(backend)); b.EventLoop() && !b.Poller.ModPerRequest {
		waitStats(t, srv, "a write EAGAIN", func(s wire.Stats) bool { return s.WriteEAGAIN > 0 })
	}
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if i := firstDiff(got, msg); i >= 0 {
		t.Fatalf("echo differs at byte %d of %d", i, size)
	}
	// The client can hold the last bytes before the server's write call has
	// returned and been counted: wait for the counters to settle.
	waitStats(t, srv, fmt.Sprintf("bytes in/out %d/%d", size, size), func(s wire.Stats) bool {
		return s.BytesIn == uint64(size) && s.BytesOut == uint64(size)
	})
}

func testPipelined(t *testing.T, backend string) {
	srv := startServer(t, backend, traffic.Echo)
	c := dial(t, srv)
	// 2000 small messages written back to back without waiting for echoes.
	var all []byte
	for i := 0; i < 2000; i++ {
		all = append(all, pattern(1+i%61, i)...)
	}
	werr := make(chan error, 1)
	go func() {
		var err error
		for off := 0; off < len(all) && err == nil; off += 61 {
			_, err = c.Write(all[off:min(off+61, len(all))])
		}
		werr <- err
	}()
	got := make([]byte, len(all))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if i := firstDiff(got, all); i >= 0 {
		t.Fatalf("pipelined echo differs at byte %d of %d", i, len(all))
	}
}

// testConcurrent connects n clients at once (an accept burst: an
// edge-triggered listener that accepts only once per wake-up loses some) and
// has each do a few round trips.
func testConcurrent(t *testing.T, backend string, n int) {
	srv := startServer(t, backend, traffic.Echo)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			c, err := net.DialTimeout("tcp", srv.Addr(), deadline)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(deadline))
			for j := 0; j < 5; j++ {
				msg := pattern(100, i*10+j)
				if _, err := c.Write(msg); err != nil {
					errs <- fmt.Errorf("client %d write: %w", i, err)
					return
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- fmt.Errorf("client %d read: %w", i, err)
					return
				}
				if !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("client %d: echo differs", i)
					return
				}
			}
		}(i)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := waitStats(t, srv, "all connections closed", func(s wire.Stats) bool {
		return s.ConnsClosed == uint64(n)
	})
	if st.Accepts != uint64(n) || st.ConnsRejected != 0 {
		t.Errorf("accepts %d, rejected %d; want %d, 0", st.Accepts, st.ConnsRejected, n)
	}
}

func testHupWhileBlocked(t *testing.T, name string) {
	backend, cfg := withLoops(t, name, server.Config{Addr: "127.0.0.1:0", Proto: traffic.Echo, SendBuffer: hupSendBuffer})
	info, _ := backends.Lookup(backend)
	srv, serve := heldServer(t, backend, cfg)
	hupWhileBlocked(t, srv, serve, isLoop(name), info.EdgeTriggered)
}

// hupSendBuffer is the server's SO_SNDBUF in hupWhileBlocked: small, so
// its reply is stuck at once.
const hupSendBuffer = 4096

// hupWhileBlocked: the client's last bytes and its FIN reach the server
// while the server's reply to earlier data is stuck (the client reads
// nothing yet, through a small window): once the client reads, it must
// get every byte back and then the server's close. An edge-triggered loop
// takes the hang-up's event while it cannot read; the event that later
// says its reply went out may say only "writable" (io_uring's poll
// reports the wake-up's mask, not the socket's state), and the last bytes
// are one short read whose reply fits at once: a loop that stops at that
// short read leaves the EOF unread and the connection open for ever.
//
// srv runs with hupSendBuffer, its loop held until serve; loop and edge
// say what its counters show (the whole servers count no EAGAIN: they
// are checked for the result only).
func hupWhileBlocked(t *testing.T, srv server.Runner, serve func(), loop, edge bool) {
	const first, last = 48 << 10, 100 // first: one read of the loop's buffer
	fd := rawSocket(t, srv.Addr(), 4096)
	msg := pattern(first+last, 11)
	writeAll(t, fd, msg[:first])
	waitDelivered(t, fd) // queued before the loop runs: its first read takes it all
	serve()
	if loop {
		// The loop read it all and its reply is stuck: it stopped reading.
		waitStats(t, srv, "the first data read and its reply stuck", func(s wire.Stats) bool {
			return s.BytesIn == first && s.WriteEAGAIN >= 1
		})
	}
	writeAll(t, fd, msg[first:])
	if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, fd) // the last bytes and the FIN are in the server's receive queue
	if loop && edge {
		// The loop took the hang-up's event with its reply stuck: it tried
		// the pending write again and found the socket still full.
		waitStats(t, srv, "the hang-up handled while the reply is stuck", func(s wire.Stats) bool { return s.WriteEAGAIN >= 2 })
	}
	got := readFull(t, fd, len(msg))
	if i := firstDiff(got, msg); i >= 0 {
		t.Fatalf("echo differs at byte %d", i)
	}
	var b [1]byte
	if n, err := unix.Read(fd, b[:]); n != 0 || err != nil {
		t.Errorf("after the whole echo: read %d, %v; want EOF (the server closes after answering the hang-up)", n, err)
	}
}

// testHalfClose: the client sends, shuts down its write side, and must get
// every byte back before the server closes.
func testHalfClose(t *testing.T, backend string, size int) {
	srv := startServer(t, backend, traffic.Echo)
	c := dial(t, srv)
	msg := pattern(size, 7)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(c) // to EOF: the server must close after flushing
	if err != nil {
		t.Fatalf("read to EOF: %v (got %d of %d bytes)", err, len(got), size)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write then shutdown: %v", err)
	}
	if i := firstDiff(got, msg); i >= 0 {
		t.Fatalf("got %d bytes, want %d; differs at %d", len(got), size, i)
	}
	waitStats(t, srv, "the connection closed", func(s wire.Stats) bool { return s.ConnsClosed == 1 && s.ConnsOpen == 0 })
}

// testReset: a client that resets mid-stream costs only its own connection.
func testReset(t *testing.T, backend string) {
	srv := startServer(t, backend, traffic.Echo)
	other := dial(t, srv)
	roundTrip(t, other, pattern(10, 1))
	c := dial(t, srv)
	c.SetReadBuffer(16 << 10)
	if _, err := c.Write(pattern(1<<20, 2)); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write: %v", err)
	}
	c.SetLinger(0) // close sends RST
	c.Close()
	waitStats(t, srv, "the reset connection closed", func(s wire.Stats) bool { return s.ConnsClosed == 1 })
	roundTrip(t, other, pattern(1000, 3))
	if st := srv.Stats(); st.ConnsOpen != 1 {
		t.Errorf("conns open = %d; want 1", st.ConnsOpen)
	}
}

// testSlowReader: a client that sends and never reads holds at most one
// buffer of server memory and does not slow the others.
func testSlowReader(t *testing.T, backend string) {
	srv := startServer(t, backend, traffic.Echo)
	slow := dial(t, srv)
	slow.SetReadBuffer(32 << 10)
	slow.SetWriteBuffer(32 << 10)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		chunk := pattern(16<<10, 5)
		for {
			select {
			case <-stop:
				return
			default:
			}
			slow.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := slow.Write(chunk); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue // blocked by back-pressure, as expected
				}
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-writerDone })
	// Wait until the server stops taking input: bytes_in stops growing.
	var last uint64
	stable := 0
	end := time.Now().Add(deadline)
	for stable < 20 {
		if time.Now().After(end) {
			t.Fatalf("server never stopped reading from a client that does not read (bytes_in %d)", last)
		}
		time.Sleep(5 * time.Millisecond)
		in := srv.Stats().BytesIn
		if in == last && in > 0 {
			stable++
		} else {
			stable, last = 0, in
		}
	}
	st := srv.Stats()
	held := st.BytesIn - st.BytesOut
	limit := uint64(backends.ReadBufferSize)
	switch {
	case backend == lineup.Uring:
		limit = uring.MaxHeld // the kernel reads ahead into provided buffers
	case !isLoop(backend):
		limit = 16 << 10 // gonet's per-connection buffer
	}
	if held > limit {
		t.Errorf("server holds %d bytes for the slow reader; want at most %d (one buffer)", held, limit)
	}
	// Meanwhile another client is served normally.
	fast := dial(t, srv)
	for i := 0; i < 20; i++ {
		roundTrip(t, fast, pattern(512, i))
	}
}

// testIdle: many idle connections, a few active ones doing round trips.
func testIdle(t *testing.T, backend string, idle, active int) {
	if testing.Short() {
		t.Skip("opens 5,000 connections")
	}
	srv := startServer(t, backend, traffic.Echo)
	name, _ := backendOf(backend)
	if info, err := lineup.Lookup(name); err == nil && info.MaxFD == fdselect.FDSetSize {
		// select (and its -sharedfd variant) cannot hold 5,000 fds: the
		// ones past FD_SETSIZE are rejected, which TestSelectLimit checks.
		// Run at what fits, with the clients' fds in this same process: 2
		// per connection.
		idle = fdselect.FDSetSize/2 - 2*active - 20
	}
	for i := 0; i < idle; i++ {
		dial(t, srv)
	}
	want := int64(idle)
	waitStats(t, srv, fmt.Sprintf("%d idle connections", idle), func(s wire.Stats) bool { return s.ConnsOpen == want })
	var wg sync.WaitGroup
	errs := make(chan error, active)
	for i := 0; i < active; i++ {
		c := dial(t, srv)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			buf := make([]byte, 64)
			for j := 0; j < 200; j++ {
				msg := pattern(64, i*1000+j)
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(buf, msg) {
					errs <- fmt.Errorf("active %d round trip %d: echo differs", i, j)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := srv.Stats()
	if st.ConnsOpen != int64(idle+active) || st.ConnsRejected != 0 {
		t.Errorf("open %d, rejected %d; want %d, 0", st.ConnsOpen, st.ConnsRejected, idle+active)
	}
	if st.BytesIn != uint64(active*200*64) {
		t.Errorf("bytes in = %d; want %d", st.BytesIn, active*200*64)
	}
}

// testCounters: one connection, N round trips of a small message: the
// counters must say exactly what happened.
func testCounters(t *testing.T, backend string) {
	srv := startServer(t, backend, traffic.Echo)
	c := dial(t, srv)
	const n, size = 50, 32
	for i := 0; i < n; i++ {
		roundTrip(t, c, pattern(size, i))
	}
	c.Close()
	st := waitStats(t, srv, "close", func(s wire.Stats) bool { return s.ConnsClosed == 1 })
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"accepts", st.Accepts, 1},
		{"bytes_in", st.BytesIn, n * size},
		{"bytes_out", st.BytesOut, n * size},
		{"writes", st.Writes, n}, // one write per small message
		{"rejected", st.ConnsRejected, 0},
		{"errors", st.Errors.Reset + st.Errors.Pipe + st.Errors.Other + st.Errors.Protocol, 0},
	}
	if isLoop(backend) {
		checks = append(checks,
			struct {
				name      string
				got, want uint64
			}{"write_eagain", st.WriteEAGAIN, 0})
		// Every loop makes exactly n+1 reads that return data or EOF. Level-
		// triggered: one wait and one read per message. Edge-triggered with
		// the short-read rule: the same, no EAGAIN (a 32-byte read is
		// short, so the socket is drained). Draining to EAGAIN: one EAGAIN
		// read per readiness (the drain read sometimes finds the client's
		// next message already there, so it may need fewer waits).
		info, _ := backends.Lookup(backendOf1(backend))
		if got := st.Reads - st.ReadEAGAIN; got != n+1 {
			t.Errorf("reads with data or EOF = %d; want %d", got, n+1)
		}
		switch {
		case info.EdgeTriggered && info.DrainReads:
			if st.ReadEAGAIN == 0 || st.Waits == 0 {
				t.Errorf("read EAGAINs %d, waits %d; want both > 0 (drain to EAGAIN, then wait)", st.ReadEAGAIN, st.Waits)
			}
		case st.Waits < n || st.Events < n || st.ReadEAGAIN != 0:
			t.Errorf("waits %d, events %d, read EAGAINs %d; want >= %d, >= %d, 0 (one readiness and one read per message)", st.Waits, st.Events, st.ReadEAGAIN, n, n)
		}
		// Interest changes: the Add and the Remove of the connection, and
		// what the variant adds — MOD per request: to write and back, per
		// message; oneshot: a re-arm per event but the one that closed.
		mods := uint64(2)
		switch {
		case info.ModPerRequest:
			mods += 2 * n
		case info.Oneshot:
			mods = st.Events + 1
		}
		if st.InterestMods != mods {
			t.Errorf("interest changes = %d; want %d", st.InterestMods, mods)
		}
		// Each poller watches a listener and the wake-up eventfd. (How many
		// waits a signal interrupted depends on the runtime's signals, not
		// on the server: idle loops of a many-loop server can count more
		// of them than waits. TestInterruptedWaitsCounted checks that
		// counter with signals of its own.)
		_, loops := backendOf(backend)
		if own := int64(2 * info.Sharing.Pollers(loops)); st.Watched != own {
			t.Errorf("watched %d after the close; want %d (listener and wake-up fd per poller)", st.Watched, own)
		}
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %d; want %d", ch.name, ch.got, ch.want)
		}
	}
}

// backendOf1 is the backend of a server under test's name.
func backendOf1(name string) string {
	backend, _ := backendOf(name)
	return backend
}

// testShutdown: Shutdown stops every loop — Serve returns, each loop's
// thread has left its loop, the listeners are closed — and closes every
// connection, whichever loop held it.
func testShutdown(t *testing.T, name string) {
	backend, loops := backendOf(name)
	if loops > 1 {
		procs := runtime.GOMAXPROCS(0)
		defer runtime.GOMAXPROCS(procs)
	}
	srv, err := start.Server(backend, server.Config{Addr: "127.0.0.1:0", Loops: loops})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	var clients []net.Conn
	for i := 0; i < 4*loops; i++ {
		c := dial(t, srv)
		roundTrip(t, c, pattern(16, i))
		clients = append(clients, c)
	}
	srv.Shutdown()
	if !awaitServe(t, done) {
		t.FailNow()
	}
	if s, ok := srv.(*server.Server); ok {
		for i, l := range s.LoopStats() {
			if l.TID != 0 {
				t.Errorf("loop %d of %d still on thread %d after Serve returned", i, len(s.LoopStats()), l.TID)
			}
		}
	}
	for i, c := range clients {
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("client %d: read %d bytes after Shutdown; want EOF or reset", i, n)
		}
	}
	if c, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s after Shutdown succeeded; want refused", srv.Addr())
	}
}

func sockperfMsg(seq uint64, flags uint16, payload int) []byte {
	b := make([]byte, sockperf.HeaderLen+payload)
	sockperf.PutHeader(b, sockperf.Header{Seq: seq, Flags: flags, Len: uint32(len(b))})
	copy(b[sockperf.HeaderLen:], pattern(payload, int(seq)))
	return b
}

func testSockperf(t *testing.T, backend string) {
	srv := startServer(t, backend, traffic.Sockperf)
	c := dial(t, srv)
	req := sockperf.FlagClient | sockperf.FlagPongRequest
	// A warm-up message and a message without PONG_REQUEST get no reply;
	// the request is split across writes to exercise reassembly.
	msgs := append(sockperfMsg(1, req|sockperf.FlagWarmup, 50), sockperfMsg(2, sockperf.FlagClient, 50)...)
	want := sockperfMsg(3, req, 100)
	all := append(msgs, want...)
	for off := 0; off < len(all); off += 7 {
		if _, err := c.Write(all[off:min(off+7, len(all))]); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	h, _, _ := sockperf.ParseHeader(got)
	if h.Seq != 3 || h.Flags != sockperf.FlagPongRequest || !bytes.Equal(got[sockperf.HeaderLen:], want[sockperf.HeaderLen:]) {
		t.Fatalf("reply header %+v; want seq 3, flags %#x, same payload", h, sockperf.FlagPongRequest)
	}
	// A corrupt length closes that connection only.
	bad := dial(t, srv)
	junk := sockperfMsg(4, req, 0)
	sockperf.PutHeader(junk, sockperf.Header{Seq: 4, Flags: req, Len: 3})
	bad.Write(junk)
	if n, err := bad.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read after a corrupt frame = %d bytes, nil; want EOF or reset", n)
	}
	waitStats(t, srv, "protocol error counted", func(s wire.Stats) bool { return s.Errors.Protocol == 1 })
	c.Write(sockperfMsg(5, req, 10))
	if _, err := io.ReadFull(c, make([]byte, sockperf.HeaderLen+10)); err != nil {
		t.Fatalf("good connection after another's protocol error: %v", err)
	}
}

// TestSelectLimit: with select, connections whose fd is >= FD_SETSIZE are
// rejected and counted; the earlier ones keep working.
func TestSelectLimit(t *testing.T) {
	srv := startServer(t, "select", traffic.Echo)
	first := dial(t, srv)
	roundTrip(t, first, pattern(64, 1))
	const n = uint64(fdselect.FDSetSize + 100)
	for i := uint64(0); i < n; i++ {
		dial(t, srv)
	}
	st := waitStats(t, srv, "all connects accepted", func(s wire.Stats) bool { return s.Accepts == n+1 })
	// Client and server fds share this process, so the server's accepted
	// fds pass FD_SETSIZE well before n connections: all of those, and only
	// those, are rejected.
	if st.ConnsOpen >= int64(fdselect.FDSetSize) || st.ConnsRejected < n+1-uint64(fdselect.FDSetSize) {
		t.Fatalf("open %d, rejected %d; want fewer than %d open and the rest rejected", st.ConnsOpen, st.ConnsRejected, fdselect.FDSetSize)
	}
	if got := uint64(st.ConnsOpen) + st.ConnsRejected; got != n+1 {
		t.Errorf("open %d + rejected %d = %d; want %d", st.ConnsOpen, st.ConnsRejected, got, n+1)
	}
	// The rejected clients see their connection closed.
	last := dial(t, srv)
	if n, err := last.Read(make([]byte, 1)); err == nil {
		t.Errorf("read on a connection past FD_SETSIZE = %d bytes, nil; want EOF", n)
	}
	roundTrip(t, first, pattern(4096, 2))
}

// TestSelectBigPastFDSetSize: the same connections past FD_SETSIZE that
// select refuses (TestSelectLimit), select-big watches and echoes on: the
// 1024 cap is the fd_set type's, not the kernel's.
func TestSelectBigPastFDSetSize(t *testing.T) {
	for _, backend := range []string{"select", "select-big"} {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, traffic.Echo)
			const n = uint64(fdselect.FDSetSize + 20)
			for i := uint64(0); i < n; i++ {
				dial(t, srv)
			}
			last := dial(t, srv) // the highest server fd, past FD_SETSIZE
			st := waitStats(t, srv, "all connects accepted", func(s wire.Stats) bool { return s.Accepts == n+1 })
			if backend == fdselect.Name {
				if st.ConnsRejected == 0 {
					t.Fatalf("select rejected none of %d connections; want those past FD_SETSIZE", n+1)
				}
				if _, err := last.Read(make([]byte, 1)); err == nil {
					t.Error("select: the connection past FD_SETSIZE is not closed")
				}
				return
			}
			if st.ConnsRejected != 0 || st.ConnsOpen != int64(n+1) || st.MaxWatchedFD < int64(fdselect.FDSetSize) {
				t.Fatalf("open %d, rejected %d, highest fd %d; want all %d open, none rejected, fd >= %d watched",
					st.ConnsOpen, st.ConnsRejected, st.MaxWatchedFD, n+1, fdselect.FDSetSize)
			}
			roundTrip(t, last, pattern(4096, 3))
		})
	}
}
