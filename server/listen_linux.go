package server

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Listen opens a non-blocking TCP listening socket on addr ("host:port";
// port 0 picks a free port) with the largest backlog the kernel allows
// (net.core.somaxconn), and returns its fd and the bound address.
func Listen(addr string) (fd int, bound string, err error) {
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
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
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
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, Somaxconn()); err != nil {
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

// Somaxconn returns net.core.somaxconn, the cap on any listen backlog, or
// 4096 (the kernel default since 5.4) if it cannot be read.
func Somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 4096
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 4096
	}
	return n
}
