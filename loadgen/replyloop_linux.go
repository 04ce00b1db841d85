package loadgen

// The traffic loop's side of the request/reply protocols (reply.go):
// replies scanned on active and idle connections, and their errors.

// replies scans what arrived on c for the replies to its requests in
// flight, completing each one that ends well; false if c failed (or, in
// churn, was closed after its one reply).
func (g *gen) replies(c *activeConn, data []byte, now int64) bool {
	for len(data) > 0 {
		if c.ackSeq == c.sendSeq {
			g.replyFail(c, ekWrongReply, describeUnsolicited(data), now)
			return false
		}
		n, v := c.scan.feed(g.spec, data)
		switch v {
		case vMore:
			c.got += n // a reply in part: a close now is a short one
			return true
		case vDone, vDoneClose:
			c.scan = replyScan{}
			g.complete(c, now)
			if g.churn { // the connection carried its one request and is closed
				return false
			}
			if v == vDoneClose {
				g.replyFail(c, ekHTTPClose, g.spec.describe(&c.scan, v, data, n), now)
				return false
			}
			data = data[n:]
		case vWrong, vStatus:
			g.replyFail(c, replyErrKind(v), g.spec.describe(&c.scan, v, data, n), now)
			return false
		case vUnsupported:
			g.unreadable(&c.scan, data, n)
			g.down(c, now, false)
			return false
		}
	}
	return true
}

// idleReplies scans what arrived on idle connection i for the reply to
// its keep-alive request; false if i failed.
func (g *gen) idleReplies(i int, data []byte, now int64) bool {
	ic, s := &g.idle[i], &g.kaScan[i]
	for len(data) > 0 {
		if !ic.busy {
			g.example(ekWrongReply, describeUnsolicited(data))
			g.idleFail(i, ekWrongReply)
			return false
		}
		n, v := s.feed(g.spec, data)
		switch v {
		case vMore:
			return true
		case vDone, vDoneClose:
			*s = replyScan{}
			ic.busy = false
			ic.seq++
			g.kaInflight--
			if g.win.contains(now) {
				g.keepAlives++
			}
			if v == vDoneClose {
				g.example(ekHTTPClose, g.spec.describe(s, v, data, n))
				g.idleFail(i, ekHTTPClose)
				return false
			}
			data = data[n:]
		case vWrong, vStatus:
			g.example(replyErrKind(v), g.spec.describe(s, v, data, n))
			g.idleFail(i, replyErrKind(v))
			return false
		case vUnsupported:
			g.unreadable(s, data, n)
			g.idleFail(i, ekWrongReply)
			return false
		}
	}
	return true
}

func replyErrKind(v verdict) int {
	if v == vStatus {
		return ekHTTPStatus
	}
	return ekWrongReply
}

// replyFail counts an error of kind on c, described by what, and closes
// it (it reopens, as after any error).
func (g *gen) replyFail(c *activeConn, kind int, what string, now int64) {
	g.example(kind, what)
	g.fail(c, kind, now)
}

// example keeps the first description of an error of kind.
func (g *gen) example(kind int, what string) {
	if g.examples[kind] == "" {
		g.examples[kind] = what
	}
}

// unreadable stops the run at a reply framed in a way the generator does
// not read (vUnsupported): the loop returns with a *ReplyError.
func (g *gen) unreadable(s *replyScan, data []byte, at int) {
	if g.loopErr == nil {
		g.loopErr = &ReplyError{Target: g.cfg.Target, Detail: g.spec.describe(s, vUnsupported, data, at)}
	}
}

// unsolicitedKind is the error kind of bytes on a connection that had no
// reply due: a mismatch for an echo, a wrong reply otherwise.
func (g *gen) unsolicitedKind() int {
	if g.spec != nil {
		return ekWrongReply
	}
	return ekMismatch
}
