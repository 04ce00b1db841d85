package server_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
)

// TestInterruptedWaitsCounted: a signal that ends a blocking wait with no
// event is counted as an interrupted wait and never as a wait. Each
// signal is sent while the idle loop's thread sleeps, so each one ends a
// wait (poll, select and epoll_wait are never restarted after a handler,
// io_uring_enter neither); a signal that found the thread between waits
// counts nothing, and is sent again.
func TestInterruptedWaitsCounted(t *testing.T) {
	for _, name := range lineup.Names() {
		info, _ := backends.Lookup(name)
		if !isLoop(name) || info.BusyPoll {
			continue // no blocking wait to interrupt
		}
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, name, traffic.Echo)
			tid := loopThread(t, srv)
			before := srv.Stats()
			const signals = 5
			for i := range signals {
				interrupt(t, srv, tid, before.WaitsInterrupted+uint64(i))
			}
			if st := srv.Stats(); st.Waits != before.Waits || st.Events != before.Events {
				t.Errorf("after %d signals to an idle loop: waits %d → %d, events %d → %d; want both unchanged", signals, before.Waits, st.Waits, before.Events, st.Events)
			}
		})
	}
}

// interrupt sends SIGURG (which the Go runtime's handler ignores when no
// preemption is asked for) to the loop's thread while it sleeps, until
// the server has counted more than had interrupted waits, bounded.
func interrupt(t *testing.T, srv server.Runner, tid int, had uint64) {
	t.Helper()
	stat := fmt.Sprintf("/proc/self/task/%d/stat", tid)
	end := time.Now().Add(deadline)
	for srv.Stats().WaitsInterrupted <= had {
		if time.Now().After(end) {
			t.Fatalf("no interrupted wait counted within %v of signalling the sleeping loop thread; stats %+v", deadline, srv.Stats())
		}
		b, err := os.ReadFile(stat)
		if err != nil {
			t.Fatalf("read the loop thread's state: %v", err)
		}
		if st, err := procfs.ParseTaskState(b); err != nil || st != 'S' {
			time.Sleep(time.Millisecond) // not asleep yet
			continue
		}
		if err := unix.Tgkill(os.Getpid(), tid, unix.SIGURG); err != nil {
			t.Fatalf("signal the loop thread: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // time for the loop to count it before asking again
	}
}

// loopThread waits, bounded, for the loop's thread id: the uring server
// sets it once its loop runs.
func loopThread(t *testing.T, srv server.Runner) int {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if tid := srv.(interface{ LoopThread() int }).LoopThread(); tid > 0 {
			return tid
		}
		if time.Now().After(end) {
			t.Fatalf("the loop thread not running within %v of Serve", deadline)
		}
		time.Sleep(time.Millisecond)
	}
}
