package server

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/procfs"
)

// Listen opens a non-blocking TCP listening socket on addr ("IP:PORT",
// "[IPv6]:PORT" or "localhost:PORT"; port 0 picks a free port) with the
// largest backlog the kernel allows (net.core.somaxconn), and returns its
// fd and the bound address.
func Listen(addr string) (fd int, bound string, err error) { return listen(addr, false) }

// listen is Listen, with SO_REUSEPORT set before the bind when reuseport
// is: several sockets so bound to one port form a group the kernel
// spreads new connections over (a hash of each connection's addresses).
func listen(addr string, reuseport bool) (fd int, bound string, err error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		host, port, splitErr := net.SplitHostPort(addr)
		if splitErr != nil {
			return -1, "", fmt.Errorf("listen address %q: %v (want IP:PORT, e.g. 127.0.0.1:0)", addr, splitErr)
		}
		if host == "localhost" {
			host = "127.0.0.1"
		}
		if ap, err = netip.ParseAddrPort(net.JoinHostPort(host, port)); err != nil {
			return -1, "", fmt.Errorf("listen address %q: %v (want an IP address and port, e.g. 127.0.0.1:0)", addr, err)
		}
	}
	family, sa := sockaddr(ap)
	fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, string, error) {
		unix.Close(fd)
		return -1, "", fmt.Errorf("%s %s: %w", what, addr, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("set SO_REUSEADDR on", err)
	}
	if reuseport {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("set SO_REUSEPORT on", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, backlog()); err != nil {
		return fail("listen", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		bound = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		bound = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	}
	return fd, bound, nil
}

// sockaddr returns the socket family and address to bind ap: AF_INET for
// an IPv4 address (an IPv4-mapped IPv6 one included, so "[::ffff:127.0.0.1]"
// is an ordinary IPv4 listener), AF_INET6 otherwise. An AF_INET6 socket
// keeps the kernel's IPV6_V6ONLY default (net.ipv6.bindv6only, 0 on
// Linux), so "[::]" also accepts IPv4 clients, as Go's net.Listen does.
func sockaddr(ap netip.AddrPort) (family int, sa unix.Sockaddr) {
	if a := ap.Addr().Unmap(); a.Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// defaultBacklog is the kernel's default net.core.somaxconn since 5.4, the
// backlog asked for when the sysctl cannot be read.
const defaultBacklog = 4096

// backlog is the largest listen backlog the kernel allows
// (net.core.somaxconn; the kernel caps any larger value to it).
func backlog() int {
	if n, err := procfs.Somaxconn(); err == nil && n > 0 {
		return n
	}
	return defaultBacklog
}
