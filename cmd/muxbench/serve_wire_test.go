package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/internal/wire"
)

// TestServeWireRoundTrip starts `muxbench serve` (this test binary, see
// TestMain) as its own process for an event-loop backend and a whole
// server, reads its hello, stats and final lines, decodes them with
// package wire and encodes them again: every field the server prints must
// survive, so no field is printed that wire does not know.
func TestServeWireRoundTrip(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		backend string
		loops   int
	}{{"epoll-lt", 1}, {"gonet", 1}, {epoll.NameSharedListener, 2}} {
		backend := tc.backend
		t.Run(fmt.Sprintf("%s/loops=%d", backend, tc.loops), func(t *testing.T) {
			cmd := exec.Command(exe, "serve", "-backend", backend, "-addr", "127.0.0.1:0", "-loops", strconv.Itoa(tc.loops))
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			lines := make(chan []byte)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- slices.Clone(sc.Bytes())
				}
				close(lines)
			}()
			next := func(what string) []byte {
				t.Helper()
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("%s: serve ended its output; stderr %q", what, stderr.String())
					}
					return l
				case <-time.After(20 * time.Second):
					t.Fatalf("%s: no line within 20s", what)
				}
				return nil
			}

			line := next("hello")
			h, err := wire.ParseHello(line)
			if err != nil {
				t.Fatalf("hello %s: %v", line, err)
			}
			checkRoundTrip(t, "hello", line, h)
			if h.Backend != backend || h.PID != cmd.Process.Pid || h.LoopThread != (backend != "gonet") || h.LoopCount() != tc.loops {
				t.Errorf("hello %+v; want backend %s, pid %d, loop thread %v, %d loops", h, backend, cmd.Process.Pid, backend != "gonet", tc.loops)
			}

			// The loops start after the hello: ask until they all run.
			var r wire.Report
			for end := time.Now().Add(20 * time.Second); ; {
				io.WriteString(stdin, wire.CmdStats+"\n")
				line = next("stats")
				if r, err = wire.ParseReport(line); err != nil {
					t.Fatalf("stats %s: %v", line, err)
				}
				if !slices.ContainsFunc(r.Loops, func(l wire.Loop) bool { return l.TID == 0 }) || time.Now().After(end) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			checkRoundTrip(t, "stats", line, r)
			if r.Final || r.MonoNs == 0 {
				t.Errorf("stats %+v; want a non-final report with a clock", r)
			}
			if want := tc.loops; tc.loops == 1 {
				want = 0 // one loop: no per-loop part
				if len(r.Loops) != want {
					t.Errorf("stats lists %d loops; want %d", len(r.Loops), want)
				}
			} else if len(r.Loops) != want || r.Loops[0].TID == 0 || r.Loops[1].TID == r.Loops[0].TID {
				t.Errorf("stats lists loops %+v; want %d, each on its own thread", r.Loops, want)
			}

			io.WriteString(stdin, wire.CmdQuit+"\n")
			line = next("final report")
			r, err = wire.ParseReport(line)
			if err != nil {
				t.Fatalf("final report %s: %v", line, err)
			}
			checkRoundTrip(t, "final report", line, r)
			if !r.Final {
				t.Errorf("last line %s: want final", line)
			}
			if err := <-exited; err != nil {
				t.Errorf("serve exited with %v; stderr %q", err, stderr.String())
			}
			exited <- nil // for the cleanup
		})
	}
}

// checkRoundTrip encodes v again and compares it with the line it was
// decoded from, field by field.
func checkRoundTrip[T wire.Hello | wire.Report](t *testing.T, what string, line []byte, v T) {
	t.Helper()
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(line, &want); err != nil {
		t.Fatalf("%s %s: %v", what, line, err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: field %q (= %v) lost in the round trip through package wire", what, k, w)
			continue
		}
		if gb, _ := json.Marshal(g); !bytes.Equal(gb, mustJSON(w)) {
			t.Errorf("%s: field %q = %s after the round trip; want %s", what, k, gb, mustJSON(w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: field %q appeared in the round trip", what, k)
		}
	}
	if !bytes.Equal(again, line) {
		t.Errorf("%s re-encoded:\n%s\nwant the line serve printed:\n%s", what, again, line)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestServeLoopsRefused: -loops above 1 for a backend without a sharing
// mode, or out of range, is a usage error naming the fix, before any
// server starts.
func TestServeLoopsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-backend", "epoll-lt", "-loops", "2"}, epoll.NameSharedListener},
		{[]string{"-backend", epoll.NameExclusive, "-loops", "0"}, "out of range"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"serve"}, tc.args...), strings.NewReader(""), &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), tc.want) || out.Len() != 0 {
			t.Errorf("serve %v: exit %d, stdout %q, stderr %q; want non-zero, nothing printed, an error naming %q", tc.args, code, out.String(), errb.String(), tc.want)
		}
	}
}

// TestServeStdinLongLine: a control line on standard input too long to be
// a command gets an error line, and serve goes on answering the next
// commands until EOF.
func TestServeStdinLongLine(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runServe([]string{"-backend", "gonet", "-addr", "127.0.0.1:0"}, inR, outW, io.Discard)
		outW.Close()
	}()
	t.Cleanup(func() {
		inW.Close()
		outR.Close()
	})
	out := &servedChild{lines: make(chan []byte, 16)} // serve in this process: its lines only
	go readLines(outR, out.lines)
	next := func(what string) []byte { return out.next(t, what) }
	send := func(s string) {
		t.Helper()
		go io.WriteString(inW, s) // the pipe blocks until serve reads it all
	}

	next("hello")
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
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve still running 20s after EOF")
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("y", maxControlLine+1)
	rd := bufio.NewReaderSize(strings.NewReader("stats\r\n"+long+"\nquit\n"+strings.Repeat("z", maxControlLine)+"\nlast"), 16)
	for i, want := range []struct {
		line string
		err  error
	}{{"stats", nil}, {"", errLineTooLong}, {"quit", nil}, {strings.Repeat("z", maxControlLine), nil}, {"last", nil}, {"", io.EOF}} {
		line, err := readLine(rd, maxControlLine)
		if line != want.line || !errors.Is(err, want.err) {
			t.Errorf("line %d: %.20q, %v; want %.20q, %v", i, line, err, want.line, want.err)
		}
	}
}
