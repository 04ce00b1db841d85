package procfs

import (
	"os"
	"path/filepath"
	"testing"
)

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

// TestFixtures parses files captured from a Linux 6.18 VM (testdata/):
// the values below are the ones the files hold.
func TestFixtures(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got, err := ParseTCPMem(read("tcp_mem")); err != nil || got != [3]int64{287889, 383855, 575778} {
		t.Errorf("ParseTCPMem(tcp_mem) = %v, %v; want [287889 383855 575778]", got, err)
	}
	if got, err := ParseMemAvailable(read("meminfo")); err != nil || got != 24012016 {
		t.Errorf("ParseMemAvailable(meminfo) = %d, %v; want 24012016", got, err)
	}
	caches, err := ParseSlabinfo(read("slabinfo"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]SlabCache{
		"TCP": {45, 2368}, "sock_inode_cache": {237, 832}, "filp": {1676, 192}, "dentry": {63212, 192}, "eventpoll_epi": {29625, 128},
	} {
		if got := caches[name]; got != want {
			t.Errorf("slabinfo %s = %+v; want %+v", name, got, want)
		}
	}
	if len(caches) != 235 {
		t.Errorf("slabinfo: %d caches; want 235 (237 lines less the two headers)", len(caches))
	}
}

func TestParseTCPMem(t *testing.T) {
	if got, err := ParseTCPMem([]byte("188 251\t376\n")); err != nil || got != [3]int64{188, 251, 376} {
		t.Errorf("ParseTCPMem = %v, %v; want [188 251 376]", got, err)
	}
	for _, bad := range []string{"", "1 2", "1 2 3 4", "1 2 x", "1 -2 3"} {
		if _, err := ParseTCPMem([]byte(bad)); err == nil {
			t.Errorf("ParseTCPMem(%q): nil error; want one", bad)
		}
	}
}

func TestParseMemAvailable(t *testing.T) {
	if got, err := ParseMemAvailable([]byte("MemTotal: 100 kB\nMemAvailable:   2048 kB\n")); err != nil || got != 2048 {
		t.Errorf("ParseMemAvailable = %d, %v; want 2048", got, err)
	}
	for _, bad := range []string{"MemTotal: 100 kB\n", "MemAvailable: 12 MB\n", "MemAvailable: x kB\n", "MemAvailable: -1 kB\n", "MemAvailable:\n"} {
		if _, err := ParseMemAvailable([]byte(bad)); err == nil {
			t.Errorf("ParseMemAvailable(%q): nil error; want one", bad)
		}
	}
}

func TestParseUint(t *testing.T) {
	if got, err := ParseUint([]byte("9223372036854775807\n")); err != nil || got != 9223372036854775807 {
		t.Errorf("ParseUint(file-max) = %d, %v", got, err)
	}
	for _, bad := range []string{"", "-1", "1 2", "x"} {
		if _, err := ParseUint([]byte(bad)); err == nil {
			t.Errorf("ParseUint(%q): nil error; want one", bad)
		}
	}
}

func FuzzParseTCPMem(f *testing.F) {
	f.Add("188 251\t376\n")
	f.Add("1 2")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTCPMem([]byte(s))
		if err == nil && (got[0] < 0 || got[1] < 0 || got[2] < 0) {
			t.Errorf("ParseTCPMem(%q) = %v: a negative page count", s, got)
		}
		if err != nil && got != [3]int64{} {
			t.Errorf("ParseTCPMem(%q) = %v with error %v: want zeros", s, got, err)
		}
	})
}

func FuzzParseMemAvailable(f *testing.F) {
	f.Add("MemTotal: 100 kB\nMemAvailable:   2048 kB\n")
	f.Add("MemAvailable: 1 MB\n")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseMemAvailable([]byte(s)); err == nil && n < 0 {
			t.Errorf("ParseMemAvailable(%q) = %d: negative", s, n)
		}
	})
}

func FuzzParseSlabinfo(f *testing.F) {
	f.Add("slabinfo - version: 2.1\nTCP 92 143 2368 13 8 : tunables 0 0 0\n")
	f.Add("TCP 92\n")
	f.Fuzz(func(t *testing.T, s string) {
		caches, err := ParseSlabinfo([]byte(s))
		if err == nil && len(caches) == 0 {
			t.Errorf("ParseSlabinfo(%q): no caches and no error", s)
		}
	})
}

func FuzzParseUint(f *testing.F) {
	f.Add("1048576\n")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseUint([]byte(s))
		if err != nil && n != 0 {
			t.Errorf("ParseUint(%q) = %d with error %v; want 0", s, n, err)
		}
	})
}
