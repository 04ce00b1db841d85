package harness

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/sockdiag"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// An external sample: a server muxbench did not write (nginx, redis, a
// server of one's own), read entirely from outside — its connections
// from sock_diag, its CPU, threads and memory from /proc — started for
// every sample (-exec) or attached to (-attach).

// externalServer is the server under test when it is External.
type externalServer struct {
	x          External
	sc         results.Scenario
	outDir     string
	serverCPUs cpuset.Set
	// baseline is an attached server's accepted sockets on its port when
	// the run began: its other clients', not the samples'.
	baseline int
	attached *sockdiag.Reader // an attached server's port, read all run

	// The current sample's.
	i         int
	p         *process // a started command; nil when attached
	stdin     *os.File // held open: a server that reads stdin must not see its end
	stderr    *tailBuffer
	stopWatch func()
	addr      string
	pid       int
	socks     *sockdiag.Reader
	tree      *procfs.TreeReader
	hello     wire.Hello
	memBefore procfs.Memory
	memErr    error
	memory    *results.MemoryDelta
}

var _ server = (*externalServer)(nil)

// newExternal prepares x for the run: an attached server is checked (the
// pid lives and holds the listener on the port) and its other clients'
// sockets counted.
func newExternal(x External, sc results.Scenario, outDir string) (*externalServer, error) {
	if err := x.check(sc); err != nil {
		return nil, err
	}
	e := &externalServer{x: x, sc: sc, outDir: outDir}
	e.serverCPUs, _ = cpuset.Parse(sc.ServerCPUs) // validated with the scenario
	if x.Attach == "" {
		return e, nil
	}
	if err := CheckAttach(x.Attach, x.PID); err != nil {
		return nil, fmt.Errorf("attach to %s, pid %d: %w", x.Attach, x.PID, err)
	}
	_, port, _ := ParseHostPort(x.Attach)
	r, err := sockdiag.NewReader(port)
	if err != nil {
		return nil, err
	}
	set, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", x.Attach, err)
	}
	e.attached, e.baseline = r, set.Accepted()
	return e, nil
}

// ownListener checks that the tree of process root holds a socket
// listening on r's port and returns the tree's pids.
func ownListener(r *sockdiag.Reader, root int) ([]int, error) {
	snap, err := procfs.ReadTree(root)
	if err != nil {
		return nil, err
	}
	pids := treePIDs(snap)
	set, err := r.Read()
	if err != nil {
		return nil, err
	}
	inodes, err := sockdiag.SocketInodes(pids...)
	if err != nil {
		return nil, err
	}
	var others []string
	for _, l := range set.Listeners {
		if _, ok := inodes[l.Inode]; ok {
			return pids, nil
		}
		others = append(others, l.Addr.String())
	}
	if len(others) == 0 {
		return nil, fmt.Errorf("nothing listens on port %d", set.Port)
	}
	return nil, fmt.Errorf("port %d's listener (%s) is not held by process %d or its descendants (pids %v)", set.Port, strings.Join(others, ", "), root, pids)
}

func treePIDs(s procfs.TreeSnapshot) []int {
	pids := make([]int, len(s.Processes))
	for i, p := range s.Processes {
		pids[i] = p.PID
	}
	return pids
}

// start starts the command (or reaches the attached server) and learns
// from /proc what a muxbench server's hello would say: its pid, its open
// fds and its fd limit.
func (e *externalServer) start(ctx context.Context, i int, job Job) (wire.Hello, error) {
	e.i, e.memory, e.p = i, nil, nil
	if e.x.Attach != "" {
		e.addr, e.pid, e.socks = e.x.Attach, e.x.PID, e.attached
	} else if err := e.launch(ctx); err != nil {
		return wire.Hello{}, err
	}
	var err error
	if e.tree, err = procfs.NewTreeReader(e.pid); err != nil {
		e.stop()
		return wire.Hello{}, err
	}
	snap, err := e.tree.Snapshot()
	if err != nil {
		e.stop()
		return wire.Hello{}, e.gone(err)
	}
	e.hello = wire.Hello{Addr: e.addr, PID: e.pid, Backend: e.x.Label, Proto: e.sc.Proto, CPUs: e.serverCPUs.String()}
	e.hello.NoFileSoft, e.hello.NoFileHard, e.hello.OpenFDs = treeNoFile(snap)
	if reason := limitFault(job, e.hello); reason != "" {
		e.stop()
		return wire.Hello{}, unsupported("%s", reason)
	}
	e.memBefore, e.memErr = e.readMemory(snap)
	return e.hello, nil
}

// treeNoFile is the most any process of the tree may open (nginx's
// workers raise their own limit: worker_rlimit_nofile) and that process's
// open fds; zeros where unreadable.
func treeNoFile(s procfs.TreeSnapshot) (soft, hard uint64, open int) {
	for _, p := range s.Processes {
		var lim unix.Rlimit
		if unix.Prlimit(p.PID, unix.RLIMIT_NOFILE, nil, &lim) != nil || lim.Cur < soft {
			continue
		}
		fds, err := os.ReadDir("/proc/" + strconv.Itoa(p.PID) + "/fd")
		if err != nil {
			continue
		}
		soft, hard, open = lim.Cur, lim.Max, len(fds)
	}
	return soft, hard, open
}

// readMemory is the connection memory with the whole tree's RSS.
func (e *externalServer) readMemory(snap procfs.TreeSnapshot) (procfs.Memory, error) {
	m, err := procfs.ReadMemory(e.pid)
	var rss int64
	for _, p := range snap.Processes {
		rss += p.RSSKiB
	}
	m.RSSBytes = rss << 10
	return m, err
}

// gone turns an error reading the server's tree into how the server
// ended, when it did.
func (e *externalServer) gone(err error) error {
	if e.p != nil && e.p.waitExit(100*time.Millisecond) {
		return errors.New(e.p.exitReason())
	}
	if e.p == nil {
		return fmt.Errorf("attached server (pid %d): %w", e.pid, err)
	}
	return fmt.Errorf("server (pid %d): %w", e.pid, err)
}

// alive says how the server ended if it did: a started one exited, an
// attached one's process is gone.
func (e *externalServer) alive() error {
	if e.p != nil && e.p.exitedEarly() {
		return errors.New(e.p.exitReason())
	}
	if e.p == nil && unix.Kill(e.pid, 0) == unix.ESRCH {
		return fmt.Errorf("attached server (pid %d) is gone", e.pid)
	}
	return nil
}

// ready points the load generator at the server; an attached server
// must first be back to the connections it had before the run.
func (e *externalServer) ready(ctx context.Context, cfg *loadgen.Config, _ *results.Sample) error {
	cfg.Target = e.addr
	if err := loadgen.Check(*cfg); err != nil {
		return unsupported("%v", err)
	}
	if e.p != nil {
		return nil
	}
	deadline := time.Now().Add(idleTimeout)
	for {
		if err := e.alive(); err != nil {
			return err
		}
		set, err := e.socks.Read()
		if err != nil {
			return err
		}
		if n := set.Accepted(); n <= e.baseline {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("the attached server still holds %d connections on port %d, %d more than when the run began, %v after the last sample: another client connected, or it is slow to close", n, set.Port, n-e.baseline, idleTimeout)
		}
		if err := sleepUntil(ctx, time.Now().Add(populatePoll)); err != nil {
			return err
		}
	}
}

// populated reads the server's sockets until it has accepted exactly the
// job's connections, then checks that its own processes hold them and
// reads what populating cost in memory.
func (e *externalServer) populated(ctx context.Context, job Job, progress func(open int)) error {
	n := job.Conns()
	timeout := populateTimeout(n)
	deadline := time.Now().Add(timeout)
	for {
		if err := e.alive(); err != nil {
			return err
		}
		set, err := e.socks.Read()
		if err != nil {
			return fmt.Errorf("waiting for the server to accept %d connections: %w", n, err)
		}
		acc := set.Accepted() - e.baseline
		progress(acc)
		switch {
		case acc > n:
			return fmt.Errorf("%d connections accepted on port %d, more than the %d offered: another client is connected", acc, set.Port, n)
		case acc == n:
			return e.held(set)
		case time.Now().After(deadline):
			return fmt.Errorf("server accepted %d of %d connections (%d more queued) within %v (%s on port %d): its accept queue may have overflowed (somaxconn), or it holds fewer connections than asked (a connection limit: worker_connections, maxclients)",
				acc, n, set.Queued(), timeout, set.Source, set.Port)
		}
		if err := sleepUntil(ctx, time.Now().Add(populatePoll)); err != nil {
			return err
		}
	}
}

// held checks that the accepted sockets on the port are the server's own
// (no other process shares the port, as with SO_REUSEPORT) and reads the
// memory populating took.
func (e *externalServer) held(set sockdiag.Set) error {
	snap, err := e.tree.Snapshot()
	if err != nil {
		return e.gone(err)
	}
	pids := treePIDs(snap)
	inodes, err := sockdiag.SocketInodes(pids...)
	if err != nil {
		return err
	}
	if others := set.NotHeldBy(inodes); len(others) > 0 {
		return fmt.Errorf("%d of the connections accepted on port %d are held by a process outside the server's tree (pids %v): another server shares the port", len(others), set.Port, pids)
	}
	if e.memErr == nil {
		if after, err := e.readMemory(snap); err == nil {
			e.memory = memoryDelta(e.memBefore, after, set.Accepted()-e.baseline)
		}
	}
	return nil
}

// edge reads the server's process tree (its CPU) first, at the edge,
// then the server CPU set's load, then its sockets, whose read takes
// longest (34 ms at 19,960 connections): the CPU window is the measured
// window, and the population proof's reads follow each edge.
func (e *externalServer) edge(bool) (edge, error) {
	x := edge{at: time.Now()}
	var err error
	if x.tree, err = e.tree.Snapshot(); err != nil {
		return x, e.gone(err)
	}
	x.readCPUs(e.serverCPUs)
	t := time.Now()
	x.socks, err = e.socks.Read()
	x.sockRead = time.Since(t)
	return x, err
}

// stop stops a started server and its whole process group and keeps its
// stderr; an attached server is left alone.
func (e *externalServer) stop() (string, error) {
	if e.p == nil {
		return "", nil
	}
	early := ""
	if e.p.exitedEarly() {
		early = e.p.exitReason()
	}
	err := e.terminate()
	e.stopWatch()
	e.keepStderr()
	e.p = nil
	return early, err
}

// keepStderr writes what the server wrote on stderr into the results
// directory.
func (e *externalServer) keepStderr() {
	b := e.stderr.Bytes()
	if e.outDir == "" || len(b) == 0 {
		return
	}
	dir := filepath.Join(e.outDir, StderrDir)
	if os.MkdirAll(dir, 0o755) == nil {
		atomicfile.Write(filepath.Join(dir, fmt.Sprintf("%03d.txt", e.i)), b)
	}
}

// measure turns the tree's CPU and the sockets at the window's edges
// into the sample's server figures and checks the population.
func (e *externalServer) measure(s *results.Sample, job Job, res *loadgen.Result, start, end edge) string {
	d, err := procfs.Delta(start.tree, end.tree)
	if err != nil {
		return err.Error()
	}
	diff, err := sockdiag.Compare(start.socks, end.socks)
	if err != nil {
		return err.Error()
	}
	requests, window := float64(res.Requests), float64(end.at.Sub(start.at))
	b := d.Busiest
	tree := &results.TreeCPU{
		PID: e.pid, CPUNs: d.CPUNs, StatCPUNs: d.StatCPUNs,
		Busiest: fmt.Sprintf("%d/%d (%s)", b.PID, b.TID, b.Comm), BusiestCPUNs: b.CPUNs,
		Processes: d.Processes, Threads: d.Threads, RSSKiB: d.RSSKiB,
		VolCtxSw: int64(d.VoluntaryCtxt), InvolCtxSw: int64(d.NonvoluntaryCtxt),
		ThreadsStarted: d.ThreadsStarted, ThreadsExited: d.ThreadsExited,
		ProcessesStarted: d.ProcessesStarted, ProcessesExited: d.ProcessesExited,
	}
	srv := results.ServerDelta{
		CPUScope: e.x.scope(), VolCtxSw: tree.VolCtxSw, InvolCtxSw: tree.InvolCtxSw,
		Accepts: int64(diff.Accepts()), ConnsOpen: int64(end.socks.Accepted() - e.baseline),
		Threads: d.Threads, Tree: tree,
	}
	scoped := float64(d.CPUNs)
	if srv.CPUScope == results.CPUScopeBusiest {
		scoped = float64(b.CPUNs)
	}
	if requests > 0 {
		tree.CPUNsPerReq, tree.BusiestPerRq = float64(d.CPUNs)/requests, float64(b.CPUNs)/requests
		srv.ProcessCPUNsPerReq, srv.CPUNsPerReq = tree.CPUNsPerReq, scoped/requests
	}
	if window > 0 {
		srv.ProcessCPUUtil, srv.CPUUtil = float64(d.CPUNs)/window, scoped/window
	}
	if cpus := e.serverCPUs.CPUs(); len(cpus) > 0 {
		srv.CPUSetBusy, _ = procfs.BusyFraction(start.cpus, end.cpus, cpus)
	}
	srv.CPUIdle = cpuIdle(e.serverCPUs, start, end)
	s.Server = srv
	s.Memory = e.memory
	s.Sockets = &results.SocketProof{
		Port: int(start.socks.Port), Source: string(start.socks.Source), Note: cmp.Or(start.socks.Note, end.socks.Note),
		Baseline:      e.baseline,
		StartAccepted: start.socks.Accepted() - e.baseline, EndAccepted: end.socks.Accepted() - e.baseline,
		StartQueued: start.socks.Queued(), EndQueued: end.socks.Queued(),
		New: len(diff.New), Gone: len(diff.Gone), AcceptedInside: len(diff.AcceptedInside),
		StartReadNs: start.sockRead.Nanoseconds(), EndReadNs: end.sockRead.Nanoseconds(),
	}
	return socketFault(job, job.Churn, s.Sockets)
}

// socketFault is windowFault for a server read from outside: exactly the
// job's connections accepted at both edges, and none new, gone or
// accepted in between (with churn, the open count within what the
// churning slots allow). It returns why the window is not a measurement
// of the point, or "".
func socketFault(job Job, churn bool, p *results.SocketProof) string {
	conns, active := job.Conns(), job.Active
	var faults []string
	where := fmt.Sprintf("(%s, port %d)", p.Source, p.Port)
	if churn {
		for _, n := range []int{p.StartAccepted, p.EndAccepted} {
			if n > conns+active || n < conns-active {
				faults = append(faults, fmt.Sprintf("%d connections accepted at a window edge; want %d idle plus 0 to %d churning %s", n, conns-active, 2*active, where))
			}
		}
		return strings.Join(faults, "; ")
	}
	for _, edge := range []struct {
		name string
		n    int
	}{{"start", p.StartAccepted}, {"end", p.EndAccepted}} {
		if edge.n != conns {
			faults = append(faults, fmt.Sprintf("%d of %d connections accepted at the window's %s %s", edge.n, conns, edge.name, where))
		}
	}
	if p.New > 0 {
		faults = append(faults, fmt.Sprintf("%d connections at the window's end were not there at its start: accepted inside the window", p.New))
	}
	if p.AcceptedInside > 0 {
		faults = append(faults, fmt.Sprintf("%d connections queued at the window's start were accepted inside it", p.AcceptedInside))
	}
	if p.Gone > 0 {
		faults = append(faults, fmt.Sprintf("%d connections open at the window's start were gone at its end", p.Gone))
	}
	return strings.Join(faults, "; ")
}
