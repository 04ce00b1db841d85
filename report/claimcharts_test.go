package report

import (
	"slices"
	"testing"

	"github.com/muxbench/muxbench/report/reporttest"
)

// TestActiveCharts: a run over several active counts gets one chart with
// a line per backend and fd count, x = active connections; a run with one
// active count gets none.
func TestActiveCharts(t *testing.T) {
	run := reporttest.Run(reporttest.Options{Backends: []string{"poll", "epoll-lt"}, FDs: []int{1001, 10001}, Active: []int{1, 32, 998}, Reps: 3})
	charts := ActiveCharts(run)
	if len(charts) != 1 || len(charts[0].Panels) != 2 {
		t.Fatalf("got %d charts; want 1 with 2 panels", len(charts))
	}
	for _, pan := range charts[0].Panels {
		if len(pan.Series) != 4 {
			t.Errorf("%s: %d series; want 4 (2 backends × 2 fd counts)", pan.Title, len(pan.Series))
		}
		for _, s := range pan.Series {
			var xs []int
			for _, p := range s.Points {
				xs = append(xs, p.FDs)
			}
			if !slices.Equal(xs, []int{1, 32, 998}) {
				t.Errorf("%s %s: x = %v; want the active counts 1, 32, 998", pan.Title, s.Label, xs)
			}
		}
	}
	if got := ActiveCharts(reporttest.Run(reporttest.Options{Active: []int{32}})); got != nil {
		t.Errorf("one active count: %d charts; want none", len(got))
	}
}
