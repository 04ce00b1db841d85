package waitcost

import (
	"slices"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/results"
)

func TestParseReady(t *testing.T) {
	tests := []struct {
		in   string
		n, k int // k of n
		bad  bool
	}{
		{"1", 10, 1, false}, {"25", 10, 10, false}, {"10%", 19960, 1996, false}, {"10%", 3, 1, false},
		{"100%", 7, 7, false}, {"0.1%", 10, 1, false}, {"0", 0, 0, true}, {"-3", 0, 0, true},
		{"0%", 0, 0, true}, {"101%", 0, 0, true}, {"x", 0, 0, true}, {"%", 0, 0, true},
	}
	for _, tt := range tests {
		r, err := ParseReady(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("ParseReady(%q) error %v; want error %v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && r.K(tt.n) != tt.k {
			t.Errorf("ParseReady(%q).K(%d) = %d; want %d", tt.in, tt.n, r.K(tt.n), tt.k)
		}
	}
}

func TestCases(t *testing.T) {
	ready := Default.ReadySpecs()
	got := Cases(10, ready, []string{PositionLow, PositionHigh})
	// 10% of 10 is 1, the same case as k = 1; 100% is every fd, once.
	want := []Case{{1, PositionLow}, {1, PositionHigh}, {10, PositionAll}}
	if !slices.Equal(got, want) {
		t.Errorf("Cases(10) = %v; want %v", got, want)
	}
	if got := Cases(1000, ready, []string{PositionLow}); len(got) != 3 || got[1] != (Case{100, PositionLow}) {
		t.Errorf("Cases(1000, low) = %v; want k 1, 100, 1000", got)
	}
}

func TestValidate(t *testing.T) {
	ok := Default
	ok.Backends = []string{"poll"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Default: %v", err)
	}
	q := Quick
	q.Backends = []string{"poll"}
	if err := q.Validate(); err != nil {
		t.Fatalf("Quick: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no backends", func(c *Config) { c.Backends = nil }, "-backends"},
		{"nothing", func(c *Config) { c.FDs, c.SparseTop = nil, nil }, "nothing to measure"},
		{"zero fds", func(c *Config) { c.FDs = []int{0} }, "-fds 0"},
		{"position", func(c *Config) { c.Positions = []string{"mid"} }, `"mid" is not a position`},
		{"timeout", func(c *Config) { c.TimeoutMs = 10 }, "-timeout-ms 10"},
		{"calls", func(c *Config) { c.MaxCalls = 1 }, "-max-calls 1: below -min-calls"},
		{"sparse", func(c *Config) { c.SparseTop = []int{12} }, "-sparse-highest 12"},
		{"long sample", func(c *Config) { c.MaxTime *= 1000 }, "longer than a minute"},
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want an error with %q", tt.name, err, tt.want)
		}
	}
	if n := ok.Samples(); n != (8*5-2+len(ok.SparseTop))*ok.Repetitions {
		// 8 N × (1 low, 1 high, 10% low, 10% high, all), but at N = 10
		// the two 10% cases are the k = 1 ones: 38 dense cases.
		t.Errorf("Default samples %d; want %d", n, (8*5-2+len(ok.SparseTop))*ok.Repetitions)
	}
}

func TestSummarize(t *testing.T) {
	s := func(b string, rep int, ns float64, status string) Sample {
		return Sample{Backend: b, Layout: LayoutDense, N: 100, K: 1, Position: PositionLow, MaxFD: 109 + rep, Repetition: rep, Status: status, NsPerCall: ns}
	}
	pts := Summarize([]Sample{
		s("poll", 0, 30, results.StatusOK), s("epoll-lt", 0, 5, results.StatusOK),
		s("poll", 1, 10, results.StatusOK), s("epoll-lt", 1, 0, results.StatusFailed),
		s("poll", 2, 20, results.StatusOK), s("epoll-lt", 2, 7, results.StatusOK),
	}, []string{"epoll-lt", "poll"})
	if len(pts) != 2 || pts[0].Backend != "epoll-lt" || pts[1].Backend != "poll" {
		t.Fatalf("points %+v; want epoll-lt then poll", pts)
	}
	if p := pts[1]; p.NsPerCall != (Stat{20, 10, 30}) || p.Reps != 3 || p.Status != results.StatusOK || p.MaxFD != 111 {
		t.Errorf("poll %+v; want median 20 of 10–30, 3 ok reps, highest fd 111", p)
	}
	if p := pts[0]; p.Status != results.StatusFailed || p.Reps != 2 || p.NsPerCall.Median != 6 {
		t.Errorf("epoll-lt %+v; want failed (worst), median 6 of the 2 ok reps", p)
	}
}
