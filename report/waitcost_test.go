package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

// waitcostRecord is a synthetic sweep: select linear up to FD_SETSIZE and
// unsupported above, poll superlinear, epoll flat, each point measured the
// same in 5 repetitions.
func waitcostRecord() *waitcost.Record {
	cfg := waitcost.Default
	cfg.Backends = []string{"select", "poll", "epoll-lt"}
	cost := map[string]func(n, k, top float64) float64{
		"select":   func(n, k, top float64) float64 { return 200 + 50*math.Max(n, top) },
		"poll":     func(n, k, top float64) float64 { return 300 + 48*n*math.Pow(n/1000, 0.5) },
		"epoll-lt": func(n, k, top float64) float64 { return 200 + 200*(k-1) },
	}
	rec := &waitcost.Record{Schema: waitcost.SchemaVersion, Config: cfg, Env: results.Environment{Kernel: "6.1", CPUModel: "Test CPU", Cores: 2, GoVersion: "go1.26"}}
	add := func(s waitcost.Sample) {
		for rep := 0; rep < cfg.Repetitions; rep++ {
			s.Repetition = rep
			if s.Backend == "select" && s.MaxFD >= 1024 {
				s.Status, s.Reason = results.StatusUnsupported, "highest fd ≥ 1024, the most select can watch (FD_SETSIZE for select)"
			} else {
				s.Status, s.NsPerCall = results.StatusOK, cost[s.Backend](float64(s.N), float64(s.K), float64(s.Top))*(1+0.01*float64(rep-cfg.Repetitions/2))
			}
			rec.Samples = append(rec.Samples, s)
		}
	}
	for _, b := range cfg.Backends {
		for _, n := range cfg.FDs {
			for _, c := range waitcost.Cases(n, cfg.ReadySpecs(), cfg.Positions) {
				add(waitcost.Sample{Backend: b, Layout: waitcost.LayoutDense, N: n, K: c.K, Position: c.Position, MaxFD: n + 9})
			}
		}
		for _, top := range cfg.SparseTop {
			add(waitcost.Sample{Backend: b, Layout: waitcost.LayoutSparse, N: 10, K: 1, Position: waitcost.PositionLow, MaxFD: top, Top: top})
		}
	}
	rec.Complete()
	return rec
}

func TestWaitcostCharts(t *testing.T) {
	rec := waitcostRecord()
	charts := WaitcostCharts(rec)
	if len(charts) != 2 || charts[0].Name != "waitcost" || charts[1].Name != "waitcost-sparse" {
		t.Fatalf("charts %v; want waitcost and waitcost-sparse", chartNames(charts))
	}
	dense := charts[0]
	if len(dense.Panels) != 3 || !strings.Contains(dense.Panels[2].Title, "every fd ready") {
		t.Fatalf("dense panels %d; want lowest, highest, every fd ready", len(dense.Panels))
	}
	for _, pan := range dense.Panels {
		if !pan.LogY || !pan.Micros || len(pan.Series) != 3 {
			t.Errorf("panel %q: logY %v, micros %v, %d series; want log µs, 3 backends", pan.Title, pan.LogY, pan.Micros, len(pan.Series))
		}
	}
	sel := dense.Panels[0].Series[0]
	if sel.Backend != "select" || len(sel.Points) != len(rec.Config.FDs) {
		t.Fatalf("first series %q with %d points; want select at every N", sel.Backend, len(sel.Points))
	}
	stops := sel.Stops(true)
	if len(stops) != 1 || stops[0].FDs != 3000 || stops[0].Label != "FD_SETSIZE" {
		t.Errorf("select stops %+v; want one at 3000 labelled FD_SETSIZE", stops)
	}
	// 10 fds, one ready: 200 + 50·10 ns, in µs.
	if p := sel.Points[0]; p.FDs != 10 || math.Abs(p.Y-0.7) > 1e-9 || p.Min >= p.Y || p.Max <= p.Y {
		t.Errorf("select at 10 fds: %+v; want median 0.7 µs between min and max", p)
	}
	if sp := charts[1]; sp.Panels[0].Series[0].Points[0].FDs != 30 {
		t.Errorf("sparse x %d; want the highest fd number asked for, 30", sp.Panels[0].Series[0].Points[0].FDs)
	}
	var svg bytes.Buffer
	if err := dense.Render(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"waitcost: ns per wait call vs watched fds", "epoll-lt", "FD_SETSIZE"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func chartNames(cs []*Chart) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestWaitcostMarkdown(t *testing.T) {
	rec := waitcostRecord()
	var b bytes.Buffer
	WaitcostMarkdown(&b, rec, WaitcostCharts(rec))
	md := b.String()
	for _, want := range []string{
		"## The multiplexer alone (waitcost)",
		"![waitcost: ns per wait call vs watched fds (the multiplexer alone)](waitcost.svg)",
		"| select | 200 | 50 [50, 50] | 1.000 |",
		"grows, linear, follows highest fd |",
		"| poll |", "grows, linear, superlinear |",
		"| epoll-lt |", "flat |",
		"| 10 | 70 ns | ", "| 19960 | unsupported | ",
		"- select unsupported at N 3000, N 10000, N 19960, sparse to fd 3000, sparse to fd 19000: highest fd ≥ 1024",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
