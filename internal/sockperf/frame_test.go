package sockperf

import (
	"bytes"
	"errors"
	"testing"
)

func msg(seq uint64, flags uint16, payload int) []byte {
	b := make([]byte, HeaderLen+payload)
	PutHeader(b, Header{Seq: seq, Flags: flags, Len: uint32(len(b))})
	for i := HeaderLen; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

func TestAnswer(t *testing.T) {
	req := FlagClient | FlagPongRequest
	tests := []struct {
		name      string
		in        []byte
		wantOut   []byte
		wantUsed  int
		wantError bool
	}{
		{"empty", nil, nil, 0, false},
		{"partial header", msg(1, req, 6)[:10], nil, 0, false},
		{"partial body", msg(1, req, 6)[:15], nil, 0, false},
		{"one request", msg(1, req, 6), msg(1, FlagPongRequest, 6), 20, false},
		{"no pong request", msg(1, FlagClient, 6), nil, 20, false},
		{"warmup", msg(1, req|FlagWarmup, 6), nil, 20, false},
		{"two and a half", cat(msg(1, req, 0), msg(2, req, 2), msg(3, req, 6)[:3]),
			cat(msg(1, FlagPongRequest, 0), msg(2, FlagPongRequest, 2)), 30, false},
		{"length too small", cat(msg(1, req, 0)[:10], []byte{0, 0, 0, 13}), nil, 0, true},
	}
	for _, tt := range tests {
		out, used, err := Answer(nil, tt.in)
		if (err != nil) != tt.wantError {
			t.Errorf("%s: err = %v; want error %v", tt.name, err, tt.wantError)
		}
		if used != tt.wantUsed || !bytes.Equal(out, tt.wantOut) {
			t.Errorf("%s: Answer = %x, %d; want %x, %d", tt.name, out, used, tt.wantOut, tt.wantUsed)
		}
	}
}

func TestLengthError(t *testing.T) {
	b := msg(1, FlagPongRequest, 0)
	PutHeader(b, Header{Len: MaxLen + 1})
	_, _, err := ParseHeader(b)
	var le *LengthError
	if !errors.As(err, &le) || le.Len != MaxLen+1 {
		t.Fatalf("ParseHeader(len %d) err = %v; want *LengthError", MaxLen+1, err)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func FuzzAnswer(f *testing.F) {
	f.Add(msg(1, FlagClient|FlagPongRequest, 10))
	f.Add(cat(msg(1, FlagPongRequest, 0), msg(2, FlagWarmup, 3)))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, used, err := Answer(nil, in)
		if used < 0 || used > len(in) {
			t.Fatalf("used = %d outside [0, %d]", used, len(in))
		}
		if len(out) > used {
			t.Fatalf("replies (%d bytes) longer than consumed input (%d)", len(out), used)
		}
		// Everything consumed parses again as whole messages, with no error.
		if _, again, err2 := Answer(nil, in[:used]); again != used || err2 != nil {
			t.Fatalf("re-parse of consumed prefix: used %d, err %v; want %d, nil", again, err2, used)
		}
		if err == nil && used < len(in) {
			// What is left must be an incomplete message, never a complete one.
			if h, ok, _ := ParseHeader(in[used:]); ok && int(h.Len) <= len(in)-used {
				t.Fatalf("complete message of %d bytes left unconsumed", h.Len)
			}
		}
	})
}
