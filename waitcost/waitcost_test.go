package waitcost

import (
	"os"
	"path/filepath"
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
		{"calls", func(c *Config) { c.MaxCalls = 1 }, "-max-calls 1: below -min-"},
		{"hot calls", func(c *Config) { c.MaxCalls, c.Modes = 1, []string{ModeHot} }, "-max-calls 1: below -min-calls"},
		{"wake-ups", func(c *Config) { c.MinWakeups = 0 }, "-min-wakeups 0"},
		{"mode", func(c *Config) { c.Modes = []string{"cold"} }, `-mode: "cold" is not one of hot, blocking`},
		{"no mode", func(c *Config) { c.Modes = nil }, "-mode: empty"},
		{"table twice", func(c *Config) { c.Tables = []string{TableShared, TableShared} }, `-fd-table: "shared" given twice`},
		{"peer", func(c *Config) { c.PeerCPU = c.CPU }, "-peer-cpu 0: the same CPU as -cpu"},
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
	// Hot scan: 8 N × (1 low, 1 high, 10% low, 10% high, all), but at N
	// = 10 the two 10% cases are the k = 1 ones: 38 dense cases; the
	// blocking wake-up: one per N. Both with every sparse layout, in both
	// fd tables.
	if n, want := ok.Samples(), (8*5-2+8+2*len(ok.SparseTop))*2*ok.Repetitions; n != want {
		t.Errorf("Default samples %d; want %d", n, want)
	}
	hot := ok
	hot.Modes, hot.Tables, hot.MinWakeups = []string{ModeHot}, []string{TableShared}, 0
	if err := hot.Validate(); err != nil {
		t.Errorf("hot scan alone, no -min-wakeups: %v", err)
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

// TestReadSchema1 reads a version 1 record (testdata/v1: the head of the
// reference run of commit cc2587d) as version 2: every sample, point and
// fit a hot scan in the shared fd table, and refitting it works.
func TestReadSchema1(t *testing.T) {
	r, err := Read(filepath.Join("testdata", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != SchemaVersion || !slices.Equal(r.Config.Modes, []string{ModeHot}) || !slices.Equal(r.Config.Tables, []string{TableShared}) {
		t.Errorf("schema %d, modes %v, tables %v; want %d, [hot], [shared]", r.Schema, r.Config.Modes, r.Config.Tables, SchemaVersion)
	}
	for _, s := range r.Samples {
		if s.Mode != ModeHot || s.Table != TableShared || s.NsPerCall <= 0 {
			t.Errorf("sample %+v; want a hot scan in the shared table, with its figure", s)
		}
	}
	if f, ok := r.FitOf(r.Fits[0].Backend, ModeHot, TableShared); !ok || f.Idle == nil {
		t.Errorf("stored fit of %s not found as a hot scan in the shared table: %+v", r.Fits[0].Backend, r.Fits)
	}
	if r.MainTable() != TableShared || r.Has(ModeBlocking, TableShared) {
		t.Errorf("main table %q, blocking measured %v; want shared, false", r.MainTable(), r.Has(ModeBlocking, TableShared))
	}
	r.Complete()
	if len(r.Points) == 0 || len(r.Shared) != 0 {
		t.Errorf("refit: %d points, %d shared costs; want points, no shared cost", len(r.Points), len(r.Shared))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, File), []byte(`{"schema": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "schema 3") {
		t.Errorf("schema 3: %v; want an error naming it", err)
	}
}
