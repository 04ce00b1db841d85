package server

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
)

// Several loops in one process: how a sharing mode (backends.Sharing) sets
// up the listeners and pollers, the loop thread's own setup, the
// connection table and the per-loop figures. Every loop runs the same
// code (server_linux.go); only this differs.

// exclusiveAdder is a poller that can register an fd so that one of the
// pollers it is in wakes per readiness (EPOLLEXCLUSIVE):
// backends.SharingExclusive needs it.
type exclusiveAdder interface {
	AddExclusive(fd int, in backends.Interest) error
}

// sharer is a poller several threads can wait on at once, each through a
// view of its own: backends.SharingEpoll needs it.
type sharer interface {
	Share() backends.Poller
}

// newServer creates the wake-up eventfd, then the listeners and pollers
// the sharing mode asks for, then the loops, and registers each loop's
// listener and the eventfd with its poller. On error it closes what it
// made.
func newServer(info backends.Info, cfg Config) (*Server, error) {
	n := max(cfg.Loops, 1)
	switch {
	case n > backends.MaxLoops:
		return nil, fmt.Errorf("%d loops: at most %d", n, backends.MaxLoops)
	case n > 1 && info.Sharing == backends.NoSharing:
		return nil, fmt.Errorf("%d loops: the backend runs one loop only (it has no sharing mode; the sharing variants can run several)", n)
	}
	wakeFD, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	s := &Server{info: info, wakeFD: wakeFD}
	fail := func(err error) (*Server, error) {
		s.closeAll()
		return nil, err
	}
	// Listeners: one per loop with SO_REUSEPORT (the first picks the port,
	// the others bind the same one), else one for every loop.
	listeners := 1
	if info.Sharing == backends.SharingReuseport {
		listeners = n
	}
	addr := cfg.Addr
	for i := 0; i < listeners; i++ {
		fd, bound, err := listen(addr, info.Sharing == backends.SharingReuseport)
		if err != nil {
			return fail(err)
		}
		s.listeners = append(s.listeners, fd)
		s.addr, addr = bound, bound
	}
	var table *connTable
	if info.Sharing.SharesTable() {
		if table, err = newSharedTable(); err != nil {
			return fail(err)
		}
	}
	for i := 0; i < n; i++ {
		var p backends.Poller
		switch {
		case i == 0 || info.Sharing != backends.SharingEpoll:
			if p, err = info.New(); err != nil {
				return fail(err)
			}
			s.pollers = append(s.pollers, p)
		default:
			sh, ok := s.pollers[0].(sharer)
			if !ok {
				return fail(fmt.Errorf("%s needs a poller several threads can wait on (%T is not)", info.Sharing, s.pollers[0]))
			}
			p = sh.Share()
		}
		l := &loop{
			poller: p, info: info,
			sockperf: cfg.Proto == traffic.Sockperf, sndbuf: cfg.SendBuffer,
			lnFD: s.listeners[i%len(s.listeners)], wakeFD: wakeFD, spare: OpenSpare(),
			conns:  table,
			events: make([]backends.Event, eventBatch),
			rbuf:   make([]byte, backends.ReadBufferSize),
			cpu:    -1,
		}
		if l.conns == nil {
			l.conns = &connTable{}
		}
		if n > 1 && len(cfg.CPUs) > 0 {
			l.cpu = cfg.CPUs[i%len(cfg.CPUs)]
		}
		s.loops = append(s.loops, l)
		if info.Sharing == backends.SharingEpoll && i > 0 {
			continue // the set already watches the listener and the eventfd
		}
		if err := l.watchOwn(); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// watchOwn registers the loop's listener (EPOLLEXCLUSIVE in the exclusive
// mode) and the wake-up eventfd with its poller.
func (s *loop) watchOwn() error {
	if s.info.Sharing == backends.SharingExclusive {
		ex, ok := s.poller.(exclusiveAdder)
		if !ok {
			return fmt.Errorf("%s needs a poller that can register an fd EPOLLEXCLUSIVE (%T cannot)", s.info.Sharing, s.poller)
		}
		s.exclusive = ex
	}
	add := s.poller.Add
	if s.exclusive != nil {
		add = s.exclusive.AddExclusive
	}
	if err := add(s.lnFD, backends.Read); err != nil {
		return fmt.Errorf("watch listener fd %d with %s: %w", s.lnFD, s.info.Name, err)
	}
	s.c.Watched.Add(1)
	if err := s.poller.Add(s.wakeFD, backends.Read); err != nil {
		return fmt.Errorf("watch fd %d with %s: %w", s.wakeFD, s.info.Name, err)
	}
	s.c.Watched.Add(1)
	return nil
}

// setupThread makes the calling thread (the loop's own, osthread.Go's)
// the loop's: pinned to the loop's CPU when it has one (several loops
// take the server's CPUs one each, in turn), and with an fd table of its
// own unless the backend or the sharing mode keeps the process's
// (fdtable_linux.go).
func (s *loop) setupThread() error {
	if s.cpu >= 0 {
		var set unix.CPUSet
		set.Set(s.cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("pin loop thread to CPU %d: %w", s.cpu, err)
		}
	}
	if s.privateTable() {
		return s.unshareTable()
	}
	return nil
}

// connTable maps a connection's fd to its state, one slot per fd number.
// A loop's own table grows with the highest fd it accepts. The table a
// shared epoll set's loops share (backends.SharingEpoll) is made once at
// the size of the open-file limit and never grows: growing would move the
// slots under another loop's feet.
//
// Each slot is an atomic pointer, so loops sharing the table need no lock:
// one loop at a time handles an fd (EPOLLONESHOT), and a loop hands a
// connection on by storing it into its slot (publish) before re-arming
// it; the next loop's load of that slot sees everything the last one
// wrote to the conn. A loop's own table is touched by that loop alone;
// there a load is a plain load (on amd64 and arm64 alike) and a store is
// made per accept and per close only.
type connTable struct {
	slots  []atomic.Pointer[conn]
	shared bool
}

// maxSharedTable caps a shared table's size (8 bytes per slot), whatever
// the open-file limit says (RLIM_INFINITY): 4 Mi fds.
const maxSharedTable = 1 << 22

// newSharedTable makes the table for loops sharing one epoll set, with a
// slot for every fd number the open-file limit allows.
func newSharedTable() (*connTable, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return nil, fmt.Errorf("getrlimit RLIMIT_NOFILE for the shared connection table: %w", err)
	}
	return &connTable{slots: make([]atomic.Pointer[conn], min(lim.Cur, maxSharedTable)), shared: true}, nil
}

// get returns the connection on fd, or nil.
func (t *connTable) get(fd int) *conn {
	if fd < 0 || fd >= len(t.slots) {
		return nil
	}
	return t.slots[fd].Load()
}

// put records c on fd; false when fd is past a shared table.
func (t *connTable) put(fd int, c *conn) bool {
	if fd >= len(t.slots) {
		if t.shared {
			return false
		}
		grown := make([]atomic.Pointer[conn], max(fd+1, 2*len(t.slots)))
		for i := range t.slots {
			grown[i].Store(t.slots[i].Load())
		}
		t.slots = grown
	}
	t.slots[fd].Store(c)
	return true
}

// clear forgets the connection on fd.
func (t *connTable) clear(fd int) {
	if fd >= 0 && fd < len(t.slots) {
		t.slots[fd].Store(nil)
	}
}

// publish hands c, handled by this loop, on to whichever loop handles its
// next event (see connTable); a loop's own table needs nothing.
func (t *connTable) publish(fd int, c *conn) {
	if t.shared {
		t.slots[fd].Store(c)
	}
}

// LoopStat is one loop's identity and counters, for TakeReport, which
// adds what its thread's /proc entries say.
type LoopStat struct {
	TID   int // its OS thread while it runs, else 0
	CPU   int // the CPU it is pinned to; -1 when it runs on the process's set
	Stats wire.Stats
}

// LoopStats returns every loop's counters, in loop order.
func (s *Server) LoopStats() []LoopStat {
	out := make([]LoopStat, len(s.loops))
	for i, l := range s.loops {
		out[i] = LoopStat{TID: int(l.tid.Load()), CPU: l.cpu, Stats: l.c.Snapshot()}
	}
	return out
}

// Loops is how many loops the server runs.
func (s *Server) Loops() int { return len(s.loops) }
