package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/results"
)

// rateFixture is a rate sweep of poll and epoll-lt at 1,000 and 10,000
// fds, 1 active, at 50, 1,000 and 20,000 req/s, 3 repetitions, 1 s
// windows. poll's CPU per request falls with the rate (colder at the slow
// rate) and at 10,000 fds saturates from 1,000 req/s on; epoll-lt costs
// the same at both fd counts, with a spread wider than its change.
func rateFixture() *results.Run {
	bes, fds, rates := []string{"poll", "epoll-lt"}, []int{1000, 10000}, []float64{50, 1000, 20000}
	sc := results.Scenario{Name: "rate-sweep", Backends: bes, FDs: fds, Active: []int{1}, Mode: traffic.Open, Rate: results.Rates(rates),
		Repetitions: 3, ServerCPUs: "0", ClientCPUs: "1"}
	run := &results.Run{Scenario: sc, Env: results.Environment{ServerCPUs: "0", ClientCPUs: "1"}}
	cpu := map[string]map[int][]float64{ // ns per request at each rate
		"poll":     {1000: {400e3, 100e3, 40e3}, 10000: {4e6, 1e6, 1e6}},
		"epoll-lt": {1000: {20e3, 15e3, 10e3}, 10000: {20e3, 15e3, 10e3}},
	}
	for rep := range 3 {
		for ri, r := range rates {
			for _, b := range bes {
				for _, n := range fds {
					jitter := 1 + 0.02*float64(rep)
					if b == "epoll-lt" {
						jitter = 1 + 0.5*float64(rep) // spreads wider than the change
					}
					req := int64(r)
					s := results.Sample{Backend: b, FDs: n, Active: 1, Repetition: rep, Mode: traffic.Open,
						Status: results.StatusOK, Requests: req, RateRequested: r, RateAchieved: r, WindowNs: 1e9,
						Server: results.ServerDelta{CPUNsPerReq: cpu[b][n][ri] * jitter, WakeupsPerReq: 1,
							CPUIdle: &results.CPUIdle{CPUs: "0", NCPUs: 1, States: []results.IdleState{
								{Name: "haltpoll idle", Entries: req, TimeNs: int64(1e9 * (1 - r/25000))}}}}}
					if b == "poll" && n == 10000 && ri > 0 {
						s.Status, s.Reason = results.StatusSaturated, "server CPU 0 100% busy"
						s.RateAchieved = 1000
					}
					run.Samples = append(run.Samples, s)
				}
			}
		}
	}
	return run
}

func TestRateObservations(t *testing.T) {
	ds, err := prepare([]Input{{Run: rateFixture()}})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(observations(ds[0]), "\n")
	for _, want := range []string{
		"poll at 1,000 fds 408 µs at 50 req/s and 40.8 µs at 20,000 req/s: 10× as much per request at the slow rate",
		"epoll-lt at 1,000 fds 30.0 µs at 50 req/s and 15.0 µs at 20,000 req/s: the same CPU per request within the spread of repetitions",
		"epoll-lt 0.00 [-2.22 to 2.22] at 50 req/s",
		"CPU idle 99.8% of the window",
		"(the intervals overlap: no difference claimed)",
		"poll at 10,000 fds at 1,000 and 20,000 req/s",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("observations lack %q:\n%s", want, text)
		}
	}
	// poll at 10,000 fds is clean only at 50 req/s: no line of it, no slope.
	if strings.Contains(text, "poll at 10,000 fds 4") || strings.Contains(text, "slope, (CPU/req at 10,000 fds − at 1,000) / 9,000, ns per watched fd per request [interval from the repetitions' ranges]: poll") {
		t.Errorf("observations compare a saturated point:\n%s", text)
	}
}

func TestRateCharts(t *testing.T) {
	charts, err := Charts(Input{Run: rateFixture()})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != "cpu-rate slope-rate idle-rate" {
		t.Fatalf("charts %v; want cpu-rate, slope-rate and idle-rate (x = rate), not the fd charts", names)
	}
	cpu := charts[0].Panels[0]
	if len(cpu.Series) != 4 {
		t.Fatalf("%d CPU series; want 4 (backend × fds)", len(cpu.Series))
	}
	var got []string
	for _, p := range cpu.Series[0].Points {
		got = append(got, fmt.Sprintf("%d:%.0f:%s", p.FDs, p.Y, p.Status))
	}
	if want := "50:408:ok 1000:102:ok 20000:41:ok"; cpu.Series[0].Label != "poll, 1,000 fds" || strings.Join(got, " ") != want {
		t.Errorf("series %q points %v; want poll, 1,000 fds at %s (x = rate, median µs)", cpu.Series[0].Label, got, want)
	}
	slope := charts[1].Panels[0]
	for _, s := range slope.Series {
		if s.Label != "poll" {
			continue
		}
		p := s.Points[0]
		// (4.08 ms − 408 µs) / 9,000 fds; interval (4.00 ms − 416 µs) to (4.16 ms − 400 µs).
		if p.FDs != 50 || fmt.Sprintf("%.1f %.1f %.1f", p.Y, p.Min, p.Max) != "408.0 398.2 417.8" || p.Status != results.StatusOK {
			t.Errorf("poll slope at %d req/s: %.1f [%.1f, %.1f] %s; want 408.0 [398.2, 417.8] ok at 50", p.FDs, p.Y, p.Min, p.Max, p.Status)
		}
		if last := s.Points[len(s.Points)-1]; last.Status != results.StatusSaturated {
			t.Errorf("poll slope at %d req/s is %s; want saturated (its 10,000-fd end is)", last.FDs, last.Status)
		}
	}
	for _, c := range charts {
		for _, f := range Formats {
			var buf bytes.Buffer
			if err := c.Render(&buf, f); err != nil {
				t.Errorf("render %s as %s: %v", c.Name, f, err)
			}
		}
	}
}

func TestRateTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, Input{Run: rateFixture()}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| poll | 1,000 | 50 | ok | 50 | 408 µs |",
		"| poll | 10,000 | 20,000 | saturated | 1,000 |",
		"![rate-sweep: per-fd cost vs request rate](slope-rate.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
