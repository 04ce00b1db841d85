package control

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
)

// served is a server run by Serve in this process and its output lines.
type served struct {
	hello  wire.Hello
	lines  chan []byte
	exited chan error
}

// serveInProcess runs Serve for a gonet server on 127.0.0.1 port 0 (an
// event-loop server would turn the test process's collector off) with
// the control source kind, reading stdin for Stdin, and reads its hello
// line. The server is stopped in t.Cleanup if it is still running.
func serveInProcess(t *testing.T, kind Kind, stdin io.Reader) *served {
	t.Helper()
	b, err := lineup.Lookup(lineup.GoNet)
	if err != nil {
		t.Fatal(err)
	}
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{lines: make(chan []byte, 16), exited: make(chan error, 1)}
	o := Options{
		Backend: b, Config: server.Config{Addr: "127.0.0.1:0", Proto: traffic.Echo, Loops: 1},
		Control: kind, Stdin: stdin, Stdout: outW,
	}
	if kind == TCP {
		o.ControlAddr = "127.0.0.1:0"
	}
	stopped := make(chan struct{})
	go func() {
		s.exited <- Serve(ctx, o)
		outW.Close()
		close(stopped)
	}()
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			s.lines <- slices.Clone(sc.Bytes())
		}
		close(s.lines)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		outR.Close()
		<-done
		select {
		case <-stopped:
		case <-time.After(20 * time.Second):
			t.Error("serve still running 20s after its context ended")
		}
	})
	if s.hello, err = wire.ParseHello(s.next(t, "hello")); err != nil {
		t.Fatalf("hello: %v", err)
	}
	return s
}

func (s *served) next(t *testing.T, what string) []byte {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			t.Fatalf("%s: serve ended its output", what)
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no line within 20s", what)
	}
	return nil
}

// TestControlTCPToken: on the TCP control port of a served gonet server a command needs the token
// of the hello line. A bare verb or a wrong token gets an error reply and a
// closed connection and is counted; another control client and the echo
// server go on working; the right token samples and stops the server.
func TestControlTCPToken(t *testing.T) {
	c := serveInProcess(t, TCP, nil)
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
			t.Errorf("serve exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve still running 20s after quit")
	}
}

// TestServeStdinLongLine: a control line on standard input too long to be
// a command gets an error line, and serve goes on answering the next
// commands until EOF.
func TestServeStdinLongLine(t *testing.T) {
	inR, inW := io.Pipe()
	t.Cleanup(func() { inW.Close() })
	out := serveInProcess(t, Stdin, inR)
	next := func(what string) []byte { return out.next(t, what) }
	send := func(s string) {
		t.Helper()
		go io.WriteString(inW, s) // the pipe blocks until serve reads it all
	}

	send(wire.CmdStats + "\n")
	if _, err := wire.ParseReport(next("stats")); err != nil {
		t.Fatalf("stats before the long line: %v", err)
	}
	send(strings.Repeat("x", 70<<10) + "\n")
	if line := next("reply to the long line"); !strings.Contains(errorOf(t, line), "line longer than") {
		t.Errorf("reply to a 70 KiB line: %s; want an error naming the line's length", line)
	}
	send(wire.CmdStats + "\n")
	if r, err := wire.ParseReport(next("stats after the long line")); err != nil || r.Final {
		t.Errorf("stats after the long line: %+v, %v; want a report: serve goes on", r, err)
	}
	inW.Close() // EOF stops the server
	if r, err := wire.ParseReport(next("final report")); err != nil || !r.Final {
		t.Errorf("after EOF: %+v, %v; want the final report", r, err)
	}
	select {
	case err := <-out.exited:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve still running 20s after EOF")
	}
}
