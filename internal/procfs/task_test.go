package procfs

import (
	"errors"
	"testing"
)

func TestParseTaskState(t *testing.T) {
	tests := []struct {
		in   string
		want byte
		bad  bool
	}{
		{"4242 (muxbench) S 1 4242 4242 0 -1 4194624 ...\n", 'S', false},
		{"7 (a (b) c) R 1 2\n", 'R', false}, // a command name with parentheses and spaces
		{"7 (x)) D 1\n", 'D', false},
		{"7 (x) t", 't', false},
		{"7 (x)", 0, true},
		{"7 (x) ", 0, true},
		{"7 (x)S 1", 0, true},
		{"7 (x) 1 2", 0, true},
		{"no parenthesis S", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseTaskState([]byte(tt.in))
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseTaskState(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestParseSyscall(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		running bool
		bad     bool
	}{
		{"271 0x7f00 0x3 0x0 0x0 0x8 0x0 0x7ffc 0x4a1b\n", 271, false, false}, // ppoll on amd64
		{"232 0x4 0xc000 0x80 0xffffffffffffffff 0x0 0x0 0x7ffc 0x4a1b\n", 232, false, false},
		{"-1 0x7ffc1234 0x4a1b\n", -1, false, false},
		{"running\n", 0, true, false},
		{"0 0x0 0x0", 0, false, false}, // read(2) is number 0 on amd64
		{"", 0, false, true},
		{"x 0x1", 0, false, true},
		{"12x 0x1", 0, false, true},
		{"-", 0, false, true},
		{"1234567890123 0x1", 0, false, true},
	}
	for _, tt := range tests {
		got, err := ParseSyscall([]byte(tt.in))
		if errors.Is(err, ErrTaskRunning) != tt.running || (err != nil && !tt.running) != tt.bad || got != tt.want {
			t.Errorf("ParseSyscall(%q) = %d, %v; want %d, running %v, error %v", tt.in, got, err, tt.want, tt.running, tt.bad)
		}
	}
}

// TestParseNoAlloc: the peer thread parses these in its probing loop,
// which must not allocate.
func TestParseNoAlloc(t *testing.T) {
	stat := []byte("4242 (muxbench) S 1 4242 4242 0 -1 4194624\n")
	sys := []byte("271 0x7f00 0x3 0x0 0x0 0x8 0x0 0x7ffc 0x4a1b\n")
	run := []byte("running\n")
	if n := testing.AllocsPerRun(100, func() {
		ParseTaskState(stat)
		ParseSyscall(sys)
		ParseSyscall(run)
	}); n != 0 {
		t.Errorf("%v allocations per parse; want 0", n)
	}
}

func FuzzParseTaskState(f *testing.F) {
	f.Add([]byte("1 (a) S 2"))
	f.Add([]byte("1 (a (b)) R"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseTaskState(b)
		if err == nil && (st < 'A' || st > 'z') {
			t.Errorf("ParseTaskState(%q) = %q with no error; want a letter", b, st)
		}
	})
}

func FuzzParseSyscall(f *testing.F) {
	f.Add([]byte("271 0x1 0x2"))
	f.Add([]byte("running"))
	f.Add([]byte("-1 0x1 0x2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		nr, err := ParseSyscall(b)
		if err == nil && (nr < -999999999 || nr > 999999999) {
			t.Errorf("ParseSyscall(%q) = %d: out of range", b, nr)
		}
	})
}
