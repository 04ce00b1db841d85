package loadgen

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ConnectError is a failure to open a connection: which step, from which
// source address, to which target, how many connections were open, and the
// errno (errors.Is(err, unix.ECONNREFUSED) works). Its message says what
// to do about the common causes.
type ConnectError struct {
	Op     string // "socket", "bind", "connect"
	Source netip.Addr
	Target netip.AddrPort
	Opened int // connections fully open when this one failed
	Total  int // connections wanted
	Err    error
}

func (e *ConnectError) Unwrap() error { return e.Err }

func (e *ConnectError) Error() string {
	src := "kernel-chosen address"
	if e.Source.IsValid() {
		src = e.Source.String()
	}
	hint := ""
	switch {
	case errors.Is(e.Err, unix.EMFILE), errors.Is(e.Err, unix.ENFILE):
		hint = ": too many open files; lower -conns or raise ulimit -n"
	case errors.Is(e.Err, unix.EADDRNOTAVAIL) && e.Op == "bind":
		hint = ": the source address is not an address of this host; fix -source-ips"
	case errors.Is(e.Err, unix.EADDRNOTAVAIL):
		hint = ": no free local port for this source address and target; spread over more source addresses (-source-ips) or widen net.ipv4.ip_local_port_range"
	case errors.Is(e.Err, unix.ECONNREFUSED):
		hint = ": nothing is listening there; start the server or fix -target"
	case errors.Is(e.Err, unix.ETIMEDOUT):
		hint = ": no answer in time; the server's accept queue may be full (listen backlog, net.core.somaxconn), lower -connect-rate, or the target is unreachable"
	case errors.Is(e.Err, unix.ENETUNREACH), errors.Is(e.Err, unix.EHOSTUNREACH):
		hint = ": no route to the target"
	}
	return fmt.Sprintf("%s %s -> %s (%d of %d connections open): %v%s", e.Op, src, e.Target, e.Opened, e.Total, e.Err, hint)
}

// dialer opens non-blocking TCP sockets towards one target. Each socket
// gets IP_BIND_ADDRESS_NO_PORT before bind(source:0), so the kernel picks
// the local port at connect time per destination: one source address then
// yields a whole port range per target instead of sharing it with every
// other bound socket.
type dialer struct {
	family  int
	target  netip.AddrPort
	sa      unix.Sockaddr
	sources []netip.Addr
	ports   PortRange // IP_LOCAL_PORT_RANGE; zero = system range
}

func newDialer(target netip.AddrPort, sources []netip.Addr, ports PortRange) (*dialer, error) {
	// Unmapped, so an IPv4-mapped IPv6 address ("::ffff:127.0.0.1") is the
	// IPv4 address it stands for, on an AF_INET socket.
	target = netip.AddrPortFrom(target.Addr().Unmap(), target.Port())
	d := &dialer{target: target, ports: ports}
	d.family, d.sa = sockaddr(target)
	for _, s := range sources {
		s = s.Unmap()
		if s.Is4() != target.Addr().Is4() {
			return nil, fmt.Errorf("source address %s and target %s are of different IP versions", s, target)
		}
		d.sources = append(d.sources, s)
	}
	return d, nil
}

// sockaddr returns the socket family and address for ap, which is
// unmapped: AF_INET for an IPv4 address, AF_INET6 for an IPv6 one.
func sockaddr(ap netip.AddrPort) (family int, sa unix.Sockaddr) {
	if ap.Addr().Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// source returns the source address of connection i ("" = kernel's choice).
func (d *dialer) source(i int) netip.Addr {
	if len(d.sources) == 0 {
		return netip.Addr{}
	}
	return d.sources[i%len(d.sources)]
}

// dial starts a non-blocking connect for connection i and returns its fd;
// completion is signalled by writability and SO_ERROR. The error is a
// *ConnectError (Opened and Total left for the caller to fill).
func (d *dialer) dial(i int, nodelay bool) (int, error) {
	src := d.source(i)
	fail := func(op string, err error) error {
		return &ConnectError{Op: op, Source: src, Target: d.target, Err: err}
	}
	fd, err := unix.Socket(d.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fail("socket", err)
	}
	if err := d.setup(fd, src, nodelay); err != nil {
		unix.Close(fd)
		return -1, fail("bind", err)
	}
	switch err := unix.Connect(fd, d.sa); err {
	case nil, unix.EINPROGRESS, unix.EINTR: // EINTR: the connect goes on asynchronously
		return fd, nil
	default:
		unix.Close(fd)
		return -1, fail("connect", err)
	}
}

func (d *dialer) setup(fd int, src netip.Addr, nodelay bool) error {
	if nodelay {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			return fmt.Errorf("set TCP_NODELAY: %w", err)
		}
	}
	// IP_LOCAL_PORT_RANGE and IP_BIND_ADDRESS_NO_PORT are IPPROTO_IP
	// options, and an AF_INET6 TCP socket takes them too: Linux hands
	// IPPROTO_IP options on it to the IPv4 code, which owns the port
	// choice for both families.
	if !d.ports.IsZero() {
		v := int(uint32(d.ports.Lo) | uint32(d.ports.Hi)<<16)
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, v); err != nil {
			return fmt.Errorf("set IP_LOCAL_PORT_RANGE %s (needs Linux 6.3 or later): %w", d.ports, err)
		}
	}
	if !src.IsValid() {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
		return fmt.Errorf("set IP_BIND_ADDRESS_NO_PORT: %w", err)
	}
	_, sa := sockaddr(netip.AddrPortFrom(src, 0))
	return unix.Bind(fd, sa)
}

// soError returns the pending error of a socket (the result of a
// non-blocking connect), nil if none.
func soError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("getsockopt SO_ERROR: %w", err)
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}

// epollWait waits up to timeoutNs nanoseconds (< 0: forever) for events.
// It uses epoll_pwait2 (Linux 5.11+) for a nanosecond timeout — open-loop
// pacing needs better than epoll_wait's milliseconds — and falls back to
// epoll_wait rounding up. EINTR is reported as zero events. ts is
// caller-owned so the call does not allocate.
//
// raw makes it a raw syscall the Go scheduler does not see: no P hand-off,
// no sysmon retake, no futex wake-ups of other threads around every wait,
// which on a loaded or virtualised CPU cost more than the wait itself. The
// goroutine keeps its P while blocked, so raw waits must be short (the
// traffic loop caps them) and are only for a goroutine on its own locked
// thread.
func epollWait(ep int, events []unix.EpollEvent, timeoutNs int64, ts *unix.Timespec, raw bool) (int, error) {
	if !noPwait2.Load() {
		var tsp unsafe.Pointer
		if timeoutNs >= 0 {
			*ts = unix.NsecToTimespec(timeoutNs)
			tsp = unsafe.Pointer(ts)
		}
		var r uintptr
		var e unix.Errno
		if raw {
			r, _, e = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(tsp), 0, 0)
		} else {
			r, _, e = unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(tsp), 0, 0)
		}
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			return 0, nil
		case unix.ENOSYS:
			noPwait2.Store(true)
		default:
			return 0, fmt.Errorf("epoll_pwait2: %w", e)
		}
	}
	ms := -1
	if timeoutNs >= 0 {
		ms = int((timeoutNs + 999_999) / 1_000_000)
	}
	n, err := unix.EpollWait(ep, events, ms)
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("epoll_wait: %w", err)
	}
	return n, nil
}

// rawRead and rawWrite are recv(2) and send(2) on non-blocking sockets
// as raw syscalls: they never block, so telling the scheduler
// (entersyscall/exitsyscall) would only add cost. recv/send rather than
// read/write skip the VFS layer (file position lock, fsnotify hooks), and
// MSG_NOSIGNAL turns a write to a reset connection into EPIPE instead of
// a SIGPIPE.
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// noPwait2 is set when the kernel lacks epoll_pwait2.
var noPwait2 atomic.Bool
