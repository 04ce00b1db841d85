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

// triggers are socket pairs opened in the process's shared fd table, for
// the blocking wake-up: the peer thread writes into one end to make the
// other readable, and reads the byte back. place puts them into a layout
// in place of the pairs holding the target fds, at the same fd numbers,
// so the measuring thread's table — shared or private — watches them
// where the layout's own pair was, and the peer reaches them through
// their numbers in the shared table.
type triggers struct {
	pairs [][2]int
}

// newTriggers opens n pairs in the calling thread's table, which must be
// the shared one (call it before any thread of this sweep unshares).
func newTriggers(n int) (*triggers, error) {
	t := &triggers{}
	for range n {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.close()
			return nil, fmt.Errorf("socketpair for the blocking wake-up's peer: %w", err)
		}
		t.pairs = append(t.pairs, p)
	}
	return t, nil
}

// close closes the pairs (shared table numbers).
func (t *triggers) close() {
	if t == nil {
		return
	}
	for _, p := range t.pairs {
		unix.Close(p[0])
		unix.Close(p[1])
	}
	t.pairs = nil
}

// target is how the peer makes one watched fd readable and idle again:
// it writes a byte into writer and reads it back from reader, both
// numbers of the shared table.
type target struct {
	index          int // the watched fd's index in the layout
	writer, reader int
}

// place makes each of l's fds at the indexes given readable through a
// trigger pair, and returns one target per index. The pair holding
// fds[i] (fds[i] and peer[i]) is replaced by a trigger pair with dup3 at
// the same two numbers, which closes the layout's own pair; an index
// whose pair was replaced already for an earlier index reuses it. With
// private, the calling thread's table is its own copy (unshare), and its
// copies of the trigger pairs' original numbers are closed: it watches
// them only at the layout's numbers. Call place before any poller watches
// l (an epoll or io_uring poll keeps watching the file it was given).
func (t *triggers) place(l *layout, indexes []int, private bool) ([]target, error) {
	at := map[int]int{} // layout fd number -> trigger end (shared number)
	used := 0
	var out []target
	for _, i := range indexes {
		fd, peer := l.fds[i], l.peer[i]
		if _, ok := at[fd]; !ok {
			if used == len(t.pairs) {
				return nil, fmt.Errorf("place %d trigger pairs: only %d opened", used+1, len(t.pairs))
			}
			p := t.pairs[used]
			used++
			if err := unix.Dup3(p[0], fd, unix.O_CLOEXEC); err != nil {
				return nil, fmt.Errorf("dup trigger fd %d onto layout fd %d: %w", p[0], fd, err)
			}
			if err := unix.Dup3(p[1], peer, unix.O_CLOEXEC); err != nil {
				return nil, fmt.Errorf("dup trigger fd %d onto layout fd %d: %w", p[1], peer, err)
			}
			at[fd], at[peer] = p[0], p[1]
		}
		out = append(out, target{index: i, reader: at[fd], writer: at[peer]})
	}
	if private {
		for _, p := range t.pairs {
			unix.Close(p[0])
			unix.Close(p[1])
		}
	}
	return out, nil
}
