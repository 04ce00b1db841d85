package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/wire"
)

// controlClient is one connection to a control port.
type controlClient struct {
	conn net.Conn
	rd   *bufio.Reader
}

func dialControl(t *testing.T, addr string) *controlClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial control port: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &controlClient{conn: conn, rd: bufio.NewReader(conn)}
}

// send writes one line and returns the reply line.
func (c *controlClient) send(t *testing.T, line string) []byte {
	t.Helper()
	if _, err := io.WriteString(c.conn, line+"\n"); err != nil {
		t.Fatalf("send %q: %v", line, err)
	}
	reply, err := c.rd.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reply to %q: %v", line, err)
	}
	return reply
}

// closedByServer reports whether the server closed the connection (EOF
// with nothing more to read).
func (c *controlClient) closedByServer(t *testing.T) bool {
	t.Helper()
	extra, err := c.rd.ReadBytes('\n')
	if len(extra) > 0 {
		t.Errorf("after a refusal the server sent %q; want the connection closed", extra)
	}
	return errors.Is(err, io.EOF)
}

func errorOf(t *testing.T, reply []byte) string {
	t.Helper()
	var r struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		t.Fatalf("reply %s: %v", reply, err)
	}
	return r.Error
}

// fakeRunner is a server.Runner with no echo server behind it.
type fakeRunner struct{ shut chan struct{} }

func (f *fakeRunner) Addr() string      { return "127.0.0.1:0" }
func (f *fakeRunner) Serve() error      { <-f.shut; return nil }
func (f *fakeRunner) Shutdown()         {}
func (f *fakeRunner) Stats() wire.Stats { return wire.Stats{Accepts: 3} }

// TestControlTCPSlots: a client that says nothing loses its slot after the
// auth timeout; one that sent the token keeps its connection while idle;
// past maxControlConns a new client is told so.
func TestControlTCPSlots(t *testing.T) {
	srv := &fakeRunner{shut: make(chan struct{})}
	ctl, err := listenControl("127.0.0.1:0", "tok", srv, func() wire.Report { return wire.Report{Stats: srv.Stats()} })
	if err != nil {
		t.Fatal(err)
	}
	ctl.auth = 200 * time.Millisecond
	go ctl.serve()
	t.Cleanup(ctl.close)

	authed := dialControl(t, ctl.Addr())
	if r, err := wire.ParseReport(authed.send(t, wire.Command("tok", wire.CmdStats))); err != nil || r.Accepts != 3 {
		t.Fatalf("stats: %+v, %v", r, err)
	}
	silent := dialControl(t, ctl.Addr())
	if !silent.closedByServer(t) { // waits at most the conn's 20 s deadline
		t.Error("a silent client kept its connection past the auth timeout")
	}
	// The authenticated client, idle for longer than the auth timeout
	// meanwhile, still gets answers.
	if _, err := wire.ParseReport(authed.send(t, wire.Command("tok", wire.CmdStats))); err != nil {
		t.Errorf("stats after idling: %v", err)
	}

	for range maxControlConns - 1 { // authed holds one slot; each of these another until Cleanup
		c := dialControl(t, ctl.Addr())
		c.send(t, wire.Command("tok", wire.CmdStats)) // served: it holds its slot
	}
	over := dialControl(t, ctl.Addr())
	if got := errorOf(t, over.send(t, wire.Command("tok", wire.CmdStats))); !strings.Contains(got, "too many control connections") {
		t.Errorf("client %d with the token: error %q; want too many control connections", maxControlConns+1, got)
	}
}

// TestControlTCPFlood: connections that never send the token — many held
// open, more reconnecting as fast as they are dropped — do not keep a
// client with the token out: each of its connections is served.
func TestControlTCPFlood(t *testing.T) {
	const (
		held        = 200
		reconnecter = 8
		tries       = 10
	)
	srv := &fakeRunner{shut: make(chan struct{})}
	ctl, err := listenControl("127.0.0.1:0", "tok", srv, func() wire.Report { return wire.Report{Stats: srv.Stats()} })
	if err != nil {
		t.Fatal(err)
	}
	ctl.hello = wire.Hello{Addr: "127.0.0.1:7", Backend: "epoll-lt"}
	go ctl.serve()
	t.Cleanup(ctl.close)

	for range held {
		dialControl(t, ctl.Addr()) // silent; closed at cleanup
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
	dials := make(chan struct{}, reconnecter)
	for range reconnecter {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := net.DialTimeout("tcp", ctl.Addr(), 5*time.Second)
				if err != nil {
					continue
				}
				select {
				case dials <- struct{}{}:
				default:
				}
				// Silent until the server drops it (evicted, or the
				// pre-auth deadline), or the test ends.
				conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				for {
					_, err := conn.Read(make([]byte, 1))
					if err == nil {
						continue
					}
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						select {
						case <-stop:
						default:
							conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
							continue
						}
					}
					break
				}
				conn.Close()
			}
		})
	}
	for range reconnecter { // every flooder is connecting
		select {
		case <-dials:
		case <-time.After(20 * time.Second):
			t.Fatal("the flooding clients could not connect within 20s")
		}
	}

	for i := range tries {
		c, err := wire.Dial(ctl.Addr(), "tok")
		if err != nil {
			t.Fatalf("try %d: dial: %v", i, err)
		}
		h, err := c.Hello()
		c.Close()
		if err != nil || h != ctl.hello {
			t.Fatalf("try %d of %d: a client with the token during a flood of %d silent connections and %d reconnecting: %+v, %v; want the hello", i+1, tries, held, reconnecter, h, err)
		}
	}
	ctl.mu.Lock()
	n := len(ctl.preAuth)
	ctl.mu.Unlock()
	if n > maxPreAuthConns {
		t.Errorf("%d connections held before authentication; want at most %d", n, maxPreAuthConns)
	}
}
