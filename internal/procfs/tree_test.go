package procfs

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/tree/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseTaskStatus(t *testing.T) {
	got, err := ParseTaskStatus(readFixture(t, "status"))
	want := TaskStatus{Name: "nginx", Threads: 3, HasRSS: true, RSSKiB: 5120, VoluntaryCtxt: 1234, NonvoluntaryCtxt: 56}
	if err != nil || got != want {
		t.Errorf("ParseTaskStatus(fixture) = %+v, %v; want %+v", got, err, want)
	}
	kernelThread := "Name:\tkworker/0:1\nThreads:\t1\nvoluntary_ctxt_switches:\t9\nnonvoluntary_ctxt_switches:\t0\n"
	if got, err := ParseTaskStatus([]byte(kernelThread)); err != nil || got.HasRSS || got.VoluntaryCtxt != 9 {
		t.Errorf("ParseTaskStatus(no VmRSS) = %+v, %v; want HasRSS false, 9 voluntary", got, err)
	}
	for _, bad := range []string{
		"",
		"Name:\tx\nThreads:\t1\nvoluntary_ctxt_switches:\t9\n",                                                // no nonvoluntary
		"Name:\tx\nThreads:\tmany\nvoluntary_ctxt_switches:\t9\nnonvoluntary_ctxt_switches:\t0\n",             // bad number
		"Name:\tx\nThreads:\t1\nVmRSS:\t12 MB\nvoluntary_ctxt_switches:\t9\nnonvoluntary_ctxt_switches:\t0\n", // bad unit
	} {
		if got, err := ParseTaskStatus([]byte(bad)); err == nil {
			t.Errorf("ParseTaskStatus(%q) = %+v, nil; want an error", bad, got)
		}
	}
}

func TestParsePIDStat(t *testing.T) {
	got, err := ParsePIDStat(readFixture(t, "stat"))
	want := PIDStat{Comm: "nginx: worker (a) b", State: 'S', PPID: 2119, UTime: 151, STime: 73, Threads: 3, StartTime: 1948013}
	if err != nil || got != want {
		t.Errorf("ParsePIDStat(fixture) = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"", "1 (x", "1 x) S 1", "1 (x) S 1 2 3", "1 (x) S p 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5", "1 (x) SS 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5"} {
		if got, err := ParsePIDStat([]byte(bad)); err == nil {
			t.Errorf("ParsePIDStat(%q) = %+v, nil; want an error", bad, got)
		}
	}
}

func TestParseChildren(t *testing.T) {
	got, err := ParseChildren(readFixture(t, "children"))
	if err != nil || !slices.Equal(got, []int{2120, 2121, 2130}) {
		t.Errorf("ParseChildren(fixture) = %v, %v; want [2120 2121 2130]", got, err)
	}
	if got, err := ParseChildren(nil); err != nil || len(got) != 0 {
		t.Errorf("ParseChildren(empty) = %v, %v; want none", got, err)
	}
	for _, bad := range []string{"12 x", "-1", "0"} {
		if got, err := ParseChildren([]byte(bad)); err == nil {
			t.Errorf("ParseChildren(%q) = %v, nil; want an error", bad, got)
		}
	}
}

func FuzzParseTaskStatus(f *testing.F) {
	f.Add(readFixture(f, "status"))
	f.Add([]byte("Name:\tx\nThreads:\t1\nvoluntary_ctxt_switches:\t9\nnonvoluntary_ctxt_switches:\t0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseTaskStatus(b)
		if err == nil && !strings.Contains(string(b), "Name:") {
			t.Fatalf("ParseTaskStatus(%q) = %+v, nil without a Name line", b, s)
		}
	})
}

func FuzzParsePIDStat(f *testing.F) {
	f.Add(readFixture(f, "stat"))
	f.Add([]byte("1 (a) b) R 0 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParsePIDStat(b)
		if err == nil && !strings.Contains(string(b), "("+s.Comm+")") {
			t.Fatalf("ParsePIDStat(%q): comm %q is not what the parentheses hold", b, s.Comm)
		}
	})
}

func FuzzParseChildren(f *testing.F) {
	f.Add(readFixture(f, "children"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kids, err := ParseChildren(b)
		for _, k := range kids {
			if err == nil && k <= 0 {
				t.Fatalf("ParseChildren(%q) gave pid %d", b, k)
			}
		}
	})
}

func TestDelta(t *testing.T) {
	const ms = int64(1e6)
	start := TreeSnapshot{Root: 100,
		Processes: []ProcessSample{
			{PID: 100, StartTime: 1000, StatTicks: 10, RSSKiB: 1000},
			{PID: 101, PPID: 100, StartTime: 1001, StatTicks: 20, RSSKiB: 500},
			{PID: 102, PPID: 100, StartTime: 1002, StatTicks: 30, RSSKiB: 500}, // exits
		},
		Threads: []ThreadSample{
			{PID: 100, TID: 100, Comm: "master", CPUNs: 1 * ms, VoluntaryCtxt: 10, NonvoluntaryCtxt: 1},
			{PID: 100, TID: 105, Comm: "io", CPUNs: 5 * ms, VoluntaryCtxt: 100, NonvoluntaryCtxt: 10},
			{PID: 100, TID: 106, Comm: "helper", CPUNs: 1 * ms},                 // exits
			{PID: 100, TID: 108, Comm: "old", CPUNs: 50 * ms, VoluntaryCtxt: 7}, // its id is reused
			{PID: 101, TID: 101, Comm: "worker", CPUNs: 2 * ms, VoluntaryCtxt: 5},
			{PID: 102, TID: 102, Comm: "worker", CPUNs: 3 * ms},
		},
	}
	end := TreeSnapshot{Root: 100,
		Processes: []ProcessSample{
			{PID: 100, StartTime: 1000, StatTicks: 12, RSSKiB: 1100},
			{PID: 101, PPID: 100, StartTime: 1001, StatTicks: 21, RSSKiB: 600},
			{PID: 103, PPID: 100, StartTime: 1010, StatTicks: 1, RSSKiB: 300}, // started
		},
		Threads: []ThreadSample{
			{PID: 100, TID: 100, Comm: "master", CPUNs: 1*ms + 500_000, VoluntaryCtxt: 12, NonvoluntaryCtxt: 1},
			{PID: 100, TID: 105, Comm: "io", CPUNs: 9 * ms, VoluntaryCtxt: 150, NonvoluntaryCtxt: 13},
			{PID: 100, TID: 107, Comm: "new", CPUNs: ms / 2, VoluntaryCtxt: 1}, // started
			{PID: 100, TID: 108, Comm: "reused", CPUNs: 2 * ms, VoluntaryCtxt: 2},
			{PID: 101, TID: 101, Comm: "worker", CPUNs: 3 * ms, VoluntaryCtxt: 6},
			{PID: 103, TID: 103, Comm: "worker", CPUNs: 3*ms + 900_000, NonvoluntaryCtxt: 4},
		},
	}
	got, err := Delta(start, end)
	if err != nil {
		t.Fatal(err)
	}
	want := TreeDelta{
		// 0.5 (master) + 4 (io) + 0.5 (new) + 2 (reused id, from 0) + 1 (worker 101) + 3.9 (new process)
		CPUNs:     11*ms + 900_000,
		Busiest:   ThreadUse{PID: 100, TID: 105, Comm: "io", CPUNs: 4 * ms},
		StatCPUNs: (2 + 1 + 1) * 10 * ms, // 100: +2 ticks, 101: +1, 103: 1 from its start
		Processes: 3, Threads: 6, RSSKiB: 2000,
		VoluntaryCtxt:    2 + 50 + 1 + 2 + 1,
		NonvoluntaryCtxt: 3 + 4,
		ThreadsStarted:   3, // 107, the new 108, 103
		ThreadsExited:    3, // 106, the old 108, 102
		ProcessesStarted: 1,
		ProcessesExited:  1,
	}
	if got != want {
		t.Errorf("Delta =\n%+v\nwant\n%+v", got, want)
	}
	if got.CPUNs < got.Busiest.CPUNs {
		t.Errorf("tree CPU %d < busiest thread's %d", got.CPUNs, got.Busiest.CPUNs)
	}

	// A pid reused by another process: everything in it starts from zero.
	reused := end
	reused.Processes = slices.Clone(end.Processes)
	reused.Processes[1].StartTime = 2000
	got, err = Delta(start, reused)
	if err != nil {
		t.Fatal(err)
	}
	if got.ProcessesStarted != 2 || got.ProcessesExited != 2 || got.CPUNs != want.CPUNs+2*ms || got.StatCPUNs != want.StatCPUNs+20*10*ms {
		t.Errorf("Delta with pid 101 reused = %+v; want 2 started, 2 exited, its thread's 3 ms and 21 ticks counted whole", got)
	}

	if _, err := Delta(start, TreeSnapshot{Root: 7}); err == nil {
		t.Error("Delta of trees rooted at 100 and 7: got nil error")
	}
	if got, err := Delta(TreeSnapshot{Root: 1}, TreeSnapshot{Root: 1}); err != nil || got != (TreeDelta{}) {
		t.Errorf("Delta of two empty snapshots = %+v, %v; want zero", got, err)
	}
}
