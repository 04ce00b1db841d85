package loadgen

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/traffic"
)

// The generator: every connection is a raw non-blocking fd. Active
// connections and, with a keep-alive, idle ones are registered with one
// epoll instance served by one goroutine locked to its OS thread, which
// does all traffic with direct syscalls — no goroutine per connection and
// no netpoller hand-off between the kernel's wake-up and our read. Idle
// connections without keep-alive are not registered anywhere: after the
// connect completes they are an fd in a slice and cost nothing per
// interval.

// Tags in the upper half of an epoll event's data (EpollEvent.Pad); the
// lower half (EpollEvent.Fd) is the index into the matching table.
const (
	tagActive = 1 + iota
	tagIdle
	tagWake
)

// etEvents is every connection's epoll registration, made once when its
// connect starts and never modified: edge-triggered readiness for input,
// output (which also signals connect completion) and peer close. Edge
// triggering spares a re-poll of every ready socket per wait and all
// EPOLL_CTL_MOD calls; in exchange a read must drain the socket (a short
// read means it is drained: more data later makes a new edge) and a
// write that did not complete waits for the next EPOLLOUT edge.
const etEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

const (
	maxBatchBytes      = 64 << 10 // largest single write of pipelined requests
	readBufBytes       = 64 << 10
	maxConnectInflight = 1024 // connects started but not yet complete during set-up
	retryMin           = 10 * time.Millisecond
	retryMax           = 500 * time.Millisecond
	drainMax           = time.Second // after the window: wait at most this for echoes in flight
	minConnectTimeout  = 3 * time.Second
	// maxRawWait caps one raw wait of the traffic loop, which holds its P
	// while blocked: GC and other goroutines never wait longer than this.
	maxRawWait = 2 * time.Millisecond
)

// gen is one run's generator: its connections (active_linux.go,
// idle_linux.go), the schedule (pace.go), the counts for the Result
// (tally.go) and the loop's buffers. Opening the connections is
// connectAll (connect_linux.go); loop below does everything after.
type gen struct {
	cfg      Config
	d        *dialer
	codec    codec // active requests
	kaCodec  codec // keep-alive messages
	closed   bool  // closed loop
	churn    bool  // a new connection per request (Config.Churn)
	pipeline uint64
	timeout  int64

	ep     int
	wakeFD int
	active []activeConn
	idle   []idleConn
	base   time.Time // time origin of the loop's clock

	// Schedule, in ns since base.
	win     window
	pace    pacer // open loop: active requests
	ka      pacer // keep-alives over all idle conns; interval 0 = none
	hkEvery int64
	nextHK  int64

	stop    atomic.Bool // stop sending, drain, return
	abort   atomic.Bool // with stop: return without draining
	loopErr error

	// Owned by the loop goroutine until it exits.
	tally            // counts for the Result
	inflight   int64 // active requests written, echo not complete
	lastWrite  int64 // when active requests were last written
	kaInflight int64

	events         []unix.EpollEvent
	ts             unix.Timespec
	rbuf, wbuf     []byte
	expect         []byte
	expectConn     uint32
	expectSeq      uint64
	expectValid    bool
	expectKA       bool
	connectTimeout int64

	// spec is the request/reply protocol's (redis, http, line), nil for
	// an echoing one: then wbuf holds copies of its one request, written
	// as they are, and replies are scanned (reply.go) instead of compared.
	spec   *replySpec
	kaScan []replyScan // with spec and a keep-alive: each idle conn's reply in progress
	// examples describes the first error of each kind (request/reply
	// protocols), for Result.ErrorExamples.
	examples [numErrKinds]string
}

func newGen(c Config, d *dialer) (*gen, error) {
	size := c.size()
	g := &gen{
		cfg:      c,
		d:        d,
		codec:    codec{sockperf: c.proto() == traffic.Sockperf, size: size},
		kaCodec:  codec{sockperf: c.proto() == traffic.Sockperf, size: c.keepAliveSize()},
		closed:   c.mode() == traffic.Closed,
		churn:    c.Churn,
		pipeline: uint64(c.pipeline()),
		timeout:  int64(c.timeout()),
		ep:       -1,
		wakeFD:   -1,
		tally:    newTally(),
		events:   make([]unix.EpollEvent, 512),
		rbuf:     make([]byte, max(readBufBytes, size)),
		wbuf:     make([]byte, max(maxBatchBytes, size)),
		expect:   make([]byte, size),

		connectTimeout: int64(max(c.timeout(), minConnectTimeout)),
	}
	if g.spec = newReplySpec(c); g.spec != nil {
		// Every request is the same: fill the write buffer with as many
		// copies as fit once, and never write anything else into it.
		for i := 0; i+size <= len(g.wbuf); i += size {
			copy(g.wbuf[i:], g.spec.request)
		}
		if c.KeepAlive > 0 {
			g.kaScan = make([]replyScan, c.Conns-c.Active)
		}
	}
	var err error
	if g.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if g.wakeFD, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		g.close()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := g.ctl(unix.EPOLL_CTL_ADD, g.wakeFD, unix.EPOLLIN, tagWake, 0); err != nil {
		g.close()
		return nil, err
	}
	g.active = make([]activeConn, c.Active)
	ring := ceilPow2(c.pipeline())
	for i := range g.active {
		g.active[i] = activeConn{fd: -1, idx: i, sent: make([]int64, ring), backoff: int64(retryMin)}
	}
	g.idle = make([]idleConn, c.Conns-c.Active)
	for i := range g.idle {
		g.idle[i].fd = -1
	}
	return g, nil
}

func ceilPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// now is the loop's clock: monotonic ns since base (time.Since reads the
// runtime's monotonic clock through the vDSO, one call).
func (g *gen) now() int64 { return int64(time.Since(g.base)) }

func (g *gen) ctl(op, fd int, events uint32, tag int32, idx int) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(idx), Pad: tag}
	if err := unix.EpollCtl(g.ep, op, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl op %d fd %d: %w", op, fd, err)
	}
	return nil
}

// close closes every fd the generator opened.
func (g *gen) close() {
	for i := range g.active {
		if g.active[i].fd >= 0 {
			unix.Close(g.active[i].fd)
			g.active[i].fd = -1
		}
	}
	for i := range g.idle {
		if g.idle[i].fd >= 0 {
			unix.Close(int(g.idle[i].fd))
			g.idle[i].fd = -1
		}
	}
	if g.wakeFD >= 0 {
		unix.Close(g.wakeFD)
		g.wakeFD = -1
	}
	if g.ep >= 0 {
		unix.Close(g.ep)
		g.ep = -1
	}
}

// loop runs the traffic until stop is set, then drains echoes in flight
// for at most drainMax (and Timeout), still writing open-loop window
// requests that were held back (see endSchedule). It runs on its own
// locked OS thread.
func (g *gen) loop(done chan<- struct{}) {
	// Never unlocked: the thread, with its changed timer slack, exits with
	// this goroutine instead of returning to the scheduler's pool.
	runtime.LockOSThread()
	defer close(done)
	// Default timer slack is 50 µs: far too coarse to pace requests.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)

	// Raw waits keep this goroutine's P while blocked, which is only fair
	// if another P serves every other goroutine (the controller, the
	// harness, in-process servers in tests). With GOMAXPROCS=1 the waits
	// go through the scheduler instead, at some CPU cost per wait.
	raw := runtime.GOMAXPROCS(0) > 1
	stopping := false
	var drainUntil int64
	now := g.now()
	for i := range g.active {
		if g.closed {
			g.active[i].dueSeq = 1
		}
		g.flush(&g.active[i])
	}
	g.nextHK = now + g.hkEvery
	for {
		now = g.now()
		if !stopping && g.stop.Load() {
			stopping = true
			drainUntil = now + min(int64(drainMax), g.timeout)
			if !g.abort.Load() { // aborted: no drain, nothing more to write
				g.endSchedule(now)
			}
		}
		if stopping && ((g.inflight+g.kaInflight == 0 && g.unsent() == 0) || now >= drainUntil || g.abort.Load()) {
			return
		}
		wake := now + g.hkEvery
		dueWake := int64(-1)
		if !stopping {
			if !g.closed && len(g.active) > 0 {
				g.dispatch(now)
				dueWake = g.pace.nextAt()
				wake = min(wake, dueWake)
			}
			if g.ka.interval > 0 {
				g.dispatchKeepAlive(now)
				wake = min(wake, g.ka.nextAt())
			}
		} else {
			wake = min(wake, drainUntil)
		}
		if now >= g.nextHK {
			g.housekeep(now)
			g.nextHK = now + g.hkEvery
		}
		wake = min(wake, g.nextHK)
		t := g.now()
		timeout, spinning := max(0, wake-t), false
		if wake == dueWake {
			timeout, spinning = g.pace.sleep(t, wake) // SpinBefore
		}
		sent := int64(noReply)
		if g.inflight > 0 {
			sent = g.lastWrite
		}
		if !spinning && g.pace.awaitReply(t, sent) { // SpinReply
			timeout, spinning = 0, true
		}
		timeout = min(timeout, int64(maxRawWait))
		n, err := epollWait(g.ep, g.events, timeout, &g.ts, raw)
		if g.win.contains(now) {
			g.waits++
		}
		if err != nil {
			g.loopErr = err
			return
		}
		if g.win.contains(now) {
			g.waitEvents += int64(n)
		}
		if n == 0 {
			if !spinning && !raw {
				// Nothing arrived: a good moment to let other goroutines
				// (the controller, timers) run, which share our P only
				// when GOMAXPROCS is 1. With raw waits they have a P of
				// their own, and yielding would cost far more than the
				// wait: this goroutine is locked to its thread, so the
				// scheduler hands our P to another thread, wakes a third
				// to look for work, and hands the P back — futex calls
				// and context switches on the generator's CPU, per timed
				// wait (in open loop, per request).
				runtime.Gosched()
			}
			continue
		}
		now = g.now() // echoes in this batch arrived before the wait returned
		for _, ev := range g.events[:n] {
			switch ev.Pad {
			case tagActive:
				g.activeEvent(&g.active[ev.Fd], ev.Events, now)
			case tagIdle:
				g.idleEvent(int(ev.Fd), ev.Events, now)
			case tagWake:
				var b [8]byte
				_, _ = unix.Read(g.wakeFD, b[:])
			}
		}
		if g.loopErr != nil { // a reply the generator cannot read (ReplyError)
			return
		}
	}
}
