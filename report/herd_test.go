package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/results"
)

// herdFixture is a run of the four sharing modes at 2, 4 and 8 loops,
// keep-alive and churn, 3 repetitions, on one server CPU:
// shared-listener wastes about loops-1 wake-ups per accept under churn,
// the others about 0.1; exclusive gives one loop most connections. Its
// keep-alive point at 8 loops is saturated.
func herdFixture() *results.Run {
	modes := []string{epoll.NameReuseport, epoll.NameSharedListener, epoll.NameExclusive, epoll.NameSharedEpoll}
	sc := results.Scenario{Name: "herd", Backends: modes, FDs: []int{130}, Active: []int{16}, Mode: traffic.Open, Rate: results.Rates{1000},
		Repetitions: 3, Loops: []int{2, 4, 8}, Churn: results.Churn{false, true}, ServerCPUs: "0", ClientCPUs: "1"}
	run := &results.Run{Scenario: sc, Env: results.Environment{ServerCPUs: "0", ClientCPUs: "1"}}
	for rep := 0; rep < 3; rep++ {
		for _, churn := range []bool{false, true} {
			for _, loops := range []int{2, 4, 8} {
				for _, b := range modes {
					jitter := 1 + 0.01*float64(rep)
					wasted := 0.1 * jitter
					if b == epoll.NameSharedListener && churn {
						wasted = float64(loops-1) * jitter
					}
					if !churn {
						wasted = 0.02 * jitter
					}
					busiest, least := 1/float64(loops)*1.1, int64(10)
					if b == epoll.NameExclusive {
						busiest, least = 0.9, 0
					}
					shares := []results.LoopDelta{{ConnShare: busiest}}
					for range loops - 1 {
						shares = append(shares, results.LoopDelta{ConnShare: (1 - busiest) / float64(loops-1)})
					}
					s := results.Sample{Backend: b, FDs: 130, Active: 16, Loops: loops, Churn: churn, Repetition: rep, Mode: traffic.Open,
						Status: results.StatusOK, Requests: 2000, RateRequested: 1000, RateAchieved: 1000,
						Server: results.ServerDelta{
							CPUNsPerReq: 150e3 * jitter, WakeupsPerReq: 1 + wasted, WastedWakeupsPerReq: wasted,
							Loops: loops, ConnsMin: least, ConnsMax: 40,
							PerLoop: shares,
						}}
					if churn {
						s.Server.WastedWakeupsPerAccept = wasted
					}
					if !churn && loops == 8 && b == epoll.NameReuseport {
						s.Status, s.Reason = results.StatusSaturated, "server CPU 0 100% busy"
					}
					run.Samples = append(run.Samples, s)
				}
			}
		}
	}
	return run
}

func TestHerdObservations(t *testing.T) {
	ds, err := prepare([]Input{{Run: herdFixture()}})
	if err != nil {
		t.Fatal(err)
	}
	obs := observations(ds[0])
	text := strings.Join(obs, "\n")
	for _, want := range []string{
		"All 8 loops on server CPU 0: they take turns on one CPU, so this shows wasted wake-ups and balance, not a parallel speed-up.",
		"**shared-listener (epoll-shared-listener)**, churn: 1.01 [1.00–1.02], 3.03 [3.00–3.06] and 7.07 [7.00–7.14] wasted wake-ups per accept at 2, 4 and 8 loops (of 2.01, 4.03 and 8.07 wake-ups per request)",
		"more than every other mode's beyond the spread of repetitions at 2, 4 and 8 loops",
		"**exclusive (epoll-exclusive)**, churn: 0.10 [0.10–0.10]",
		"the busiest loop's share of the connections at 8 loops: epoll-shared-listener 14%, epoll-exclusive 90%",
		"max/min accepts across loops ∞ (a loop had none)",
		"not clean: epoll-reuseport at 8 loops (saturated)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("observations lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "fewer than every other") {
		t.Errorf("observations claim a mode is below every other, but reuseport, exclusive and shared-epoll waste the same:\n%s", text)
	}
	if len(obs) != 6 {
		t.Errorf("%d observations; want 6 (CPUs, a row per mode, keep-alive):\n%s", len(obs), text)
	}
}

func TestHerdCharts(t *testing.T) {
	charts, err := Charts(Input{Run: herdFixture()})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != "herd balance" {
		t.Fatalf("charts %v; want herd and balance (x = loops), not the fd charts", names)
	}
	wasted := charts[0].Panels[1]
	if len(wasted.Series) != 8 {
		t.Fatalf("%d series; want 8 (4 modes × keep-alive, churn)", len(wasted.Series))
	}
	for _, s := range wasted.Series {
		if s.Label != epoll.NameSharedListener+", churn" {
			continue
		}
		var got []string
		for _, p := range s.Points {
			got = append(got, fmt.Sprintf("%d:%.2f", p.FDs, p.Y))
		}
		if want := "2:1.01 4:3.03 8:7.07"; strings.Join(got, " ") != want {
			t.Errorf("shared-listener churn: points %v; want %s (x = loops, median wasted per request)", got, want)
		}
		if s.Run%2 != 1 {
			t.Errorf("churn series drawn with run %d; want an odd one (dashed)", s.Run)
		}
	}
	if !strings.Contains(charts[0].Subtitle, "all 8 loops on server CPU 0") {
		t.Errorf("subtitle %q does not say where the loops ran", charts[0].Subtitle)
	}
	for _, f := range Formats {
		var buf bytes.Buffer
		if err := charts[1].Render(&buf, f); err != nil {
			t.Errorf("render balance as %s: %v", f, err)
		}
	}
}

func TestHerdTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, Input{Run: herdFixture()}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| epoll-shared-listener | churn | 8 | 130 | ok | 8.07 | 7.07 | 7.07 | 4.00 | 13.8% |",
		"| epoll-exclusive | keep-alive | 2 | 130 | ok |",
		"∞ (a loop had none)",
		"epoll-reuseport at 130 fds, 16 active connections, 8 loops: **saturated**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
