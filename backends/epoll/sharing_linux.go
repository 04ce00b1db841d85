package epoll

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
)

// Names of the sharing variants: the one loop over level-triggered epoll,
// run as several loops in one process (serve -loops N) that share the
// listener or the ready list one way each (backends.Sharing).
const (
	NameReuseport      = "epoll-reuseport"
	NameSharedListener = "epoll-shared-listener"
	NameExclusive      = "epoll-exclusive"
	NameSharedEpoll    = "epoll-shared-epoll"
)

// sharing describes the sharing variants. With one loop each is the loop
// it is built on (epoll-lt; epoll-oneshot for the shared epoll set).
func sharing() []backends.Info {
	lt := func() (backends.Poller, error) { return New(LevelTriggered) }
	return []backends.Info{{
		Name:        NameReuseport,
		Description: "variant of epoll-lt for several loops: one SO_REUSEPORT listener per loop, each in its own loop's epoll (the kernel picks the loop)",
		Sharing:     backends.SharingReuseport,
		Variant:     true,
		New:         lt,
	}, {
		Name:        NameSharedListener,
		Description: "variant of epoll-lt for several loops: one listener in every loop's epoll, no EPOLLEXCLUSIVE (every connection wakes every loop: the herd)",
		Sharing:     backends.SharingListener,
		Variant:     true,
		New:         lt,
	}, {
		Name:        NameExclusive,
		Description: "variant of epoll-lt for several loops: one listener in every loop's epoll with EPOLLEXCLUSIVE (a connection wakes one loop)",
		Sharing:     backends.SharingExclusive,
		Variant:     true,
		New:         lt,
	}, {
		Name:        NameSharedEpoll,
		Description: "variant of epoll-oneshot for several loops: one epoll set, every loop's thread in epoll_wait on it, every fd EPOLLONESHOT and re-armed",
		Sharing:     backends.SharingEpoll,
		Oneshot:     true,
		Variant:     true,
		New:         func() (backends.Poller, error) { return New(Oneshot) },
	}}
}

// AddExclusive registers fd like Add, with EPOLLEXCLUSIVE: when fd is in
// several epoll sets so registered, a readiness wakes one of their waiters
// (or a few), not all (epoll_ctl(2)); it is not watched for a hang-up. The kernel refuses EPOLL_CTL_MOD on
// such an fd, and EPOLLEXCLUSIVE with EPOLLONESHOT: change it with Remove
// and AddExclusive.
func (p *Poller) AddExclusive(fd int, in backends.Interest) error {
	if p.trigger == unix.EPOLLONESHOT {
		return fmt.Errorf("epoll_ctl add fd %d exclusive: EPOLLEXCLUSIVE cannot be combined with EPOLLONESHOT", fd)
	}
	ev := p.event(fd, in)
	// The kernel takes only IN, OUT, ET, WAKEUP, HUP and ERR beside
	// EXCLUSIVE (EINVAL otherwise): no RDHUP, which a listener never
	// reports anyway.
	ev.Events = ev.Events&^unix.EPOLLRDHUP | unix.EPOLLEXCLUSIVE
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add fd %d exclusive: %w", fd, err)
	}
	return nil
}

// Share returns a view of p for another thread: the same epoll set, so
// Add, Modify and Remove through either change both (they are epoll_ctl
// calls, which the kernel serialises), and Wait with an event buffer of
// its own, so several threads can wait on the set at once. The view's
// Close does nothing: p owns the set, and closes it once every thread
// has stopped waiting.
func (p *Poller) Share() backends.Poller {
	return &Poller{epfd: p.epfd, trigger: p.trigger, view: true}
}
