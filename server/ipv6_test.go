package server_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/server"
)

// requireIPv6Loopback skips the test when ::1 is not configured on lo
// (IPv6 disabled, or a container without it).
func requireIPv6Loopback(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("::1 is not usable on this host (IPv6 disabled or not configured on lo): %v", err)
	}
	ln.Close()
}

// TestIPv6 serves on [::1]:0 with every backend, echoes over a plain
// connection, and has the load generator run a short open-loop run
// against it.
func TestIPv6(t *testing.T) {
	requireIPv6Loopback(t)
	for _, name := range lineup.Names() {
		t.Run(name, func(t *testing.T) {
			srv := startServerConfig(t, name, server.Config{Addr: "[::1]:0"})
			ap, err := net.ResolveTCPAddr("tcp", srv.Addr())
			if err != nil {
				t.Fatalf("server address %q: %v", srv.Addr(), err)
			}
			if got := ap.AddrPort().Addr(); got.String() != "::1" || ap.Port == 0 {
				t.Fatalf("server bound %s; want [::1] and a port", srv.Addr())
			}
			c := dial(t, srv)
			if la := c.LocalAddr().(*net.TCPAddr); la.IP.To4() != nil {
				t.Fatalf("client side of the connection is %s; want an IPv6 address", la)
			}
			roundTrip(t, c, pattern(100_000, 6))

			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			r, err := loadgen.Run(ctx, loadgen.Config{
				Target: srv.Addr(), Conns: 8, Active: 2, Rate: 400,
				Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond,
			})
			if err != nil {
				t.Fatalf("load run against %s: %v", srv.Addr(), err)
			}
			if len(r.Errors) > 0 || r.Requests == 0 {
				t.Errorf("load run against %s: %d requests, errors %v; want some and none", srv.Addr(), r.Requests, r.Errors)
			}
			if len(r.SourceAddrs) > 0 {
				t.Errorf("load run bound source addresses %v; want the kernel's choice (::1) for an IPv6 loopback target", r.SourceAddrs)
			}
		})
	}
}

// TestIPv6LoadSourceOptions runs the load generator against [::1] with the
// socket options it sets on AF_INET6 sockets too: a bound source address
// (IP_BIND_ADDRESS_NO_PORT) and a narrowed local port range
// (IP_LOCAL_PORT_RANGE).
func TestIPv6LoadSourceOptions(t *testing.T) {
	requireIPv6Loopback(t)
	srv := startServerConfig(t, "epoll-lt", server.Config{Addr: "[::1]:0"})
	cfg := loadgen.Config{
		Target: srv.Addr(), Conns: 8, Active: 2, Rate: 400, Duration: 100 * time.Millisecond,
		SourceIPs: []netip.Addr{netip.IPv6Loopback()},
	}
	t.Run("source", func(t *testing.T) { loadOK(t, cfg) })
	t.Run("source and port range", func(t *testing.T) {
		var u unix.Utsname
		if unix.Uname(&u) == nil && kernelBefore(unix.ByteSliceToString(u.Release[:]), 6, 3) {
			t.Skipf("IP_LOCAL_PORT_RANGE needs Linux 6.3; this is %s", unix.ByteSliceToString(u.Release[:]))
		}
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
		if err != nil {
			t.Skipf("local port range unknown: %v", err)
		}
		lo, err := strconv.Atoi(strings.Fields(string(b))[0])
		if err != nil {
			t.Fatalf("ip_local_port_range %q: %v", b, err)
		}
		c := cfg
		c.LocalPorts = loadgen.PortRange{Lo: uint16(lo), Hi: uint16(lo + 63)}
		loadOK(t, c)
	})
}

// loadOK runs c and wants echoes and no errors.
func loadOK(t *testing.T, c loadgen.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	r, err := loadgen.Run(ctx, c)
	if err != nil {
		t.Fatalf("load run against %s: %v", c.Target, err)
	}
	if len(r.Errors) > 0 || r.Requests == 0 {
		t.Errorf("load run against %s: %d requests, errors %v; want some and none", c.Target, r.Requests, r.Errors)
	}
}

// kernelBefore reports whether a kernel release ("6.1.0-18-amd64") is
// older than major.minor; an unparsable one is not.
func kernelBefore(release string, major, minor int) bool {
	f := strings.FieldsFunc(release, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(f[0])
	mi, _ := strconv.Atoi(f[1])
	return ma < major || ma == major && mi < minor
}
