// Package sockperf implements the TCP framing of the sockperf latency tool
// (https://github.com/Mellanox/sockperf), so muxbench's server can answer
// `sockperf ping-pong --tcp` and muxbench's load generator can drive
// `sockperf server --tcp`.
//
// Every message starts with a 14-byte header, all big-endian:
//
//	offset 0  u64 sequence number
//	offset 8  u16 flags (FlagClient, FlagPongRequest, FlagWarmup)
//	offset 10 u32 total message length, header included
//
// A server replies only to messages with FlagPongRequest set and FlagWarmup
// clear, echoing the whole message with FlagClient cleared. (Checked against
// sockperf 3.7 on the wire: request flags 0x0003, reply 0x0002.)
package sockperf

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the size of the sockperf message header.
const HeaderLen = 14

// MaxLen is the largest message length accepted, header included. sockperf's
// own limit for -m is 65,507 payload bytes (a UDP datagram); anything larger is
// treated as a corrupt stream.
const MaxLen = 65536

// Message flags.
const (
	FlagClient      uint16 = 0x1
	FlagPongRequest uint16 = 0x2
	FlagWarmup      uint16 = 0x4
)

// Header is a decoded message header.
type Header struct {
	Seq   uint64
	Flags uint16
	Len   uint32 // total length including the header
}

// LengthError reports a header whose length field is outside [HeaderLen, MaxLen].
type LengthError struct {
	Len uint32
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("sockperf frame length %d outside [%d, %d]: not a sockperf stream, or corrupt", e.Len, HeaderLen, MaxLen)
}

// ParseHeader decodes the header at the start of b. It returns ok == false
// when b holds fewer than HeaderLen bytes, and a *LengthError when the
// length field is out of range.
func ParseHeader(b []byte) (h Header, ok bool, err error) {
	if len(b) < HeaderLen {
		return Header{}, false, nil
	}
	h = Header{
		Seq:   binary.BigEndian.Uint64(b[0:8]),
		Flags: binary.BigEndian.Uint16(b[8:10]),
		Len:   binary.BigEndian.Uint32(b[10:14]),
	}
	if h.Len < HeaderLen || h.Len > MaxLen {
		return h, true, &LengthError{Len: h.Len}
	}
	return h, true, nil
}

// PutHeader encodes h into the first HeaderLen bytes of b.
func PutHeader(b []byte, h Header) {
	binary.BigEndian.PutUint64(b[0:8], h.Seq)
	binary.BigEndian.PutUint16(b[8:10], h.Flags)
	binary.BigEndian.PutUint32(b[10:14], h.Len)
}

// WantsReply reports whether a server must answer a message with these flags.
func WantsReply(flags uint16) bool {
	return flags&FlagPongRequest != 0 && flags&FlagWarmup == 0
}

// MarkReply turns the message starting at b (header included) into its
// reply in place by clearing FlagClient.
func MarkReply(b []byte) {
	f := binary.BigEndian.Uint16(b[8:10])
	binary.BigEndian.PutUint16(b[8:10], f&^FlagClient)
}

// Answer processes the complete messages at the start of in and appends the
// replies to out, returning out and the number of bytes of in consumed (a
// trailing partial message is left for the caller to complete). It stops at
// the first malformed header and returns its error.
func Answer(out, in []byte) ([]byte, int, error) {
	used := 0
	for {
		h, ok, err := ParseHeader(in[used:])
		if err != nil {
			return out, used, err
		}
		if !ok || len(in)-used < int(h.Len) {
			return out, used, nil
		}
		msg := in[used : used+int(h.Len)]
		if WantsReply(h.Flags) {
			start := len(out)
			out = append(out, msg...)
			MarkReply(out[start:])
		}
		used += int(h.Len)
	}
}
