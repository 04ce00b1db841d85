package loadgen

import (
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
)

func validConfig() Config {
	return Config{Target: "127.0.0.1:7000", Conns: 10, Active: 2, Rate: 100, Duration: time.Second}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr string // "" = valid
	}{
		{"valid open", func(c *Config) {}, ""},
		{"valid closed", func(c *Config) { c.Mode = traffic.Closed; c.Rate = 0 }, ""},
		{"valid idle only", func(c *Config) { c.Active = 0; c.Rate = 0 }, ""},
		{"valid sockperf", func(c *Config) { c.Proto = traffic.Sockperf; c.Size = 14 }, ""},
		{"no target", func(c *Config) { c.Target = "" }, "Target is empty"},
		{"target without port", func(c *Config) { c.Target = "localhost" }, "Target \"localhost\""},
		{"target port zero", func(c *Config) { c.Target = "127.0.0.1:0" }, "not a number in 1..65535"},
		{"target no host", func(c *Config) { c.Target = ":7000" }, "has no host"},
		{"no conns", func(c *Config) { c.Conns = 0 }, "Conns is 0"},
		{"active > conns", func(c *Config) { c.Active = 11 }, "Active is 11"},
		{"negative active", func(c *Config) { c.Active = -1 }, "Active is -1"},
		{"open without rate", func(c *Config) { c.Rate = 0 }, "Rate is 0: open loop needs"},
		{"closed with rate", func(c *Config) { c.Mode = traffic.Closed }, "leave Rate 0"},
		{"bad mode", func(c *Config) { c.Mode = "half" }, "Mode \"half\""},
		{"NaN rate", func(c *Config) { c.Rate = math.NaN() }, "finite"},
		{"bad proto", func(c *Config) { c.Proto = "gopher" }, "Proto \"gopher\": want echo, sockperf, redis, http or line"},
		{"valid redis", func(c *Config) { c.Proto = traffic.Redis; c.Pipeline = 16 }, ""},
		{"valid http", func(c *Config) { c.Proto = traffic.HTTP; c.Path = "/a/b?c=d%20e" }, ""},
		{"valid http default path", func(c *Config) { c.Proto = traffic.HTTP }, ""},
		{"valid line", func(c *Config) { c.Proto = traffic.Line; c.Line = "version"; c.Expect = "VERSION " }, ""},
		{"redis with size", func(c *Config) { c.Proto = traffic.Redis; c.Size = 64 }, "Size 64: proto redis sends its own fixed request"},
		{"line without line", func(c *Config) { c.Proto = traffic.Line }, "Line is empty"},
		{"line with CRLF", func(c *Config) { c.Proto = traffic.Line; c.Line = "get a\r\nget b" }, "control character"},
		{"line too long", func(c *Config) { c.Proto = traffic.Line; c.Line = strings.Repeat("x", MaxLineLen+1) }, "at most 4096"},
		{"line for echo", func(c *Config) { c.Line = "version" }, "only proto line sends a request line"},
		{"expect for redis", func(c *Config) { c.Proto = traffic.Redis; c.Expect = "+PONG" }, "only proto line checks"},
		{"expect with newline", func(c *Config) { c.Proto = traffic.Line; c.Line = "v"; c.Expect = "a\n" }, "Expect"},
		{"path for line", func(c *Config) { c.Proto = traffic.Line; c.Line = "v"; c.Path = "/" }, "only proto http sends a path"},
		{"relative path", func(c *Config) { c.Proto = traffic.HTTP; c.Path = "index.html" }, "absolute path"},
		{"path with space", func(c *Config) { c.Proto = traffic.HTTP; c.Path = "/a b" }, "without spaces"},
		{"sockperf too small", func(c *Config) { c.Proto = traffic.Sockperf; c.Size = 13 }, "at least 14 bytes"},
		{"size too big", func(c *Config) { c.Size = MaxSize + 1 }, "Size 1048577"},
		{"negative keepalive", func(c *Config) { c.KeepAlive = -time.Second }, "KeepAlive"},
		{"keepalive a flood", func(c *Config) { c.KeepAlive = time.Nanosecond }, "KeepAlive 1ns is not a trickle: want 0 (silent idle connections) or an interval of 100ms or more"},
		{"keepalive just under", func(c *Config) { c.KeepAlive = MinKeepAlive - 1 }, "is not a trickle"},
		{"valid keepalive", func(c *Config) { c.KeepAlive = MinKeepAlive }, ""},
		{"no duration", func(c *Config) { c.Duration = 0 }, "Duration 0s"},
		{"negative warmup", func(c *Config) { c.Warmup = -1 }, "Warmup"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "Timeout"},
		{"negative connect rate", func(c *Config) { c.ConnectRate = -5 }, "ConnectRate"},
		{"pipeline too deep", func(c *Config) { c.Pipeline = maxPipeline + 1 }, "Pipeline"},
		{"backwards ports", func(c *Config) { c.LocalPorts = PortRange{50000, 40000} }, "LocalPorts"},
		{"invalid source", func(c *Config) { c.SourceIPs = []netip.Addr{{}} }, "SourceIPs[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v; want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"5000", 5000, false},
		{"5000/1s", 5000, false},
		{"5000/s", 5000, false},
		{" 300/1m ", 5, false},
		{"1/500ms", 2, false},
		{"2.5e3", 2500, false},
		{"10/.5s", 20, false},
		{"", 0, true},
		{"0", 0, true},
		{"-5", 0, true},
		{"NaN", 0, true},
		{"Inf", 0, true},
		{"5000/0s", 0, true},
		{"5000/-1s", 0, true},
		{"5000/x", 0, true},
		{"5000/", 0, true},
		{"abc", 0, true},
		{"1e300/1ns", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseRate(%q) err = %v; want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && math.Abs(got-tt.want) > 1e-9*tt.want {
			t.Errorf("ParseRate(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"5000", "5000/1s", "300/1m", "50/s", "1/1h", "0", "-1", "1e400", "5/0s", "/", "1/1ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if r != 0 {
				t.Fatalf("ParseRate(%q) = %v with error %v; want 0", s, r, err)
			}
			return
		}
		if math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 || r > maxRate {
			t.Fatalf("ParseRate(%q) = %v; want a finite rate in (0, %g]", s, r, float64(maxRate))
		}
		// Whatever parses must be a valid Config rate.
		c := validConfig()
		c.Rate = r
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseRate(%q) = %v, which Validate rejects: %v", s, r, err)
		}
	})
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"2s", 2 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"1m30s", 90 * time.Second, false},
		{"0", 0, false},
		{" 1s ", time.Second, false},
		{"", 0, true},
		{"2", 0, true},
		{"-1s", 0, true},
		{"1 s", 0, true},
		{"1y", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDuration(%q) err = %v; want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("ParseDuration(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"2s", "500ms", "0", "-1s", "1h2m3.5s", "9999999999h", ".5us"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v; want >= 0", s, d)
		}
		// What String prints must parse back to the same duration.
		again, err := ParseDuration(d.String())
		if err != nil || again != d {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, d, d.String(), again, err)
		}
	})
}

func TestParseSourceIPs(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"127.0.0.1", "127.0.0.1", false},
		{"127.0.0.1, 127.0.0.2", "127.0.0.1 127.0.0.2", false},
		{"127.0.0.1-127.0.0.3", "127.0.0.1 127.0.0.2 127.0.0.3", false},
		{"127.0.0.254-127.0.1.1", "127.0.0.254 127.0.0.255 127.0.1.0 127.0.1.1", false},
		{"::1", "::1", false},
		{"", "", true},
		{"127.0.0.3-127.0.0.1", "", true},
		{"localhost", "", true},
		{"127.0.0.1-::1", "", true},
		{"10.0.0.0-10.255.255.255", "", true},
	}
	for _, tt := range tests {
		got, err := ParseSourceIPs(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSourceIPs(%q) err = %v; want error %v", tt.in, err, tt.wantErr)
			continue
		}
		var s []string
		for _, a := range got {
			s = append(s, a.String())
		}
		if err == nil && strings.Join(s, " ") != tt.want {
			t.Errorf("ParseSourceIPs(%q) = %v; want %v", tt.in, s, tt.want)
		}
	}
}

func FuzzParseSourceIPs(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "127.0.0.1-127.0.0.9", "::1,127.0.0.1", "1.2.3.4-1.2.3.3", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSourceIPs(s)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > 1<<16+1 {
			t.Fatalf("ParseSourceIPs(%q) returned %d addresses", s, len(got))
		}
		for _, a := range got {
			if !a.IsValid() {
				t.Fatalf("ParseSourceIPs(%q) returned an invalid address", s)
			}
		}
	})
}

func TestPlanSources(t *testing.T) {
	loop := netip.MustParseAddr("127.0.0.1")
	other := netip.MustParseAddr("10.1.2.3")
	given := []netip.Addr{netip.MustParseAddr("127.0.0.9")}
	tests := []struct {
		name   string
		target netip.Addr
		conns  int
		given  []netip.Addr
		ports  int
		want   int
	}{
		{"few conns, one address", loop, 100, nil, 28232, 1},
		{"1700 conns fit 1/16 of one range", loop, 1700, nil, 28232, 1},
		{"19000 conns spread over 11", loop, 19000, nil, 28232, 11},
		{"30000 conns need 18", loop, 30000, nil, 28232, 18},
		{"scaled down: 30 conns over 32 ports", loop, 30, nil, 32, 15},
		{"given wins", loop, 30000, given, 28232, 1},
		{"not loopback: kernel chooses", other, 30000, nil, 28232, 0},
		{"ipv6 loopback: kernel chooses", netip.IPv6Loopback(), 30000, nil, 28232, 0},
	}
	for _, tt := range tests {
		got := planSources(tt.target, tt.conns, tt.given, tt.ports)
		if len(got) != tt.want {
			t.Errorf("%s: planSources = %v; want %d addresses", tt.name, got, tt.want)
		}
		seen := map[netip.Addr]bool{}
		for _, a := range got {
			if seen[a] {
				t.Errorf("%s: address %v planned twice", tt.name, a)
			}
			seen[a] = true
		}
	}
}

func TestLoopbackSources(t *testing.T) {
	got := LoopbackSources(252)
	for i, want := range map[int]string{0: "127.0.0.1", 1: "127.0.0.2", 249: "127.0.0.250", 250: "127.0.1.1", 251: "127.0.1.2"} {
		if got[i].String() != want {
			t.Errorf("LoopbackSources(252)[%d] = %v; want %v", i, got[i], want)
		}
	}
}

func TestCodec(t *testing.T) {
	sp := codec{sockperf: true, size: 20}
	req := make([]byte, 20)
	resp := make([]byte, 20)
	sp.request(req, 3, 0)
	sp.response(resp, 3, 0)
	// Header as sockperf 3.7 puts it on the wire (seen with socat -x):
	// 00 00 00 00 00 00 00 01 | 00 03 | 00 00 00 14, reply flags 00 02.
	wantReq := []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 0, 0, 0, 20}
	wantResp := []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 20}
	if string(req[:14]) != string(wantReq) {
		t.Errorf("sockperf request header = % x; want % x", req[:14], wantReq)
	}
	if string(resp[:14]) != string(wantResp) {
		t.Errorf("sockperf response header = % x; want % x", resp[:14], wantResp)
	}
	if string(req[14:]) != string(resp[14:]) {
		t.Errorf("sockperf payload differs between request and expected echo")
	}
	echo := codec{size: 64}
	a, b, c := make([]byte, 64), make([]byte, 64), make([]byte, 64)
	echo.request(a, 1, 7)
	echo.request(b, 1, 8)
	echo.request(c, 2, 7)
	if string(a) == string(b) || string(a) == string(c) {
		t.Errorf("requests of different (conn, seq) are identical: a dropped or misrouted echo would go unnoticed")
	}
	// Every size must be fully filled and deterministic.
	for size := 1; size <= 70; size++ {
		x, y := make([]byte, size), make([]byte, size)
		codec{size: size}.request(x, 5, 9)
		codec{size: size}.response(y, 5, 9)
		if string(x) != string(y) {
			t.Fatalf("size %d: echo request and expected response differ", size)
		}
	}
}
