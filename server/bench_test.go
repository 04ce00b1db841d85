package server_test

import (
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/lineup"
)

// rawClient is a blocking client socket driven with plain syscalls, so the
// client itself allocates nothing and adds no Go scheduler latency.
type rawClient struct {
	fd  int
	buf []byte
	msg []byte
}

func dialRaw(tb testing.TB, addr string, size int) *rawClient {
	tb.Helper()
	ap := netip.MustParseAddrPort(addr)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	tv := unix.NsecToTimeval(int64(deadline))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv) // a stalled server fails, not hangs
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		tb.Fatalf("connect %s: %v", addr, err)
	}
	return &rawClient{fd: fd, buf: make([]byte, size), msg: pattern(size, 9)}
}

// roundTrip sends one message and reads its echo in full.
// Blocking syscalls are retried on EINTR: the Go runtime preempts threads
// with signals (SIGURG).
func (c *rawClient) roundTrip() error {
	for sent := 0; sent < len(c.msg); {
		n, err := unix.Write(c.fd, c.msg[sent:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		sent += n
	}
	for got := 0; got < len(c.buf); {
		n, err := unix.Read(c.fd, c.buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("read: server closed the connection")
		}
		got += n
	}
	return nil
}

// TestLoopDoesNotAllocate: the event loop allocates nothing per request,
// one loop or several (the client here allocates nothing either, and the
// process is otherwise idle, so any allocation counted is the server's).
func TestLoopDoesNotAllocate(t *testing.T) {
	for _, name := range underTest() {
		if !isLoop(name) {
			continue // gonet allocates inside net and the runtime; it is the baseline, not our loop
		}
		for _, proto := range []traffic.Proto{traffic.Echo, traffic.Sockperf} {
			t.Run(name+"/"+string(proto), func(t *testing.T) {
				srv := startServer(t, name, proto)
				c := dialRaw(t, srv.Addr(), 64)
				if proto == traffic.Sockperf {
					c.msg = sockperfMsg(1, 0x3, 64-14)
				}
				// Not testing.AllocsPerRun: it sets GOMAXPROCS to 1, and the
				// loop holds its P while it waits (package rawwait), so the
				// client would only run when the runtime preempts the loop.
				const runs = 500
				if err := c.roundTrip(); err != nil { // warm up: buffers grow once
					t.Fatal(err)
				}
				// The count is the whole process's: the runtime itself
				// allocates a few objects now and then (preemption, timers),
				// more on a loaded machine (0.05-0.09 per request seen beside
				// a parallel go test). A loop that allocates does so in every
				// run of requests, the background comes and goes: the fewest
				// of up to 3 runs is the loop's. One per request — or one per
				// ten — is the loop; 5 in 500 is background.
				least := math.Inf(1)
				for attempt := 0; attempt < 3 && least >= 0.05; attempt++ {
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					for i := 0; i < runs; i++ {
						if err := c.roundTrip(); err != nil {
							t.Fatal(err)
						}
					}
					runtime.ReadMemStats(&after)
					least = min(least, float64(after.Mallocs-before.Mallocs)/runs)
				}
				if least >= 0.05 {
					t.Errorf("%.2f allocations per request in the least of 3 runs of %d; want 0 (at most a few from the runtime)", least, runs)
				}
			})
		}
	}
}

// BenchmarkEcho measures one 64-byte round trip per op against each backend
// with `idle` idle connections held open, and reports the server's CPU per
// request: process CPU (getrusage RUSAGE_SELF) minus the client thread's own
// (RUSAGE_THREAD; the client runs on one locked thread).
//
//	go test -run '^$' -bench Echo -benchtime 20000x ./server/
//
// Client and server share this process and are not pinned, so absolute
// figures include cross-CPU wake-ups and the Go runtime's placement of both
// threads; the comparison that counts is between backends in one run. The
// figure against an independent C server (sockperf's) is
// scripts/sockperf-compare.sh, with server and client pinned apart.
func BenchmarkEcho(b *testing.B) {
	for _, name := range lineup.Names() {
		for _, idle := range []int{0, 400} {
			b.Run(fmt.Sprintf("backend=%s/idle=%d", name, idle), func(b *testing.B) {
				srv := startServer(b, name, traffic.Echo)
				for i := 0; i < idle; i++ {
					dialRaw(b, srv.Addr(), 1)
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				c := dialRaw(b, srv.Addr(), 64)
				if err := c.roundTrip(); err != nil {
					b.Fatal(err)
				}
				before := srv.Stats()
				proc0, thr0 := cpu(unix.RUSAGE_SELF), cpu(unix.RUSAGE_THREAD)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := c.roundTrip(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				proc1, thr1 := cpu(unix.RUSAGE_SELF), cpu(unix.RUSAGE_THREAD)
				after := srv.Stats()
				server := float64((proc1-proc0)-(thr1-thr0)) / float64(b.N)
				b.ReportMetric(server, "server-cpu-ns/op")
				b.ReportMetric(float64(thr1-thr0)/float64(b.N), "client-cpu-ns/op")
				if after.Waits > before.Waits {
					b.ReportMetric(float64(after.Waits-before.Waits)/float64(b.N), "waits/op")
					b.ReportMetric(float64(after.Reads+after.Writes-before.Reads-before.Writes)/float64(b.N), "rw-syscalls/op")
				}
			})
		}
	}
}

func cpu(who int) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
