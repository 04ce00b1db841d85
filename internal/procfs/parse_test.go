package procfs

import "testing"

func TestParseInt(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{{"4096\n", 4096, false}, {" 128 ", 128, false}, {"", 0, true}, {"4096 1", 0, true}, {"x", 0, true}}
	for _, tt := range tests {
		got, err := ParseInt([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in      string
		lo, hi  uint16
		wantErr bool
	}{
		{"32768\t60999\n", 32768, 60999, false},
		{"1024 1024", 1024, 1024, false},
		{"60999 32768", 0, 0, true},
		{"0 10", 0, 0, true},
		{"1 70000", 0, 0, true},
		{"1", 0, 0, true},
		{"", 0, 0, true},
	}
	for _, tt := range tests {
		lo, hi, err := ParsePortRange([]byte(tt.in))
		if (err != nil) != tt.wantErr || lo != tt.lo || hi != tt.hi {
			t.Errorf("ParsePortRange(%q) = %d, %d, %v; want %d, %d, error %v", tt.in, lo, hi, err, tt.lo, tt.hi, tt.wantErr)
		}
	}
}

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{{"123456789 2345 67\n", 123456789, false}, {"0 0 0", 0, false}, {"", 0, true}, {"x 1 2", 0, true}, {"-5 1 2", 0, true}}
	for _, tt := range tests {
		got, err := ParseSchedstat([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSchedstat(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseThreads(t *testing.T) {
	const status = "Name:\tmuxbench\nUmask:\t0022\nState:\tS (sleeping)\nThreads:\t7\nSigQ:\t0/63448\n"
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{{status, 7, false}, {"Name:\tx\n", 0, true}, {"Threads:\tmany\n", 0, true}, {"", 0, true}}
	for _, tt := range tests {
		got, err := ParseThreads([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseThreads(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseCPUModel(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"x86", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n",
			"Intel(R) Xeon(R) CPU @ 2.20GHz"},
		{"spaces inside kept", "model name\t: AMD EPYC  7B13  64-Core Processor  \n", "AMD EPYC  7B13  64-Core Processor"},
		{"colon in the name", "model name\t: Foo: Bar\n", "Foo: Bar"},
		{"POWER", "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\n", "POWER9 (architected), altivec supported"},
		{"RISC-V uarch", "processor\t: 0\nisa\t\t: rv64imafdc\nuarch\t\t: sifive,u74-mc\n", "sifive,u74-mc"},
		{"arm64 names none", "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := ParseCPUModel([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: ParseCPUModel = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzParseCPUModel(f *testing.F) {
	f.Add("model name\t: x\n")
	f.Fuzz(func(t *testing.T, s string) { ParseCPUModel([]byte(s)) })
}

func FuzzParsePortRange(f *testing.F) {
	f.Add("32768\t60999\n")
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi, err := ParsePortRange([]byte(s))
		if err == nil && (lo == 0 || hi < lo) {
			t.Errorf("ParsePortRange(%q) = %d, %d: accepted an invalid range", s, lo, hi)
		}
	})
}

func FuzzParseSchedstat(f *testing.F) {
	f.Add("123 4 5\n")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSchedstat([]byte(s)); err == nil && n < 0 {
			t.Errorf("ParseSchedstat(%q) = %d: negative", s, n)
		}
	})
}
