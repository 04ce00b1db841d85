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

// HTTP scanner states.
const (
	hVersion = iota // "HTTP/1." matched so far: pos bytes
	hMinor          // the version's minor digit
	hSpace          // the space before the status code
	hCode           // status code digits: pos of 3
	hReason         // after the code: a space and the reason phrase, to the line's end
	hName           // a header line: its name (pos bytes), or the empty line ending the headers
	hValue          // a header value, to the line's end
	hBody           // the body: clen bytes left
)

// Header-name candidates (replyScan.cand while in hName) and the header
// whose value is being read (replyScan.hdr while in hValue).
const (
	hdrContentLength = 1 << iota
	hdrTransferEncoding
	hdrConnection
)

// candidate is a name a token may turn out to be (lower-case), and its bit.
type candidate struct {
	bit  uint8
	name string
}

var httpHeaders = []candidate{{hdrContentLength, "content-length"}, {hdrTransferEncoding, "transfer-encoding"}, {hdrConnection, "connection"}}

// Connection-header tokens (replyScan.cand while in a Connection value).
const (
	tokClose = 1 << iota
	tokKeepAlive
	tokEnded // the token was followed by white space: more non-space makes it no match
)

var connTokens = []candidate{{tokClose, "close"}, {tokKeepAlive, "keep-alive"}}

// narrow returns the candidates of set (bits of list) whose name has b,
// case-folded, at pos: one byte of a token, matched against all at once.
func narrow(set uint8, list []candidate, pos uint32, b byte) uint8 {
	c := lower(b)
	for _, k := range list {
		if set&k.bit != 0 && (pos >= uint32(len(k.name)) || k.name[pos] != c) {
			set &^= k.bit
		}
	}
	return set
}

// matched returns the candidate of set (bits of list) whose whole name is
// the pos bytes matched, or 0.
func matched(set uint8, list []candidate, pos uint32) uint8 {
	for _, k := range list {
		if set&k.bit != 0 && pos == uint32(len(k.name)) {
			return k.bit
		}
	}
	return 0
}

// Flags of an HTTP reply being scanned.
const (
	fCR        = 1 << iota // the last byte was a CR: only LF may follow
	fHTTP10                // HTTP/1.0: the server closes unless it says keep-alive
	fLength                // Content-Length seen (value in clen)
	fTE                    // Transfer-Encoding seen
	fClose                 // Connection: close
	fKeepAlive             // Connection: keep-alive
	fDigits                // the Content-Length value being read has digits
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

// feedHTTP scans an HTTP/1.x reply: status line, headers, and a body of
// Content-Length bytes. Lines end in CRLF or a bare LF (as net/http
// accepts); a CR anywhere else in the header section is an error.
func (s *replyScan) feedHTTP(data []byte) (int, verdict) {
	for i := 0; i < len(data); i++ {
		if s.state == hBody {
			k := int64(len(data) - i)
			if k >= s.clen {
				return i + int(s.clen), s.end()
			}
			s.clen -= k
			return len(data), vMore
		}
		b := data[i]
		s.header++
		if s.header > MaxHTTPHeader {
			return s.fail(i, vWrong, whyHeaderTooLong)
		}
		if s.flags&fCR != 0 {
			if b != '\n' {
				return s.fail(i, vWrong, whyBareCR)
			}
			s.flags &^= fCR
		} else if b == '\r' {
			s.flags |= fCR
			continue
		}
		switch s.state {
		case hVersion:
			const prefix = "HTTP/1."
			if b != prefix[s.pos] {
				return s.fail(i, vWrong, whyVersion)
			}
			if s.pos++; s.pos == uint32(len(prefix)) {
				s.state, s.pos = hMinor, 0
			}
		case hMinor:
			switch b {
			case '0':
				s.flags |= fHTTP10
			case '1':
			default:
				return s.fail(i, vWrong, whyVersion)
			}
			s.state = hSpace
		case hSpace:
			if b != ' ' {
				return s.fail(i, vWrong, whyVersion)
			}
			s.state = hCode
		case hCode:
			if b < '0' || b > '9' {
				return s.fail(i, vWrong, whyStatusCode)
			}
			s.status = s.status*10 + uint16(b-'0')
			if s.pos++; s.pos == 3 {
				s.state, s.pos = hReason, 0
			}
		case hReason:
			switch {
			case b == '\n':
				if s.status/100 != 2 {
					return i, vStatus
				}
				s.state, s.pos, s.cand = hName, 0, 0
			case s.pos == 0 && b != ' ':
				return s.fail(i, vWrong, whyStatusCode) // a fourth digit, or no space
			case b < ' ' && b != '\t' || b == 0x7f:
				return s.fail(i, vWrong, whyStatusCode)
			default:
				s.pos++
			}
		case hName:
			if b == '\n' && s.pos == 0 { // the empty line: the headers ended
				if why := s.bodyFraming(); why != whyNone {
					return s.fail(i, vUnsupported, why)
				}
				if s.clen == 0 {
					return i + 1, s.end()
				}
				s.state = hBody
				continue
			}
			if why := s.name(b); why != whyNone {
				return s.fail(i, vWrong, why)
			}
		case hValue:
			if b == '\n' {
				if why := s.endValue(); why != whyNone {
					return s.fail(i, vWrong, why)
				}
				s.state, s.pos, s.cand = hName, 0, 0
				continue
			}
			if why := s.value(b); why != whyNone {
				return s.fail(i, vWrong, why)
			}
		}
	}
	return len(data), vMore
}

// name scans one byte of a header line's name, up to its colon; it
// returns why the byte is not allowed there.
func (s *replyScan) name(b byte) uint8 {
	switch {
	case b == ':':
		if s.pos == 0 {
			return whyHeaderName
		}
		s.hdr = matched(s.cand, httpHeaders, s.pos)
		s.state, s.pos, s.cand = hValue, 0, 0
		s.flags &^= fDigits
		s.acc = 0
		if s.hdr == hdrTransferEncoding {
			s.flags |= fTE
		}
		return whyNone
	case (b == ' ' || b == '\t') && s.pos == 0:
		return whyFolding // obsolete line folding (RFC 9112 5.2)
	case !isTokenChar(b):
		return whyHeaderName
	}
	if s.pos == 0 {
		s.cand = hdrContentLength | hdrTransferEncoding | hdrConnection
	}
	s.cand = narrow(s.cand, httpHeaders, s.pos, b)
	s.pos++
	return whyNone
}

// bodyFraming is called at the end of the headers of a 2xx reply: it sets
// clen to the body's length, or returns why the reply is framed in a way
// muxbench does not read.
func (s *replyScan) bodyFraming() uint8 {
	switch {
	case s.flags&fTE != 0:
		return whyTransferEncoding
	case s.status == 204: // No Content: never a body (RFC 9110 15.3.5)
		s.clen = 0
	case s.flags&fLength == 0:
		return whyNoLength
	}
	return whyNone
}

// value scans one byte of a header value: Content-Length's digits and
// Connection's tokens; other headers' values are skipped (a control
// character other than tab is an error in any of them).
func (s *replyScan) value(b byte) uint8 {
	if b < ' ' && b != '\t' || b == 0x7f {
		return whyHeaderName
	}
	switch s.hdr {
	case hdrContentLength:
		switch {
		case b >= '0' && b <= '9':
			if s.pos != 0 { // a digit after the number's trailing space
				return whyLength
			}
			s.flags |= fDigits
			s.acc = s.acc*10 + int64(b-'0')
			if s.acc > MaxHTTPBody {
				return whyLength
			}
		case b == ' ' || b == '\t':
			if s.flags&fDigits != 0 {
				s.pos = 1 // the number ended
			}
		default:
			return whyLength
		}
	case hdrConnection:
		switch {
		case b == ',':
			s.endToken()
		case b == ' ' || b == '\t':
			if s.pos > 0 {
				s.cand |= tokEnded
			}
		default:
			if s.pos == 0 {
				s.cand = tokClose | tokKeepAlive
			}
			if s.cand&tokEnded != 0 {
				s.cand = 0
			}
			s.cand = narrow(s.cand, connTokens, s.pos, b)
			s.pos++
		}
	}
	return whyNone
}

// endToken ends one token of a Connection value.
func (s *replyScan) endToken() {
	switch matched(s.cand, connTokens, s.pos) {
	case tokClose:
		s.flags |= fClose
	case tokKeepAlive:
		s.flags |= fKeepAlive
	}
	s.pos, s.cand = 0, 0
}

// endValue ends a header value at its line's end.
func (s *replyScan) endValue() uint8 {
	switch s.hdr {
	case hdrContentLength:
		if s.flags&fDigits == 0 {
			return whyLength
		}
		if s.flags&fLength != 0 {
			// Even the same value twice: a proxy that repeats it may
			// have merged two replies (RFC 9112 6.3); refusing is simplest.
			return whyLengthTwice
		}
		s.flags |= fLength
		s.clen = s.acc
	case hdrConnection:
		s.endToken()
	}
	return whyNone
}

// end is the verdict on a reply that ended well: does the server keep the
// connection open?
func (s *replyScan) end() verdict {
	if s.flags&fClose != 0 || s.flags&fHTTP10 != 0 && s.flags&fKeepAlive == 0 {
		return vDoneClose
	}
	return vDone
}

func (s *replyScan) fail(i int, v verdict, why uint8) (int, verdict) {
	s.why = why
	return i, v
}

// isTokenChar reports whether b may appear in an HTTP token (a header
// name): RFC 9110 5.6.2's tchar.
func isTokenChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	switch b {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
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
