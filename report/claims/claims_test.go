package claims

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/internal/golden"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/waitcost"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// pt is one synthetic point: one value per repetition.
type pt struct {
	backend     string
	fds, active int
	cpu         []float64 // server CPU ns per request, one per repetition
	p50         []float64 // ns; default 50 µs
	util        float64
	sys, mods   float64 // per request
	status      string  // default ok
	mem         float64 // bytes per connection; 0 = not measured
}

func mkRun(name string, size, sndbuf int, pts ...pt) *results.Run {
	r := &results.Run{Env: results.Environment{NoFileSoft: 20000}}
	r.Scenario = results.Scenario{Name: name, Size: size, ServerSendBuffer: sndbuf}
	add := func(list []int, v int) []int {
		for _, x := range list {
			if x == v {
				return list
			}
		}
		return append(list, v)
	}
	for _, p := range pts {
		r.Scenario.Backends = func() []string {
			for _, b := range r.Scenario.Backends {
				if b == p.backend {
					return r.Scenario.Backends
				}
			}
			return append(r.Scenario.Backends, p.backend)
		}()
		r.Scenario.FDs = add(r.Scenario.FDs, p.fds)
		r.Scenario.Active = add(r.Scenario.Active, p.active)
		status := p.status
		if status == "" {
			status = results.StatusOK
		}
		for i, c := range p.cpu {
			lat := 50e3
			if i < len(p.p50) {
				lat = p.p50[i]
			}
			s := results.Sample{Backend: p.backend, FDs: p.fds, Active: p.active, Repetition: i, Status: status, Requests: 1000}
			s.Server.CPUNsPerReq, s.Server.CPUUtil, s.Server.SyscallsPerReq = c, p.util, p.sys
			s.Server.InterestMods = int64(p.mods * 1000)
			s.Latency.P50 = int64(lat)
			if p.mem > 0 {
				s.Memory = &results.MemoryDelta{Conns: p.fds - 2, BytesPerConn: p.mem + float64(i)}
			}
			r.Samples = append(r.Samples, s)
		}
	}
	return r
}

func reps(vs ...float64) []float64 { return vs }

func wp(backend string, n int, sparse bool, vs ...float64) waitcost.Point {
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	layout := waitcost.LayoutDense
	if sparse {
		layout = waitcost.LayoutSparse
	}
	return waitcost.Point{Backend: backend, Mode: waitcost.ModeHot, Table: waitcost.TableShared, N: n, K: 1, Layout: layout, Position: waitcost.PositionLow, Status: results.StatusOK,
		NsPerCall: waitcost.Stat{Median: vs[len(vs)/2], Min: lo, Max: hi}, Reps: len(vs)}
}

func est(v, lo, hi float64) waitcost.Estimate { return waitcost.Estimate{Value: v, Lo: lo, Hi: hi} }

// scanFit is a select/poll-like fit: 0.3 ns per fd with the interval's
// low end at lo, R² 0.99, exponent 1.2 [1.1, 1.3]; sparse says whether
// its cost follows the highest fd number.
func scanFit(b string, lo float64, sparse bool) waitcost.Fit {
	f := waitcost.Fit{Backend: b,
		Idle:   &waitcost.LinearFit{Intercept: est(300, 290, 310), PerFD: est(0.3, lo, 0.32), R2: 0.99, XMin: 10, XMax: 19960},
		Events: &waitcost.LinearFit{Intercept: est(300, 290, 310), PerFD: est(0.3, lo, 0.32), PerEvent: &waitcost.Estimate{Value: 30, Lo: 25, Hi: 35}, R2: 0.99, XMin: 10, XMax: 19960},
		Upper:  &waitcost.PowerFit{Beta: est(1.2, 1.1, 1.3), From: 3000, To: 19960},
		Sparse: &waitcost.LinearFit{Intercept: est(40, 39, 41), PerFD: est(0.0001, -0.0001, 0.0003), R2: 0.1, XMin: 10, XMax: 19000},
	}
	if sparse {
		f.Sparse.PerFD = est(0.05, 0.04, 0.06)
	}
	return f
}

// noScan is a fit whose slope is indistinguishable from 0.
func noScan(b string) waitcost.Fit {
	f := scanFit(b, -0.02, false)
	f.Upper.Beta = est(0.01, -0.1, 0.1)
	return f
}

var flatEpoll = waitcost.Fit{Backend: "epoll-lt",
	Idle:   &waitcost.LinearFit{Intercept: est(900, 890, 910), PerFD: est(0.0001, -0.0002, 0.0004), R2: 0.05, XMin: 10, XMax: 19960},
	Events: &waitcost.LinearFit{Intercept: est(900, 890, 910), PerFD: est(0.0001, -0.0002, 0.0004), PerEvent: &waitcost.Estimate{Value: 40, Lo: 35, Hi: 45}, R2: 0.9, XMin: 10, XMax: 19960},
}

// rec is a waitcost record of hot scans in the shared fd table (as
// version 1 records are), with these fits and points.
func rec(fits []waitcost.Fit, pts ...waitcost.Point) *waitcost.Record {
	for i := range fits {
		fits[i].Mode, fits[i].Table = waitcost.ModeHot, waitcost.TableShared
	}
	cfg := waitcost.Config{Modes: []string{waitcost.ModeHot}, Tables: []string{waitcost.TableShared}}
	return &waitcost.Record{Config: cfg, Fits: fits, Points: pts}
}

// withBlocking adds blocking wake-up fits (shared fd table) to r.
func withBlocking(r *waitcost.Record, fits ...waitcost.Fit) *waitcost.Record {
	r.Config.Modes = waitcost.Modes
	for _, f := range fits {
		f.Mode, f.Table = waitcost.ModeBlocking, waitcost.TableShared
		r.Fits = append(r.Fits, f)
	}
	return r
}

// wakeFit is a select/poll-like blocking wake-up: 0.9 ns per watched
// fd [0.85, 0.95], three times scanFit's hot scan.
func wakeFit(b string) waitcost.Fit {
	f := scanFit(b, 0.28, false)
	f.Idle = &waitcost.LinearFit{Intercept: est(20000, 19000, 21000), PerFD: est(0.9, 0.85, 0.95), R2: 0.99, XMin: 10, XMax: 19960}
	f.Events = nil
	return f
}

// evidence returns a synthetic dataset built so that every claim gets the
// named outcome.
func evidence(outcome string) Evidence {
	switch outcome {
	case "holds":
		return Evidence{
			Runs: []*results.Run{
				mkRun("limits", 64, 0,
					pt{backend: "select", fds: 1010, active: 1, cpu: reps(400, 420, 410)},
					pt{backend: "select", fds: 3000, active: 1, cpu: reps(0), status: results.StatusUnsupported},
					pt{backend: "epoll-lt", fds: 19960, active: 1, cpu: reps(50, 52, 51), mem: 9000}),
				mkRun("mod-cost", 64, 0,
					pt{backend: "epoll-lt", fds: 1000, active: 32, cpu: reps(40, 41, 42), sys: 3, mods: 0},
					pt{backend: "epoll-et", fds: 1000, active: 32, cpu: reps(30, 31, 32), sys: 2.5, mods: 0},
					pt{backend: "epoll-mod", fds: 1000, active: 32, cpu: reps(60, 61, 62), sys: 5, mods: 2}),
				mkRun("active-ratio", 64, 0,
					pt{backend: "poll", fds: 1000, active: 1, cpu: reps(400, 410, 420)},
					pt{backend: "epoll-lt", fds: 1000, active: 1, cpu: reps(50, 52, 54)},
					pt{backend: "poll", fds: 1000, active: 1000, cpu: reps(30, 33, 36)},
					pt{backend: "epoll-lt", fds: 1000, active: 1000, cpu: reps(31, 32, 34)}),
				mkRun("busy", 64, 0,
					pt{backend: "epoll-lt", fds: 100, active: 1, cpu: reps(50, 51, 52), p50: reps(60e3, 62e3, 61e3), util: 0.1},
					pt{backend: "epoll-busy", fds: 100, active: 1, cpu: reps(500, 510, 505), p50: reps(20e3, 21e3, 22e3), util: 1}),
			},
			WaitCost: withBlocking(rec([]waitcost.Fit{scanFit("select", 0.28, true), scanFit("poll", 0.28, false), flatEpoll},
				wp("poll", 1000, false, 290, 300, 310), wp("select", 1000, false, 390, 400, 410)),
				wakeFit("select"), wakeFit("poll"), flatEpoll),
			Pitfalls: []Pitfall{
				{Claim: 6, Name: "et-short-read-ignore-hup", Ran: true, Reproduced: true, Measured: "the wrong loop against the correct one", Figure: "wrong: 50 of 50 closes never seen; correct: 0 of 50", Explanation: "the close came in the same edge as the data"},
				{Claim: 7, Name: "et-accept-once", Ran: true, Reproduced: true, Measured: "the wrong loop against the correct one", Figure: "wrong: 431 of 500 never served; correct: 0 of 500", Explanation: "queued connections raise no new edge"},
				{Claim: 9, Name: "sleep-send", Ran: true, Reproduced: true, Measured: "the wrong loop against the correct one", Figure: "wrong: p99 41 ms; correct: p99 90 µs", Explanation: "the loop sleeps while the slow reader's buffer is full"},
			},
		}
	case "holds-only":
		return Evidence{
			Runs: []*results.Run{
				mkRun("limits", 64, 0,
					pt{backend: "select", fds: 1010, active: 1, cpu: reps(400, 420, 410)},
					pt{backend: "select", fds: 3000, active: 1, cpu: reps(0), status: results.StatusUnsupported},
					pt{backend: "select-big", fds: 19960, active: 1, cpu: reps(4000, 4100, 4200)},
					pt{backend: "epoll-lt", fds: 19960, active: 1, cpu: reps(50, 52, 51), mem: 20000}),
				mkRun("plain", 64, 0,
					pt{backend: "epoll-lt", fds: 1000, active: 32, cpu: reps(40, 45, 50), sys: 3},
					pt{backend: "epoll-et", fds: 1000, active: 32, cpu: reps(38, 44, 49), sys: 3},
					pt{backend: "epoll-mod", fds: 1000, active: 32, cpu: reps(60, 61, 62), mods: 2},
					pt{backend: "epoll-lt", fds: 10000, active: 32, cpu: reps(40, 45, 50), sys: 3},
					pt{backend: "epoll-mod", fds: 10000, active: 32, cpu: reps(44, 48, 52), mods: 2}),
				mkRun("backpressure", 256<<10, 4096,
					pt{backend: "epoll-lt", fds: 100, active: 8, cpu: reps(900, 910, 920), sys: 12, mods: 2},
					pt{backend: "epoll-et", fds: 100, active: 8, cpu: reps(700, 710, 720), sys: 9}),
				mkRun("active-ratio", 64, 0,
					pt{backend: "poll", fds: 1000, active: 1, cpu: reps(400, 410, 420)},
					pt{backend: "epoll-lt", fds: 1000, active: 1, cpu: reps(50, 52, 54)},
					pt{backend: "poll", fds: 1000, active: 1000, cpu: reps(60, 62, 64)},
					pt{backend: "epoll-lt", fds: 1000, active: 1000, cpu: reps(31, 32, 34)}),
				mkRun("busy", 64, 0,
					pt{backend: "epoll-lt", fds: 100, active: 1, cpu: reps(50), p50: reps(60e3, 62e3, 61e3), util: 0.1},
					pt{backend: "epoll-busy", fds: 100, active: 1, cpu: reps(500), p50: reps(20e3, 21e3, 22e3), util: 1},
					pt{backend: "epoll-lt", fds: 10000, active: 1, cpu: reps(50, 51, 52), p50: reps(60e3, 62e3, 61e3), util: 0.1},
					pt{backend: "epoll-busy", fds: 10000, active: 1, cpu: reps(500, 510, 505), p50: reps(20e3, 21e3, 22e3), util: 1}),
			},
			// The hot scan's epoll grows, its blocking wake-up's does not.
			WaitCost: withBlocking(rec([]waitcost.Fit{scanFit("select", 0.28, true), scanFit("poll", 0.28, false),
				{Backend: "epoll-lt", Idle: &waitcost.LinearFit{Intercept: est(900, 890, 910), PerFD: est(0.05, 0.04, 0.06), R2: 0.95, XMin: 10, XMax: 19960}}},
				wp("poll", 1000, false, 290, 350, 410), wp("select", 1000, false, 300, 360, 400)),
				wakeFit("select"), wakeFit("poll"), flatEpoll),
			Pitfalls: []Pitfall{
				{Claim: 6, Name: "et-short-read-ignore-hup", Ran: false, Why: "no epoll on this kernel"},
			},
		}
	case "does-not-hold":
		return Evidence{
			Runs: []*results.Run{
				mkRun("limits", 64, 0,
					pt{backend: "select", fds: 3000, active: 1, cpu: reps(400, 420, 410)},
					pt{backend: "epoll-lt", fds: 10000, active: 1, cpu: reps(50, 52, 51)}),
				mkRun("mod-cost", 64, 0,
					pt{backend: "epoll-lt", fds: 1000, active: 32, cpu: reps(40, 45, 50), sys: 3},
					pt{backend: "epoll-et", fds: 1000, active: 32, cpu: reps(41, 46, 51), sys: 3},
					pt{backend: "epoll-mod", fds: 1000, active: 32, cpu: reps(42, 47, 52), mods: 2}),
				mkRun("active-ratio", 64, 0,
					pt{backend: "poll", fds: 1000, active: 1, cpu: reps(50, 55, 60)},
					pt{backend: "epoll-lt", fds: 1000, active: 1, cpu: reps(50, 52, 54)},
					pt{backend: "poll", fds: 1000, active: 1000, cpu: reps(30, 33, 36)},
					pt{backend: "epoll-lt", fds: 1000, active: 1000, cpu: reps(31, 32, 34)}),
				mkRun("busy", 64, 0,
					pt{backend: "epoll-lt", fds: 100, active: 1, cpu: reps(50, 51, 52), p50: reps(60e3, 62e3, 61e3), util: 0.1},
					pt{backend: "epoll-busy", fds: 100, active: 1, cpu: reps(500, 510, 505), p50: reps(59e3, 61e3, 63e3), util: 1}),
			},
			WaitCost: rec([]waitcost.Fit{noScan("select"), noScan("poll"), flatEpoll},
				wp("poll", 1000, false, 290, 350, 410), wp("select", 1000, false, 300, 360, 400)),
			Pitfalls: []Pitfall{
				{Claim: 6, Name: "et-short-read-ignore-hup", Ran: true, Reproduced: false, Measured: "the wrong loop against the correct one", Figure: "wrong: 0 of 50 closes never seen; correct: 0 of 50"},
				{Claim: 7, Name: "et-accept-once", Ran: true, Reproduced: false, Measured: "the wrong loop against the correct one", Figure: "wrong: 0 of 500 never served; correct: 0 of 500"},
				{Claim: 9, Name: "sleep-send", Ran: true, Reproduced: false, Measured: "the wrong loop against the correct one", Figure: "wrong: p99 95 µs; correct: p99 90 µs"},
			},
		}
	}
	return Evidence{}
}

// TestVerdicts: each synthetic dataset yields, claim by claim, the verdict
// it was built for.
func TestVerdicts(t *testing.T) {
	H, O, D, N := Holds, HoldsOnly, DoesNotHold, NotMeasured
	for _, tc := range []struct {
		outcome string
		want    [12]Verdict
	}{
		//                 1  2  3  4  5  6  7  8  9  10 11 12
		{"holds", [12]Verdict{H, H, H, D, H, H, H, H, H, H, H, H}},
		{"holds-only", [12]Verdict{O, O, O, N, O, N, N, O, N, O, O, O}},
		{"does-not-hold", [12]Verdict{D, D, D, D, D, D, D, D, D, D, N, D}},
		{"empty", [12]Verdict{N, N, N, N, N, N, N, N, N, N, N, N}},
	} {
		rows := Table(evidence(tc.outcome))
		if len(rows) != len(Claims) {
			t.Fatalf("%s: %d rows; want %d", tc.outcome, len(rows), len(Claims))
		}
		for i, r := range rows {
			if r.N != i+1 || r.Verdict != tc.want[i] {
				t.Errorf("%s: claim %d: verdict %q (%s); want %q", tc.outcome, r.N, r.Verdict, r.Detail, tc.want[i])
			}
			if r.Rule == "" {
				t.Errorf("%s: claim %d states no rule", tc.outcome, r.N)
			}
			if r.Verdict != NotMeasured && (r.Figure == "" || r.Measured == "") {
				t.Errorf("%s: claim %d has a verdict but no figure or measurement", tc.outcome, r.N)
			}
		}
		golden.Check(t, filepath.Join("testdata", tc.outcome+".md"), []byte(Markdown(rows)), *update)
	}
}

// TestOneRepetitionDecidesNothing: with one repetition no range exists,
// so no difference is claimed, however large.
func TestOneRepetitionDecidesNothing(t *testing.T) {
	ev := Evidence{Runs: []*results.Run{mkRun("one", 64, 0,
		pt{backend: "epoll-lt", fds: 1000, active: 32, cpu: reps(40)},
		pt{backend: "epoll-mod", fds: 1000, active: 32, cpu: reps(400)},
		pt{backend: "epoll-et", fds: 1000, active: 32, cpu: reps(4)})}}
	rows := Table(ev)
	if v := rows[7].Verdict; v != DoesNotHold {
		t.Errorf("claim 8 from one repetition: %q; want %q (no spread, no difference)", v, DoesNotHold)
	}
	if v := rows[4].Verdict; v != DoesNotHold {
		t.Errorf("claim 5 from one repetition: %q; want %q", v, DoesNotHold)
	}
}

// TestNotOKPointsIgnored: a saturated point is not compared.
func TestNotOKPointsIgnored(t *testing.T) {
	ev := Evidence{Runs: []*results.Run{mkRun("sat", 64, 0,
		pt{backend: "epoll-lt", fds: 1000, active: 32, cpu: reps(40, 41, 42)},
		pt{backend: "epoll-mod", fds: 1000, active: 32, cpu: reps(400, 410, 420), status: results.StatusSaturated})}}
	if v := Table(ev)[7].Verdict; v != NotMeasured {
		t.Errorf("claim 8 with only a saturated epoll-mod point: %q; want %q", v, NotMeasured)
	}
}

// TestEdgeFewerCallsOnly: ET with fewer system calls but CPU within LT's
// spread holds only for system calls.
func TestEdgeFewerCallsOnly(t *testing.T) {
	ev := Evidence{Runs: []*results.Run{mkRun("backpressure", 256<<10, 4096,
		pt{backend: "epoll-lt", fds: 100, active: 8, cpu: reps(900, 950, 1000), sys: 27},
		pt{backend: "epoll-et", fds: 100, active: 8, cpu: reps(890, 940, 990), sys: 19})}}
	r := Table(ev)[4]
	if r.Verdict != HoldsOnly || !strings.HasPrefix(r.Detail, "for system calls") {
		t.Errorf("claim 5 = %q: %s; want %q for system calls", r.Verdict, r.Detail, HoldsOnly)
	}
}

// TestScanClaimModes: claim 2 combines the hot scan's verdict with the
// blocking wake-up's, by its stated rule, and quotes their ratio.
func TestScanClaimModes(t *testing.T) {
	hotHolds := func() *waitcost.Record {
		return rec([]waitcost.Fit{scanFit("select", 0.28, true), scanFit("poll", 0.28, false), flatEpoll})
	}
	noGrowth := noScan("poll")
	noGrowth.Idle.Intercept = est(20000, 19000, 21000)
	for _, tc := range []struct {
		name   string
		w      *waitcost.Record
		want   Verdict
		detail string
	}{
		{"hot only", hotHolds(), Holds, "select and poll pay per watched fd"},
		{"both hold", withBlocking(hotHolds(), wakeFit("select"), wakeFit("poll"), flatEpoll), Holds, "does not follow N, in both the hot scan and the blocking wake-up"},
		{"wake-up does not grow", withBlocking(hotHolds(), wakeFit("select"), noGrowth, flatEpoll), HoldsOnly,
			"where each mode allows: in the hot scan it holds: select and poll pay per watched fd, and more per fd as N grows (select from 3,000 fds, poll from 3,000 fds: worse than linear); epoll's cost does not follow N; per blocking wake-up it does not hold: a scanning multiplexer's cost does not grow"},
		{"wake-up without epoll", withBlocking(hotHolds(), wakeFit("select"), wakeFit("poll")), Holds, "select and poll pay per watched fd"},
	} {
		r := Table(Evidence{WaitCost: tc.w})[1]
		if r.Verdict != tc.want || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("%s: %q: %s; want %q with %q", tc.name, r.Verdict, r.Detail, tc.want, tc.detail)
		}
	}
	r := Table(Evidence{WaitCost: withBlocking(hotHolds(), wakeFit("select"), wakeFit("poll"), flatEpoll)})[1]
	for _, want := range []string{"hot scan: select 0.3 ns [0.28, 0.32] per watched fd", "blocking wake-up: select 0.9 ns [0.85, 0.95] per watched fd",
		"per watched fd, the blocking wake-up costs the hot scan's select 3.00× [2.66–3.39], poll 3.00× [2.66–3.39]"} {
		if !strings.Contains(r.Figure, want) {
			t.Errorf("figure %q lacks %q", r.Figure, want)
		}
	}
	if !strings.Contains(r.Measured, "shared fd table") || !strings.Contains(r.Measured, "blocking wake-up: what a server pays per wait") {
		t.Errorf("measured %q: want the fd table and both modes named", r.Measured)
	}
}
