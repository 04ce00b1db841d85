package gonet

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/server"
)

// deadline bounds every wait in these tests.
const deadline = 10 * time.Second

// childEnv marks a child process started by inChild; its value is the
// name of the test the child runs.
const childEnv = "MUXBENCH_GONET_FDLIMIT_CHILD"

// inChild runs the calling test in a process of its own: this test binary
// re-executed to run just that test. In the parent it waits for the child,
// fails the test if the child did not pass, and returns false; in the
// child it returns true and the test goes on.
//
// Why: RLIMIT_NOFILE and the fd table are the process's. At the limit,
// any fd another test's leftover goroutine (or a finalizer) closes frees a
// slot, and the server's next accept succeeds where the test expects it
// to be shed. In a process that runs only this test, nothing else opens
// or closes an fd.
func inChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process running %s: %v (%v)\n%s", t.Name(), err, context.Cause(ctx), out)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("child process did not run %s to a pass:\n%s", t.Name(), out)
	}
	return false
}

// atFDLimit lowers this process's soft RLIMIT_NOFILE to its lowest free fd
// number, so every fd allocation from now on fails with EMFILE, and
// restores it at cleanup (or when the returned func is called). Only in a
// process of the test's own (inChild): the limit is process-wide.
//
// Call it before the server's Serve goroutine starts (serve), with nothing
// else in the process opening fds: an accept4 that fails with EAGAIN still
// holds an fd slot for the length of the call, so a probe racing with
// Serve's first Accept reads the lowest free fd one too high, and that
// slot later lets a connection in that the test expects to be shed. Any
// hole below the limit left by such a race is filled with a placeholder
// fd, so the process is at the limit when this returns.
func atFDLimit(t *testing.T) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lowest, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(lowest)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: uint64(lowest), Max: old.Max}); err != nil {
		t.Fatalf("lower RLIMIT_NOFILE to %d: %v", lowest, err)
	}
	var holes []int
	for range 64 {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			break // EMFILE: every slot below the limit is taken
		}
		holes = append(holes, fd)
	}
	done := false
	restore = func() {
		if !done {
			done = true
			for _, fd := range holes {
				unix.Close(fd)
			}
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
				t.Errorf("restore RLIMIT_NOFILE: %v", err)
			}
		}
	}
	t.Cleanup(restore)
	return restore
}

// newServer makes a gonet server on 127.0.0.1:0; serve starts serving it,
// until cleanup.
func newServer(t *testing.T) (srv *Server, serve func()) {
	t.Helper()
	srv, err := New(server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, func() { startServing(t, srv) }
}

// startServing runs srv.Serve until cleanup.
func startServing(t *testing.T, srv *Server) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Shutdown()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(deadline):
			t.Errorf("Serve did not return within %v of Shutdown", deadline)
		}
	})
}

// clientSockets creates n unconnected client sockets now, while fds are
// available, so that connecting them later needs no new fd.
func clientSockets(t *testing.T, n int) []int {
	t.Helper()
	fds := make([]int, n)
	for i := range fds {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds[i] = fd
		t.Cleanup(func() { unix.Close(fd) })
	}
	return fds
}

func connect(t *testing.T, fd int, addr string) {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}); err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
}

// waitFor polls cond until it holds or deadline passes.
func waitFor(t *testing.T, srv *Server, what string, cond func(wire.Stats) bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond(srv.Stats()) {
		if time.Now().After(end) {
			t.Fatalf("waiting for %s: not within %v; stats %+v", what, deadline, srv.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestShedAtFDLimit: out of fds, every pending connection is accepted on
// the spare's fd and closed at once, with one accept error, not one per
// retry; with fds back, connections are served.
func TestShedAtFDLimit(t *testing.T) {
	if !inChild(t) {
		return
	}
	const n = 8
	srv, serve := newServer(t)
	clients := clientSockets(t, n+1)
	restore := atFDLimit(t)
	serve()
	for _, fd := range clients[:n] {
		connect(t, fd, srv.Addr())
	}
	waitFor(t, srv, "every connection shed", func(st wire.Stats) bool { return st.ConnsRejected == n })
	for i, fd := range clients[:n] {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if k, err := unix.Poll(fds, int(deadline/time.Millisecond)); k != 1 || err != nil {
			t.Fatalf("connection %d: not closed by the server within %v (poll %d, %v)", i, deadline, k, err)
		}
		var b [1]byte
		if k, err := unix.Read(fd, b[:]); k != 0 && err == nil {
			t.Errorf("connection %d: read %d bytes; want EOF or a reset", i, k)
		}
	}
	if st := srv.Stats(); st.Errors.Accept > 2 || st.Accepts != 0 {
		t.Errorf("shedding %d connections: %d accept errors, %d accepted; want 1 (entering the limit) and 0", n, st.Errors.Accept, st.Accepts)
	}
	restore()
	connect(t, clients[n], srv.Addr())
	waitFor(t, srv, "the connection after the limit lifted served", func(st wire.Stats) bool { return st.ConnsOpen == 1 })
}

// TestBackOffWithoutSpare: out of fds with no spare to shed through,
// Serve backs off (5 ms doubling) instead of retrying Accept at once, and
// takes the pending connections once fds are back.
func TestBackOffWithoutSpare(t *testing.T) {
	if !inChild(t) {
		return
	}
	const n = 4
	srv, serve := newServer(t)
	srv.spareMu.Lock()
	unix.Close(srv.spare)
	srv.spare = -1
	srv.spareMu.Unlock()
	clients := clientSockets(t, n)
	restore := atFDLimit(t)
	serve()
	for _, fd := range clients {
		connect(t, fd, srv.Addr())
	}
	waitFor(t, srv, "an accept error", func(st wire.Stats) bool { return st.Errors.Accept > 0 })
	time.Sleep(300 * time.Millisecond) // a window to count retries in, not a wait for a state
	// Backing off, 300 ms hold about 6 retries (5+10+...+160 ms); retrying
	// at once, hundreds of thousands.
	if got := srv.Stats().Errors.Accept; got > 20 {
		t.Errorf("%d accept errors in 300 ms at the fd limit with no spare fd; want a handful (backing off)", got)
	}
	restore()
	waitFor(t, srv, "the pending connections served", func(st wire.Stats) bool { return st.ConnsOpen == n })
}
