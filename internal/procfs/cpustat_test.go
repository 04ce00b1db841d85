package procfs

import (
	"math"
	"testing"
)

func TestBusyFraction(t *testing.T) {
	start := ParseProcStat(`cpu  100 0 100 800 0 0 0 0 0 0
cpu0 10 0 10 80 0 0 0 0 0 0
cpu1 90 0 90 720 0 0 0 0 0 0
intr 1 2 3
`)
	end := ParseProcStat(`cpu  200 0 200 900 0 0 0 0 0 0
cpu0 80 0 20 82 3 0 15 0 5 5
cpu1 95 0 95 800 0 0 0 0 0 0
`)
	for _, tt := range []struct {
		cpus []int
		want float64
		ok   bool
	}{
		{[]int{0}, 95.0 / 100.0, true}, // busy: user 70 + system 10 + softirq 15; idle 2 + iowait 3; guest not counted twice
		{[]int{1}, 10.0 / 90.0, true},
		{[]int{0, 1}, 105.0 / 190.0, true},
		{[]int{2}, 0, false},
	} {
		got, ok := BusyFraction(start, end, tt.cpus)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("BusyFraction(cpus %v) = %.4f, %v; want %.4f, %v", tt.cpus, got, ok, tt.want, tt.ok)
		}
	}
	if got := ParseProcStat("cpu0 1 2 x 4 5\ncpuX 1 2 3 4\n"); len(got) != 0 {
		t.Errorf("ParseProcStat of malformed lines = %v; want nothing", got)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("cpu0 10 0 10 80 0 0 0 0 0 0\n")
	f.Add("cpu 1\ncpu12 1 2 3 4 5 6 7 8 9 10 11\n")
	f.Fuzz(func(t *testing.T, s string) {
		for cpu, c := range ParseProcStat(s) {
			if c.Busy > c.Total {
				t.Fatalf("cpu%d: busy %d > total %d", cpu, c.Busy, c.Total)
			}
		}
	})
}
