package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// Bounds on waiting for the server child; past them it is declared hung.
const (
	helloTimeout = 10 * time.Second
	statsTimeout = 5 * time.Second
	stopTimeout  = 10 * time.Second
)

// child is one `muxbench serve` process and its control pipes.
type child struct {
	*process
	stdin io.WriteCloser
	lines chan string // stdout, one JSON line each; closed at EOF
	hello wire.Hello
}

// startChild starts argv (the serve command line) and reads its hello line.
func startChild(argv []string) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("server stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("server stdout pipe: %w", err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	p, err := spawn(cmd, stderr, cpuset.Set{}) // serve pins itself (-cpus)
	if err != nil {
		return nil, fmt.Errorf("start server %q: %w", strings.Join(argv, " "), err)
	}
	c := &child{process: p, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	line, err := c.readLine(helloTimeout)
	if err != nil {
		c.kill()
		return nil, fmt.Errorf("server hello: %w", err)
	}
	if c.hello, err = wire.ParseHello([]byte(line)); err != nil {
		c.kill()
		return nil, fmt.Errorf("server hello %q: not the JSON line muxbench serve prints", line)
	}
	return c, nil
}

// readLine returns the next stdout line, or an error naming why none came.
func (c *child) readLine(timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-c.lines:
		if ok {
			return line, nil
		}
		<-c.exited
		return "", errors.New(c.exitReason())
	case <-t.C:
		return "", fmt.Errorf("server sent nothing for %v (hung?)%s", timeout, c.stderrTail())
	}
}

// report asks the server for its counters.
func (c *child) report() (wire.Report, error) {
	if _, err := io.WriteString(c.stdin, wire.CmdStats+"\n"); err != nil {
		if c.waitExit(time.Second) {
			return wire.Report{}, fmt.Errorf("ask server for stats: %s", c.exitReason())
		}
		return wire.Report{}, fmt.Errorf("ask server for stats: %w%s", err, c.stderrTail())
	}
	line, err := c.readLine(statsTimeout)
	if err != nil {
		return wire.Report{}, fmt.Errorf("server stats: %w", err)
	}
	r, err := wire.ParseReport([]byte(line))
	if err != nil {
		return wire.Report{}, fmt.Errorf("server stats line %q: %w", line, err)
	}
	return r, nil
}

// populatePoll is how often awaitPopulated asks the server for its counters.
const populatePoll = 20 * time.Millisecond

// populateTimeout bounds the wait for n connections to be accepted: a fixed
// allowance plus a per-connection one generous enough for poll and select,
// whose every accept batch costs a scan of all fds already watched.
func populateTimeout(n int) time.Duration {
	return 20*time.Second + time.Duration(n)*2*time.Millisecond
}

// population is what awaitPopulated waits for: conns connections
// accepted and open at the server, counted from base (its counters before
// any was opened: zero for a fresh child). When shared, other generators
// open some of them at the same time, so the accepts since base are not
// this generator's alone to count; the open count must still be exact.
type population struct {
	conns    int
	base     wire.Report
	shared   bool
	deadline time.Time
	// late says why the deadline is what it is, for the error.
	late string
}

// awaitPopulated polls the server's counters until it reports exactly
// p.conns connections accepted and open — the load generator counts a
// connection as open when its own connect completes, which can be long
// before the server accepts it — calling progress with the open count as
// it goes. Connections the server rejected, more accepts or open
// connections than p.conns, or the deadline end the wait with an error
// naming what was seen.
func awaitPopulated(ctx context.Context, report func() (wire.Report, error), p population, progress func(open int)) error {
	n := p.conns
	tick := time.NewTicker(populatePoll)
	defer tick.Stop()
	for {
		r, err := report()
		if err != nil {
			return fmt.Errorf("waiting for the server to accept %d connections: %w", n, err)
		}
		progress(int(r.ConnsOpen))
		accepts, rejected := r.Accepts-p.base.Accepts, r.ConnsRejected-p.base.ConnsRejected
		switch {
		case rejected > 0 || (!p.shared && accepts > uint64(n)) || r.ConnsOpen > int64(n):
			return fmt.Errorf("server accepted %d and rejected %d connections (%d open) of %d offered (errors: %+v)", accepts, rejected, r.ConnsOpen, n, r.Errors)
		case r.ConnsOpen == int64(n) && (p.shared || accepts == uint64(n)):
			return nil
		case time.Now().After(p.deadline):
			return fmt.Errorf("server accepted %d of %d connections (%d open) %s", accepts, n, r.ConnsOpen, p.late)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// childPopulation is what a fresh child must reach before the window.
func childPopulation(n int) population {
	timeout := populateTimeout(n)
	return population{
		conns: n, deadline: time.Now().Add(timeout),
		late: fmt.Sprintf("within %v; its accept queue may have overflowed (somaxconn) or the backend accepts too slowly", timeout),
	}
}

// stop closes the server's stdin (its signal to exit) and waits, killing it
// if it does not exit in time. It reports a server that had to be killed or
// exited with an error.
func (c *child) stop() error {
	c.stdin.Close()
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-c.exited:
		if c.err != nil {
			return fmt.Errorf("server exited with %v%s", c.err, c.stderrTail())
		}
		return nil
	case <-t.C:
		c.kill()
		return fmt.Errorf("server did not exit within %v of being asked; killed", stopTimeout)
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine exec starts.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 64<<10 {
		return len(p), nil // keep the head; a flood of stderr is not worth memory
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// childServer is the server under test that the harness starts itself for
// every sample: `muxbench serve` with the sample's backend, pinned to the
// scenario's server CPUs, read through its own stats lines.
type childServer struct {
	opts Options

	// The current sample's.
	c          *child
	stopWatch  func()
	memBefore  procfs.Memory
	memErr     error
	memory     *results.MemoryDelta
	serverCPUs cpuset.Set
}

var _ server = (*childServer)(nil)

// start starts the child with the job's backend and reads its hello; a
// backend this kernel cannot run, or a point past the server's limits, is
// unsupported.
func (cs *childServer) start(ctx context.Context, _ int, job Job) (wire.Hello, error) {
	if reason := lineup.Unsupported(job.Backend); reason != "" {
		return wire.Hello{}, unsupported("%s", reason)
	}
	sc := cs.opts.Scenario
	argv := append(append([]string(nil), cs.opts.ServerCommand...),
		"-backend", job.Backend, "-addr", "127.0.0.1:0", "-proto", string(sc.Proto), "-cpus", sc.ServerCPUs)
	if sc.ServerSendBuffer > 0 {
		argv = append(argv, "-sndbuf", strconv.Itoa(sc.ServerSendBuffer))
	}
	if job.Loops > 1 {
		argv = append(argv, "-loops", strconv.Itoa(job.Loops))
	}
	c, err := startChild(argv)
	if err != nil {
		return wire.Hello{}, err
	}
	cs.c, cs.memory = c, nil
	cs.stopWatch = c.watchContext(ctx)
	h := c.hello
	if reason := limitFault(job, h); reason != "" {
		cs.stop()
		return wire.Hello{}, unsupported("%s", reason)
	}
	cs.serverCPUs, _ = cpuset.Parse(sc.ServerCPUs) // validated with the scenario
	cs.memBefore, cs.memErr = procfs.ReadMemory(h.PID)
	return h, nil
}

// ready checks the load generator's config; a fresh child has nothing to
// wait for.
func (cs *childServer) ready(_ context.Context, cfg *loadgen.Config, _ *results.Sample) error {
	if err := loadgen.Check(*cfg); err != nil {
		return unsupported("%v", err)
	}
	return nil
}

// populated waits until the child reports every connection accepted and
// open, then reads what populating cost in memory.
func (cs *childServer) populated(ctx context.Context, job Job, progress func(open int)) error {
	err := awaitPopulated(ctx, cs.c.report, childPopulation(job.Conns()), progress)
	if err == nil && cs.memErr == nil {
		if after, err := procfs.ReadMemory(cs.c.hello.PID); err == nil {
			cs.memory = memoryDelta(cs.memBefore, after, job.Conns())
		}
	}
	return err
}

// edge reads the server CPU set's load and the child's counters, the
// counters inside the CPU set's interval.
func (cs *childServer) edge(end bool) (edge, error) {
	e := edge{at: time.Now()}
	var err error
	if !end {
		e.readCPUs(cs.serverCPUs)
	}
	e.report, err = cs.c.report()
	if end {
		e.readCPUs(cs.serverCPUs)
	}
	return e, err
}

// stop asks the child to exit, kills it if it does not, and reaps it.
func (cs *childServer) stop() (string, error) {
	early := ""
	if cs.c.exitedEarly() { // before stop, which ends it either way
		early = cs.c.exitReason()
	}
	err := cs.c.stop()
	cs.stopWatch()
	cs.c.kill() // after a clean stop this only reaps
	return early, err
}

// measure fills the server figures from the child's reports, the memory
// populating took and the CPU set's load.
func (cs *childServer) measure(s *results.Sample, job Job, res *loadgen.Result, start, end edge) string {
	fault := measureReports(s, job, cs.c.hello, start.report, end.report, float64(res.Requests))
	s.Memory = cs.memory
	if cpus := cs.serverCPUs.CPUs(); len(cpus) > 0 {
		s.Server.CPUSetBusy, _ = procfs.BusyFraction(start.cpus, end.cpus, cpus)
	}
	s.Server.CPUIdle = cpuIdle(cs.serverCPUs, start, end)
	return fault
}
