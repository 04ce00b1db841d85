// Package poll is the poll(2) backend, Name ("poll"), and its variant
// NameAccept1 ("poll-accept1").
//
// The Poller keeps one []unix.PollFd handed to the kernel as it is, plus an
// fd -> index table so Modify and Remove are O(1) (Remove swaps the last
// entry into the hole). Every Wait makes the kernel check every entry and
// then scans every revents in user space: the O(n) cost in watched fds that
// this backend exists to show.
package poll

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/rawwait"
)

// Names of this package's backends: what the CLI, results and charts call
// them.
const (
	Name        = "poll"
	NameAccept1 = "poll-accept1"
	NameShared  = "poll-sharedfd"
)

// Backends describes this package's backends for package lineup, which
// registers them (importing this package registers nothing).
func Backends() []backends.Info {
	return []backends.Info{{
		Name:        Name,
		Description: "poll(2): one pollfd array passed and scanned in full every call",
		New:         func() (backends.Poller, error) { return New(), nil },
	}, {
		Name:        NameAccept1,
		Description: "variant of poll: one accept per listener readiness, so populating n fds costs n O(n) poll calls",
		AcceptOnce:  true,
		Variant:     true,
		New:         func() (backends.Poller, error) { return New(), nil },
	}, {
		Name:          NameShared,
		Description:   "variant of poll: the loop's thread keeps the process's shared fd table, so each call takes and drops a reference per watched fd",
		SharedFDTable: true,
		Variant:       true,
		New:           func() (backends.Poller, error) { return New(), nil },
	}}
}

// Poller is a poll(2) multiplexer.
type Poller struct {
	fds   []unix.PollFd
	index []int32 // index[fd] = position in fds, or -1
	// start is where the next scan of revents begins: after the last fd
	// reported when a Wait filled its events, so when more fds are ready
	// than one Wait returns, the ones late in the array are not starved by
	// the early ones (epoll rotates its ready list the same way).
	start int
}

var _ backends.Poller = (*Poller)(nil)

// New returns an empty poll Poller.
func New() *Poller { return &Poller{} }

func events(in backends.Interest) int16 {
	var e int16
	if in&backends.Read != 0 {
		e |= unix.POLLIN | unix.POLLRDHUP
	}
	if in&backends.Write != 0 {
		e |= unix.POLLOUT
	}
	return e
}

func (p *Poller) lookup(fd int) int {
	if fd < 0 || fd >= len(p.index) {
		return -1
	}
	return int(p.index[fd])
}

// Add starts watching fd.
func (p *Poller) Add(fd int, in backends.Interest) error {
	if fd < 0 {
		return fmt.Errorf("poll: add fd %d: negative fd", fd)
	}
	if p.lookup(fd) >= 0 {
		return fmt.Errorf("poll: add fd %d: already added", fd)
	}
	for fd >= len(p.index) {
		p.index = append(p.index, -1)
	}
	p.index[fd] = int32(len(p.fds))
	p.fds = append(p.fds, unix.PollFd{Fd: int32(fd), Events: events(in)})
	return nil
}

// Modify replaces fd's interest.
func (p *Poller) Modify(fd int, in backends.Interest) error {
	i := p.lookup(fd)
	if i < 0 {
		return fmt.Errorf("poll: modify fd %d: not added", fd)
	}
	p.fds[i].Events = events(in)
	return nil
}

// Remove stops watching fd, moving the last entry into its slot.
func (p *Poller) Remove(fd int) error {
	i := p.lookup(fd)
	if i < 0 {
		return fmt.Errorf("poll: remove fd %d: not added", fd)
	}
	last := len(p.fds) - 1
	if i != last {
		p.fds[i] = p.fds[last]
		p.index[p.fds[i].Fd] = int32(i)
	}
	p.fds = p.fds[:last]
	p.index[fd] = -1
	return nil
}

// Wait calls poll on every watched fd and reports those with revents set.
func (p *Poller) Wait(evs []backends.Event, timeoutMs int) (int, error) {
	ready, err := rawwait.Poll(p.fds, timeoutMs)
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("poll: %w", err)
	}
	n, count := 0, len(p.fds)
	if p.start >= count {
		p.start = 0
	}
	// From p.start to the end, then from the first entry to p.start: two
	// plain loops, not a modulo per entry (about 1 ns per watched fd).
	for _, span := range [2][2]int{{p.start, count}, {0, p.start}} {
		for i := span[0]; i < span[1] && ready > 0 && n < len(evs); i++ {
			re := p.fds[i].Revents
			if re == 0 {
				continue
			}
			ready--
			var r backends.Ready
			if re&unix.POLLIN != 0 {
				r |= backends.Readable
			}
			if re&unix.POLLOUT != 0 {
				r |= backends.Writable
			}
			if re&(unix.POLLHUP|unix.POLLRDHUP) != 0 {
				r |= backends.Hangup
			}
			if re&(unix.POLLERR|unix.POLLNVAL) != 0 {
				r |= backends.Failed
			}
			evs[n] = backends.Event{FD: p.fds[i].Fd, Ready: r}
			n++
			if n == len(evs) {
				p.start = i + 1 // full: the rest first next time
			}
		}
	}
	return n, nil
}

// Close releases nothing: poll keeps no kernel state between calls.
func (p *Poller) Close() error { return nil }
