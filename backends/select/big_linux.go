package fdselect

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/rawwait"
)

// big is NameBig: select(2) over bitmaps sized to the highest fd instead of
// a unix.FdSet: it shows that the FD_SETSIZE cap is the fd_set type's, not
// the kernel's. pselect6 takes nfds and reads that many bits from wherever
// the pointers point; the kernel's only limit is the process's fd table
// (the open-file limit). An unchecked FD_SET of a bigger fd writes past a
// 1024-bit fd_set (glibc's _FORTIFY_SOURCE aborts instead); bitmaps sized
// to the highest fd are the way past it.
func big() backends.Info {
	return backends.Info{
		Name: NameBig,
		Description: fmt.Sprintf("variant of select: pselect6 over bitmaps grown to the highest fd, no FD_SETSIZE (%d) cap: the cap is fd_set's, not the kernel's",
			FDSetSize),
		Variant: true,
		New:     func() (backends.Poller, error) { return NewBig(), nil },
	}
}

// Big is a select(2) multiplexer over bitmaps that grow with the highest
// fd added. Wait copies and scans them the way Poller does, bit by bit up
// to the highest fd, so below FD_SETSIZE the two cost the same.
type Big struct {
	read, write []uint64 // master sets: what we want
	rOut, wOut  []uint64 // copies handed to select, overwritten by it
	added       []uint64 // fds that are registered (for Add/Remove checks)
	maxFD       int      // highest fd added, -1 when empty
	// start is the fd the next scan of the result sets begins at: after
	// the last one reported when a Wait filled its events, so high fds
	// are not starved by low ones when more are ready than one Wait
	// returns (epoll rotates its ready list the same way).
	start int
}

var _ backends.Poller = (*Big)(nil)

// NewBig returns an empty select-big Poller.
func NewBig() *Big { return &Big{maxFD: -1} }

func bitIsSet(b []uint64, fd int) bool { return fd/64 < len(b) && b[fd/64]&(1<<(fd%64)) != 0 }
func bitSet(b []uint64, fd int)        { b[fd/64] |= 1 << (fd % 64) }
func bitClear(b []uint64, fd int)      { b[fd/64] &^= 1 << (fd % 64) }

// grow makes every bitmap hold fd: once per 64 fds of growth, on Add, never
// in Wait.
func (p *Big) grow(fd int) {
	for fd/64 >= len(p.added) {
		p.read = append(p.read, 0)
		p.write = append(p.write, 0)
		p.rOut = append(p.rOut, 0)
		p.wOut = append(p.wOut, 0)
		p.added = append(p.added, 0)
	}
}

// Add starts watching fd.
func (p *Big) Add(fd int, in backends.Interest) error {
	if fd < 0 {
		return fmt.Errorf("select-big: add fd %d: negative fd", fd)
	}
	if bitIsSet(p.added, fd) {
		return fmt.Errorf("select-big: add fd %d: already added", fd)
	}
	p.grow(fd)
	bitSet(p.added, fd)
	p.set(fd, in)
	p.maxFD = max(p.maxFD, fd)
	return nil
}

// Modify replaces fd's interest.
func (p *Big) Modify(fd int, in backends.Interest) error {
	if fd < 0 || !bitIsSet(p.added, fd) {
		return fmt.Errorf("select-big: modify fd %d: not added", fd)
	}
	p.set(fd, in)
	return nil
}

func (p *Big) set(fd int, in backends.Interest) {
	bitClear(p.read, fd)
	bitClear(p.write, fd)
	if in&backends.Read != 0 {
		bitSet(p.read, fd)
	}
	if in&backends.Write != 0 {
		bitSet(p.write, fd)
	}
}

// Remove stops watching fd.
func (p *Big) Remove(fd int) error {
	if fd < 0 || !bitIsSet(p.added, fd) {
		return fmt.Errorf("select-big: remove fd %d: not added", fd)
	}
	bitClear(p.added, fd)
	bitClear(p.read, fd)
	bitClear(p.write, fd)
	for p.maxFD >= 0 && !bitIsSet(p.added, p.maxFD) {
		p.maxFD--
	}
	return nil
}

// Wait calls select on copies of the master sets, as many words as the
// highest fd needs, and reports ready fds in fd order from where the last
// full Wait stopped (start), wrapping around, as Poller.Wait does.
func (p *Big) Wait(events []backends.Event, timeoutMs int) (int, error) {
	words := (p.maxFD + 64) / 64 // nfds = maxFD+1 bits, rounded up to words
	copy(p.rOut[:words], p.read[:words])
	copy(p.wOut[:words], p.write[:words])
	ready, err := rawwait.SelectBitmap(p.maxFD+1, p.rOut, p.wOut, timeoutMs)
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("select-big: pselect6 over %d fds: %w", p.maxFD+1, err)
	}
	n, span := 0, p.maxFD+1
	if p.start >= span {
		p.start = 0
	}
	// From p.start to the highest fd, then from 0 to p.start: two plain
	// loops, not a modulo per fd (about 1 ns per fd number).
	for _, part := range [2][2]int{{p.start, span}, {0, p.start}} {
		for fd := part[0]; fd < part[1] && ready > 0 && n < len(events); fd++ {
			var r backends.Ready
			if bitIsSet(p.rOut, fd) {
				r |= backends.Readable
				ready--
			}
			if bitIsSet(p.wOut, fd) {
				r |= backends.Writable
				ready--
			}
			if r != 0 {
				events[n] = backends.Event{FD: int32(fd), Ready: r}
				n++
				if n == len(events) {
					p.start = fd + 1 // full: the rest first next time
				}
			}
		}
	}
	return n, nil
}

// Close releases nothing: select keeps no kernel state between calls.
func (p *Big) Close() error { return nil }
