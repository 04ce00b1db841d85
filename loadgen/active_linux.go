package loadgen

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// Active connections: writing due requests, reading and verifying
// echoes, completing, failing and reopening.

// Connection states.
const (
	stDown       = iota // no socket; reconnect at retryAt
	stConnecting        // non-blocking connect in progress
	stOpen
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
	got     int    // bytes of echo (or reply) ackSeq received
	sent    []int64
	pend    []byte // bytes of a short write still to be written
	pendOff int
	pendAt  int64 // when pend became non-empty
	connAt  int64
	retryAt int64
	backoff int64

	scan replyScan // request/reply protocols: the reply to ackSeq so far
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
		if g.spec == nil { // else wbuf holds copies of the one request (newGen)
			for i := uint64(0); i < k; i++ {
				g.codec.request(buf[i*size:], uint32(c.idx), c.sendSeq+i)
			}
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
		if g.closed && g.win.contains(g.windowAt(c, c.sendSeq, now)) {
			g.winIssued += int64(k) // k is 1 here; open loop counts them in dispatch
		}
		c.sendSeq += k
		g.inflight += int64(k)
		g.lastWrite = now
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
	if g.spec != nil {
		return n, g.replies(c, data, now)
	}
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

// windowAt returns the time by which request seq of c belongs to the
// measured window, which is also the time its latency counts from: in
// open loop its intended send time; in closed loop with churn its
// connection's connect (the request is the connection); in closed loop
// its write, at sent. Both counts go by it, the issued (dispatch, flush)
// and the answered (complete), so a request is in or out of the window
// for both: a churned connection opened before a window edge and written
// after it was once issued by its write and answered by its connect.
func (g *gen) windowAt(c *activeConn, seq uint64, sent int64) int64 {
	switch {
	case !g.closed:
		return g.pace.intended(c.idx, seq)
	case g.churn:
		return c.connAt
	}
	return sent
}

func (g *gen) complete(c *activeConn, now int64) {
	sentAt := c.sent[c.ackSeq&uint64(len(c.sent)-1)]
	intended := g.windowAt(c, c.ackSeq, sentAt)
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
	if g.churn {
		// One request per connection: close it (nothing is in flight) and
		// open the next at once; a request due meanwhile waits for it.
		// Once stopped, only for a request still due: in open loop the
		// drain writes window requests held back (endSchedule), and one
		// on a connection left closed would count as unanswered although
		// the generator never sent it.
		g.down(c, now, false)
		if !g.stop.Load() || c.dueSeq > c.sendSeq {
			g.reconnect(c, now)
		}
		return
	}
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
	c.scan = replyScan{}
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

func writeErrKind(err error) int {
	if err == unix.ECONNRESET || err == unix.EPIPE {
		return ekReset
	}
	return ekWrite
}
