// Package fdselect is the select(2) backend, Name ("select"), and its
// variant NameBig ("select-big") over bitmaps sized to the highest fd
// (big_linux.go).
// (The package is not called select because select is a Go keyword.)
//
// select takes bitmaps of FD_SETSIZE (1024, FDSetSize) bits and overwrites them with
// the result, so the Poller keeps master read and write sets and copies them
// before every call; the kernel then scans every bit up to the highest fd,
// and so does Wait — that O(highest fd) cost is exactly what is measured.
// An fd >= FD_SETSIZE cannot be represented at all: Add refuses it with a
// *LimitError instead of writing past the end of the set (the classic
// memory-corruption bug of select-based servers).
package fdselect

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/rawwait"
)

// FDSetSize is FD_SETSIZE: the number of fds a unix.FdSet can hold.
const FDSetSize = len(unix.FdSet{}.Bits) * 64

// Names of this package's backends: what the CLI, results and charts call
// them.
const (
	Name       = "select"
	NameBig    = "select-big"
	NameShared = "select-sharedfd"
)

// Backends describes this package's backends for package lineup, which
// registers them (importing this package registers nothing).
func Backends() []backends.Info {
	return []backends.Info{{
		Name:        Name,
		Description: fmt.Sprintf("select(2): fd_set bitmaps copied and scanned every call; fds < FD_SETSIZE (%d) only", FDSetSize),
		MaxFD:       FDSetSize,
		New:         func() (backends.Poller, error) { return New(), nil },
	}, big(), {
		Name:          NameShared,
		Description:   "variant of select: the loop's thread keeps the process's shared fd table, so each call takes and drops a reference per watched fd",
		MaxFD:         FDSetSize,
		SharedFDTable: true,
		Variant:       true,
		New:           func() (backends.Poller, error) { return New(), nil },
	}}
}

// LimitError is returned by Add for an fd select cannot watch. It matches
// backends.ErrFDLimit with errors.Is.
type LimitError struct {
	FD int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("select: fd %d >= FD_SETSIZE (%d): select cannot watch it; use poll or epoll for more connections", e.FD, FDSetSize)
}

// Is makes errors.Is(err, backends.ErrFDLimit) true.
func (e *LimitError) Is(target error) bool { return target == backends.ErrFDLimit }

// Poller is a select(2) multiplexer.
type Poller struct {
	read, write unix.FdSet // master sets: what we want
	rOut, wOut  unix.FdSet // copies handed to select, overwritten by it
	maxFD       int        // highest fd added, -1 when empty
	// start is the fd the next scan of the result sets begins at: after
	// the last one reported when a Wait filled its events, so high fds
	// are not starved by low ones when more are ready than one Wait
	// returns (epoll rotates its ready list the same way).
	start int
	added unix.FdSet // fds that are registered (for Add/Remove checks)
}

var _ backends.Poller = (*Poller)(nil)

// New returns an empty select Poller.
func New() *Poller { return &Poller{maxFD: -1} }

func checkFD(fd int) error {
	if fd < 0 || fd >= FDSetSize {
		return &LimitError{FD: fd}
	}
	return nil
}

// Add starts watching fd.
func (p *Poller) Add(fd int, in backends.Interest) error {
	if err := checkFD(fd); err != nil {
		return err
	}
	if p.added.IsSet(fd) {
		return fmt.Errorf("select: add fd %d: already added", fd)
	}
	p.added.Set(fd)
	p.set(fd, in)
	if fd > p.maxFD {
		p.maxFD = fd
	}
	return nil
}

// Modify replaces fd's interest.
func (p *Poller) Modify(fd int, in backends.Interest) error {
	if err := checkFD(fd); err != nil {
		return err
	}
	if !p.added.IsSet(fd) {
		return fmt.Errorf("select: modify fd %d: not added", fd)
	}
	p.set(fd, in)
	return nil
}

func (p *Poller) set(fd int, in backends.Interest) {
	p.read.Clear(fd)
	p.write.Clear(fd)
	if in&backends.Read != 0 {
		p.read.Set(fd)
	}
	if in&backends.Write != 0 {
		p.write.Set(fd)
	}
}

// Remove stops watching fd.
func (p *Poller) Remove(fd int) error {
	if err := checkFD(fd); err != nil {
		return err
	}
	if !p.added.IsSet(fd) {
		return fmt.Errorf("select: remove fd %d: not added", fd)
	}
	p.added.Clear(fd)
	p.read.Clear(fd)
	p.write.Clear(fd)
	for p.maxFD >= 0 && !p.added.IsSet(p.maxFD) {
		p.maxFD--
	}
	return nil
}

// Wait calls select on copies of the master sets and reports ready fds in
// fd order from where the last full Wait stopped (start), wrapping around,
// so that when more are ready than events holds, high fds are not starved.
func (p *Poller) Wait(events []backends.Event, timeoutMs int) (int, error) {
	p.rOut, p.wOut = p.read, p.write // select overwrites what it is given
	ready, err := rawwait.Select(p.maxFD+1, &p.rOut, &p.wOut, timeoutMs)
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("select: %w", err)
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
			if p.rOut.IsSet(fd) {
				r |= backends.Readable
				ready--
			}
			if p.wOut.IsSet(fd) {
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
func (p *Poller) Close() error { return nil }
