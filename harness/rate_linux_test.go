package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/results"
)

// TestRunRateAxis: a scenario's rates are points of their own, each
// sample driven at its job's rate; with the server pinned, each sample
// has its CPU's idle states over the window where the machine has a
// cpuidle driver, and none where it has not.
func TestRunRateAxis(t *testing.T) {
	sc := results.Scenario{
		Name: "tiny-rates", Backends: []string{"epoll-lt"}, FDs: []int{5}, Active: []int{1}, Mode: traffic.Open,
		Rate: results.Rates{100, 400}, Size: 64, Repetitions: 1, Proto: traffic.Echo, ServerCPUs: "0",
		Warmup: results.Duration(100 * time.Millisecond), Duration: results.Duration(300 * time.Millisecond),
	}
	dir := t.TempDir()
	run, err := Run(context.Background(), Options{Scenario: sc, ServerCommand: []string{muxbenchBin, "serve"}, OutDir: dir})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(run.Samples) != 2 {
		t.Fatalf("%d samples; want one per rate", len(run.Samples))
	}
	want, idleErr := procfs.CPUIdle([]int{0})
	for i, s := range run.Samples {
		if s.RateRequested != sc.Rate[i] || (s.Status != results.StatusOK && s.Status != results.StatusSaturated) {
			t.Errorf("sample %d: %v req/s requested, %s (%s); want %v, measured", i, s.RateRequested, s.Status, s.Reason, sc.Rate[i])
			continue
		}
		if s.RateAchieved < 0.5*s.RateRequested || s.RateAchieved > 1.5*s.RateRequested {
			t.Errorf("sample %d: achieved %v req/s; want about the requested %v", i, s.RateAchieved, s.RateRequested)
		}
		c := s.Server.CPUIdle
		if idleErr != nil {
			if c != nil {
				t.Errorf("sample %d: idle states %+v recorded where cpu0's cannot be read (%v)", i, c, idleErr)
			}
			continue
		}
		if c == nil || c.CPUs != "0" || c.NCPUs != 1 || len(c.States) != len(want[0]) {
			t.Fatalf("sample %d: idle states %+v; want cpu0's %d states", i, c, len(want[0]))
		}
		for k, st := range c.States {
			if st.Name != want[0][k].Name || st.Entries < 0 || st.TimeNs < 0 {
				t.Errorf("sample %d: idle state %d %+v; want %q with counts >= 0", i, k, st, want[0][k].Name)
			}
		}
		// A stay under way at the start edge is counted when it ends,
		// inside the window: allow for some beyond the window's length.
		if share := c.Share(s.WindowNs); share > 1.5 {
			t.Errorf("sample %d: idle %.2f of the window; want at most about all of it", i, share)
		}
	}
	if pts := results.Summarize(run.Samples); len(pts) != 2 || pts[0].RateRequested == pts[1].RateRequested {
		t.Errorf("points %+v; want one per rate", pts)
	}
	bench, err := os.ReadFile(filepath.Join(dir, results.BenchFile))
	if err != nil || !strings.Contains(string(bench), "/active=1/rate=100 ") || !strings.Contains(string(bench), "/active=1/rate=400 ") {
		t.Errorf("bench.txt (%v):\n%s\nwant a line per rate, named by it", err, bench)
	}
}
