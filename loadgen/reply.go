package loadgen

import (
	"fmt"
	"strconv"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Request/reply protocols (traffic.Redis, HTTP, Line): the reply is not an
// echo of the request, so every request is the same fixed bytes, built
// once per run, and every reply is checked by replyScan, a streaming
// scanner that keeps a few counters and never buffers: a reply split over
// any number of reads, and several replies in one read (pipelining), scan
// alike, without allocating.

// The redis exchange: PING as a RESP array of one bulk string (what
// redis-cli sends), and the only reply accepted.
const (
	redisPing = "*1\r\n$4\r\nPING\r\n"
	redisPong = "+PONG\r\n"
)

// Limits on what the request/reply protocols send and accept.
const (
	// MaxLineLen bounds Config.Line, Config.Expect and Config.Path: a
	// request line, not a payload.
	MaxLineLen = 4096
	// MaxReplyLine bounds one reply line of the line protocol, terminator
	// included; a longer one is a wrong reply.
	MaxReplyLine = 16 << 10
	// MaxHTTPHeader bounds an HTTP reply's status line and headers; a
	// longer header section is a wrong reply.
	MaxHTTPHeader = 64 << 10
	// MaxHTTPBody bounds an HTTP reply's Content-Length. The body is read
	// and dropped, never kept; the bound only catches a garbled length.
	MaxHTTPBody = 1 << 40
	// DefaultPath is the path an HTTP run GETs when Config.Path is empty.
	DefaultPath = "/"
)

// replySpec is what one run of a request/reply protocol sends and accepts.
type replySpec struct {
	proto   traffic.Proto
	request []byte // one request, as written
	want    []byte // redis: the whole reply; line: the reply's required prefix (may be empty)
	target  string // for ReplyError
	path    string // http: the path, for messages
}

// newReplySpec returns the spec of c's protocol, or nil for an echoing
// protocol (echo, sockperf), which the codec serves.
func newReplySpec(c Config) *replySpec {
	if c.proto().Echoes() {
		return nil
	}
	s := &replySpec{proto: c.proto(), target: c.Target}
	switch s.proto {
	case traffic.Redis:
		s.request, s.want = []byte(redisPing), []byte(redisPong)
	case traffic.HTTP:
		s.path = c.path()
		s.request = []byte("GET " + s.path + " HTTP/1.1\r\nHost: " + c.Target + "\r\n\r\n")
	case traffic.Line:
		s.request, s.want = []byte(c.Line+"\r\n"), []byte(c.Expect)
	default:
		return nil
	}
	return s
}

// verdict is what replyScan.feed found.
type verdict uint8

const (
	vMore        verdict = iota // the reply is incomplete: every byte given was used
	vDone                       // one valid reply ended
	vDoneClose                  // HTTP: one valid reply ended, and the server will close the connection
	vWrong                      // not a valid reply of the protocol: ErrKindWrongReply
	vStatus                     // HTTP: a well-formed reply with a status other than 2xx: ErrKindHTTPStatus
	vUnsupported                // HTTP: framing muxbench does not read (Transfer-Encoding, no Content-Length): the run stops
)

// Why a reply was wrong or unsupported (replyScan.why), for messages.
const (
	whyNone uint8 = iota
	whyMismatch
	whyPrefix
	whyLineTooLong
	whyVersion
	whyStatusCode
	whyBareCR
	whyFolding
	whyHeaderName
	whyHeaderTooLong
	whyLength
	whyLengthTwice
	whyTransferEncoding
	whyNoLength
)

// replyScan is the state of one reply being read. Its zero value expects a
// reply's first byte; after vDone or vDoneClose the caller resets it.
type replyScan struct {
	state  uint8
	flags  uint8
	cand   uint8  // header-name or Connection-token candidates still matching
	hdr    uint8  // the header whose value is being read (hdr* bit), 0 = any other
	why    uint8  // what was wrong, with vWrong and vUnsupported
	pos    uint32 // bytes matched in the current token, or of the current line
	status uint16
	header uint32 // bytes of the status line and headers so far
	clen   int64  // Content-Length, then body bytes left
	acc    int64  // the Content-Length value being read
}

// feed scans data, the next bytes of the stream, for the current reply.
// With vMore it used all of data; with vDone or vDoneClose the reply ended
// after data[:n]; with an error verdict data[n] is where it went wrong
// (n may be len(data) when a limit was passed).
func (s *replyScan) feed(sp *replySpec, data []byte) (n int, v verdict) {
	if sp.proto == traffic.HTTP {
		return s.feedHTTP(data)
	}
	return s.feedLine(sp, data)
}

// feedLine scans a redis reply (exactly sp.want) or a line reply (a line
// starting with sp.want, ended by LF or CRLF, at most MaxReplyLine bytes).
func (s *replyScan) feedLine(sp *replySpec, data []byte) (int, verdict) {
	exact := sp.proto == traffic.Redis
	for i, b := range data {
		p := s.pos
		s.pos++
		switch {
		case p < uint32(len(sp.want)):
			if b != sp.want[p] {
				s.why = whyPrefix
				if exact {
					s.why = whyMismatch
				}
				return i, vWrong
			}
			if exact && s.pos == uint32(len(sp.want)) {
				return i + 1, vDone
			}
		case b == '\n':
			return i + 1, vDone
		case s.pos >= MaxReplyLine:
			s.why = whyLineTooLong
			return i, vWrong
		}
	}
	return len(data), vMore
}

// describe says what was wrong with a reply that scanned to verdict v
// (vWrong, vStatus, vUnsupported, vDoneClose) at data[at]: s is the
// scanner as it stopped, data the bytes of the read it stopped in, whose
// line around data[at] it quotes. Only called on an error, so its
// allocations are not per request.
func (sp *replySpec) describe(s *replyScan, v verdict, data []byte, at int) string {
	quote := quoteLine(data, at)
	switch sp.proto {
	case traffic.Redis:
		return fmt.Sprintf("redis replied %s to PING (want %q)", quote, redisPong)
	case traffic.Line:
		if s.why == whyLineTooLong {
			return fmt.Sprintf("line reply longer than %d bytes without a newline: %s", MaxReplyLine, quote)
		}
		return fmt.Sprintf("line reply %s does not start with %q", quote, sp.want)
	}
	switch v {
	case vStatus:
		return fmt.Sprintf("GET %s: status %03d, want 2xx: %s", sp.path, s.status, quote)
	case vDoneClose:
		return fmt.Sprintf("GET %s: the server closes the connection after its reply (Connection: close, or HTTP/1.0 without keep-alive)", sp.path)
	}
	what := map[uint8]string{
		whyVersion:          "not an HTTP/1.0 or HTTP/1.1 status line",
		whyStatusCode:       "a status code that is not 3 digits and a space",
		whyBareCR:           "a CR not followed by LF",
		whyFolding:          "a folded header line (obsolete, RFC 9112 5.2)",
		whyHeaderName:       "a malformed header line",
		whyHeaderTooLong:    fmt.Sprintf("a header section longer than %d bytes", MaxHTTPHeader),
		whyLength:           fmt.Sprintf("a Content-Length that is not a number up to %d", int64(MaxHTTPBody)),
		whyLengthTwice:      "two Content-Length headers",
		whyTransferEncoding: "a body with Transfer-Encoding (chunked)",
		whyNoLength:         "a body without Content-Length (read until the connection closes)",
	}[s.why]
	if v == vUnsupported {
		return fmt.Sprintf("GET %s: %s", sp.path, what)
	}
	return fmt.Sprintf("GET %s: malformed HTTP reply, %s, at %s", sp.path, what, quote)
}

// describeUnsolicited says what arrived when no reply was due.
func describeUnsolicited(data []byte) string {
	return fmt.Sprintf("%d bytes when no reply was due: %s", len(data), quoteLine(data, 0))
}

// quoteLine quotes the line of data around data[at]: from the line's start
// (within 80 bytes before at) to its end (at most 80 bytes after that),
// without the CRLF; "…" marks what was left out.
func quoteLine(data []byte, at int) string {
	at = min(at, len(data))
	start := at
	for start > 0 && data[start-1] != '\n' && at-start < 80 {
		start--
	}
	end := start
	for end < len(data) && data[end] != '\n' && end-start < 160 {
		end++
	}
	more := end < len(data) && data[end] != '\n'
	line := data[start:end]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	q := strconv.Quote(string(line))
	if start > 0 && data[start-1] != '\n' {
		q = "…" + q
	}
	if more {
		q += "…"
	}
	return q
}

// ReplyError is a reply framed in a way the load generator does not read:
// an HTTP body with Transfer-Encoding (chunked) or without Content-Length.
// No reply after it on that connection could be found, so Run stops at the
// first one and returns it.
type ReplyError struct {
	Target string
	Detail string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("the server at %s: %s: muxbench reads only replies with a Content-Length body; configure a fixed-length body (nginx: `return 200 \"...\";` or a static file; not a proxied or streamed one)",
		e.Target, e.Detail)
}
