package report

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
)

// chartByName returns the chart with that name or fails the test.
func chartByName(t *testing.T, charts []*Chart, name string) *Chart {
	t.Helper()
	for _, c := range charts {
		if c.Name == name {
			return c
		}
	}
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
	}
	t.Fatalf("no chart %q; have %v", name, names)
	return nil
}

func seriesByLabel(t *testing.T, p Panel, label string) Series {
	t.Helper()
	for _, s := range p.Series {
		if s.Label == label {
			return s
		}
	}
	t.Fatalf("panel %q has no series %q", p.Title, label)
	return Series{}
}

func TestChartNames(t *testing.T) {
	tests := []struct {
		name   string
		active []int
		want   []string
	}{
		{"one active count", []int{32}, []string{"latency", "cpu", "util", "events"}},
		{"two active counts", []int{1, 32}, []string{
			"latency-active1", "cpu-active1", "util-active1", "events-active1",
			"latency-active32", "cpu-active32", "util-active32", "events-active32",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			charts, err := Charts(Input{Run: reporttest.Run(reporttest.Options{Active: tt.active, FDs: []int{101, 1001}, Reps: 2})})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range charts {
				got = append(got, c.Name)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("chart names = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestChartsNeedRuns(t *testing.T) {
	if _, err := Charts(); err == nil {
		t.Error("Charts() with no runs: got nil error")
	}
	if _, err := Charts(Input{}); err == nil {
		t.Error("Charts with a nil run: got nil error")
	}
}

// TestChartData checks what the charts are told to draw for the synthetic
// sweep: medians and spreads in axis units, select's stop at FD_SETSIZE,
// poll's saturated point, gonet's missing wait counters.
func TestChartData(t *testing.T) {
	run := reporttest.Run(reporttest.Options{ErrorsAt: map[string]int{"epoll-et": 20001}})
	points := results.Summarize(run.Samples)
	find := func(backend string, fds int) results.Point {
		for _, p := range points {
			if p.Backend == backend && p.FDs == fds {
				return p
			}
		}
		t.Fatalf("no point %s@%d", backend, fds)
		return results.Point{}
	}
	charts, err := Charts(Input{Run: run})
	if err != nil {
		t.Fatal(err)
	}

	cpu := chartByName(t, charts, "cpu")
	if len(cpu.Panels) != 1 || !cpu.Panels[0].LogY {
		t.Fatalf("cpu chart: %d panels, logY %v; want 1 log panel", len(cpu.Panels), cpu.Panels[0].LogY)
	}
	if want := []string{"select", "poll", "epoll-lt", "epoll-et", "gonet"}; len(cpu.Panels[0].Series) != len(want) {
		t.Fatalf("cpu chart has %d series; want %d", len(cpu.Panels[0].Series), len(want))
	}

	// Values are the summary's medians and spread, converted ns -> µs.
	sel := seriesByLabel(t, cpu.Panels[0], "select")
	p1001 := find("select", 1001)
	var got SeriesPoint
	for _, sp := range sel.Points {
		if sp.FDs == 1001 {
			got = sp
		}
	}
	if got.Y != p1001.ServerCPUPerReq.Median/1e3 || got.Min != p1001.ServerCPUPerReq.Min/1e3 || got.Max != p1001.ServerCPUPerReq.Max/1e3 {
		t.Errorf("select@1001 = %+v; want median/min/max %v/%v/%v µs", got,
			p1001.ServerCPUPerReq.Median/1e3, p1001.ServerCPUPerReq.Min/1e3, p1001.ServerCPUPerReq.Max/1e3)
	}

	// select stops at the first unsupported point with a labelled cross.
	stops := sel.Stops(true)
	if len(stops) != 1 {
		t.Fatalf("select stops = %+v; want one", stops)
	}
	if stops[0].FDs != 2001 || stops[0].Y != got.Y || stops[0].Label != "FD_SETSIZE" {
		t.Errorf("select stop = %+v; want at 2001 fds, y %v (its last measured point), label FD_SETSIZE", stops[0], got.Y)
	}
	for _, sp := range sel.Points {
		if want := sp.FDs >= 1024; !sp.Measured() != want {
			t.Errorf("select@%d: Measured() = %v, status %s", sp.FDs, sp.Measured(), sp.Status)
		}
	}

	// poll is saturated at 20001 and still drawn (hollow), not dropped.
	poll := seriesByLabel(t, cpu.Panels[0], "poll")
	last := poll.Points[len(poll.Points)-1]
	if last.FDs != 20001 || last.Status != results.StatusSaturated || !last.drawable(true) {
		t.Errorf("poll's last point = %+v; want a drawable saturated point at 20001", last)
	}
	if len(poll.Stops(true)) != 0 {
		t.Errorf("poll has stops %+v; want none", poll.Stops(true))
	}
	et := seriesByLabel(t, cpu.Panels[0], "epoll-et")
	if st := et.Points[len(et.Points)-1].Status; st != results.StatusErrors {
		t.Errorf("epoll-et@20001 status = %s; want errors", st)
	}

	// gonet has no wait counters: its events points are missing, and the
	// legend says so instead of drawing zeros.
	events := chartByName(t, charts, "events")
	for _, pan := range events.Panels {
		g := seriesByLabel(t, pan, "gonet")
		for _, sp := range g.Points {
			if !math.IsNaN(sp.Y) {
				t.Errorf("events panel %q: gonet@%d = %v; want NaN (not counted)", pan.Title, sp.FDs, sp.Y)
			}
		}
	}
	if note := events.missingNote("gonet"); note != "no data" {
		t.Errorf("events legend note for gonet = %q; want %q", note, "no data")
	}
	if note := cpu.missingNote("gonet"); note != "" {
		t.Errorf("cpu legend note for gonet = %q; want none", note)
	}

	// Titles name the scenario and conditions; the footnote the environment
	// and what the error bars are.
	if !strings.Contains(cpu.Title, "idle-sweep") {
		t.Errorf("title %q does not name the scenario", cpu.Title)
	}
	for _, want := range []string{"32 active connections", "10,000 req/s", "64 B messages"} {
		if !strings.Contains(cpu.Subtitle, want) {
			t.Errorf("subtitle %q lacks %q", cpu.Subtitle, want)
		}
	}
	foot := strings.Join(cpu.Footnote, "\n")
	for _, want := range []string{"min–max", "median of 5 repetitions", "6.8.0-45-generic", "Xeon", "go1.26.8"} {
		if !strings.Contains(foot, want) {
			t.Errorf("footnote %q lacks %q", foot, want)
		}
	}
}

func TestOverlaySeries(t *testing.T) {
	a := reporttest.Run(reporttest.Options{FDs: []int{101, 1001}, Reps: 2})
	b := reporttest.Run(reporttest.Options{FDs: []int{101, 1001}, Reps: 2, Seed: 9})
	charts, err := Charts(Input{Label: "old", Run: a}, Input{Label: "new", Run: b})
	if err != nil {
		t.Fatal(err)
	}
	pan := chartByName(t, charts, "cpu").Panels[0]
	var labels []string
	for _, s := range pan.Series {
		labels = append(labels, s.Label)
	}
	want := "select (old),select (new),poll (old),poll (new),epoll-lt (old),epoll-lt (new),epoll-et (old),epoll-et (new),gonet (old),gonet (new)"
	if got := strings.Join(labels, ","); got != want {
		t.Errorf("series = %s; want %s", got, want)
	}
	if s := seriesByLabel(t, pan, "poll (new)"); s.Backend != "poll" || s.Run != 1 {
		t.Errorf("poll (new): backend %q run %d; want poll, 1", s.Backend, s.Run)
	}
}

func TestStops(t *testing.T) {
	ok := func(fds int, y float64) SeriesPoint {
		return SeriesPoint{FDs: fds, Y: y, Min: y, Max: y, Status: results.StatusOK}
	}
	bad := func(fds int, status, reason string) SeriesPoint {
		return SeriesPoint{FDs: fds, Status: status, Reason: reason}
	}
	tests := []struct {
		name string
		pts  []SeriesPoint
		want []Stop
	}{
		{"all measured", []SeriesPoint{ok(10, 1), ok(100, 2)}, nil},
		{"stops at a limit", []SeriesPoint{ok(10, 1), ok(100, 2), bad(1000, results.StatusUnsupported, "fd >= FD_SETSIZE"), bad(10000, results.StatusUnsupported, "fd >= FD_SETSIZE")},
			[]Stop{{1000, 2, "FD_SETSIZE"}}},
		{"unsorted input", []SeriesPoint{bad(1000, results.StatusFailed, "server died: signal 9"), ok(100, 2), ok(10, 1)},
			[]Stop{{1000, 2, "failed: server died"}}},
		{"failure in the middle", []SeriesPoint{ok(10, 1), bad(100, results.StatusFailed, ""), ok(1000, 3)},
			[]Stop{{100, 1, "failed"}}},
		{"unmeasurable first", []SeriesPoint{bad(10, results.StatusUnsupported, "needs RLIMIT_NOFILE 20000"), ok(100, 5)},
			[]Stop{{10, 5, "RLIMIT_NOFILE"}}},
		{"nothing measured", []SeriesPoint{bad(10, results.StatusUnsupported, "x"), bad(100, results.StatusUnsupported, "x")}, nil},
		{"non-positive on log axis is not drawable", []SeriesPoint{ok(10, 0), bad(100, results.StatusFailed, "")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Series{Label: "x", Backend: "x", Points: tt.pts}.Stops(true)
			if len(got) != len(tt.want) {
				t.Fatalf("Stops = %+v; want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("stop %d = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestShortReason(t *testing.T) {
	tests := []struct{ status, reason, want string }{
		{"unsupported", "fd 1027 >= FD_SETSIZE (1024): select(2) cannot watch it", "FD_SETSIZE"},
		{"unsupported", "needs 20000 fds, RLIMIT_NOFILE is 1024: raise it with ulimit -n", "RLIMIT_NOFILE"},
		{"failed", "server exited: signal: killed", "failed: server exited"},
		{"failed", "", "failed"},
		{"failed", "a very long reason without any punctuation in it at all", "failed: a very long reason without…"},
	}
	for _, tt := range tests {
		if got := shortReason(tt.status, tt.reason); got != tt.want {
			t.Errorf("shortReason(%q, %q) = %q; want %q", tt.status, tt.reason, got, tt.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi     float64
		micros     bool
		wantLabels string
	}{
		{70, 30000, false, "100 200 500 1k 2k 5k 10k 20k"},
		{5, 3e6, false, "10 100 1k 10k 100k 1M"},
		{32, 45, false, "40"},
		{20, 90, false, "20 30 40 50 60 70 80 90"},
		{20, 200000, true, "100 µs 1 ms 10 ms 100 ms"},
		{20, 60000, true, "20 µs 50 µs 100 µs 200 µs 500 µs 1 ms 2 ms 5 ms 10 ms 20 ms 50 ms"},
		{0.8, 3, false, "0.8 0.9 1 2 3"},
	}
	for _, tt := range tests {
		var labels []string
		for _, tk := range (logTicks{micros: tt.micros}).Ticks(tt.lo, tt.hi) {
			if tk.Value < tt.lo || tk.Value > tt.hi {
				t.Errorf("Ticks(%v, %v): tick %v outside the range", tt.lo, tt.hi, tk.Value)
			}
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if got := strings.Join(labels, " "); got != tt.wantLabels {
			t.Errorf("Ticks(%v, %v) labels = %q; want %q", tt.lo, tt.hi, got, tt.wantLabels)
		}
	}
	for _, r := range [][2]float64{{0, 10}, {-1, 10}, {10, 10}, {10, 1}, {1, math.Inf(1)}} {
		if ticks := (logTicks{}).Ticks(r[0], r[1]); ticks != nil {
			t.Errorf("Ticks(%v, %v) = %v; want nil for an invalid range", r[0], r[1], ticks)
		}
	}
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   string
	}{
		{0, 100, "0 20 40 60 80 100"},
		{0, 8, "0 2 4 6 8"},
		{0, 1.08, "0 0.2 0.4 0.6 0.8 1"},
	}
	for _, tt := range tests {
		var labels []string
		for _, tk := range (linearTicks{}).Ticks(tt.lo, tt.hi) {
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " "); got != tt.want {
			t.Errorf("Ticks(%v, %v) = %q; want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestBackendStyle(t *testing.T) {
	known := []string{"select", "poll", "epoll-lt", "epoll-et", "gonet"}
	seen := map[Style]string{}
	for _, b := range known {
		s := BackendStyle(b)
		if other, dup := seen[s]; dup {
			t.Errorf("%s and %s share style %+v", b, other, s)
		}
		seen[s] = b
	}
	// An unknown name's style is derived from the name alone, so it is
	// the same in every chart.
	if first, again := BackendStyle("io_uring"), BackendStyle("io_uring"); first != again {
		t.Errorf("BackendStyle(io_uring) = %+v, then %+v; want the same", first, again)
	}
}

func TestRenderSVG(t *testing.T) {
	charts, err := Charts(Input{Run: reporttest.Run(reporttest.Options{ErrorsAt: map[string]int{"epoll-et": 20001}})})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		var buf bytes.Buffer
		if err := c.Render(&buf, "svg"); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		svg := buf.String()
		want := []string{c.Title, c.Subtitle, xLabel, "6.8.0-45-generic", "select", "poll", "epoll-lt", "epoll-et", "gonet",
			"select: FD_SETSIZE", "unsupported from here on", "saturated: rate missed or CPU ≥ 95%", "errors (see report)"}
		for _, p := range c.Panels {
			want = append(want, p.YLabel, p.Title)
		}
		for _, w := range want {
			if w != "" && !strings.Contains(svg, htmlEscape(w)) {
				t.Errorf("%s.svg lacks text %q", c.Name, w)
			}
		}
	}
}

func htmlEscape(s string) string {
	if strings.Contains(s, "&lt;") {
		return s
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&#39;", `"`, "&#34;").Replace(s)
}

func TestRenderPNG(t *testing.T) {
	charts, err := Charts(Input{Run: reporttest.Run(reporttest.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	c := chartByName(t, charts, "latency")
	var buf bytes.Buffer
	if err := c.Render(&buf, "png"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode rendered PNG: %v", err)
	}
	w, h := c.Size()
	if got, want := img.Bounds().Dx(), int(math.Ceil(w.Points()/72*pngDPI)); abs(got-want) > 1 {
		t.Errorf("PNG width %d px; want %d", got, want)
	}
	if got, want := img.Bounds().Dy(), int(math.Ceil(h.Points()/72*pngDPI)); abs(got-want) > 1 {
		t.Errorf("PNG height %d px; want %d", got, want)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestRenderErrors(t *testing.T) {
	charts, err := Charts(Input{Run: reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1})})
	if err != nil {
		t.Fatal(err)
	}
	if err := charts[0].Render(&bytes.Buffer{}, "gif"); err == nil || !strings.Contains(err.Error(), `unknown format "gif"`) {
		t.Errorf("Render gif: err = %v; want unknown format", err)
	}
	if err := (&Chart{Name: "empty"}).Render(&bytes.Buffer{}, "svg"); err == nil {
		t.Error("Render of a chart without panels: got nil error")
	}
	noFDs := &Chart{Name: "nofds", Panels: []Panel{{LogY: true}}}
	if err := noFDs.Render(&bytes.Buffer{}, "svg"); err == nil {
		t.Error("Render of a chart without points: got nil error")
	}
}

// TestRenderNothingMeasurable draws a chart where every backend was
// unsupported: no line, no crash, legend saying why.
func TestRenderNothingMeasurable(t *testing.T) {
	run := reporttest.Run(reporttest.Options{Backends: []string{"select"}, FDs: []int{2001, 5001}, Reps: 1})
	charts, err := Charts(Input{Run: run})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		var buf bytes.Buffer
		if err := c.Render(&buf, "svg"); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if !strings.Contains(buf.String(), "select (unsupported: FD_SETSIZE)") {
			t.Errorf("%s: legend does not say select was stopped by FD_SETSIZE", c.Name)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

var errWrite = bytes.ErrTooLarge

func TestRenderWriteError(t *testing.T) {
	charts, err := Charts(Input{Run: reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1})})
	if err != nil {
		t.Fatal(err)
	}
	if err := charts[0].Render(failWriter{}, "svg"); !errors.Is(err, errWrite) {
		t.Errorf("Render to a failing writer: err = %v; want it to wrap %v", err, errWrite)
	}
}
