package procfs

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startTree starts sh -c script in a process group of its own, killed and
// reaped in t.Cleanup, and returns its pid.
func startTree(t testing.TB, script string) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		unix.Kill(-pid, unix.SIGKILL)
		cmd.Wait()
	})
	return pid
}

// snapshotUntil snapshots r until ok accepts the snapshot, or fails the
// test after a bound.
func snapshotUntil(t testing.TB, r *TreeReader, what string, ok func(TreeSnapshot) bool) TreeSnapshot {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := r.Snapshot()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30s: %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasProcesses(n int) func(TreeSnapshot) bool {
	return func(s TreeSnapshot) bool { return len(s.Processes) == n }
}

// TestTreeBusyChildren runs a shell with two busy-looping children and
// checks that both are found and that the tree's CPU is at least its
// busiest thread's, which is one of the children.
func TestTreeBusyChildren(t *testing.T) {
	root := startTree(t, "while :; do :; done & while :; do :; done & wait")
	r, err := NewTreeReader(root)
	if err != nil {
		t.Fatal(err)
	}
	start := snapshotUntil(t, r, "root and two children", hasProcesses(3))
	var kids []int
	for _, p := range start.Processes[1:] {
		if p.PPID != root {
			t.Errorf("process %d: parent %d; want the root %d", p.PID, p.PPID, root)
		}
		kids = append(kids, p.PID)
	}
	if start.Processes[0].PID != root || len(start.Threads) != 3 {
		t.Errorf("first process %d, %d threads; want the root %d first, 3 single-threaded processes", start.Processes[0].PID, len(start.Threads), root)
	}
	const enough = 200 * int64(time.Millisecond)
	var d TreeDelta
	snapshotUntil(t, r, "200 ms of CPU in the tree", func(s TreeSnapshot) bool {
		if d, err = Delta(start, s); err != nil {
			t.Fatal(err)
		}
		return d.CPUNs >= enough
	})
	t.Logf("delta %+v", d)
	if d.Busiest.CPUNs <= 0 || d.CPUNs < d.Busiest.CPUNs || !slices.Contains(kids, d.Busiest.PID) || d.Busiest.TID != d.Busiest.PID {
		t.Errorf("busiest %+v, tree %d ns; want a child %v's thread, with the tree >= it > 0", d.Busiest, d.CPUNs, kids)
	}
	if d.Processes != 3 || d.Threads != 3 || d.ProcessesStarted+d.ProcessesExited+d.ThreadsStarted+d.ThreadsExited != 0 {
		t.Errorf("delta %+v: want the same 3 processes and 3 threads at both edges", d)
	}
	if d.RSSKiB <= 0 || d.NonvoluntaryCtxt+d.VoluntaryCtxt == 0 {
		t.Errorf("delta RSS %d KiB, %d+%d switches; want some of each (busy loops sharing 2 CPUs are preempted)", d.RSSKiB, d.VoluntaryCtxt, d.NonvoluntaryCtxt)
	}
	// The tick-granular cross-check agrees to within its resolution: loose
	// bounds here, as the two are read microseconds apart on a busy machine
	// and utime+stime is cut to 10 ms per process per edge.
	if lo, hi := d.CPUNs/2-100*int64(time.Millisecond), d.CPUNs*3/2+100*int64(time.Millisecond); d.StatCPUNs < lo || d.StatCPUNs > hi {
		t.Errorf("stat utime+stime %d ns vs schedstat %d ns; want them within [%d, %d]", d.StatCPUNs, d.CPUNs, lo, hi)
	}
}

// TestTreeChildExits kills one of two children between snapshots: the end
// snapshot leaves it out and the delta counts it as exited.
func TestTreeChildExits(t *testing.T) {
	root := startTree(t, "sleep 600 & sleep 600 & wait; wait")
	r, err := NewTreeReader(root)
	if err != nil {
		t.Fatal(err)
	}
	start := snapshotUntil(t, r, "root and two sleeping children", hasProcesses(3))
	victim := start.Processes[1].PID
	if err := unix.Kill(victim, unix.SIGKILL); err != nil { // a child of the shell this test started
		t.Fatal(err)
	}
	end := snapshotUntil(t, r, "the killed child gone", hasProcesses(2))
	d, err := Delta(start, end)
	if err != nil {
		t.Fatal(err)
	}
	if d.ProcessesExited != 1 || d.ThreadsExited != 1 || d.Processes != 2 || d.ProcessesStarted != 0 {
		t.Errorf("delta %+v; want 1 process and 1 thread exited, 2 left", d)
	}
	for _, p := range end.Processes {
		if p.PID == victim {
			t.Errorf("killed child %d still in the end snapshot", victim)
		}
	}
}

// TestTreeThreads snapshots this test process with 20 extra OS threads:
// every thread in /proc/self/task is found, and the per-thread switch
// counts add up to at least the main thread's, which is all
// /proc/self/status reports.
func TestTreeThreads(t *testing.T) {
	stop := lockThreads(t, 20)
	defer stop()
	// The runtime starts and ends threads of its own at any time (more of
	// them on a loaded machine): a thread listed both before and after the
	// snapshot lived through it, and the snapshot must have it.
	before := taskIDs(t)
	s, err := ReadTree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	after := taskIDs(t)
	tids := map[int]bool{}
	for _, th := range s.Threads {
		tids[th.TID] = true
	}
	var missing []int
	for tid := range after {
		if before[tid] && !tids[tid] {
			missing = append(missing, tid)
		}
	}
	if len(s.Threads) < 21 || len(missing) > 0 || s.Processes[0].Threads < 21 {
		t.Errorf("%d threads in the snapshot (process says %d); threads %v there before and after it missing; want >= 21 and none missing", len(s.Threads), s.Processes[0].Threads, missing)
	}
	var vol uint64
	for _, th := range s.Threads {
		vol += th.VoluntaryCtxt
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	main, err := ParseTaskStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if vol < main.VoluntaryCtxt {
		t.Errorf("threads' voluntary switches sum to %d < the process status's %d", vol, main.VoluntaryCtxt)
	}
}

func TestTreeRootGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTree(cmd.Process.Pid); err == nil {
		t.Errorf("ReadTree(reaped pid %d): got nil error", cmd.Process.Pid)
	}
	if _, err := NewTreeReader(0); err == nil {
		t.Error("NewTreeReader(0): got nil error")
	}
}

// TestScanParents finds this process's child by scanning every process,
// the fallback for kernels without children files.
func TestScanParents(t *testing.T) {
	kid := startTree(t, "sleep 600")
	parents, err := scanParents()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(parents[os.Getpid()], kid) {
		t.Errorf("scanParents()[self] = %v; want it to hold child %d", parents[os.Getpid()], kid)
	}
	r, err := NewTreeReader(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r.scan = true
	s, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(s.Processes, func(p ProcessSample) bool { return p.PID == kid }) {
		t.Errorf("snapshot by scan: processes %+v; want child %d", s.Processes, kid)
	}
}

// lockThreads parks n goroutines each on an OS thread of its own until
// stop is called.
func lockThreads(t testing.TB, n int) (stop func()) {
	release := make(chan struct{})
	ready := make(chan struct{})
	for range n {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready <- struct{}{}
			<-release
		}()
	}
	for range n {
		<-ready
	}
	return func() { close(release) }
}

// BenchmarkSnapshot measures one snapshot of an nginx-like tree (a shell
// and four children, all asleep), of this process with 20 extra threads,
// and, when MUXBENCH_PROCFS_PID names one, of that process's tree (a
// running server).
func BenchmarkSnapshot(b *testing.B) {
	if s := os.Getenv("MUXBENCH_PROCFS_PID"); s != "" {
		b.Run("pid", func(b *testing.B) {
			pid, err := strconv.Atoi(s)
			if err != nil {
				b.Fatalf("MUXBENCH_PROCFS_PID=%q: want a pid", s)
			}
			r, err := NewTreeReader(pid)
			if err != nil {
				b.Fatal(err)
			}
			benchSnapshot(b, r)
		})
	}
	b.Run("5-processes", func(b *testing.B) {
		root := startTree(b, "sleep 600 & sleep 600 & sleep 600 & sleep 600 & wait")
		r, err := NewTreeReader(root)
		if err != nil {
			b.Fatal(err)
		}
		snapshotUntil(b, r, "five processes", hasProcesses(5))
		benchSnapshot(b, r)
	})
	b.Run("20-threads", func(b *testing.B) {
		stop := lockThreads(b, 20)
		defer stop()
		r, err := NewTreeReader(os.Getpid())
		if err != nil {
			b.Fatal(err)
		}
		benchSnapshot(b, r)
	})
}

func benchSnapshot(b *testing.B, r *TreeReader) {
	var s TreeSnapshot
	var err error
	for b.Loop() {
		if s, err = r.Snapshot(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.Processes)), "processes")
	b.ReportMetric(float64(len(s.Threads)), "threads")
}

// taskIDs lists this process's threads (/proc/self/task).
func taskIDs(t *testing.T) map[int]bool {
	t.Helper()
	d, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	for _, e := range d {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			ids[tid] = true
		}
	}
	return ids
}
