package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

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

// connectAll opens every connection, active ones first (so they get the
// server's lowest fds), at most ConnectRate per second and
// maxConnectInflight at a time. Any failure aborts: a point whose
// connections cannot all be opened is not measurable.
func (g *gen) connectAll(ctx context.Context, report func(done, total int)) error {
	total := len(g.active) + len(g.idle)
	interval := 1e9 / g.cfg.connectRate()
	nodelayIdle := g.cfg.KeepAlive > 0
	start := g.now()
	lastProgress := start
	next, done, inflight := 0, 0, 0
	for done < total {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("open connections (%d of %d open): %w", done, total, err)
		}
		now := g.now()
		for next < total && inflight < maxConnectInflight && float64(now-start) >= float64(next)*interval {
			isActive := next < len(g.active)
			fd, err := g.d.dial(next, isActive || nodelayIdle)
			if err != nil {
				return g.connectErr(err, done, total)
			}
			if isActive {
				g.active[next].fd = fd
				g.active[next].state = stConnecting
				err = g.ctl(unix.EPOLL_CTL_ADD, fd, etEvents, tagActive, next)
			} else {
				g.idle[next-len(g.active)].fd = int32(fd)
				err = g.ctl(unix.EPOLL_CTL_ADD, fd, etEvents, tagIdle, next-len(g.active))
			}
			if err != nil {
				return err
			}
			next++
			inflight++
		}
		wait := int64(10 * time.Millisecond) // bounded, so ctx is checked promptly
		if next < total && inflight < maxConnectInflight {
			wait = min(wait, max(0, start+int64(float64(next)*interval)-now))
		}
		n, err := epollWait(g.ep, g.events, wait, &g.ts, false)
		if err != nil {
			return fmt.Errorf("open connections: %w", err)
		}
		for _, ev := range g.events[:n] {
			var fd int
			switch ev.Pad {
			case tagActive:
				if g.active[ev.Fd].state != stConnecting {
					continue // a later edge of an open connection; the loop reads it
				}
				fd = g.active[ev.Fd].fd
			case tagIdle:
				if g.idle[ev.Fd].up {
					continue
				}
				g.idle[ev.Fd].up = true
				fd = int(g.idle[ev.Fd].fd)
			default:
				continue
			}
			if err := soError(fd); err != nil {
				src := g.d.source(int(ev.Fd))
				if ev.Pad == tagIdle {
					src = g.d.source(len(g.active) + int(ev.Fd))
				}
				return g.connectErr(&ConnectError{Op: "connect", Source: src, Target: g.d.target, Err: err}, done, total)
			}
			if ev.Pad == tagActive {
				g.active[ev.Fd].state = stOpen
			} else if g.cfg.KeepAlive == 0 {
				// Silent idle connection: out of the epoll set for good.
				if err := g.ctl(unix.EPOLL_CTL_DEL, fd, 0, 0, 0); err != nil {
					return err
				}
			}
			inflight--
			done++
			lastProgress = g.now()
		}
		if report != nil {
			report(done, total)
		}
		if inflight > 0 && g.now()-lastProgress > g.connectTimeout {
			return g.connectErr(&ConnectError{Op: "connect", Target: g.d.target, Err: unix.ETIMEDOUT}, done, total)
		}
	}
	return nil
}

func (g *gen) connectErr(err error, done, total int) error {
	var ce *ConnectError
	if errors.As(err, &ce) {
		ce.Opened, ce.Total = done, total
	}
	return fmt.Errorf("open connections: %w", err)
}
