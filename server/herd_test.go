package server_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/start"
)

// The herd test counts every wake-up of every loop thread, so its server
// runs as `muxbench serve` runs one: a child process (this test binary
// re-executed with herdEnv naming the backend and the loops) with the
// garbage collector off and the runtime's preemption signal off
// (GODEBUG=asyncpreemptoff=1), which would otherwise wake the loops
// itself; its clients live in the parent.
const herdEnv = "MUXBENCH_HERD_CHILD"

// TestHerdChild is the child process of TestHerd; it does nothing in a
// normal run.
func TestHerdChild(t *testing.T) {
	spec := os.Getenv(herdEnv)
	if spec == "" {
		t.Skip("helper process of TestHerd")
	}
	backend, n, _ := strings.Cut(spec, "/")
	loops, err := strconv.Atoi(n)
	if err != nil {
		t.Fatalf("%s=%q: want BACKEND/LOOPS", herdEnv, spec)
	}
	debug.SetGCPercent(-1)
	srv, err := start.Server(backend, server.Config{Addr: "127.0.0.1:0", Loops: loops})
	if err != nil {
		t.Fatal(err)
	}
	if err := serveLines(srv, os.Stdin, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// startHerdServer runs backend with loops loops in a child process.
func startHerdServer(t *testing.T, backend string, loops int) *childServer {
	t.Helper()
	return startChildServer(t, "TestHerdChild", backend,
		fmt.Sprintf("%s=%s/%d", herdEnv, backend, loops), "GODEBUG=asyncpreemptoff=1")
}

// threadSleeping reports whether thread tid of process pid is asleep
// (state S in /proc/PID/task/TID/stat): a loop blocked in its wait.
func threadSleeping(pid, tid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, so cut at its last ')'.
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'S'
}

// awaitAsleep polls until every loop of the child runs and sleeps (so a
// connection made now finds them all waiting, and every wake-up so far is
// counted: a thread's voluntary switch is counted as it goes to sleep),
// and returns the child's report then.
func awaitAsleep(t *testing.T, s *childServer, loops int) wire.Report {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		r := s.report(t)
		asleep := 0
		for _, l := range r.Loops {
			if l.TID > 0 && threadSleeping(s.cmd.Process.Pid, l.TID) {
				asleep++
			}
		}
		if asleep == loops {
			// The report was taken before the states were read: take it
			// again, asleep, so that no wake-up falls between the two.
			if again := s.report(t); sameWakeups(r, again) {
				return again
			}
			continue
		}
		if time.Now().After(end) {
			t.Fatalf("%d of %d loops asleep after %v", asleep, loops, deadline)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// sameWakeups reports whether no loop woke between two reports.
func sameWakeups(a, b wire.Report) bool {
	if len(a.Loops) != len(b.Loops) {
		return false
	}
	for i := range a.Loops {
		if a.Loops[i].Wakeups != b.Loops[i].Wakeups {
			return false
		}
	}
	return true
}

// echoOnce connects, echoes 8 bytes and closes.
func echoOnce(t *testing.T, addr string, i int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		t.Fatalf("connection %d: %v", i, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(deadline))
	msg := pattern(8, i)
	got := make([]byte, len(msg))
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("connection %d: write: %v", i, err)
	}
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		t.Fatalf("connection %d: echo %q, %v; want %q", i, got, err, msg)
	}
}

// herdConns is how many connections TestHerd makes per server. Each is
// counted alone, so the noise of the odd wake-up that is not the
// listener's (the Go scheduler's, a loop preempted by sysmon after 10 ms
// of running) hits a few connections, not the median.
const herdConns = 40

// wastedPerConn makes herdConns connections one after another, each
// while every loop sleeps (connect, one echo, close, until the server has
// closed it and every loop sleeps again), and returns the median over the
// connections of the wasted wake-ups each caused, summed over the loops
// (results.WastedWakeups per loop), and a line per connection.
func wastedPerConn(t *testing.T, s *childServer, loops int) (float64, []string) {
	t.Helper()
	var wasted []float64
	var lines []string
	before := awaitAsleep(t, s, loops)
	for i := 0; i < herdConns; i++ {
		echoOnce(t, s.addr, i)
		closed := before.ConnsClosed + 1
		for s.report(t).ConnsClosed < closed {
			time.Sleep(200 * time.Microsecond)
		}
		after := awaitAsleep(t, s, loops)
		if n := after.Accepts - before.Accepts; n != 1 {
			t.Fatalf("connection %d: %d accepts; want 1", i, n)
		}
		var w int64
		var per []string
		for j, a := range after.Loops {
			b := before.Loops[j]
			lw := results.WastedWakeups(a.Wakeups-b.Wakeups, b.Stats, a.Stats)
			w += lw
			per = append(per, fmt.Sprintf("%d/%d/%d", a.Wakeups-b.Wakeups, a.Waits-b.Waits, lw))
		}
		wasted = append(wasted, float64(w))
		lines = append(lines, fmt.Sprintf("connection %d: %d wasted; per loop wake-ups/waits/wasted %s", i, w, strings.Join(per, " ")))
		before = after
	}
	return median(wasted), lines
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestHerd: under churn (a connection per request), one listener in every
// loop's epoll without EPOLLEXCLUSIVE wakes every waiting loop per
// connection: at N loops N-1 of those wake-ups are wasted, and no counter
// of the loops' own sees most of them (the loop sleeps again inside
// epoll_wait). The test fails if shared-listener stops showing the herd —
// fewer than (N-1)/2 wasted wake-ups per accept, the median over
// connections each made while every loop sleeps — or if exclusive or
// reuseport show it.
func TestHerd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child servers and makes connections one by one")
	}
	for _, loops := range []int{2, 4} {
		threshold := float64(loops-1) / 2
		for _, backend := range []string{epoll.NameSharedListener, epoll.NameExclusive, epoll.NameReuseport} {
			t.Run(fmt.Sprintf("%s/loops=%d", backend, loops), func(t *testing.T) {
				s := startHerdServer(t, backend, loops)
				got, lines := wastedPerConn(t, s, loops)
				herd := got >= threshold
				if want := backend == epoll.NameSharedListener; herd != want {
					t.Errorf("median %.1f wasted wake-ups per accept at %d loops (the herd from %.1f): herd %v; want %v\n%s",
						got, loops, threshold, herd, want, strings.Join(lines, "\n"))
				}
				t.Logf("median %.1f wasted wake-ups per accept (the herd from %.1f); first connections:\n%s", got, threshold, strings.Join(lines[:5], "\n"))
			})
		}
	}
}
