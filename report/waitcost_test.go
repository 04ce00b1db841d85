package report

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

// waitcostRecord is a synthetic sweep of both modes in both fd tables:
// select linear up to FD_SETSIZE and unsupported above, poll
// superlinear, epoll flat, each point measured the same in 5
// repetitions. A blocking wake-up costs 20 µs more than a call and three
// times as much per fd; the shared fd table adds 5 ns per fd to select
// and poll.
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
				v := cost[s.Backend](float64(s.N), float64(s.K), float64(s.Top))
				if s.Table == waitcost.TableShared && s.Backend != "epoll-lt" {
					v += 5 * math.Max(float64(s.N), float64(s.Top))
				}
				if s.Mode == waitcost.ModeBlocking {
					v = 20000 + 3*v
				}
				s.Status, s.NsPerCall = results.StatusOK, v*(1+0.01*float64(rep-cfg.Repetitions/2))
				s.Seconds, s.CPUSeconds = 1, 0.9-0.01*float64(rep)
			}
			rec.Samples = append(rec.Samples, s)
		}
	}
	for _, mode := range cfg.Modes {
		for _, table := range cfg.Tables {
			for _, b := range cfg.Backends {
				for _, n := range cfg.FDs {
					for _, c := range cfg.DenseCases(mode, n) {
						add(waitcost.Sample{Backend: b, Mode: mode, Table: table, Layout: waitcost.LayoutDense, N: n, K: c.K, Position: c.Position, MaxFD: n + 9})
					}
				}
				for _, top := range cfg.SparseTop {
					add(waitcost.Sample{Backend: b, Mode: mode, Table: table, Layout: waitcost.LayoutSparse, N: 10, K: 1, Position: waitcost.PositionLow, MaxFD: top, Top: top})
				}
			}
		}
	}
	rec.Complete()
	return rec
}

func TestWaitcostCharts(t *testing.T) {
	rec := waitcostRecord()
	charts := WaitcostCharts(rec)
	if got := chartNames(charts); !slices.Equal(got, []string{"waitcost", "waitcost-sparse", "waitcost-blocking", "waitcost-blocking-sparse"}) {
		t.Fatalf("charts %v; want the hot scan's and the blocking wake-up's, dense and sparse", got)
	}
	dense := charts[0]
	if len(dense.Panels) != 3 || !strings.Contains(dense.Panels[2].Title, "every fd ready") {
		t.Fatalf("dense panels %d; want lowest, highest, every fd ready", len(dense.Panels))
	}
	for _, pan := range dense.Panels {
		if !pan.LogY || !pan.Micros || len(pan.Series) != 6 {
			t.Errorf("panel %q: logY %v, micros %v, %d series; want log µs, 3 backends in 2 fd tables", pan.Title, pan.LogY, pan.Micros, len(pan.Series))
		}
	}
	sel, selShared := dense.Panels[0].Series[0], dense.Panels[0].Series[1]
	if sel.Backend != "select" || sel.Label != "select" || sel.Run != 0 || len(sel.Points) != len(rec.Config.FDs) {
		t.Fatalf("first series %q (%q, run %d) with %d points; want select's private table, solid, at every N", sel.Backend, sel.Label, sel.Run, len(sel.Points))
	}
	if selShared.Label != "select, shared fd table" || selShared.Run != 1 {
		t.Errorf("second series %q, run %d; want select's shared table, dashed", selShared.Label, selShared.Run)
	}
	stops := sel.Stops(true)
	if len(stops) != 1 || stops[0].FDs != 3000 || stops[0].Label != "FD_SETSIZE" {
		t.Errorf("select stops %+v; want one at 3000 labelled FD_SETSIZE", stops)
	}
	// 10 fds, one ready: 200 + 50·10 ns, in µs; the shared table 50 ns more.
	if p := sel.Points[0]; p.FDs != 10 || math.Abs(p.Y-0.7) > 1e-9 || p.Min >= p.Y || p.Max <= p.Y {
		t.Errorf("select at 10 fds: %+v; want median 0.7 µs between min and max", p)
	}
	if p := selShared.Points[0]; math.Abs(p.Y-0.75) > 1e-9 {
		t.Errorf("select at 10 fds, shared table: %+v; want 0.75 µs", p)
	}
	if sp := charts[1]; sp.Panels[0].Series[0].Points[0].FDs != 30 {
		t.Errorf("sparse x %d; want the highest fd number asked for, 30", sp.Panels[0].Series[0].Points[0].FDs)
	}
	blk := charts[2]
	if len(blk.Panels) != 1 || blk.Panels[0].YLabel != "thread CPU per wake-up" || !strings.Contains(blk.Title, "blocking wake-up") {
		t.Errorf("blocking chart %q: %d panels, y %q; want one, thread CPU per wake-up", blk.Title, len(blk.Panels), blk.Panels[0].YLabel)
	}
	if p := blk.Panels[0].Series[0].Points[0]; math.Abs(p.Y-(20+3*0.7)) > 1e-9 {
		t.Errorf("select's blocking wake-up at 10 fds: %+v; want 22.1 µs", p)
	}
	var svg bytes.Buffer
	if err := dense.Render(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"waitcost, hot scan: thread CPU per wait call vs watched fds", "epoll-lt", "FD_SETSIZE", "shared fd table"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

// TestWaitcostChartsOneMode: a version 1 record (hot scan, shared table)
// keeps its two charts and one line per backend.
func TestWaitcostChartsOneMode(t *testing.T) {
	rec := waitcostRecord()
	rec.Config.Modes, rec.Config.Tables = []string{waitcost.ModeHot}, []string{waitcost.TableShared}
	rec.Samples = slices.DeleteFunc(rec.Samples, func(s waitcost.Sample) bool {
		return s.Mode != waitcost.ModeHot || s.Table != waitcost.TableShared
	})
	rec.Complete()
	charts := WaitcostCharts(rec)
	if got := chartNames(charts); !slices.Equal(got, []string{"waitcost", "waitcost-sparse"}) {
		t.Fatalf("charts %v; want waitcost and waitcost-sparse", got)
	}
	if s := charts[0].Panels[0].Series; len(s) != 3 || s[0].Label != "select" {
		t.Errorf("%d series, first %q; want 3 backends, labelled by name", len(s), s[0].Label)
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
		"- **hot scan**: back-to-back wait calls (timeout 0 ms)",
		"- **blocking wake-up**: a waiter blocked in its wait (timeout -1)",
		"- **private fd table**: the measuring thread called unshare(CLONE_FILES)",
		"The measuring thread was on its CPU for 87% [84%–90%] of the hot samples' wall time",
		"![waitcost, hot scan: thread CPU per wait call vs watched fds (the multiplexer alone)](waitcost.svg)",
		"![waitcost, blocking wake-up: thread CPU per wake-up vs watched fds (the multiplexer alone)](waitcost-blocking.svg)",
		"| hot scan | private | select | 200 | 50 [50, 50] | 1.000 |",
		"| hot scan | shared | select | 200 | 55 [55, 55] | 1.000 |",
		"| blocking wake-up | private | select | 2.06e+04 | 150 [150, 150] | 1.000 |",
		"grows, linear, follows highest fd |",
		"| poll |", "grows, linear, superlinear |",
		"| epoll-lt |", "flat |",
		"- select: a multi-threaded process pays 5 ns [5, 5] per watched fd per call (hot scan): shared minus private fd table, 10 points paired by N (10–1,000), fitted with weights 1/N²",
		"- poll: a multi-threaded process pays 5 ns [5, 5] per watched fd per call (hot scan)",
		"- select: a multi-threaded process pays 15 ns [15, 15] per watched fd per wake-up (blocking)",
		"- select, private fd table: a blocking wake-up costs 150 ns per watched fd, 3.00× the hot scan's 50 ns per call (3.00–3.00 from the two intervals)",
		"### Hot scan, private fd table",
		"### Blocking wake-up, shared fd table",
		"| 10 | 70 ns | ", "| 19960 | unsupported | ",
		"- select unsupported (hot scan) at N 3000, N 10000, N 19960, sparse to fd 3000, sparse to fd 19000: highest fd ≥ 1024",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "epoll-lt: a multi-threaded process pays") {
		t.Errorf("markdown compares epoll-lt's per-fd slopes, which are noise around 0:\n%s", md)
	}
}
