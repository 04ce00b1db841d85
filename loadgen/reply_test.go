package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/internal/traffic"
)

// scanned is what scanning a stream found: the verdict of each reply in
// order, ending at the first that is not vDone, with where it ended (an
// offset in the stream) and, for HTTP, the status.
type scanned struct {
	v      verdict
	end    int
	status uint16
	why    uint8
}

// scanStream scans stream, handed over in pieces cut at cuts (offsets),
// as the loop does: one scanner per reply, reset after each.
func scanStream(sp *replySpec, stream []byte, cuts []int) []scanned {
	var out []scanned
	var s replyScan
	off := 0
	pieces := [][]byte{}
	prev := 0
	for _, c := range cuts {
		if c > prev && c < len(stream) {
			pieces = append(pieces, stream[prev:c])
			prev = c
		}
	}
	pieces = append(pieces, stream[prev:])
	for _, p := range pieces {
		for len(p) > 0 {
			n, v := s.feed(sp, p)
			if v == vMore {
				off += len(p)
				break
			}
			out = append(out, scanned{v: v, end: off + n, status: s.status, why: s.why})
			if v != vDone {
				return out
			}
			s = replyScan{}
			off += n
			p = p[n:]
		}
	}
	return out
}

func everyByte(n int) []int {
	cuts := make([]int, n)
	for i := range cuts {
		cuts[i] = i
	}
	return cuts
}

// checkChunking fails t if scanning stream in one piece, byte by byte and
// cut at each single offset do not all find the same.
func checkChunking(t *testing.T, sp *replySpec, stream []byte) []scanned {
	t.Helper()
	whole := scanStream(sp, stream, nil)
	if got := scanStream(sp, stream, everyByte(len(stream))); fmt.Sprint(got) != fmt.Sprint(whole) {
		t.Fatalf("%q byte by byte: %v; in one piece: %v", stream, got, whole)
	}
	for cut := 1; cut < len(stream) && cut < 400; cut++ {
		if got := scanStream(sp, stream, []int{cut}); fmt.Sprint(got) != fmt.Sprint(whole) {
			t.Fatalf("%q cut at %d: %v; in one piece: %v", stream, cut, got, whole)
		}
	}
	return whole
}

func specFor(t testing.TB, c Config) *replySpec {
	t.Helper()
	c.Target = "127.0.0.1:80"
	sp := newReplySpec(c)
	if sp == nil {
		t.Fatalf("no reply spec for %+v", c)
	}
	return sp
}

func TestReplyRedisAndLine(t *testing.T) {
	redis := specFor(t, Config{Proto: traffic.Redis})
	line := specFor(t, Config{Proto: traffic.Line, Line: "version", Expect: "VERSION "})
	anyLine := specFor(t, Config{Proto: traffic.Line, Line: "ping"})
	tests := []struct {
		name   string
		sp     *replySpec
		stream string
		want   []verdict
		why    uint8 // of the last verdict
		quote  string
	}{
		{"pong", redis, "+PONG\r\n", []verdict{vDone}, 0, ""},
		{"pongs pipelined", redis, "+PONG\r\n+PONG\r\n+PONG\r\n", []verdict{vDone, vDone, vDone}, 0, ""},
		{"pong in part", redis, "+PON", nil, 0, ""},
		{"pong without CR", redis, "+PONG\n", []verdict{vWrong}, whyMismatch, `"+PONG"`},
		{"error", redis, "-ERR unknown command 'PING'\r\n", []verdict{vWrong}, whyMismatch, `redis replied "-ERR unknown command 'PING'" to PING`},
		{"pong then error", redis, "+PONG\r\n-NOAUTH Authentication required.\r\n", []verdict{vDone, vWrong}, whyMismatch, `"-NOAUTH Authentication required."`},
		{"bulk pong", redis, "$4\r\nPONG\r\n", []verdict{vWrong}, whyMismatch, `"$4"`},
		{"version CRLF", line, "VERSION 1.6.21\r\n", []verdict{vDone}, 0, ""},
		{"version LF", line, "VERSION 1.6.21\n", []verdict{vDone}, 0, ""},
		{"versions pipelined", line, "VERSION 1\r\nVERSION 2\nVERSION 3\r\n", []verdict{vDone, vDone, vDone}, 0, ""},
		{"wrong prefix", line, "ERROR\r\n", []verdict{vWrong}, whyPrefix, `line reply "ERROR" does not start with "VERSION "`},
		{"line shorter than prefix", line, "VERS\r\n", []verdict{vWrong}, whyPrefix, `"VERS"`},
		{"any line", anyLine, "\r\nPONG\n", []verdict{vDone, vDone}, 0, ""},
		{"line too long", anyLine, strings.Repeat("x", MaxReplyLine+10), []verdict{vWrong}, whyLineTooLong, "longer than 16384 bytes"},
		{"longest line", anyLine, strings.Repeat("x", MaxReplyLine-1) + "\n", []verdict{vDone}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkChunking(t, tt.sp, []byte(tt.stream))
			var vs []verdict
			for _, g := range got {
				vs = append(vs, g.v)
			}
			if fmt.Sprint(vs) != fmt.Sprint(tt.want) {
				t.Fatalf("verdicts %v; want %v", vs, tt.want)
			}
			if len(got) == 0 || got[len(got)-1].v == vDone {
				return
			}
			last := got[len(got)-1]
			if last.why != tt.why {
				t.Errorf("why %d; want %d", last.why, tt.why)
			}
			var s replyScan
			data := []byte(tt.stream)
			for {
				n, v := s.feed(tt.sp, data)
				if v != vDone {
					if msg := tt.sp.describe(&s, v, data, n); !strings.Contains(msg, tt.quote) {
						t.Errorf("describe = %s; want it to contain %s", msg, tt.quote)
					}
					break
				}
				s, data = replyScan{}, data[n:]
			}
		})
	}
}

func TestReplyHTTP(t *testing.T) {
	sp := specFor(t, Config{Proto: traffic.HTTP, Path: "/x"})
	if want := "GET /x HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"; string(sp.request) != want {
		t.Fatalf("request %q; want %q", sp.request, want)
	}
	ok := "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
	tests := []struct {
		name   string
		stream string
		want   []verdict
		why    uint8
		quote  string
	}{
		{"ok", ok, []verdict{vDone}, 0, ""},
		{"pipelined", ok + ok + ok, []verdict{vDone, vDone, vDone}, 0, ""},
		{"LF only", "HTTP/1.1 200 OK\ncontent-length: 2\n\nhi", []verdict{vDone}, 0, ""},
		{"no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", []verdict{vDone}, 0, ""},
		{"empty body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + ok, []verdict{vDone, vDone}, 0, ""},
		{"no content", "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n" + ok, []verdict{vDone, vDone}, 0, ""},
		{"length with spaces", "HTTP/1.1 200 OK\r\nContent-Length: \t 3 \r\n\r\nabc", []verdict{vDone}, 0, ""},
		{"body holding CRLFs", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\r\n\r\n", []verdict{vDone}, 0, ""},
		{"header names in any case", "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 1\r\nCONNECTION: Keep-Alive\r\n\r\nx", []verdict{vDone}, 0, ""},
		{"similar header names", "HTTP/1.1 200 OK\r\nContent-Lengthy: 9\r\nX-Content-Length: 9\r\nConnectionx: close\r\nContent-Length: 1\r\n\r\nx", []verdict{vDone}, 0, ""},
		{"connection close", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx", []verdict{vDoneClose}, 0, ""},
		{"connection close in a list", "HTTP/1.1 200 OK\r\nConnection: upgrade , Close\r\nContent-Length: 1\r\n\r\nx", []verdict{vDoneClose}, 0, ""},
		{"connection closed not close", "HTTP/1.1 200 OK\r\nConnection: closed, clo se\r\nContent-Length: 1\r\n\r\nx", []verdict{vDone}, 0, ""},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", []verdict{vDoneClose}, 0, ""},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", []verdict{vDone}, 0, ""},
		{"not found", "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", []verdict{vStatus}, 0, `status 404, want 2xx: "HTTP/1.1 404 Not Found"`},
		{"server error after ok", ok + "HTTP/1.1 500 Internal Server Error\r\n\r\n", []verdict{vDone, vStatus}, 0, "status 500"},
		{"redirect", "HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\n\r\n", []verdict{vStatus}, 0, "status 301"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", []verdict{vUnsupported}, whyTransferEncoding, "Transfer-Encoding (chunked)"},
		{"chunked with length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", []verdict{vUnsupported}, whyTransferEncoding, "chunked"},
		{"no length", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nuntil close", []verdict{vUnsupported}, whyNoLength, "without Content-Length"},
		{"HTTP/2", "HTTP/2 200\r\n\r\n", []verdict{vWrong}, whyVersion, "not an HTTP/1.0 or HTTP/1.1 status line"},
		{"echo of the request", "GET /x HTTP/1.1\r\n", []verdict{vWrong}, whyVersion, `"GET /x HTTP/1.1"`},
		{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", []verdict{vWrong}, whyStatusCode, ""},
		{"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", []verdict{vWrong}, whyStatusCode, ""},
		{"bare CR", "HTTP/1.1 200 OK\r\nContent-Length: 1\rX\r\n\r\nx", []verdict{vWrong}, whyBareCR, ""},
		{"folded header", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 1\r\n\r\nx", []verdict{vWrong}, whyFolding, ""},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", []verdict{vWrong}, whyHeaderName, ""},
		{"no colon", "HTTP/1.1 200 OK\r\nContent-Length 1\r\n\r\nx", []verdict{vWrong}, whyHeaderName, ""},
		{"empty name", "HTTP/1.1 200 OK\r\n: 1\r\n\r\nx", []verdict{vWrong}, whyHeaderName, ""},
		{"length not a number", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx", []verdict{vWrong}, whyLength, ""},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", []verdict{vWrong}, whyLength, ""},
		{"length with two numbers", "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nx", []verdict{vWrong}, whyLength, ""},
		{"empty length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", []verdict{vWrong}, whyLength, ""},
		{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", []verdict{vWrong}, whyLength, ""},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", []verdict{vWrong}, whyLengthTwice, "two Content-Length headers"},
		{"control character in a value", "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 1\r\n\r\nx", []verdict{vWrong}, whyHeaderName, ""},
		{"header section too long", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", MaxHTTPHeader) + "\r\n\r\n", []verdict{vWrong}, whyHeaderTooLong, ""},
		{"in part", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkChunking(t, sp, []byte(tt.stream))
			var vs []verdict
			for _, g := range got {
				vs = append(vs, g.v)
			}
			if fmt.Sprint(vs) != fmt.Sprint(tt.want) {
				t.Fatalf("verdicts %v; want %v", vs, tt.want)
			}
			if len(got) == 0 {
				return
			}
			last := got[len(got)-1]
			if last.v == vDone || last.v == vDoneClose {
				if last.end != len(tt.stream) {
					t.Errorf("last reply ended at %d; want the stream's end %d", last.end, len(tt.stream))
				}
				return
			}
			if last.why != tt.why {
				t.Errorf("why %d; want %d", last.why, tt.why)
			}
			var s replyScan
			data := []byte(tt.stream)
			for {
				n, v := s.feed(sp, data)
				if v != vDone {
					if msg := sp.describe(&s, v, data, n); !strings.Contains(msg, tt.quote) {
						t.Errorf("describe = %s; want it to contain %s", msg, tt.quote)
					}
					break
				}
				s, data = replyScan{}, data[n:]
			}
		})
	}
}

func TestQuoteLine(t *testing.T) {
	for _, tt := range []struct {
		data string
		at   int
		want string
	}{
		{"-ERR x\r\n", 0, `"-ERR x"`},
		{"+PONG\r\n-ERR x\r\n", 7, `"-ERR x"`},
		{"abc", 1, `"abc"`},
		{strings.Repeat("a", 100) + "b", 100, `…"` + strings.Repeat("a", 80) + `b"`},
		{"x" + strings.Repeat("a", 200), 0, `"x` + strings.Repeat("a", 159) + `"…`},
		{"", 0, `""`},
		{"abc", 9, `"abc"`},
	} {
		if got := quoteLine([]byte(tt.data), tt.at); got != tt.want {
			t.Errorf("quoteLine(%q, %d) = %s; want %s", tt.data, tt.at, got, tt.want)
		}
	}
}

// FuzzHTTPReply: the scanner finds the same whatever the reads' sizes,
// and every reply it accepts, net/http accepts too, with the same status,
// body length and keep-alive decision.
func FuzzHTTPReply(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhelloHTTP/1.1 200 OK\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length:1\n\nx",
	} {
		f.Add([]byte(seed), uint16(7))
	}
	sp := specFor(f, Config{Proto: traffic.HTTP})
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16) {
		whole := scanStream(sp, stream, nil)
		if got := scanStream(sp, stream, []int{int(cut) % (len(stream) + 1)}); fmt.Sprint(got) != fmt.Sprint(whole) {
			t.Fatalf("cut at %d: %v; in one piece: %v", int(cut)%(len(stream)+1), got, whole)
		}
		if len(stream) < 300 {
			if got := scanStream(sp, stream, everyByte(len(stream))); fmt.Sprint(got) != fmt.Sprint(whole) {
				t.Fatalf("byte by byte: %v; in one piece: %v", got, whole)
			}
		}
		start := 0
		for _, r := range whole {
			if r.v != vDone && r.v != vDoneClose {
				break
			}
			reply := stream[start:r.end]
			start = r.end
			req, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(reply)), req)
			if err != nil {
				t.Fatalf("scanner accepted %q; net/http: %v", reply, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("scanner accepted %q; net/http reading the body: %v", reply, err)
			}
			if resp.StatusCode != int(r.status) || resp.StatusCode/100 != 2 {
				t.Fatalf("%q: scanner status %d; net/http %d", reply, r.status, resp.StatusCode)
			}
			if !bytes.HasSuffix(reply, body) {
				t.Fatalf("%q: net/http's body %q is not where the scanner's reply ends", reply, body)
			}
			if resp.Close != (r.v == vDoneClose) {
				t.Fatalf("%q: scanner verdict %d; net/http Close = %v", reply, r.v, resp.Close)
			}
			if len(resp.TransferEncoding) > 0 {
				t.Fatalf("%q: scanner accepted a reply net/http reads as %v", reply, resp.TransferEncoding)
			}
		}
	})
}

// FuzzLineReply: the redis and line scanners find the same whatever the
// reads' sizes, and agree with the definitions they implement.
func FuzzLineReply(f *testing.F) {
	for _, seed := range []string{"+PONG\r\n", "+PONG\r\n+PONG\r\n", "-ERR x\r\n", "VERSION 1\r\nVERSION 2\n", "VERS\n", "\n"} {
		f.Add([]byte(seed), uint16(3), "VERSION ")
	}
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16, expect string) {
		if len(expect) > MaxLineLen || strings.ContainsAny(expect, "\r\n") {
			return
		}
		for _, sp := range []*replySpec{specFor(t, Config{Proto: traffic.Redis}), specFor(t, Config{Proto: traffic.Line, Line: "x", Expect: expect})} {
			whole := scanStream(sp, stream, nil)
			if got := scanStream(sp, stream, []int{int(cut) % (len(stream) + 1)}); fmt.Sprint(got) != fmt.Sprint(whole) {
				t.Fatalf("%s: cut at %d: %v; in one piece: %v", sp.proto, int(cut)%(len(stream)+1), got, whole)
			}
			start := 0
			for _, r := range whole {
				reply := stream[start:min(r.end, len(stream))]
				want := refLineVerdict(sp, stream[start:])
				if r.v != want {
					t.Fatalf("%s %q: scanner %d; want %d", sp.proto, reply, r.v, want)
				}
				if r.v != vDone {
					break
				}
				if sp.proto == traffic.Redis && string(reply) != redisPong {
					t.Fatalf("redis accepted %q", reply)
				}
				start = r.end
			}
		}
	})
}

// refLineVerdict is the verdict on the reply at the start of rest, from
// the definitions: redis wants exactly redisPong; a line reply is a line
// (to LF) starting with want, at most MaxReplyLine bytes.
func refLineVerdict(sp *replySpec, rest []byte) verdict {
	if sp.proto == traffic.Redis {
		if bytes.HasPrefix(rest, []byte(redisPong)) {
			return vDone
		}
		if bytes.HasPrefix([]byte(redisPong), rest) {
			return vMore
		}
		return vWrong
	}
	i := bytes.IndexByte(rest, '\n')
	line := rest
	if i >= 0 {
		line = rest[:i+1]
	}
	k := min(len(line), len(sp.want))
	if !bytes.Equal(line[:k], sp.want[:k]) {
		return vWrong
	}
	if i < 0 || i >= MaxReplyLine { // no LF where the line may end
		if len(rest) >= MaxReplyLine {
			return vWrong
		}
		return vMore
	}
	return vDone
}
