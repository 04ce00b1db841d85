package loadgen

import "time"

// This file is the traffic's schedule as plain arithmetic on times in ns
// since the loop's start: no sockets, no clock (the loop passes now in),
// so it builds on any OS and is tested on tables (pace_test.go).

// window is the measured window [start, end), in ns since the loop's
// start.
type window struct{ start, end int64 }

// contains reports whether a request intended (closed loop: written) at t
// belongs to the window. Membership goes by send time, not by when the
// echo arrives: an answer drained after the window still counts, one to a
// warm-up request arriving inside the window does not, so a slow server's
// late answers are neither lost at the end nor borrowed from the warm-up
// at the start.
func (w window) contains(t int64) bool { return t >= w.start && t < w.end }

// last returns the time up to which the schedule is dispatched when the
// traffic stops at now: every request intended in the window (the stop may
// come before the loop dispatched the last ones), none intended after now.
func (w window) last(now int64) int64 { return min(now, w.end-1) }

// pacer is an evenly spaced schedule over conns connections: request n of
// the schedule is intended at n*interval and goes on connection n%conns,
// so request seq of connection i is request i + seq*conns. The open loop
// paces active requests with one (interval 1/Rate) and idle keep-alives
// with another (interval KeepAlive/idle connections). It is a value with
// no pointers: the loop holds it in its state and calls it per request
// without allocating.
type pacer struct {
	interval float64 // ns between consecutive requests, over all connections
	conns    uint64
	spin     int64  // poll without sleeping this long before a due request
	reply    int64  // poll without sleeping this long after a write while its reply is awaited
	n        uint64 // next request to hand out
}

// newPacer returns a schedule of one request every interval ns over conns
// connections (conns > 0) that spins for spin before each due request and
// for up to reply after each write whose reply is awaited (0: never).
func newPacer(interval float64, conns int, spin, reply time.Duration) pacer {
	return pacer{interval: interval, conns: uint64(conns), spin: int64(spin), reply: int64(reply)}
}

// at returns the intended time of request n of the schedule.
func (p *pacer) at(n uint64) int64 { return int64(float64(n) * p.interval) }

// intended returns the intended time of request seq of connection conn.
func (p *pacer) intended(conn int, seq uint64) int64 {
	return p.at(uint64(conn) + seq*p.conns)
}

// nextAt returns the intended time of the first request not yet handed
// out: when the loop must next be awake.
func (p *pacer) nextAt() int64 { return p.at(p.n) }

// take hands out the next request due at now (intended at or before it):
// its connection and intended time; ok is false when none is due. After a
// stall, calls in a row hand out every request the stall held back, each
// with its own intended time, from which its latency then counts.
func (p *pacer) take(now int64) (conn int, at int64, ok bool) {
	at = p.at(p.n)
	if at > now {
		return 0, 0, false
	}
	conn = int(p.n % p.conns)
	p.n++
	return conn, at, true
}

// sleep returns how long the loop may block at now when its next wake-up
// is the request due at due, and whether it should poll instead (spin):
// a timed wait wakes tens of µs late on a VM, and that lateness would
// count as server latency (it is measured from the intended time), so it
// sleeps until spin before due, then polls until the request is due.
func (p *pacer) sleep(now, due int64) (d int64, spin bool) {
	if p.spin <= 0 {
		return max(0, due-now), false
	}
	if early := due - p.spin - now; early > 0 {
		return early, false
	}
	return 0, true
}

// noReply is awaitReply's sent when no reply is awaited.
const noReply = -1

// awaitReply reports whether the loop should poll instead of blocking at
// now because a reply is awaited to a request written at sent (noReply:
// none is). A thread that blocks lets its CPU go idle, and the reply must
// then wake that CPU: on a VM a halted vCPU's wake-up, ~20–35 µs, which
// latency, measured up to the reply's arrival, would charge to the server
// although the generator paid it. Polling for at most reply after a write
// keeps the CPU awake for a prompt reply and bounds the cost, per request,
// to the reply's time or reply, whichever is less: a slow server's reply
// still finds the generator blocked, where the wake-up is small beside it.
func (p *pacer) awaitReply(now, sent int64) bool {
	return p.reply > 0 && sent != noReply && now-sent < p.reply
}
