// Package uringpoll is the uring-poll backend (Name): readiness through
// io_uring(7). Each watched fd has one multishot poll request
// (IORING_OP_POLL_ADD with IORING_POLL_ADD_MULTI) in the kernel; Wait is
// one io_uring_enter that submits the SQEs queued since the last call and
// waits for at least one completion, then reads the CQ ring.
//
// Multishot poll is edge-like: the kernel posts a CQE when the fd's wait
// queue is woken (new data, room to write, a hang-up) and the fd is then
// ready, not again for readiness left unconsumed. So the backend runs the
// loop's edge-triggered policy, as epoll-et does: read and write interest
// registered once per connection and never modified (no SQE per request),
// accepts and reads until drained. The level-triggered policy would cost
// a cancellation and a POLL_ADD every time output is left pending, and
// would still not be told again about unread input.
//
// Counters: the loop's Waits are Wait calls that returned events, each
// one io_uring_enter (a wait that reaps only stale completions enters
// again); Events are CQEs, merged per fd within one Wait; InterestMods are
// the Add/Modify/Remove calls, one SQE each (Modify: two; a removal is an
// IORING_OP_ASYNC_CANCEL, see disarm). Re-arming a poll that the kernel
// ended is one more SQE, not counted.
package uringpoll

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/iouring"
)

// Name is this package's backend's name: what the CLI, results and charts
// call it.
const Name = "uring-poll"

// Backends describes this package's backend for package lineup, which
// registers it (importing this package registers nothing).
func Backends() []backends.Info {
	return []backends.Info{{
		Name: Name,
		Description: "io_uring multishot POLL_ADD per fd, edge-triggered loop; one io_uring_enter per wait " +
			"(waits = enters, events = CQEs, interest mods = SQEs)",
		EdgeTriggered: true,
		Check:         Check,
		New:           func() (backends.Poller, error) { return New() },
	}}
}

// Ring sizes: the SQ ring holds a burst of registrations between two
// waits (it is submitted early when full); the CQ ring holds a wait's
// completions. A multishot poll that finds the CQ ring full ends (its last
// CQE goes to the kernel's overflow list, IORING_FEAT_NODROP) and is
// re-armed when that CQE is read.
const (
	sqEntries = 1024
	cqEntries = 8192
)

// Check reports whether io_uring multishot poll works here; the error
// wraps iouring.ErrUnsupported when it cannot. It probes once per process.
func Check() error { return iouring.CheckPoll() }

// entry is the state of one fd, indexed by fd number.
type entry struct {
	gen   uint32 // generation of the current poll request; 0 never names one
	in    backends.Interest
	added bool
	armed bool   // a poll request of this generation is in the kernel
	seq   uint32 // the Wait call whose events slot holds this fd
	slot  int32
}

// Poller is a multishot-poll multiplexer over one io_uring.
type Poller struct {
	ring *iouring.Ring
	fds  []entry
	seq  uint32
	gen  uint32
	// rearms counts polls the kernel ended and Wait re-armed (tests).
	rearms uint64
	owned  bool // the calling goroutine is locked to the ring's thread
}

var _ backends.Poller = (*Poller)(nil)

// New checks support and creates a ring.
func New() (*Poller, error) { return newSized(sqEntries, cqEntries) }

func newSized(sq, cq uint32) (*Poller, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	r, err := iouring.New(sq, cq, iouring.SetupFlags)
	if err != nil {
		return nil, err
	}
	return &Poller{ring: r}, nil
}

// userData names fd's poll request of generation gen in its SQE and CQEs,
// so completions of a request the poller has replaced or removed (and of
// an earlier connection with the same fd number) are recognised as stale.
func userData(fd int, gen uint32) uint64 { return uint64(gen)<<32 | uint64(uint32(fd)) }

// own locks the calling goroutine to its OS thread before the ring's
// first enter: the ring is single-issuer (iouring.SetupFlags), so every
// enter must come from the thread of the first. The server's loop is
// locked already (this nests); a test's goroutine stays locked to it.
func (p *Poller) own() {
	if !p.owned {
		runtime.LockOSThread()
		p.owned = true
	}
}

func (p *Poller) sqe() (*iouring.SQE, error) {
	if s := p.ring.GetSQE(); s != nil {
		return s, nil
	}
	p.own()
	if err := p.ring.Submit(); err != nil {
		return nil, fmt.Errorf("io_uring_enter (submit a full SQ ring): %w", err)
	}
	if s := p.ring.GetSQE(); s != nil {
		return s, nil
	}
	return nil, errors.New("io_uring SQ ring full after submitting it")
}

func (p *Poller) entry(fd int) *entry {
	if fd < 0 || fd >= len(p.fds) || !p.fds[fd].added {
		return nil
	}
	return &p.fds[fd]
}

// arm queues a multishot poll for fd's current interest.
func (p *Poller) arm(fd int, e *entry) error {
	if e.in == 0 {
		return nil
	}
	s, err := p.sqe()
	if err != nil {
		return err
	}
	var mask uint32
	if e.in&backends.Read != 0 {
		mask |= unix.POLLIN | unix.POLLRDHUP
	}
	if e.in&backends.Write != 0 {
		mask |= unix.POLLOUT
	}
	s.Opcode, s.Fd, s.Len, s.OpFlags = iouring.OpPollAdd, int32(fd), iouring.PollAddMulti, mask
	s.UserData = userData(fd, e.gen)
	e.armed = true
	return nil
}

// disarm queues the cancellation of fd's poll request and moves to a new
// generation, so whatever the old request still completes is stale. A
// successful cancellation posts no CQE of its own
// (IOSQE_CQE_SKIP_SUCCESS); the cancelled request's last CQE (-ECANCELED)
// is stale.
//
// IORING_OP_ASYNC_CANCEL, not IORING_OP_POLL_REMOVE: a removal fails
// (-EALREADY) when it meets a wake-up the kernel has not yet completed —
// with deferred task work, whenever the fd became ready since the last
// enter — and leaves the multishot request armed, holding the socket open
// after the loop closes fd. A cancellation marks the request, and the
// pending wake-up completes it.
func (p *Poller) disarm(fd int, e *entry) error {
	if e.armed {
		s, err := p.sqe()
		if err != nil {
			return err
		}
		s.Opcode, s.Flags, s.Addr = iouring.OpAsyncCancel, iouring.SQECQESkipSuccess, userData(fd, e.gen)
		s.UserData = userData(fd, 0) // generation 0: names a cancellation (reap)
		e.armed = false
	}
	e.gen = p.nextGen()
	return nil
}

func (p *Poller) nextGen() uint32 {
	p.gen++
	if p.gen == 0 {
		p.gen = 1
	}
	return p.gen
}

// Add starts a multishot poll on fd.
func (p *Poller) Add(fd int, in backends.Interest) error {
	if fd < 0 {
		return fmt.Errorf("io_uring poll add fd %d: %w", fd, unix.EBADF)
	}
	if p.entry(fd) != nil {
		return fmt.Errorf("io_uring poll add fd %d: %w", fd, unix.EEXIST)
	}
	for fd >= len(p.fds) {
		p.fds = append(p.fds, entry{}) // grows with the highest fd, not per call
	}
	e := &p.fds[fd]
	*e = entry{gen: p.nextGen(), in: in, added: true, seq: p.seq - 1}
	if err := p.arm(fd, e); err != nil {
		e.added = false
		return fmt.Errorf("io_uring poll add fd %d: %w", fd, err)
	}
	return nil
}

// Modify replaces fd's poll request with one for in (none for 0).
func (p *Poller) Modify(fd int, in backends.Interest) error {
	e := p.entry(fd)
	if e == nil {
		return fmt.Errorf("io_uring poll modify fd %d: %w", fd, unix.ENOENT)
	}
	if err := p.disarm(fd, e); err != nil {
		return fmt.Errorf("io_uring poll modify fd %d: %w", fd, err)
	}
	e.in = in
	if err := p.arm(fd, e); err != nil {
		return fmt.Errorf("io_uring poll modify fd %d: %w", fd, err)
	}
	return nil
}

// Remove queues the cancellation of fd's poll request. It reaches the
// kernel with the next Wait; until then the request keeps the socket open
// even if fd is closed.
func (p *Poller) Remove(fd int) error {
	e := p.entry(fd)
	if e == nil {
		return fmt.Errorf("io_uring poll remove fd %d: %w", fd, unix.ENOENT)
	}
	err := p.disarm(fd, e)
	e.added = false
	if err != nil {
		return fmt.Errorf("io_uring poll remove fd %d: %w", fd, err)
	}
	return nil
}

// Wait submits queued SQEs and waits for completions in one
// io_uring_enter, then turns CQEs into events. The first Wait binds the
// poller to the calling goroutine's thread (see own): call Wait, and any
// Add that may fill the SQ ring, from that goroutine only.
func (p *Poller) Wait(events []backends.Event, timeoutMs int) (int, error) {
	p.own()
	p.seq++
	for {
		err := p.ring.Wait(timeoutMs)
		ended := err == unix.EINTR || err == unix.ETIME // a signal, or the timeout
		if err != nil && !ended {
			return 0, fmt.Errorf("io_uring_enter: %w", err)
		}
		n, err := p.reap(events)
		if n > 0 || err != nil || ended || timeoutMs >= 0 {
			return n, err
		}
		// An endless wait that reaped only stale completions (of removed
		// polls): enter again rather than report a wake-up with no event.
	}
}

// reap turns ready CQEs into events, merging CQEs for one fd into one
// event, until events is full; the rest stay in the CQ ring for the next
// Wait. A poll that ended (no IORING_CQE_F_MORE: the CQ ring was full, or
// the kernel gave up on it) is re-armed, so no readiness is lost: a new
// poll reports an fd that is ready when it is armed.
func (p *Poller) reap(events []backends.Event) (int, error) {
	ready := p.ring.Ready()
	n := 0
	var i uint32
	for ; i < ready && n < len(events); i++ {
		c := p.ring.CQE(i)
		fd, gen := int(uint32(c.UserData)), uint32(c.UserData>>32)
		e := p.entry(fd)
		if gen == 0 && c.Res < 0 && c.Res != -int32(unix.ENOENT) {
			// A cancellation failed for another reason than the request
			// having ended already: it may still be armed, holding fd's
			// socket open after close. Not seen; say so if it happens.
			p.ring.Advance(i + 1)
			return n, fmt.Errorf("io_uring cancel of fd %d's poll: %w", fd, unix.Errno(-c.Res))
		}
		if e == nil || gen == 0 || e.gen != gen {
			continue // stale: a removed or replaced request
		}
		if c.Flags&iouring.CQEFMore == 0 {
			e.armed = false
			p.rearms++
			if err := p.arm(fd, e); err != nil {
				p.ring.Advance(i + 1)
				return n, fmt.Errorf("io_uring poll re-arm fd %d: %w", fd, err)
			}
		}
		r := ready32(c.Res)
		if r == 0 {
			continue
		}
		if e.seq == p.seq {
			events[e.slot].Ready |= r
			continue
		}
		e.seq, e.slot = p.seq, int32(n)
		events[n] = backends.Event{FD: int32(fd), Ready: r}
		n++
	}
	p.ring.Advance(i)
	return n, nil
}

// ready32 maps a poll CQE's result (a poll mask, or -errno when the
// request failed: reported as an error on the fd, which the loop's next
// read finds out about) to Ready.
func ready32(res int32) backends.Ready {
	if res < 0 {
		return backends.Failed
	}
	var r backends.Ready
	if res&unix.POLLIN != 0 {
		r |= backends.Readable
	}
	if res&unix.POLLOUT != 0 {
		r |= backends.Writable
	}
	if res&(unix.POLLHUP|unix.POLLRDHUP) != 0 {
		r |= backends.Hangup
	}
	if res&unix.POLLERR != 0 {
		r |= backends.Failed
	}
	return r
}

// FD is the ring's fd: a loop thread that unshares its fd table keeps it
// (server's private table).
func (p *Poller) FD() int { return p.ring.FD() }

// Close closes the ring; the kernel cancels every poll request.
func (p *Poller) Close() error {
	if p.ring == nil {
		return nil
	}
	err := p.ring.Close()
	p.ring = nil
	return err
}
