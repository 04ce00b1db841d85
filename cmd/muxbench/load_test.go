package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muxbench/muxbench/loadfile"
	"github.com/muxbench/muxbench/loadgen"
)

// loadEchoServer is a plain net echo server on 127.0.0.1:0, closed in Cleanup.
func loadEchoServer(t *testing.T) string {
	return loadServer(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
}

// loadServer runs handle on every connection to 127.0.0.1:0 and returns
// the address; Cleanup closes the listener and every connection.
func loadServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func loadRunCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLoadUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"load"}, "-target is required"},
		{"bad rate", []string{"load", "-target", "127.0.0.1:1", "-rate", "fast"}, `invalid value "fast" for flag -rate`},
		{"bad duration", []string{"load", "-target", "127.0.0.1:1", "-duration", "5"}, `invalid value "5" for flag -duration`},
		{"rate in closed loop", []string{"load", "-target", "127.0.0.1:1", "-mode", "closed", "-rate", "10"}, "-rate applies to -mode open only"},
		{"bad mode", []string{"load", "-target", "127.0.0.1:1", "-mode", "half"}, `-mode "half"`},
		{"bad proto", []string{"load", "-target", "127.0.0.1:1", "-proto", "gopher"}, `-proto: unknown protocol "gopher" (want echo, sockperf, redis, http or line)`},
		{"size with redis", []string{"load", "-target", "127.0.0.1:1", "-proto", "redis", "-size", "32"}, "-size applies to -proto echo and sockperf; -proto redis sends its own fixed request"},
		{"line without -line", []string{"load", "-target", "127.0.0.1:1", "-proto", "line"}, "-line is empty: proto line sends one fixed request line"},
		{"-line with echo", []string{"load", "-target", "127.0.0.1:1", "-line", "version"}, `-line "version": only proto line sends a request line`},
		{"-path with redis", []string{"load", "-target", "127.0.0.1:1", "-proto", "redis", "-path", "/"}, `-path "/": only proto http sends a path`},
		{"-expect with http", []string{"load", "-target", "127.0.0.1:1", "-proto", "http", "-expect", "HTTP"}, `-expect "HTTP": only proto line checks`},
		{"relative path", []string{"load", "-target", "127.0.0.1:1", "-proto", "http", "-path", "index.html"}, "want an absolute path"},
		{"active > conns", []string{"load", "-target", "127.0.0.1:1", "-conns", "2", "-active", "3"}, "-active is 3"},
		{"bad source ips", []string{"load", "-target", "127.0.0.1:1", "-source-ips", "x"}, "-source-ips"},
		{"bad cpus", []string{"load", "-target", "127.0.0.1:1", "-cpus", "z"}, "-cpus"},
		{"stray argument", []string{"load", "-target", "127.0.0.1:1", "extra"}, "unexpected argument"},
		{"negative size", []string{"load", "-target", "127.0.0.1:1", "-size", "-1"}, "-size -1: want 1..1048576 bytes (default 64)"},
		{"deep pipeline", []string{"load", "-target", "127.0.0.1:1", "-pipeline", "100000"}, "-pipeline 100000: want 1..65536 requests in flight per connection (default 1024)"},
		{"keepalive a flood", []string{"load", "-target", "127.0.0.1:1", "-keepalive", "1ns"}, "-keepalive 1ns is not a trickle: want 0 (silent idle connections) or an interval of 100ms or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := loadRunCmd(tt.args...)
			if code != 2 {
				t.Errorf("exit %d; want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q; want it to contain %q", stderr, tt.want)
			}
		})
	}
}

func TestLoadJSON(t *testing.T) {
	addr := loadEchoServer(t)
	code, stdout, stderr := loadRunCmd("load", "-target", addr, "-conns", "5", "-active", "2", "-rate", "300/1s",
		"-warmup", "50ms", "-duration", "200ms", "-json")
	if code != 0 {
		t.Fatalf("exit %d; stderr %q", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr %q; want nothing (not a terminal: no progress)", stderr)
	}
	var r loadgen.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not one JSON result: %v\n%s", err, stdout)
	}
	if r.Target != addr || r.Conns != 5 || r.Active != 2 || r.Mode != "open" || r.RateRequested != 300 || r.Requests == 0 {
		t.Errorf("result %+v; want target %s, 5 conns, 2 active, open loop at 300/s, some requests", r, addr)
	}
	if err := r.DecodeHistograms(); err != nil || r.Corrected.TotalCount() != r.Requests {
		t.Errorf("histogram: %v, count %v; want %d values", err, r.Corrected, r.Requests)
	}
}

func TestLoadTable(t *testing.T) {
	addr := loadEchoServer(t)
	code, stdout, stderr := loadRunCmd("load", "-target", addr, "-conns", "3", "-active", "1", "-mode", "closed",
		"-warmup", "0s", "-duration", "100ms", "-proto", "echo", "-size", "32")
	if code != 0 {
		t.Fatalf("exit %d; stderr %q", code, stderr)
	}
	for _, want := range []string{"target", addr, "(echo, 32 B)", "3 (1 active, 2 idle)", "closed loop", "latency", "service", "p99.9", "errors       none"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

// loadReplyServer answers every read on every connection with reply, on
// 127.0.0.1:0, closed in Cleanup: one request per read in closed loop.
func loadReplyServer(t *testing.T, reply string) string {
	return loadServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			if _, err := io.WriteString(c, reply); err != nil {
				return
			}
		}
	})
}

// TestLoadReplyProtocols: the request/reply protocols from the command
// line: the table names the request, the default pipeline is 1, and a
// wrong reply makes the exit status 1 with the reply quoted.
func TestLoadReplyProtocols(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		args  []string
		code  int
		table []string // in stdout
		err   string   // in stderr
	}{
		{"redis", "+PONG\r\n", []string{"-proto", "redis"}, 0, []string{"(redis PING, 14 B)", "errors       none"}, ""},
		{"redis -ERR", "-ERR unknown command 'PING'\r\n", []string{"-proto", "redis"}, 1,
			[]string{"wrong_reply=", `first wrong_reply: redis replied "-ERR unknown command 'PING'" to PING`},
			`; first wrong_reply: redis replied "-ERR unknown command 'PING'" to PING`},
		{"line", "VERSION 1.6.21\r\n", []string{"-proto", "line", "-line", "version", "-expect", "VERSION "}, 0,
			[]string{`(line "version", reply starting "VERSION ", 9 B)`, "errors       none"}, ""},
		{"http", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", []string{"-proto", "http", "-path", "/x"}, 0,
			[]string{"(http GET /x, "}, ""},
		{"http 404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", []string{"-proto", "http"}, 1,
			[]string{"http_status=", `first http_status: GET /: status 404, want 2xx: "HTTP/1.1 404 Not Found"`}, "http_status="},
		{"http chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []string{"-proto", "http"}, 1,
			nil, "a body with Transfer-Encoding (chunked): muxbench reads only replies with a Content-Length body; configure a fixed-length body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := loadReplyServer(t, tt.reply)
			args := append([]string{"load", "-target", addr, "-conns", "3", "-active", "1", "-rate", "200", "-warmup", "0s", "-duration", "200ms"}, tt.args...)
			code, stdout, stderr := loadRunCmd(args...)
			if code != tt.code || !strings.Contains(stderr, tt.err) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.err)
			}
			for _, want := range tt.table {
				if !strings.Contains(stdout, want) {
					t.Errorf("table lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
	// -json records the request and the pipeline default of 1 in -out.
	addr := loadReplyServer(t, "+PONG\r\n")
	out := t.TempDir() + "/r.json"
	code, stdout, stderr := loadRunCmd("load", "-target", addr, "-proto", "redis", "-rate", "100", "-warmup", "0s", "-duration", "100ms", "-json", "-out", out)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var r loadgen.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Proto != "redis" || r.Size != 14 || r.Requests == 0 {
		t.Errorf("result %s (%v); want redis, 14 B, some requests", stdout, err)
	}
	f, err := loadfile.Read(out)
	if err != nil || f.Config.Pipeline != 1 || f.Config.Size != 0 || f.Config.Proto != "redis" {
		t.Errorf("-out config %+v (%v); want redis, pipeline 1, size 0", f.Config, err)
	}
}

func TestLoadRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"refused", []string{"-target", loadFreeAddr(t)}, "nothing is listening there"},
		{"over the fd limit", []string{"-target", "127.0.0.1:9", "-conns", "1000000", "-active", "0"}, "fds, limit is"},
		{"over the server's fd limit", []string{"-target", "127.0.0.1:9", "-conns", "2000", "-active", "0", "-server-nofile", "1024"}, "server needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := loadRunCmd(append([]string{"load", "-duration", "100ms"}, tt.args...)...)
			if code != 1 {
				t.Errorf("exit %d; want 1 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q; want it to contain %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q; want nothing when the run could not be done", stdout)
			}
		})
	}
}

func TestLoadIntegrityErrorsExitNonZero(t *testing.T) {
	// A server that answers every request with the wrong bytes: the run
	// completes and prints its result, and the exit status says it failed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			for i := range buf[:n] {
				buf[i] ^= 0xff
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	code, stdout, stderr := loadRunCmd("load", "-target", ln.Addr().String(), "-conns", "1", "-mode", "closed",
		"-warmup", "0s", "-duration", "100ms", "-json")
	if code != 1 || !strings.Contains(stderr, "mismatch=") {
		t.Errorf("exit %d, stderr %q; want 1 and the mismatch count", code, stderr)
	}
	var r loadgen.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Errors[loadgen.ErrKindMismatch] == 0 {
		t.Errorf("result %q (%v); want it printed with mismatches counted", stdout, err)
	}
}

// TestLoadSilentServer: a server that accepts and never answers makes no
// error event (no timeout before the drain ends), yet every window request
// is unanswered: the table shows it and the exit status is 1.
func TestLoadSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	code, stdout, stderr := loadRunCmd("load", "-target", ln.Addr().String(), "-rate", "50", "-warmup", "0s", "-duration", "200ms", "-timeout", "10s")
	if code != 1 || !strings.Contains(stderr, "unanswered=10") {
		t.Errorf("exit %d, stderr %q; want 1 naming the 10 unanswered requests", code, stderr)
	}
	if !strings.Contains(stdout, "unanswered   10 ") {
		t.Errorf("table lacks the unanswered requests:\n%s", stdout)
	}
}

// TestLoadControlEchoPort: -control given the echo port instead of the
// control port is refused before any connection, saying so.
func TestLoadControlEchoPort(t *testing.T) {
	addr := loadEchoServer(t)
	out := filepath.Join(t.TempDir(), "x.json")
	code, _, stderr := loadRunCmd("load", "-target", addr, "-control", addr, "-token", "t", "-out", out, "-duration", "100ms")
	if code != 2 || !strings.Contains(stderr, "that port did not answer with a muxbench hello") {
		t.Errorf("exit %d, stderr %q; want 2: not a control port", code, stderr)
	}
}

func loadFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestReplaceWord(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Rate is 0: open loop needs", "-rate is 0: open loop needs"},
		{"Size 13: the sockperf protocol", "-size 13: the sockperf protocol"},
		{"Target is empty\nConns is 0", "-target is empty\n-conns is 0"},
		{"RateX is fine", "RateX is fine"},
		{"(see Rate)", "(see -rate)"},
	}
	for _, tt := range tests {
		if got := flagNames(loadErrString(tt.in)); got != tt.want {
			t.Errorf("flagNames(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

type loadErrString string

func (e loadErrString) Error() string { return string(e) }

// TestSpinField: -spin and -spin-reply 0 mean never, which the Config
// spells negative (its 0 is the default); any other value is kept.
func TestSpinField(t *testing.T) {
	for _, tt := range []struct{ flag, want time.Duration }{
		{0, -1},
		{time.Microsecond, time.Microsecond},
		{loadgen.DefaultSpinReply, loadgen.DefaultSpinReply},
	} {
		if got := spinField(tt.flag); got != tt.want {
			t.Errorf("spinField(%v) = %v; want %v", tt.flag, got, tt.want)
		}
	}
}
