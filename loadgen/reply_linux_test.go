package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Fixture servers of the request/reply protocols, each written from the
// protocol's definition (not from the generator's constants), with modes
// that misbehave. Each counts the replies it wrote and the most requests
// it read in one batch (proof that requests were pipelined).
type fixture struct {
	replies  atomic.Int64
	maxBatch atomic.Int64
	pause    time.Duration // after each batch of replies: requests pile up meanwhile
}

func (f *fixture) batch(n int64) {
	for {
		m := f.maxBatch.Load()
		if n <= m || f.maxBatch.CompareAndSwap(m, n) {
			return
		}
	}
}

// writeReply writes reply: at once, or (split) one byte per write with
// a pause between, so it reaches the client in many TCP segments.
func writeReply(w *bufio.Writer, reply string, split bool) error {
	if !split {
		_, err := w.WriteString(reply)
		return err
	}
	for i := range len(reply) {
		w.WriteByte(reply[i])
		if err := w.Flush(); err != nil {
			return err
		}
		time.Sleep(20 * time.Microsecond) // separate segments (TCP_NODELAY is Go's default)
	}
	return nil
}

// serve is a request/reply fixture's connection loop: read reads one
// request, reply answers it (n counts replies over all connections, from
// 1) and says whether to close the connection after this reply; split
// writes each reply a byte at a time. Replies to requests read together
// go out together.
func (f *fixture) serve(read func(*bufio.Reader) (string, error), reply func(req string, n int64) (out string, last bool), split bool) func(net.Conn) {
	return func(c net.Conn) {
		r, w := bufio.NewReader(c), bufio.NewWriter(c)
		var batch int64
		for {
			req, err := read(r)
			if err != nil {
				return
			}
			batch++
			out, last := reply(req, f.replies.Add(1))
			if err := writeReply(w, out, split); err != nil || last {
				w.Flush()
				return
			}
			if r.Buffered() == 0 {
				f.batch(batch)
				batch = 0
				if w.Flush() != nil {
					return
				}
				time.Sleep(f.pause) // a slow server, so that pipelined requests arrive together
			}
		}
	}
}

// respHandler answers RESP commands (arrays of bulk strings): PING with
// +PONG; in mode "wrong" reply number failAt is +PANG, in mode "err" every
// reply is an -ERR, in mode "short" the first reply stops after 3 bytes
// and the connection closes, in mode "split" every reply is written a
// byte at a time.
func (f *fixture) respHandler(mode string, failAt int64) func(net.Conn) {
	return f.serve(readRESPCommand, func(cmd string, n int64) (string, bool) {
		switch {
		case cmd != "PING":
			return "-ERR unknown command '" + cmd + "'\r\n", false
		case mode == "err":
			return "-ERR unknown command 'PING', with args beginning with: \r\n", false
		case mode == "wrong" && n == failAt:
			return "+PANG\r\n", false
		case mode == "short":
			return "+PO", true
		}
		return "+PONG\r\n", false
	}, mode == "split")
}

// readRESPCommand reads one RESP array of bulk strings and returns its
// first element, upper-cased.
func readRESPCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "*") || !strings.HasSuffix(line, "\r\n") {
		return "", errors.New("not an array")
	}
	n, err := strconv.Atoi(line[1 : len(line)-2])
	if err != nil || n < 1 {
		return "", errors.New("bad array length")
	}
	var first string
	for i := range n {
		hdr, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(hdr, "$") {
			return "", errors.New("not a bulk string")
		}
		k, err := strconv.Atoi(strings.TrimSuffix(hdr[1:], "\r\n"))
		if err != nil || k < 0 {
			return "", errors.New("bad bulk length")
		}
		b := make([]byte, k+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		if i == 0 {
			first = strings.ToUpper(string(b[:k]))
		}
	}
	return first, nil
}

// lineHandler answers every request line with one line: reply (a
// complete line); in mode "wrong" reply number failAt is "ERROR\r\n", in
// mode "split" each is written a byte at a time.
func (f *fixture) lineHandler(reply, mode string, failAt int64) func(net.Conn) {
	read := func(r *bufio.Reader) (string, error) { return r.ReadString('\n') }
	return f.serve(read, func(_ string, n int64) (string, bool) {
		if mode == "wrong" && n == failAt {
			return "ERROR\r\n", false
		}
		return reply, false
	}, mode == "split")
}

// rawHTTPHandler answers every HTTP request (a header section ending in
// an empty line) with reply, verbatim; split writes it a byte at a time.
func (f *fixture) rawHTTPHandler(reply string, split bool) func(net.Conn) {
	read := func(r *bufio.Reader) (string, error) {
		for {
			line, err := r.ReadString('\n')
			if err != nil || line == "\r\n" {
				return line, err
			}
		}
	}
	return f.serve(read, func(string, int64) (string, bool) { return reply, false }, split)
}

// startHTTP starts net/http on 127.0.0.1:0, closed in t.Cleanup. Paths:
// /ok (a 5-byte body), /404, /500, /fail5 (the 5th request overall is a
// 500, the others as /ok), /chunked (a flushed, hence chunked, body),
// /close (Connection: close).
func (f *fixture) startHTTP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter) { io.WriteString(w, "hello") }
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { f.replies.Add(1); ok(w) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { f.replies.Add(1); http.NotFound(w, r) })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		f.replies.Add(1)
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/fail5", func(w http.ResponseWriter, r *http.Request) {
		if f.replies.Add(1) == 5 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		ok(w)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		f.replies.Add(1)
		ok(w)
		w.(http.Flusher).Flush()
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		f.replies.Add(1)
		w.Header().Set("Connection", "close")
		ok(w)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// start starts the fixture's server: handler's, or net/http when nil.
func (f *fixture) start(t *testing.T, handler func(f *fixture) func(net.Conn)) string {
	if handler == nil {
		return f.startHTTP(t)
	}
	return startServer(t, handler(f)).addr
}

func runReply(t *testing.T, c Config) (*Result, error) {
	t.Helper()
	if c.Duration == 0 {
		c.Duration = 300 * time.Millisecond
	}
	if c.Conns == 0 {
		c.Conns = max(c.Active, 1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Run(ctx, c)
}

// TestReplyProtocols drives each protocol's fixture in its good modes
// (several replies per read, a reply in many segments, LF-only lines):
// every reply verified, none wrong, and the generator counted no more
// replies than the server wrote, nor fewer than it wrote minus those in
// flight when the run ended.
func TestReplyProtocols(t *testing.T) {
	versionLine := func(f *fixture, mode string) func(net.Conn) { return f.lineHandler("VERSION 1.6.21\r\n", mode, 0) }
	tests := []struct {
		name      string
		handler   func(f *fixture) func(net.Conn) // nil: net/http
		cfg       Config
		pipelined bool // the server must have read several requests at once
	}{
		{"redis closed", func(f *fixture) func(net.Conn) { return f.respHandler("ok", 0) }, Config{Proto: traffic.Redis, Conns: 3, Active: 2, Mode: traffic.Closed}, false},
		{"redis open", func(f *fixture) func(net.Conn) { return f.respHandler("ok", 0) }, Config{Proto: traffic.Redis, Conns: 10, Active: 2, Rate: 2000}, false},
		{"redis pipelined", func(f *fixture) func(net.Conn) { f.pause = time.Millisecond; return f.respHandler("ok", 0) }, Config{Proto: traffic.Redis, Active: 1, Rate: 20000, Pipeline: 64}, true},
		{"redis split", func(f *fixture) func(net.Conn) { return f.respHandler("split", 0) }, Config{Proto: traffic.Redis, Active: 1, Mode: traffic.Closed}, false},
		{"redis keep-alive", func(f *fixture) func(net.Conn) { return f.respHandler("ok", 0) }, Config{Proto: traffic.Redis, Conns: 20, Active: 1, Rate: 200, KeepAlive: MinKeepAlive}, false},
		{"redis churn", func(f *fixture) func(net.Conn) { return f.respHandler("ok", 0) }, Config{Proto: traffic.Redis, Active: 1, Mode: traffic.Closed, Churn: true}, false},
		{"http closed", nil, Config{Proto: traffic.HTTP, Path: "/ok", Conns: 3, Active: 2, Mode: traffic.Closed}, false},
		{"http pipelined", nil, Config{Proto: traffic.HTTP, Path: "/ok", Active: 1, Rate: 3000, Pipeline: 16}, false},
		{"http keep-alive", nil, Config{Proto: traffic.HTTP, Path: "/ok", Conns: 20, Active: 1, Rate: 200, KeepAlive: MinKeepAlive}, false},
		{"http split", func(f *fixture) func(net.Conn) {
			return f.rawHTTPHandler("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello", true)
		}, Config{Proto: traffic.HTTP, Active: 1, Mode: traffic.Closed}, false},
		{"http 204", func(f *fixture) func(net.Conn) { return f.rawHTTPHandler("HTTP/1.1 204 No Content\r\n\r\n", false) },
			Config{Proto: traffic.HTTP, Active: 1, Rate: 1000, Pipeline: 8}, false},
		{"line closed", func(f *fixture) func(net.Conn) { return versionLine(f, "ok") }, Config{Proto: traffic.Line, Line: "version", Expect: "VERSION ", Conns: 3, Active: 2, Mode: traffic.Closed}, false},
		{"line pipelined", func(f *fixture) func(net.Conn) { f.pause = time.Millisecond; return versionLine(f, "ok") }, Config{Proto: traffic.Line, Line: "version", Expect: "VERSION ", Active: 1, Rate: 20000, Pipeline: 64}, true},
		{"line split", func(f *fixture) func(net.Conn) { return versionLine(f, "split") }, Config{Proto: traffic.Line, Line: "version", Active: 1, Mode: traffic.Closed}, false},
		{"line LF only", func(f *fixture) func(net.Conn) { return f.lineHandler("OK\n", "ok", 0) }, Config{Proto: traffic.Line, Line: "noop", Expect: "OK", Active: 1, Mode: traffic.Closed}, false},
		{"line keep-alive", func(f *fixture) func(net.Conn) { return versionLine(f, "ok") }, Config{Proto: traffic.Line, Line: "version", Conns: 20, Active: 0, KeepAlive: MinKeepAlive}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fixture{}
			c := tt.cfg
			c.Target = f.start(t, tt.handler)
			c.Warmup = 50 * time.Millisecond
			r, err := runReply(t, c)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			// Requests may be left unanswered by a server that could not
			// keep up (net/http under -race, on a loaded machine), and by
			// churn's window accounting at an edge, echo or not (a connect
			// before the window start whose request is written in it).
			if r.ErrorCount() != 0 || r.Unanswered != 0 && !c.Churn && !r.Saturated {
				t.Fatalf("errors %v (%v), unanswered %d; want none", r.Errors, r.ErrorExamples, r.Unanswered)
			}
			if c.Active > 0 && r.Requests == 0 {
				t.Fatalf("no requests answered")
			}
			if c.KeepAlive > 0 && r.KeepAlives == 0 {
				t.Errorf("no keep-alive verified")
			}
			if r.Latency.Count != r.Requests {
				t.Errorf("latency count %d; want requests %d", r.Latency.Count, r.Requests)
			}
			served := f.replies.Load()
			verified := r.RunRequests + r.KeepAlives
			if verified > served {
				t.Errorf("verified %d replies (of them %d keep-alives in the window); the server wrote only %d", verified, r.KeepAlives, served)
			}
			if r.Proto != c.Proto || r.Size != len(newReplySpec(c).request) {
				t.Errorf("result proto %s size %d; want %s, %d", r.Proto, r.Size, c.Proto, len(newReplySpec(c).request))
			}
			if tt.pipelined && f.maxBatch.Load() < 2 {
				t.Errorf("the server read at most %d request at once: the test did not pipeline", f.maxBatch.Load())
			}
		})
	}
}

// TestReplyErrors drives fixtures that misbehave: each error has its
// kind, a description quoting the reply, and the count it should have.
func TestReplyErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler func(f *fixture) func(net.Conn) // nil: net/http
		cfg     Config
		kind    string
		exactly int64  // the count of kind; 0: at least one
		quote   string // in Result.ErrorExamples[kind]
		noneOK  bool   // no request may succeed
	}{
		{"redis one wrong reply", func(f *fixture) func(net.Conn) { return f.respHandler("wrong", 10) },
			Config{Proto: traffic.Redis, Active: 1, Mode: traffic.Closed}, ErrKindWrongReply, 1, `redis replied "+PANG" to PING`, false},
		{"redis error replies", func(f *fixture) func(net.Conn) { return f.respHandler("err", 0) },
			Config{Proto: traffic.Redis, Active: 1, Mode: traffic.Closed}, ErrKindWrongReply, 0, `"-ERR unknown command 'PING', with args beginning with: "`, true},
		{"redis closed mid-reply", func(f *fixture) func(net.Conn) { return f.respHandler("short", 0) },
			Config{Proto: traffic.Redis, Active: 1, Mode: traffic.Closed}, ErrKindShort, 0, "", true},
		{"redis closed between replies", func(f *fixture) func(net.Conn) { return func(c net.Conn) {} },
			Config{Proto: traffic.Redis, Active: 1, Mode: traffic.Closed}, ErrKindClosed, 0, "", true},
		{"redis keep-alive error", func(f *fixture) func(net.Conn) { return f.respHandler("err", 0) },
			Config{Proto: traffic.Redis, Conns: 5, KeepAlive: MinKeepAlive}, ErrKindWrongReply, 5, "-ERR", true},
		{"redis refuses idle connections", func(f *fixture) func(net.Conn) {
			// As redis in protected mode answers a client not from 127.0.0.1.
			return func(c net.Conn) { io.WriteString(c, "-DENIED Redis is running in protected mode\r\n") }
		}, Config{Proto: traffic.Redis, Conns: 5}, ErrKindWrongReply, 5, `when no reply was due: "-DENIED Redis is running in protected mode"`, true},
		{"line one wrong reply", func(f *fixture) func(net.Conn) { return f.lineHandler("VERSION 1\r\n", "wrong", 7) },
			Config{Proto: traffic.Line, Line: "version", Expect: "VERSION ", Active: 1, Rate: 1000}, ErrKindWrongReply, 1, `line reply "ERROR" does not start with "VERSION "`, false},
		{"line unsolicited", func(f *fixture) func(net.Conn) { return f.lineHandler("A\r\nB\r\n", "ok", 0) },
			Config{Proto: traffic.Line, Line: "x", Active: 1, Mode: traffic.Closed}, ErrKindWrongReply, 0, `when no reply was due: "B"`, false},
		{"http 404", nil, Config{Proto: traffic.HTTP, Path: "/404", Active: 1, Mode: traffic.Closed}, ErrKindHTTPStatus, 0, `GET /404: status 404, want 2xx: "HTTP/1.1 404 Not Found"`, true},
		{"http 500", nil, Config{Proto: traffic.HTTP, Path: "/500", Active: 1, Rate: 500}, ErrKindHTTPStatus, 0, "status 500", true},
		{"http one 500", nil, Config{Proto: traffic.HTTP, Path: "/fail5", Active: 1, Mode: traffic.Closed}, ErrKindHTTPStatus, 1, "status 500", false},
		{"http keep-alive 404", nil, Config{Proto: traffic.HTTP, Path: "/404", Conns: 4, KeepAlive: MinKeepAlive}, ErrKindHTTPStatus, 4, "status 404", true},
		{"http connection close", nil, Config{Proto: traffic.HTTP, Path: "/close", Active: 1, Mode: traffic.Closed}, ErrKindHTTPClose, 0, "closes the connection after its reply", false},
		{"http/1.0", func(f *fixture) func(net.Conn) {
			return f.rawHTTPHandler("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
		},
			Config{Proto: traffic.HTTP, Active: 1, Mode: traffic.Closed}, ErrKindHTTPClose, 0, "HTTP/1.0 without keep-alive", false},
		{"http garbage", func(f *fixture) func(net.Conn) { return f.rawHTTPHandler("SSH-2.0-OpenSSH_9.2\r\n", false) },
			Config{Proto: traffic.HTTP, Active: 1, Mode: traffic.Closed}, ErrKindWrongReply, 0, `not an HTTP/1.0 or HTTP/1.1 status line, at "SSH-2.0-OpenSSH_9.2"`, true},
	}
	// A write into a socket the server closed may see the reset first.
	also := map[string]string{"redis closed between replies": ErrKindReset}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fixture{}
			c := tt.cfg
			c.Target = f.start(t, tt.handler)
			r, err := runReply(t, c)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			for kind := range r.Errors {
				if kind != tt.kind && kind != also[tt.name] {
					t.Errorf("errors %v; want only %s", r.Errors, tt.kind)
				}
			}
			n := r.Errors[tt.kind] + r.Errors[also[tt.name]]
			if tt.exactly > 0 && n != tt.exactly || n == 0 {
				t.Errorf("%s = %d; want %d (0: at least one)", tt.kind, n, tt.exactly)
			}
			if got := r.ErrorExamples[tt.kind]; !strings.Contains(got, tt.quote) {
				t.Errorf("example of %s = %q; want it to contain %q", tt.kind, got, tt.quote)
			}
			if ok := r.Requests + r.KeepAlives; tt.noneOK && ok != 0 {
				t.Errorf("%d requests and %d keep-alives verified; want none", r.Requests, r.KeepAlives)
			} else if !tt.noneOK && ok == 0 {
				t.Errorf("no request verified; want the good replies counted")
			}
		})
	}
}

// TestReplyUnreadable: a reply framed in a way the generator does not read
// stops the run with a *ReplyError that says what to configure.
func TestReplyUnreadable(t *testing.T) {
	for _, tt := range []struct {
		name    string
		handler func(f *fixture) func(net.Conn)
		cfg     Config
		want    string
	}{
		{"chunked", nil, Config{Proto: traffic.HTTP, Path: "/chunked", Active: 1, Mode: traffic.Closed}, "GET /chunked: a body with Transfer-Encoding (chunked)"},
		{"chunked keep-alive", nil, Config{Proto: traffic.HTTP, Path: "/chunked", Conns: 3, KeepAlive: MinKeepAlive}, "Transfer-Encoding (chunked)"},
		{"no length", func(f *fixture) func(net.Conn) { return f.rawHTTPHandler("HTTP/1.1 200 OK\r\n\r\nhello", false) },
			Config{Proto: traffic.HTTP, Active: 1, Rate: 100}, "a body without Content-Length"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fixture{}
			c := tt.cfg
			c.Target = f.start(t, tt.handler)
			c.Duration = 5 * time.Second // stops at the first reply, long before
			start := time.Now()
			r, err := runReply(t, c)
			var re *ReplyError
			if !errors.As(err, &re) {
				t.Fatalf("Run = %v, %v; want a *ReplyError", r, err)
			}
			for _, want := range []string{tt.want, "configure a fixed-length body", c.Target} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q; want it to contain %q", err, want)
				}
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("Run took %v; want it to stop at the first reply", d)
			}
		})
	}
}

// TestReplyScanAllocs: scanning replies allocates nothing.
func TestReplyScanAllocs(t *testing.T) {
	for _, tt := range []struct {
		cfg    Config
		stream string
	}{
		{Config{Proto: traffic.Redis}, "+PONG\r\n+PONG\r\n"},
		{Config{Proto: traffic.Line, Line: "version", Expect: "VERSION "}, "VERSION 1\r\nVERSION 2\r\n"},
		{Config{Proto: traffic.HTTP}, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	} {
		sp := specFor(t, tt.cfg)
		data := []byte(tt.stream)
		allocs := testing.AllocsPerRun(100, func() {
			var s replyScan
			for p := data; len(p) > 0; {
				n, v := s.feed(sp, p)
				if v != vDone {
					t.Fatalf("%s: verdict %d", sp.proto, v)
				}
				s, p = replyScan{}, p[n:]
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per scan; want 0", sp.proto, allocs)
		}
	}
}
