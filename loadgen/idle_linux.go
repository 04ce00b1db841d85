package loadgen

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// Idle connections: silent ones are only an fd; with a keep-alive each
// sends one small message per interval and verifies its echo.

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
		if g.spec == nil { // else buf holds the one request (newGen)
			g.kaCodec.request(buf, g.idleID(i), uint64(ic.seq))
		}
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
	if g.spec != nil {
		return g.idleReplies(i, data, now)
	}
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
	if g.kaScan != nil {
		g.kaScan[i] = replyScan{}
	}
	unix.Close(int(ic.fd))
	ic.fd = -1
}

// checkIdle looks once, after the window, whether the server closed or
// reset any idle connection (e.g. one it could not register), with a
// non-blocking MSG_PEEK per connection.
func (g *gen) checkIdle() {
	peek := g.rbuf[:1] // the loop has stopped: its buffer is free
	if g.spec != nil {
		peek = g.rbuf[:min(len(g.rbuf), 256)] // enough to quote (a server's greeting or refusal)
	}
	for i := range g.idle {
		ic := &g.idle[i]
		if ic.fd < 0 || ic.busy {
			continue
		}
		n, _, err := unix.Recvfrom(int(ic.fd), peek, unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == unix.EAGAIN:
		case err != nil:
			g.idleFail(i, ekIdleReset)
		case n == 0:
			g.idleFail(i, ekIdleClosed)
		default: // bytes on a connection that sent nothing unanswered
			if g.spec != nil {
				g.example(ekWrongReply, describeUnsolicited(peek[:n]))
			}
			g.idleFail(i, g.unsolicitedKind())
		}
	}
}
