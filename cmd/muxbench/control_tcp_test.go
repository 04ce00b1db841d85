package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/wire"
)

// servedChild is a `muxbench serve` process (this test binary, see
// TestMain) and its output lines.
type servedChild struct {
	hello  wire.Hello
	lines  chan []byte
	exited chan error
	stderr *bytes.Buffer
}

// startServe starts serve with args and reads its hello line; the process
// is killed in t.Cleanup if it is still running.
func startServe(t *testing.T, args ...string) *servedChild {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &servedChild{lines: make(chan []byte, 16), exited: make(chan error, 1), stderr: &bytes.Buffer{}}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		readLines(stdout, c.lines)
		c.exited <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	line := c.next(t, "hello")
	if c.hello, err = wire.ParseHello(line); err != nil {
		t.Fatalf("hello %s: %v; stderr %q", line, err, c.stderr.String())
	}
	return c
}

// readLines sends every line of r to lines, then closes it.
func readLines(r io.Reader, lines chan<- []byte) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lines <- slices.Clone(sc.Bytes())
	}
	close(lines)
}

func (c *servedChild) next(t *testing.T, what string) []byte {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			t.Fatalf("%s: serve ended its output", what)
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no line within 20s", what)
	}
	return nil
}

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

// TestControlTCPToken: on the TCP control port a command needs the token
// of the hello line. A bare verb or a wrong token gets an error reply and a
// closed connection and is counted; another control client and the echo
// server go on working; the right token samples and stops the server.
func TestControlTCPToken(t *testing.T) {
	c := startServe(t, "-backend", "epoll-lt", "-addr", "127.0.0.1:0", "-control", "tcp:127.0.0.1:0")
	h := c.hello
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(h.Token) {
		t.Fatalf("hello token %q; want 32 hex digits", h.Token)
	}
	if host, _, err := net.SplitHostPort(h.Control); err != nil || host != "127.0.0.1" {
		t.Fatalf("hello control %q; want an address on 127.0.0.1", h.Control)
	}

	good := dialControl(t, h.Control) // opened first, used after the refusals
	for _, tc := range []struct{ name, line, want string }{
		{"missing token", wire.CmdStats, "refused: no token"},
		{"wrong token", wire.Command(strings.Repeat("0", len(h.Token)), wire.CmdStats), "refused: wrong token"},
		{"token prefix", wire.Command(h.Token[:8], wire.CmdQuit), "refused: wrong token"},
		{"wrong token, quit", wire.Command("nottoken", wire.CmdQuit), "refused: wrong token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dialControl(t, h.Control)
			if got := errorOf(t, cl.send(t, tc.line)); !strings.Contains(got, tc.want) {
				t.Errorf("reply to %q: error %q; want it to contain %q", tc.line, got, tc.want)
			}
			if !cl.closedByServer(t) {
				t.Errorf("after %q the connection is still open; want it closed", tc.line)
			}
		})
	}

	echo, err := net.DialTimeout("tcp", h.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial echo server: %v", err)
	}
	defer echo.Close()
	echo.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := echo.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(echo, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo after refusals: %q, %v; want ping", buf, err)
	}

	line := good.send(t, wire.Command(h.Token, wire.CmdStats))
	r, err := wire.ParseReport(line)
	if err != nil {
		t.Fatalf("stats with the right token: %s: %v", line, err)
	}
	if r.MonoNs == 0 || r.ControlRefused != 4 || r.ConnsOpen != 1 {
		t.Errorf("stats %s; want a clock, control_refused 4 and 1 connection open", line)
	}
	again, err := wire.ParseHello(good.send(t, wire.Command(h.Token, wire.CmdHello)))
	want := h
	want.Token = "" // the client has it; what it records of the hello must not
	if err != nil || again != want {
		t.Errorf("hello over the control port: %+v, %v; want the hello line without its token %+v", again, err, want)
	}
	if got := errorOf(t, good.send(t, wire.Command(h.Token, "bogus"))); !strings.Contains(got, `unknown command "bogus"`) {
		t.Errorf("unknown verb with the right token: error %q; want unknown command", got)
	}

	io.WriteString(good.conn, wire.Command(h.Token, wire.CmdQuit)+"\n")
	final, err := wire.ParseReport(c.next(t, "final report"))
	if err != nil || !final.Final || final.ControlRefused != 4 {
		t.Errorf("final report %+v, %v; want final with control_refused 4", final, err)
	}
	select {
	case err := <-c.exited:
		if err != nil {
			t.Errorf("serve exited with %v; stderr %q", err, c.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve still running 20s after quit")
	}
}

func TestParseControlFlag(t *testing.T) {
	for _, tc := range []struct {
		value, kind, addr string
		warn              bool
		err               string
	}{
		{"stdin", "stdin", "", false, ""},
		{"none", "none", "", false, ""},
		{"tcp:127.0.0.1:0", "tcp", "127.0.0.1:0", false, ""},
		{"tcp::7001", "tcp", "127.0.0.1:7001", false, ""},
		{"tcp:localhost:0", "tcp", "127.0.0.1:0", false, ""},
		{"tcp:[::1]:0", "tcp", "[::1]:0", false, ""},
		{"tcp:0.0.0.0:7001", "tcp", "0.0.0.0:7001", true, ""},
		{"tcp:10.77.0.1:7001", "tcp", "10.77.0.1:7001", true, ""},
		{"tcp", "", "", false, "is not stdin, none or tcp:ADDR"},
		{"tcp:7001", "", "", false, "want tcp:IP:PORT"},
		{"tcp:example.com:1", "", "", false, "is not an IP address"},
		{"tcp:127.0.0.1:70000", "", "", false, "is not a number in 0..65535"},
	} {
		var stderr bytes.Buffer
		kind, addr, err := parseControlFlag(tc.value, &stderr)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseControlFlag(%q) error %v; want %q", tc.value, err, tc.err)
			}
			continue
		}
		if err != nil || kind != tc.kind || addr != tc.addr {
			t.Errorf("parseControlFlag(%q) = %q, %q, %v; want %q, %q", tc.value, kind, addr, err, tc.kind, tc.addr)
		}
		if warned := strings.Contains(stderr.String(), "warning"); warned != tc.warn {
			t.Errorf("parseControlFlag(%q) warned %v (%q); want %v", tc.value, warned, stderr.String(), tc.warn)
		}
	}
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
