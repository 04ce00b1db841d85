package uring

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/sockperf"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/server"
)

// BenchmarkRoundTrip is one 64-byte echo per op over one connection. The
// client uses raw syscalls and preallocated buffers, so allocs/op is the
// server's: it must be 0.
//
//	go test -run '^$' -bench RoundTrip -benchmem ./server/uring/
func BenchmarkRoundTrip(b *testing.B) {
	for _, proto := range []traffic.Proto{traffic.Echo, traffic.Sockperf} {
		b.Run(string(proto), func(b *testing.B) {
			s, err := New(server.Config{Addr: "127.0.0.1:0", Proto: proto})
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.Serve() }()
			b.Cleanup(func() {
				s.Shutdown()
				select {
				case err := <-done:
					if err != nil {
						b.Errorf("Serve: %v", err)
					}
				case <-time.After(5 * time.Second):
					b.Errorf("Serve did not return within 5s of Shutdown")
				}
			})
			fd := dialRaw(b, s.Addr())
			msg := make([]byte, 64)
			if proto == traffic.Sockperf {
				// A sockperf ping that asks for a reply of the same length.
				sockperf.PutHeader(msg, sockperf.Header{Seq: 1, Flags: 0x3, Len: uint32(len(msg))})
			}
			buf := make([]byte, 64)
			roundTrip(b, fd, msg, buf) // warm up: buffers grow once
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				roundTrip(b, fd, msg, buf)
			}
		})
	}
}

func dialRaw(b *testing.B, addr string) int {
	ap := netip.MustParseAddrPort(addr)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(fd) })
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	tv := unix.NsecToTimeval(int64(5 * time.Second))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv) // a stalled server fails, not hangs
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		b.Fatalf("connect %s: %v", addr, err)
	}
	return fd
}

func roundTrip(b *testing.B, fd int, msg, buf []byte) {
	for sent := 0; sent < len(msg); {
		n, err := unix.Write(fd, msg[sent:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			b.Fatalf("write: %v", err)
		}
		sent += n
	}
	for got := 0; got < len(buf); {
		n, err := unix.Read(fd, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			b.Fatalf("read: %d, %v", n, err)
		}
		got += n
	}
}
