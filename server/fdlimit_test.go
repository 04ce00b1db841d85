package server_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/start"
)

// The fd-limit test runs each server as a child process — this test
// binary re-executed with fdLimitEnv naming the backend — because the
// limit must be the server's alone: the clients live in the parent.
const (
	fdLimitEnv = "MUXBENCH_FDLIMIT_CHILD"
	// fdLimit is the child's soft RLIMIT_NOFILE, set by the child itself
	// (unix.Setrlimit before serving; nothing is exec'd after it, so Go's
	// restoring of the original limit for children does not come in).
	// Below select's FD_SETSIZE, so the fd limit, not FD_SETSIZE, bites
	// for every backend.
	fdLimit = 256
	// fdLimitOffered is how many connections are offered at once, about
	// twice what the server can hold; fdLimitTrickle more arrive one by
	// one while the server's CPU is measured at the limit.
	fdLimitOffered = 2 * fdLimit
	fdLimitTrickle = fdLimit / 8
	// fdLimitCPU bounds the server's CPU at the limit, as a fraction of
	// one core: generous, since shedding the trickle costs a little; a
	// server spinning on EMFILE uses a whole core.
	fdLimitCPU = 0.30
	// fdLimitAnswer bounds how long any connection may take to be
	// answered (held) or closed (shed).
	fdLimitAnswer = 5 * time.Second
)

// TestFDLimitChild is the child process of TestFDLimit; it does nothing
// in a normal run.
func TestFDLimitChild(t *testing.T) {
	name := os.Getenv(fdLimitEnv)
	if name == "" {
		t.Skip("helper process of TestFDLimit")
	}
	if err := serveAtFDLimit(name, os.Stdin, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// serveAtFDLimit lowers RLIMIT_NOFILE to fdLimit, serves backend on
// 127.0.0.1:0, prints "addr HOST:PORT", then answers each "stats" line
// on in with "report JSON" (wire.Report) until in ends.
func serveAtFDLimit(backend string, in io.Reader, out io.Writer) error {
	lim := unix.Rlimit{Cur: fdLimit, Max: fdLimit}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		return fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	lim.Max = old.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("lower RLIMIT_NOFILE to %d: %w", fdLimit, err)
	}
	srv, err := start.Server(backend, server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	return serveLines(srv, in, out)
}

// serveLines runs srv, prints "addr HOST:PORT", then answers each "stats"
// line on in with "report JSON" (wire.Report) until in ends.
func serveLines(srv server.Runner, in io.Reader, out io.Writer) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	fmt.Fprintf(out, "addr %s\n", srv.Addr())
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "stats" {
			b, err := json.Marshal(server.TakeReport(srv))
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "report %s\n", b)
		}
	}
	srv.Shutdown()
	return <-served
}

// childServer is the parent's handle on a child server (this test binary
// re-executed to run one test that serves: TestFDLimitChild,
// TestHerdChild).
type childServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	addr  string
}

func startFDLimitServer(t *testing.T, backend string) *childServer {
	t.Helper()
	return startChildServer(t, "TestFDLimitChild", backend, fdLimitEnv+"="+backend)
}

// startChildServer runs test (a Test...Child) in a child process with
// env added, reads its address and stops it at cleanup.
func startChildServer(t *testing.T, test, backend string, env ...string) *childServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child server: %v", err)
	}
	s := &childServer{cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		stdin.Close() // EOF: the child shuts down
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("child server for %s: %v", backend, err)
			}
		case <-time.After(deadline):
			cmd.Process.Kill()
			<-exited
			t.Errorf("child server for %s did not exit within %v of its stdin closing; killed", backend, deadline)
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		exited <- cmd.Wait()
	}()
	line := s.line(t, "addr ")
	s.addr = strings.TrimPrefix(line, "addr ")
	return s
}

// line returns the next line with prefix, skipping others (the testing
// package's own output).
func (s *childServer) line(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(deadline)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("child server exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("child server printed no %q line within %v", prefix, deadline)
		}
	}
}

func (s *childServer) report(t *testing.T) wire.Report {
	t.Helper()
	if _, err := io.WriteString(s.stdin, "stats\n"); err != nil {
		t.Fatalf("ask child server for stats: %v", err)
	}
	var r wire.Report
	if err := json.Unmarshal([]byte(strings.TrimPrefix(s.line(t, "report "), "report ")), &r); err != nil {
		t.Fatalf("child server report: %v", err)
	}
	return r
}

// waitReport polls the child's counters until cond holds or deadline
// passes, and returns the last report either way.
func (s *childServer) waitReport(t *testing.T, cond func(wire.Report) bool) (wire.Report, bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		r := s.report(t)
		if cond(r) || time.Now().After(end) {
			return r, cond(r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuShare is the server's CPU time between two reports as a fraction of
// one core.
func cpuShare(a, b wire.Report) float64 {
	wall := b.MonoNs - a.MonoNs
	if wall <= 0 {
		return 0
	}
	return float64(b.UserNs+b.SysNs-a.UserNs-a.SysNs) / float64(wall)
}

// Outcomes of probing one connection at the limit.
const (
	probeEchoed = iota // the server holds it and answered
	probeClosed        // the server closed it (EOF, reset)
	probeHung          // neither within fdLimitAnswer: left in the accept queue
)

// probe sends a few bytes on c and says how the server dealt with them.
func probe(c net.Conn, i int) (int, error) {
	c.SetDeadline(time.Now().Add(fdLimitAnswer))
	msg := []byte(fmt.Sprintf("probe %6d\n", i))
	_, werr := c.Write(msg)
	got := make([]byte, len(msg))
	_, err := io.ReadFull(c, got)
	switch {
	case err == nil && string(got) == string(msg):
		return probeEchoed, nil
	case err == nil:
		return probeEchoed, fmt.Errorf("echo %q; want %q", got, msg)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return probeHung, nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(werr, syscall.EPIPE), errors.Is(werr, syscall.ECONNRESET):
		return probeClosed, nil
	}
	return probeHung, fmt.Errorf("read: %v (write: %v)", err, werr)
}

// TestFDLimit offers every backend about twice the connections its fd
// limit allows and checks that at the limit it stays idle instead of
// spinning, that the connections it holds still echo, that the excess is
// closed promptly rather than left unanswered in the accept queue, and
// that it serves new connections once the held ones close.
func TestFDLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child server per backend and opens hundreds of connections")
	}
	for _, name := range lineup.Names() {
		t.Run(name, func(t *testing.T) {
			info, err := lineup.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			if info.MaxFD > 0 && fdLimit > info.MaxFD {
				t.Skipf("%s rejects fds >= %d itself, below the fd limit %d", name, info.MaxFD, fdLimit)
			}
			testFDLimit(t, name)
		})
	}
}

func testFDLimit(t *testing.T, backend string) {
	srv := startFDLimitServer(t, backend)
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	dialOne := func() {
		c, err := net.DialTimeout("tcp", srv.addr, deadline)
		if err != nil {
			t.Fatalf("dial %s with %d connections open: %v", srv.addr, len(conns), err)
		}
		conns = append(conns, c)
	}
	for range fdLimitOffered {
		dialOne()
	}
	// Settled: every connection offered is held or was shed.
	settled := func(r wire.Report) bool {
		return r.ConnsOpen+int64(r.ConnsRejected) >= int64(len(conns))
	}
	if r, ok := srv.waitReport(t, settled); !ok {
		t.Errorf("%d connections offered; within %v the server held %d and shed %d (accept errors %d): the rest are left in the accept queue",
			len(conns), deadline, r.ConnsOpen, r.ConnsRejected, r.Errors.Accept)
	}

	// At the limit: CPU over a 1 s window while a trickle of connections
	// keeps arriving.
	r0 := srv.report(t)
	tick := time.NewTicker(time.Second / fdLimitTrickle)
	for range fdLimitTrickle {
		<-tick.C
		dialOne()
	}
	tick.Stop()
	r1 := srv.report(t)
	cpu := cpuShare(r0, r1)
	// A busy-polling loop (epoll-busy) burns its CPU by design, at the
	// limit or not: the check is for spinning on EMFILE.
	if b, _ := lineup.Lookup(backend); cpu > fdLimitCPU && !b.Poller.BusyPoll {
		t.Errorf("server CPU at the fd limit: %.0f%% of a core over %v (accept errors %d -> %d); want < %.0f%%: it spins on EMFILE",
			100*cpu, time.Duration(r1.MonoNs-r0.MonoNs).Round(time.Millisecond), r0.Errors.Accept, r1.Errors.Accept, 100*fdLimitCPU)
	}

	// Every connection is either answered or closed, promptly.
	outcome := make([]int, len(conns))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var probeErrs []string
	for i, c := range conns {
		wg.Go(func() {
			o, err := probe(c, i)
			outcome[i] = o
			if err != nil {
				mu.Lock()
				probeErrs = append(probeErrs, fmt.Sprintf("connection %d: %v", i, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var n [3]int
	for _, o := range outcome {
		n[o]++
	}
	r2 := srv.report(t)
	t.Logf("%s at RLIMIT_NOFILE %d, %d connections offered: %d echoed, %d closed, %d hung; CPU at the limit %.1f%%; server held %d, shed %d, accept errors %d",
		backend, fdLimit, len(conns), n[probeEchoed], n[probeClosed], n[probeHung], 100*cpu, r2.ConnsOpen, r2.ConnsRejected, r2.Errors.Accept)
	for _, e := range probeErrs[:min(len(probeErrs), 5)] {
		t.Errorf("%s", e)
	}
	if n[probeHung] > 0 {
		t.Errorf("%d of %d connections got neither an echo nor a close within %v; want every connection beyond the limit closed promptly",
			n[probeHung], len(conns), fdLimitAnswer)
	}
	if int64(n[probeEchoed]) != r2.ConnsOpen {
		t.Errorf("%d connections echoed; want the %d the server holds", n[probeEchoed], r2.ConnsOpen)
	}
	if n[probeEchoed] < fdLimit/2 {
		t.Errorf("server held %d connections; want most of its fd limit %d", n[probeEchoed], fdLimit)
	}
	if bound := uint64(len(conns)) + 100; r2.Errors.Accept > bound {
		t.Errorf("%d accept errors for %d connections; want at most %d (one per connection shed, a few backed off)", r2.Errors.Accept, len(conns), bound)
	}

	// Recovery: with the held connections gone, new ones are served.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	if r, ok := srv.waitReport(t, func(r wire.Report) bool { return r.ConnsOpen == 0 }); !ok {
		t.Fatalf("server still holds %d connections %v after the clients closed them", r.ConnsOpen, deadline)
	}
	for i := range 8 {
		dialOne()
		if o, err := probe(conns[i], i); o != probeEchoed || err != nil {
			t.Errorf("after the held connections closed, new connection %d: outcome %d (%v); want an echo", i, o, err)
		}
	}
}
