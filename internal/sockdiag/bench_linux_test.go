package sockdiag

import (
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// benchPortEnv names a port whose sockets the benchmarks read instead of
// their own listener's: a server held at 19,960 connections by another
// process (muxbench serve + muxbench load), which one test process could
// not hold both ends of under RLIMIT_NOFILE 20,000.
const benchPortEnv = "MUXBENCH_SOCKDIAG_PORT"

// benchPort returns the port to read: benchPortEnv's, or a listener of
// this process's own with 200 accepted connections.
func benchPort(b *testing.B) uint16 {
	if s := os.Getenv(benchPortEnv); s != "" {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			b.Fatalf("%s=%q: want a port number", benchPortEnv, s)
		}
		return uint16(p)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	for range 200 {
		c, err := net.DialTimeout("tcp4", ln.Addr().String(), 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close(); s.Close() })
	}
	return ln.Addr().(*net.TCPAddr).AddrPort().Port()
}

func BenchmarkRead(b *testing.B) {
	port := benchPort(b)
	for _, src := range []struct {
		name string
		read func(*Reader) (Set, error)
	}{{"sock_diag", (*Reader).ReadNetlink}, {"proc", (*Reader).ReadProc}} {
		b.Run(src.name, func(b *testing.B) {
			r, err := NewReader(port)
			if err != nil {
				b.Fatal(err)
			}
			var n int
			for b.Loop() {
				s, err := src.read(r)
				if err != nil {
					b.Fatal(err)
				}
				n = s.Established()
			}
			b.ReportMetric(float64(n), "sockets")
		})
	}
	// Compare of two reads of one moment: the pure window check's cost.
	b.Run("compare", func(b *testing.B) {
		r, err := NewReader(port)
		if err != nil {
			b.Fatal(err)
		}
		s, err := r.ReadNetlink()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			d, err := Compare(s, s)
			if err != nil || !d.Stable() {
				b.Fatalf("Compare(s, s) = %+v, %v; want stable", d, err)
			}
		}
		b.ReportMetric(float64(s.Established()), "sockets")
	})
}

// BenchmarkSocketInodes lists the socket inodes of the process MUXBENCH_SOCKDIAG_PID
// names (the server), or of this one with its own connections.
func BenchmarkSocketInodes(b *testing.B) {
	pid := os.Getpid()
	if s := os.Getenv("MUXBENCH_SOCKDIAG_PID"); s != "" {
		var err error
		if pid, err = strconv.Atoi(s); err != nil {
			b.Fatalf("MUXBENCH_SOCKDIAG_PID=%q: want a pid", s)
		}
	} else {
		benchPort(b)
	}
	var n int
	for b.Loop() {
		m, err := SocketInodes(pid)
		if err != nil {
			b.Fatal(err)
		}
		n = len(m)
	}
	b.ReportMetric(float64(n), "sockets")
}
