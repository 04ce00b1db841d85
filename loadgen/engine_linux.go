package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
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

// Connection states.
const (
	stDown       = iota // no socket; reconnect at retryAt
	stConnecting        // non-blocking connect in progress
	stOpen
)

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

// activeConn is one connection carrying traffic. Requests of one
// connection are numbered 0, 1, 2, … (seq); in open loop request seq of
// connection idx is global request idx + seq*Active of the schedule.
type activeConn struct {
	fd      int
	idx     int
	state   uint8
	dueSeq  uint64 // requests due so far: [sendSeq, dueSeq) wait to be written
	endSeq  uint64 // open loop: requests intended before the window's end (those the drain still writes)
	sendSeq uint64 // requests handed to write() so far
	ackSeq  uint64 // next request whose echo is expected
	got     int    // bytes of echo ackSeq received
	sent    []int64
	pend    []byte // bytes of a short write still to be written
	pendOff int
	pendAt  int64 // when pend became non-empty
	connAt  int64
	retryAt int64
	backoff int64
}

// idleConn is one idle connection: 24 bytes of user memory (the Go side
// of the ≤ 1 KiB budget; the kernel's socket is not counted).
type idleConn struct {
	fd     int32
	seq    uint32 // keep-alive messages completed
	got    uint16 // bytes of the current keep-alive echo received
	busy   bool   // a keep-alive is in flight
	up     bool   // connect completed
	sentAt int64
}

type gen struct {
	cfg      Config
	d        *dialer
	codec    codec // active requests
	kaCodec  codec // keep-alive messages
	closed   bool  // closed loop
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
}

func newGen(c Config, d *dialer) (*gen, error) {
	size := c.size()
	g := &gen{
		cfg:      c,
		d:        d,
		codec:    codec{sockperf: c.proto() == ProtoSockperf, size: size},
		kaCodec:  codec{sockperf: c.proto() == ProtoSockperf, size: c.keepAliveSize()},
		closed:   c.mode() == ModeClosed,
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

// connectAll opens every connection, active ones first (so they get the
// server's lowest fds), at most ConnectRate per second and
// maxConnectInflight at a time. Any failure aborts: a point whose
// connections cannot all be opened is not measurable.
func (g *gen) connectAll(ctx context.Context, report func(done, total int)) error {
	total := len(g.active) + len(g.idle)
	interval := 1e9 / g.cfg.connectRate()
	nodelayIdle := g.cfg.KeepAlive > 0
	start := g.now()
	lastProgress := start
	next, done, inflight := 0, 0, 0
	for done < total {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("open connections (%d of %d open): %w", done, total, err)
		}
		now := g.now()
		for next < total && inflight < maxConnectInflight && float64(now-start) >= float64(next)*interval {
			isActive := next < len(g.active)
			fd, err := g.d.dial(next, isActive || nodelayIdle)
			if err != nil {
				return g.connectErr(err, done, total)
			}
			if isActive {
				g.active[next].fd = fd
				g.active[next].state = stConnecting
				err = g.ctl(unix.EPOLL_CTL_ADD, fd, etEvents, tagActive, next)
			} else {
				g.idle[next-len(g.active)].fd = int32(fd)
				err = g.ctl(unix.EPOLL_CTL_ADD, fd, etEvents, tagIdle, next-len(g.active))
			}
			if err != nil {
				return err
			}
			next++
			inflight++
		}
		wait := int64(10 * time.Millisecond) // bounded, so ctx is checked promptly
		if next < total && inflight < maxConnectInflight {
			wait = min(wait, max(0, start+int64(float64(next)*interval)-now))
		}
		n, err := epollWait(g.ep, g.events, wait, &g.ts, false)
		if err != nil {
			return fmt.Errorf("open connections: %w", err)
		}
		for _, ev := range g.events[:n] {
			var fd int
			switch ev.Pad {
			case tagActive:
				if g.active[ev.Fd].state != stConnecting {
					continue // a later edge of an open connection; the loop reads it
				}
				fd = g.active[ev.Fd].fd
			case tagIdle:
				if g.idle[ev.Fd].up {
					continue
				}
				g.idle[ev.Fd].up = true
				fd = int(g.idle[ev.Fd].fd)
			default:
				continue
			}
			if err := soError(fd); err != nil {
				src := g.d.source(int(ev.Fd))
				if ev.Pad == tagIdle {
					src = g.d.source(len(g.active) + int(ev.Fd))
				}
				return g.connectErr(&ConnectError{Op: "connect", Source: src, Target: g.d.target, Err: err}, done, total)
			}
			if ev.Pad == tagActive {
				g.active[ev.Fd].state = stOpen
			} else if g.cfg.KeepAlive == 0 {
				// Silent idle connection: out of the epoll set for good.
				if err := g.ctl(unix.EPOLL_CTL_DEL, fd, 0, 0, 0); err != nil {
					return err
				}
			}
			inflight--
			done++
			lastProgress = g.now()
		}
		if report != nil {
			report(done, total)
		}
		if inflight > 0 && g.now()-lastProgress > g.connectTimeout {
			return g.connectErr(&ConnectError{Op: "connect", Target: g.d.target, Err: unix.ETIMEDOUT}, done, total)
		}
	}
	return nil
}

func (g *gen) connectErr(err error, done, total int) error {
	var ce *ConnectError
	if errors.As(err, &ce) {
		ce.Opened, ce.Total = done, total
	}
	return fmt.Errorf("open connections: %w", err)
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
			if !spinning {
				// Nothing arrived: a good moment to let other goroutines
				// (the controller, timers) run if they share our P.
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
	}
}

// dispatch marks due every request of the open-loop schedule whose
// intended send time has come and writes them. Request n is intended at
// n*interval on connection n%Active; a connection that cannot take it yet
// (pipeline full, socket buffer full, reconnecting) keeps it due, and its
// latency still counts from the intended time.
func (g *gen) dispatch(now int64) {
	a := uint64(len(g.active))
	first := g.pace.n
	for {
		i, t, ok := g.pace.take(now)
		if !ok {
			break
		}
		c := &g.active[i]
		c.dueSeq++
		if t < g.win.end {
			c.endSeq = c.dueSeq
			if t >= g.win.start {
				g.winIssued++
			}
		}
	}
	if g.pace.n-first >= a {
		for i := range g.active {
			g.flush(&g.active[i])
		}
		return
	}
	for n := first; n < g.pace.n; n++ {
		g.flush(&g.active[n%a])
	}
}

// endSchedule stops new traffic when the window has closed. Open loop:
// every request intended in the window is made due (the controller's stop
// may arrive before the loop dispatched the last ones) and stays due, so
// the drain still writes window requests held back by a full pipeline or
// socket buffer: a window request that goes unanswered is then the
// server's doing (too slow, or a connection that failed), not held back
// by the generator. Requests intended after the window and not yet
// written are dropped. Closed loop: nothing new is written.
func (g *gen) endSchedule(now int64) {
	if !g.closed && len(g.active) > 0 {
		g.dispatch(g.win.last(now))
	}
	for i := range g.active {
		c := &g.active[i]
		if g.closed {
			c.dueSeq = c.sendSeq
		} else {
			c.dueSeq = max(c.sendSeq, c.endSeq) // endSeq <= dueSeq: a prefix of what was due
		}
	}
}

// unsent returns the requests due but not yet written on connections that
// may still write them (a failed connection is not reopened in the drain).
func (g *gen) unsent() int64 {
	var n int64
	for i := range g.active {
		if c := &g.active[i]; c.state != stDown {
			n += int64(c.dueSeq - c.sendSeq)
		}
	}
	return n
}

// flush writes c's pending bytes, then as many due requests as the
// pipeline allows, in batches of up to maxBatchBytes, until done or the
// socket is full (then the next EPOLLOUT edge calls it again).
func (g *gen) flush(c *activeConn) {
	if c.state != stOpen {
		return
	}
	size := uint64(g.codec.size)
	for {
		if c.pendOff < len(c.pend) {
			n, err := rawWrite(c.fd, c.pend[c.pendOff:])
			if err == unix.EAGAIN {
				return
			}
			if err != nil {
				g.fail(c, writeErrKind(err), g.now())
				return
			}
			c.pendOff += n
			continue // a short write: try again until EAGAIN arms the edge
		}
		c.pend, c.pendOff = c.pend[:0], 0
		k := min(c.dueSeq-c.sendSeq, g.pipeline-(c.sendSeq-c.ackSeq), uint64(len(g.wbuf))/size)
		if c.dueSeq <= c.sendSeq || k == 0 {
			return
		}
		buf := g.wbuf[:k*size]
		for i := uint64(0); i < k; i++ {
			g.codec.request(buf[i*size:], uint32(c.idx), c.sendSeq+i)
		}
		now := g.now()
		n, err := rawWrite(c.fd, buf)
		if err != nil && err != unix.EAGAIN {
			g.fail(c, writeErrKind(err), now)
			return
		}
		mask := uint64(len(c.sent) - 1)
		for i := uint64(0); i < k; i++ {
			c.sent[(c.sendSeq+i)&mask] = now
		}
		c.sendSeq += k
		g.inflight += int64(k)
		if g.closed && g.win.contains(now) {
			g.winIssued += int64(k) // open loop counts them in dispatch
		}
		if n < len(buf) {
			c.pend = append(c.pend[:0], buf[n:]...)
			c.pendOff = 0
			c.pendAt = now
		}
	}
}

func (g *gen) activeEvent(c *activeConn, events uint32, now int64) {
	switch c.state {
	case stConnecting:
		if err := soError(c.fd); err != nil {
			g.count(ekConnect)
			g.down(c, now, true)
			return
		}
		c.state = stOpen
		c.backoff = int64(retryMin)
		if g.closed && !g.stop.Load() {
			c.dueSeq = c.sendSeq + 1
		}
		g.flush(c)
		return
	case stDown:
		return
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		// With the peer's FIN or an error already in this edge, no later
		// edge will come: read to EOF/EAGAIN instead of stopping at a
		// short read.
		toEnd := events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
		if !g.read(c, now, toEnd) {
			return
		}
	}
	if c.dueSeq > c.sendSeq || c.pendOff < len(c.pend) {
		g.flush(c)
	}
}

// read drains c (edge-triggered: until a short read, or with toEnd until
// EAGAIN or EOF) and verifies what arrived; false if c failed.
func (g *gen) read(c *activeConn, now int64, toEnd bool) bool {
	for {
		n, ok := g.readOnce(c, now)
		if !ok {
			return false
		}
		if n == 0 || (n < len(g.rbuf) && !toEnd) {
			return true
		}
	}
}

func (g *gen) readOnce(c *activeConn, now int64) (int, bool) {
	n, err := rawRead(c.fd, g.rbuf)
	switch {
	case err == unix.EAGAIN:
		return 0, true
	case err == unix.ECONNRESET:
		g.fail(c, ekReset, now)
		return 0, false
	case err != nil:
		g.fail(c, ekRead, now)
		return 0, false
	case n == 0:
		if c.got > 0 {
			g.fail(c, ekShort, now)
		} else {
			g.fail(c, ekClosed, now)
		}
		return 0, false
	}
	data := g.rbuf[:n]
	size := g.codec.size
	for len(data) > 0 {
		if c.ackSeq == c.sendSeq { // bytes nobody asked for
			g.fail(c, ekMismatch, now)
			return 0, false
		}
		g.expectFor(false, uint32(c.idx), c.ackSeq)
		k := min(size-c.got, len(data))
		if !bytes.Equal(data[:k], g.expect[c.got:c.got+k]) {
			g.fail(c, ekMismatch, now)
			return 0, false
		}
		c.got += k
		data = data[k:]
		if c.got == size {
			g.complete(c, now)
		}
	}
	return n, true
}

// expectFor makes g.expect hold the echo expected for (conn, seq).
func (g *gen) expectFor(ka bool, conn uint32, seq uint64) {
	if g.expectValid && g.expectKA == ka && g.expectConn == conn && g.expectSeq == seq {
		return
	}
	if ka {
		g.kaCodec.response(g.expect, conn, seq)
	} else {
		g.codec.response(g.expect, conn, seq)
	}
	g.expectValid, g.expectKA, g.expectConn, g.expectSeq = true, ka, conn, seq
}

func (g *gen) complete(c *activeConn, now int64) {
	sentAt := c.sent[c.ackSeq&uint64(len(c.sent)-1)]
	intended := sentAt
	if !g.closed {
		intended = g.pace.intended(c.idx, c.ackSeq)
	}
	if g.win.contains(intended) {
		recordClamped(g.hist, now-intended)
		if !g.closed { // closed loop: identical, copied once at the end
			recordClamped(g.svc, now-sentAt)
		}
		g.requests++
	}
	g.runRequests++
	c.ackSeq++
	c.got = 0
	g.inflight--
	if g.closed && !g.stop.Load() {
		c.dueSeq++
	}
}

// fail counts an error on c, closes it and schedules a reconnect. Echoes
// in flight on it are lost.
func (g *gen) fail(c *activeConn, kind int, now int64) {
	g.count(kind)
	g.down(c, now, false)
}

func (g *gen) down(c *activeConn, now int64, backoff bool) {
	if c.fd >= 0 {
		unix.Close(c.fd) // also removes it from the epoll set
		c.fd = -1
	}
	lost := int64(c.sendSeq - c.ackSeq)
	g.lost += lost
	g.inflight -= lost
	c.ackSeq = c.sendSeq
	c.got = 0
	c.pend, c.pendOff = c.pend[:0], 0
	c.state = stDown
	c.retryAt = now
	if backoff {
		c.retryAt = now + c.backoff
		c.backoff = min(2*c.backoff, int64(retryMax))
	}
}

func (g *gen) reconnect(c *activeConn, now int64) {
	fd, err := g.d.dial(c.idx, true)
	if err != nil {
		g.count(ekConnect)
		g.down(c, now, true)
		return
	}
	if err := g.ctl(unix.EPOLL_CTL_ADD, fd, etEvents, tagActive, c.idx); err != nil {
		unix.Close(fd)
		g.count(ekConnect)
		g.down(c, now, true)
		return
	}
	c.fd = fd
	c.state = stConnecting
	c.connAt = now
}

// housekeep times out echoes and connects, and reopens failed active
// connections. It scans active connections only.
func (g *gen) housekeep(now int64) {
	for i := range g.active {
		c := &g.active[i]
		switch c.state {
		case stOpen:
			if c.ackSeq < c.sendSeq && now-c.sent[c.ackSeq&uint64(len(c.sent)-1)] > g.timeout {
				g.fail(c, ekTimeout, now)
			} else if c.pendOff < len(c.pend) && now-c.pendAt > g.timeout {
				g.fail(c, ekTimeout, now)
			}
		case stConnecting:
			if now-c.connAt > g.connectTimeout {
				g.count(ekConnect)
				g.down(c, now, true)
			}
		case stDown:
			if now >= c.retryAt && !g.stop.Load() {
				g.reconnect(c, now)
			}
		}
	}
}

// dispatchKeepAlive sends the keep-alives whose time has come (g.ka:
// message j at j*KeepAlive/len(idle) on idle connection j%len(idle), so
// each idle connection sends one per KeepAlive interval). One whose
// previous message is still unanswered after Timeout counts a timeout and
// is closed; one still within Timeout skips this round.
func (g *gen) dispatchKeepAlive(now int64) {
	for {
		i, _, ok := g.ka.take(now)
		if !ok {
			return
		}
		ic := &g.idle[i]
		if ic.fd < 0 {
			continue
		}
		if ic.busy {
			if now-ic.sentAt > g.timeout {
				g.idleFail(i, ekTimeout)
			}
			continue
		}
		size := g.kaCodec.size
		buf := g.wbuf[:size]
		g.kaCodec.request(buf, g.idleID(i), uint64(ic.seq))
		w, err := rawWrite(int(ic.fd), buf)
		switch {
		case err == unix.ECONNRESET || err == unix.EPIPE:
			g.idleFail(i, ekIdleReset)
			continue
		case err != nil || w != size:
			// A few bytes on an idle socket do not fit: the server has
			// stopped reading it. Not worth a write queue per idle conn.
			g.idleFail(i, ekWrite)
			continue
		}
		ic.busy = true
		ic.sentAt = now
		g.kaInflight++
	}
}

func (g *gen) idleID(i int) uint32 { return uint32(len(g.active) + i) }

func (g *gen) idleEvent(i int, events uint32, now int64) {
	for g.idleRead(i, now) && events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		// The edge carried the peer's FIN or an error: read on to EOF.
	}
}

// idleRead reads once from idle connection i and verifies the keep-alive
// echo; false when there is nothing more to read or i failed.
func (g *gen) idleRead(i int, now int64) bool {
	ic := &g.idle[i]
	if ic.fd < 0 {
		return false
	}
	n, err := rawRead(int(ic.fd), g.rbuf)
	switch {
	case err == unix.EAGAIN:
		return false
	case err != nil:
		g.idleFail(i, ekIdleReset)
		return false
	case n == 0:
		g.idleFail(i, ekIdleClosed)
		return false
	}
	data := g.rbuf[:n]
	size := g.kaCodec.size
	for len(data) > 0 {
		if !ic.busy {
			g.idleFail(i, ekMismatch)
			return false
		}
		g.expectFor(true, g.idleID(i), uint64(ic.seq))
		k := min(size-int(ic.got), len(data))
		if !bytes.Equal(data[:k], g.expect[ic.got:int(ic.got)+k]) {
			g.idleFail(i, ekMismatch)
			return false
		}
		ic.got += uint16(k)
		data = data[k:]
		if int(ic.got) == size {
			ic.got = 0
			ic.busy = false
			ic.seq++
			g.kaInflight--
			if g.win.contains(now) {
				g.keepAlives++
			}
		}
	}
	return true
}

// idleFail counts an error on idle connection i and closes it for good.
func (g *gen) idleFail(i int, kind int) {
	ic := &g.idle[i]
	g.count(kind)
	if ic.busy {
		g.kaInflight--
		ic.busy = false
	}
	unix.Close(int(ic.fd))
	ic.fd = -1
}

// checkIdle looks once, after the window, whether the server closed or
// reset any idle connection (e.g. one it could not register), with a
// non-blocking MSG_PEEK per connection.
func (g *gen) checkIdle() {
	var b [1]byte
	for i := range g.idle {
		ic := &g.idle[i]
		if ic.fd < 0 || ic.busy {
			continue
		}
		n, _, err := unix.Recvfrom(int(ic.fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == unix.EAGAIN:
		case err != nil:
			g.idleFail(i, ekIdleReset)
		case n == 0:
			g.idleFail(i, ekIdleClosed)
		default: // bytes on a connection that sent nothing unanswered
			g.idleFail(i, ekMismatch)
		}
	}
}

func writeErrKind(err error) int {
	if err == unix.ECONNRESET || err == unix.EPIPE {
		return ekReset
	}
	return ekWrite
}
