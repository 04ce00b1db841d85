package server_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/backends/poll"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/start"
)

// TestFDTable: a loop's thread has an fd table of its own, holding the
// connections it accepted, which the process's table (/proc/self/fd)
// does not; a -sharedfd variant and a shared epoll set keep the process's
// table. Either way the server serves, and once Serve returns the
// process's table holds what it held before, and the loop's thread is
// gone with its table. (Shedding at the fd limit is TestFDLimit's, for
// every backend and variant.)
func TestFDTable(t *testing.T) {
	const clients = 8
	for _, tc := range []struct {
		backend string
		loops   int
		private bool
	}{
		{poll.Name, 1, true},
		{fdselect.Name, 1, true},
		{epoll.NameLT, 1, true},
		{epoll.NameReuseport, 2, true},
		{poll.NameShared, 1, false},
		{fdselect.NameShared, 1, false},
		{epoll.NameLTShared, 1, false},
		{epoll.NameSharedEpoll, 2, false},
	} {
		t.Run(fmt.Sprintf("%s loops=%d", tc.backend, tc.loops), func(t *testing.T) {
			if tc.loops > 1 {
				procs := runtime.GOMAXPROCS(0)
				defer runtime.GOMAXPROCS(procs)
			}
			before := processFDs(t)
			srv, err := start.Server(tc.backend, server.Config{Addr: "127.0.0.1:0", Loops: tc.loops})
			if err != nil {
				t.Fatalf("start %s: %v", tc.backend, err)
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve() }()
			stopped := false
			defer func() {
				if !stopped {
					srv.Shutdown()
					awaitServe(t, done)
				}
			}()
			awaitLoops(t, srv)
			s := srv.(*server.Server)
			var conns []net.Conn
			for i := range clients {
				c := dial(t, srv)
				roundTrip(t, c, pattern(16, i))
				conns = append(conns, c)
			}
			main := socketInodes(t, "/proc/self/fd")
			var tids []int
			for i, l := range s.LoopStats() {
				tids = append(tids, l.TID)
				r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(unix.Getpid()), uintptr(l.TID), 2 /* KCMP_FILES */, 0, 0, 0)
				if errno != 0 {
					t.Fatalf("kcmp(KCMP_FILES) of the process and loop %d's thread %d: %v", i, l.TID, errno)
				}
				if own := r != 0; own != tc.private {
					t.Errorf("loop %d's thread has a table of its own: %v; want %v", i, own, tc.private)
				}
				if !tc.private {
					continue
				}
				// Its connections: sockets in its table that the process's
				// table does not hold (the clients' ends are there).
				n := 0
				for ino := range socketInodes(t, "/proc/self/task/"+strconv.Itoa(l.TID)+"/fd") {
					if !main[ino] {
						n++
					}
				}
				if tc.loops == 1 && n != clients {
					t.Errorf("the loop's table holds %d sockets the process's does not; want its %d connections", n, clients)
				}
			}

			srv.Shutdown()
			stopped = true
			if !awaitServe(t, done) {
				t.FailNow()
			}
			for _, tid := range tids {
				awaitThreadGone(t, tid)
			}
			for _, c := range conns {
				c.Close()
			}
			if after := processFDs(t); after != before {
				t.Errorf("the process's fd table holds %d fds after Serve returned; %d before the server started", after, before)
			}
		})
	}
}

// processFDs counts the entries of the process's fd table.
func processFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // the listing's own fd
}

// socketInodes lists the socket inodes in an fd directory.
func socketInodes(t *testing.T, dir string) map[uint64]bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]bool{}
	for _, e := range ents {
		var st unix.Stat_t
		if unix.Stat(dir+"/"+e.Name(), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK {
			out[st.Ino] = true
		}
	}
	return out
}

// awaitThreadGone waits, bounded, until thread tid of this process has
// ended.
func awaitThreadGone(t *testing.T, tid int) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		_, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid))
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("loop thread %d still exists %v after Serve returned (stat: %v)", tid, deadline, err)
		}
		time.Sleep(time.Millisecond)
	}
}
