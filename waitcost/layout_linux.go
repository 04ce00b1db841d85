package waitcost

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// layout is a set of watched fds made of AF_UNIX stream socket pairs,
// both ends watched. peer[i] is the fd to write into to make fds[i]
// readable; fds is in ascending order. An odd N leaves one end unwatched
// (in spare), costing one fd more.
type layout struct {
	fds   []int
	peer  []int
	spare []int
	buf   [1]byte
}

func (l *layout) maxFD() int {
	if len(l.fds) == 0 {
		return -1
	}
	return l.fds[len(l.fds)-1]
}

// fdsNeeded is what a layout of n watched fds opens.
func fdsNeeded(n int) int { return n + n%2 }

// newLayout opens socket pairs for n watched fds. With base > 0 every fd
// is moved to the lowest free number ≥ base (fcntl F_DUPFD_CLOEXEC), which
// is how the sparse layout gets high numbers without opening more files.
func newLayout(n, base int) (l *layout, err error) {
	l = &layout{}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	type end struct{ fd, peer int }
	ends := make([]end, 0, n+1)
	for len(ends) < n {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return l, fmt.Errorf("socketpair %d of %d: %w", len(ends)/2+1, (n+1)/2, err)
		}
		for i := range p {
			if base <= 0 {
				continue
			}
			moved, err := unix.FcntlInt(uintptr(p[i]), unix.F_DUPFD_CLOEXEC, base)
			if err != nil {
				unix.Close(p[0])
				unix.Close(p[1])
				return l, fmt.Errorf("move fd %d to %d or above: %w", p[i], base, err)
			}
			unix.Close(p[i])
			p[i] = moved
		}
		ends = append(ends, end{p[0], p[1]}, end{p[1], p[0]})
	}
	if len(ends) > n {
		l.spare = append(l.spare, ends[n].fd)
		ends = ends[:n]
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].fd < ends[j].fd })
	for _, e := range ends {
		l.fds = append(l.fds, e.fd)
		l.peer = append(l.peer, e.peer)
	}
	return l, nil
}

// close closes every fd of the layout.
func (l *layout) close() {
	for _, fd := range l.fds {
		unix.Close(fd)
	}
	for _, fd := range l.spare {
		unix.Close(fd)
	}
	l.fds, l.peer, l.spare = nil, nil, nil
}

// ready makes fds[lo:hi] readable: one byte into each one's peer.
func (l *layout) ready(lo, hi int) error {
	for i := lo; i < hi; i++ {
		l.buf[0] = 'x'
		if _, err := unix.Write(l.peer[i], l.buf[:]); err != nil {
			return fmt.Errorf("make fd %d ready: write to its peer %d: %w", l.fds[i], l.peer[i], err)
		}
	}
	return nil
}

// unready reads the byte back from fds[lo:hi], so they are idle again.
func (l *layout) unready(lo, hi int) error {
	for i := lo; i < hi; i++ {
		if _, err := unix.Read(l.fds[i], l.buf[:]); err != nil {
			return fmt.Errorf("make fd %d idle again: read: %w", l.fds[i], err)
		}
	}
	return nil
}

// span is where k ready fds of n sit for a position: fds[lo:hi].
func span(n, k int, pos string) (lo, hi int) {
	if pos == PositionHigh {
		return n - k, n
	}
	return 0, k
}
