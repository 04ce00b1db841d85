// Package epoll is the epoll(7) backend, twice: NameLT ("epoll-lt",
// level-triggered) and NameET ("epoll-et", edge-triggered). The kernel keeps the
// interest set, so Wait costs O(ready fds), not O(watched fds).
//
// The mode is one flag on every registration. Level-triggered reports an fd
// for as long as it stays ready; the server asks for write readiness only
// while it has output pending. Edge-triggered reports an fd when it becomes
// ready; the server registers read and write interest once per connection,
// never modifies it, and must drain every read and accept (to EAGAIN, or to
// a short read) or the connection stalls forever. NameETDrain is the
// variant that always reads to EAGAIN; variants_linux.go has the claims'
// variants (MOD per request, EPOLLONESHOT, busy polling),
// sharing_linux.go the variants for several loops in one process
// (SO_REUSEPORT, a shared listener with and without EPOLLEXCLUSIVE, a
// shared epoll set), and pitfalls_linux.go the deliberately wrong loops.
package epoll

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/rawwait"
)

// Mode selects level- or edge-triggered notification.
type Mode int

const (
	// LevelTriggered reports an fd while it stays ready (epoll's default).
	LevelTriggered Mode = iota
	// EdgeTriggered reports an fd when it becomes ready (EPOLLET).
	EdgeTriggered
	// Oneshot is level-triggered, but an fd is disarmed once reported
	// until the caller re-arms it with Modify (EPOLLONESHOT).
	Oneshot
)

// Names of this package's backends: what the CLI, results and charts call
// them. (Name, not mode: LevelTriggered, EdgeTriggered and Oneshot are the
// modes several of them share.)
const (
	NameLT      = "epoll-lt"
	NameET      = "epoll-et"
	NameETDrain = "epoll-et-drain"
	NameMod     = "epoll-mod"
	NameOneshot = "epoll-oneshot"
	NameBusy    = "epoll-busy"
	// The -sharedfd variants keep the process's shared fd table
	// (backends.Info.SharedFDTable).
	NameLTShared = "epoll-lt-sharedfd"
	NameETShared = "epoll-et-sharedfd"
)

// Backends describes this package's backends — both modes, the claims'
// variants and the pitfalls — for package lineup, which registers them
// (importing this package registers nothing).
func Backends() []backends.Info {
	infos := []backends.Info{{
		Name:        NameLT,
		Description: "epoll(7) level-triggered: kernel-held interest set, write interest only while output is pending",
		New:         func() (backends.Poller, error) { return New(LevelTriggered) },
	}, {
		Name:          NameET,
		Description:   "epoll(7) edge-triggered: IN|OUT|RDHUP|ET registered once per connection, reads stop at a short read",
		EdgeTriggered: true,
		New:           func() (backends.Poller, error) { return New(EdgeTriggered) },
	}, {
		Name:          NameETDrain,
		Description:   "variant of epoll-et: every read drained to EAGAIN (one extra read per request)",
		EdgeTriggered: true,
		DrainReads:    true,
		Variant:       true,
		New:           func() (backends.Poller, error) { return New(EdgeTriggered) },
	}, {
		Name:          NameLTShared,
		Description:   "variant of epoll-lt: the loop's thread keeps the process's shared fd table (epoll_wait looks up one file, not every watched fd)",
		SharedFDTable: true,
		Variant:       true,
		New:           func() (backends.Poller, error) { return New(LevelTriggered) },
	}, {
		Name:          NameETShared,
		Description:   "variant of epoll-et: the loop's thread keeps the process's shared fd table (epoll_wait looks up one file, not every watched fd)",
		EdgeTriggered: true,
		SharedFDTable: true,
		Variant:       true,
		New:           func() (backends.Poller, error) { return New(EdgeTriggered) },
	}}
	return append(append(append(infos, variants()...), sharing()...), pitfalls()...)
}

// Poller is an epoll multiplexer.
type Poller struct {
	epfd    int
	trigger uint32 // 0, EPOLLET or EPOLLONESHOT: the one line that sets the mode
	buf     []unix.EpollEvent
	view    bool // a Share of another Poller: Close leaves the set open
}

var _ backends.Poller = (*Poller)(nil)

// New creates an epoll instance in the given mode.
func New(mode Mode) (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	p := &Poller{epfd: epfd}
	switch mode {
	case EdgeTriggered:
		p.trigger = unix.EPOLLET
	case Oneshot:
		p.trigger = unix.EPOLLONESHOT
	}
	return p, nil
}

func (p *Poller) ctl(op, fd int, in backends.Interest) error {
	ev := p.event(fd, in)
	return unix.EpollCtl(p.epfd, op, fd, &ev)
}

// event is the registration of fd for in, in p's mode.
func (p *Poller) event(fd int, in backends.Interest) unix.EpollEvent {
	ev := unix.EpollEvent{Events: p.trigger, Fd: int32(fd)}
	if in&backends.Read != 0 {
		ev.Events |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if in&backends.Write != 0 {
		ev.Events |= unix.EPOLLOUT
	}
	return ev
}

// Add registers fd with the given interest.
func (p *Poller) Add(fd int, in backends.Interest) error {
	if err := p.ctl(unix.EPOLL_CTL_ADD, fd, in); err != nil {
		return fmt.Errorf("epoll_ctl add fd %d: %w", fd, err)
	}
	return nil
}

// Modify replaces fd's interest.
func (p *Poller) Modify(fd int, in backends.Interest) error {
	if err := p.ctl(unix.EPOLL_CTL_MOD, fd, in); err != nil {
		return fmt.Errorf("epoll_ctl mod fd %d: %w", fd, err)
	}
	return nil
}

// Remove deregisters fd.
func (p *Poller) Remove(fd int) error {
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return fmt.Errorf("epoll_ctl del fd %d: %w", fd, err)
	}
	return nil
}

// Wait calls epoll_wait for at most len(events) events.
func (p *Poller) Wait(events []backends.Event, timeoutMs int) (int, error) {
	if cap(p.buf) < len(events) {
		p.buf = make([]unix.EpollEvent, len(events)) // once per slice size, not per call
	}
	buf := p.buf[:len(events)]
	n, err := rawwait.EpollWait(p.epfd, buf, timeoutMs)
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("epoll_wait: %w", err)
	}
	for i := 0; i < n; i++ {
		e := buf[i].Events
		var r backends.Ready
		if e&unix.EPOLLIN != 0 {
			r |= backends.Readable
		}
		if e&unix.EPOLLOUT != 0 {
			r |= backends.Writable
		}
		if e&(unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
			r |= backends.Hangup
		}
		if e&unix.EPOLLERR != 0 {
			r |= backends.Failed
		}
		events[i] = backends.Event{FD: buf[i].Fd, Ready: r}
	}
	return n, nil
}

// FD is the epoll set's fd: a loop thread that unshares its fd table
// keeps it (server's private table).
func (p *Poller) FD() int { return p.epfd }

// Close closes the epoll instance (a Share's Close does nothing).
func (p *Poller) Close() error {
	if p.epfd < 0 || p.view {
		return nil
	}
	err := unix.Close(p.epfd)
	p.epfd = -1
	if err != nil {
		return fmt.Errorf("close epoll fd: %w", err)
	}
	return nil
}
