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

func TestParseSlabinfo(t *testing.T) {
	text := []byte(`slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
TCP                   92    143   2368   13    8 : tunables    0    0    0 : slabdata     11     11      0
eventpoll_epi      19241  46176    128   32    1 : tunables    0    0    0 : slabdata   1443   1443      0
`)
	got, err := ParseSlabinfo(text)
	if err != nil {
		t.Fatal(err)
	}
	if c := got["eventpoll_epi"]; c.ActiveObjs != 19241 || c.ObjSize != 128 || c.Bytes() != 19241*128 {
		t.Errorf("eventpoll_epi = %+v; want 19241 objects of 128 B", c)
	}
	if c := got["TCP"]; c.ActiveObjs != 92 || c.ObjSize != 2368 {
		t.Errorf("TCP = %+v; want 92 objects of 2368 B", c)
	}
	for _, bad := range []string{"", "slabinfo - version: 2.1\n", "TCP x 143 2368\n", "TCP 92\n"} {
		if _, err := ParseSlabinfo([]byte(bad)); err == nil {
			t.Errorf("ParseSlabinfo(%q) = nil error; want one", bad)
		}
	}
}

func TestParseSockstatTCPMem(t *testing.T) {
	got, err := ParseSockstatTCPMem([]byte("sockets: used 23\nTCP: inuse 10 orphan 0 tw 17763 alloc 10 mem 330\nUDP: inuse 0 mem 0\n"))
	if err != nil || got != 330 {
		t.Errorf("ParseSockstatTCPMem = %d, %v; want 330", got, err)
	}
	for _, bad := range []string{"UDP: inuse 0 mem 0\n", "TCP: inuse 10\n", "TCP: mem x\n"} {
		if _, err := ParseSockstatTCPMem([]byte(bad)); err == nil {
			t.Errorf("ParseSockstatTCPMem(%q) = nil error; want one", bad)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := ParseVmRSS([]byte("Name:\tmuxbench\nVmRSS:\t   12345 kB\nThreads:\t4\n"))
	if err != nil || got != 12345 {
		t.Errorf("ParseVmRSS = %d, %v; want 12345", got, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n"} {
		if _, err := ParseVmRSS([]byte(bad)); err == nil {
			t.Errorf("ParseVmRSS(%q) = nil error; want one", bad)
		}
	}
}
