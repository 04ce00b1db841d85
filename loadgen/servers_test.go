package loadgen

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServer is an in-process TCP server on 127.0.0.1:0 running handle in
// a goroutine per connection; t.Cleanup closes the listener and every
// connection and waits for the goroutines.
type testServer struct {
	ln       net.Listener
	addr     string
	accepted atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]bool
	sources  map[netip.Addr]int
	wg       sync.WaitGroup
}

func startServer(t testing.TB, handle func(c net.Conn)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &testServer{ln: ln, addr: ln.Addr().String(), conns: map[net.Conn]bool{}, sources: map[netip.Addr]int{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns[c] = true
			s.sources[c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()]++
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					c.Close()
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
				}()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// waitIdle waits (bounded) until the server has closed every connection
// it accepted, i.e. it saw every client close, so fd counts of this
// process compare.
func (s *testServer) waitIdle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server still has %d connections open 10s after the client closed them", n)
		}
		time.Sleep(time.Millisecond) // polling the server's state, bounded above
	}
}

// sourceCount returns how many distinct client addresses connected.
func (s *testServer) sourceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sources)
}

// echoHandler echoes every byte.
func echoHandler(c net.Conn) { _, _ = io.Copy(c, c) }

// sockperfHandler answers sockperf-framed messages as `sockperf server`
// does: only PONG_REQUEST without WARMUP, whole message, CLIENT cleared.
func sockperfHandler(c net.Conn) {
	hdr := make([]byte, sockperfHeaderLen)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[10:14])
		if n < sockperfHeaderLen || n > MaxSockperfSize {
			return
		}
		msg := make([]byte, n)
		copy(msg, hdr)
		if _, err := io.ReadFull(c, msg[sockperfHeaderLen:]); err != nil {
			return
		}
		flags := binary.BigEndian.Uint16(msg[8:10])
		if flags&sockperfFlagPongRequest == 0 || flags&sockperfFlagWarmup != 0 {
			continue
		}
		binary.BigEndian.PutUint16(msg[8:10], flags&^sockperfFlagClient)
		if _, err := c.Write(msg); err != nil {
			return
		}
	}
}

// faultyHandler echoes but, once n bytes have passed, applies fault to the
// rest of the stream.
func faultyHandler(n int64, fault string) func(c net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 4096)
		var seen int64
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			out := buf[:k]
			if seen+int64(k) > n {
				at := max(0, int(n-seen))
				switch fault {
				case "corrupt": // flip one byte, keep the length
					out[at] ^= 0x55
				case "drop": // lose one byte, keep going
					out = append(out[:at:at], out[at+1:]...)
				case "truncate": // echo part of it, then close
					c.Write(out[:at+1])
					return
				case "close": // close between echoes
					if at == 0 {
						return
					}
					c.Write(out[:at])
					return
				}
				n = 1 << 62 // one fault only
			}
			seen += int64(k)
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// stallHandler echoes, but stops reading for d once after n bytes.
func stallHandler(n int64, d time.Duration) func(c net.Conn) {
	var once sync.Once
	return func(c net.Conn) {
		buf := make([]byte, 4096)
		var seen int64
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			seen += int64(k)
			if seen >= n {
				once.Do(func() { time.Sleep(d) })
			}
			if _, err := c.Write(buf[:k]); err != nil {
				return
			}
		}
	}
}

// slowHandler echoes each request of size bytes after waiting d: at most
// 1/d requests per second per connection.
func slowHandler(size int, d time.Duration) func(c net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			time.Sleep(d)
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
}

// silentHandler reads and discards: nothing is ever echoed.
func silentHandler(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatalf("close: %v", err)
	}
	return addr
}

// TestMain gives the test binary at least two Ps: the traffic loop holds
// one while it waits (see loop), and the in-process test servers need
// another to answer promptly. With a single P they would still answer,
// but only when the scheduler takes the P back (up to ~10 ms later).
func TestMain(m *testing.M) {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	os.Exit(m.Run())
}
