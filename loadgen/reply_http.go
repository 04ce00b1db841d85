package loadgen

// replyScan's HTTP/1.x reply scanner: its states, the headers and tokens
// it looks for, and the byte-at-a-time scan of status line, headers and
// body.

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
