package procfs

// A process tree's CPU, read from outside: what an external server (run
// -exec or -attach: nginx's master and workers, redis, memcached's
// threads) cost over a window, with no help from the server.
//
// Per thread, /proc/PID/task/TID/schedstat gives the time on CPU in ns
// (the scheduler's sum_exec_runtime: exact for a thread that is asleep at
// the edge, up to one scheduler tick stale for one running on another CPU
// at that moment, as the kernel updates it at ticks and switches) and the
// task's status its name and context switches. Per process, the status
// gives VmRSS and the thread count, and /proc/PID/stat utime+stime and its
// start time. The tree is found through /proc/PID/task/TID/children (every
// thread's, since a child belongs to the thread that forked it): its cost
// follows the tree, not the number of processes on the machine. Where the
// kernel lacks those files (CONFIG_PROC_CHILDREN off) every /proc/N/stat is
// scanned for parent ids instead.
//
// What a snapshot pair loses: a thread that exits inside the window takes
// its schedstat with it (its time before the exit is in no later reading
// of it), and a process that exits takes everything. /proc/PID/stat's
// utime+stime keeps the time of the process's dead threads, so
// TreeDelta.StatCPUNs is a cross-check of CPUNs that does see them; it is in
// clock ticks (USER_HZ, 100 a second) and each of utime and stime is cut to
// a whole tick, so it is good to about 20 ms per process per edge, while
// schedstat is good to a scheduler tick (4 ms at HZ=250) for a running
// thread and exact for a sleeping one. Context switches are per thread
// (the status of a process gives its main thread's only), so a thread's
// switches die with it too. RSS summed over processes counts shared pages
// (nginx's workers share the master's) once per process: it is an upper
// bound.
//
// A snapshot opens three files per thread (schedstat, status, children)
// and the stat file and task directory per process; the kernel's side of
// those opens and reads is nearly all of its cost. Medians of 5 on a busy
// 2-core VM: 0.29 ms for a shell and four children, 0.32 ms for muxbench
// serve (7 threads), 1.07 ms for a process with 25 threads.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// userHZ is the unit of /proc/PID/stat's utime and stime: USER_HZ, 100 on
// every Linux architecture Go runs on.
const userHZ = 100

// TaskStatus is what a snapshot uses of a /proc/PID/task/TID/status (or
// /proc/PID/status) file.
type TaskStatus struct {
	Name    string
	Threads int // the thread group's, the same in every thread's file
	// HasRSS is false when the file has no VmRSS line: a kernel thread, or
	// a zombie main thread whose memory is gone.
	HasRSS bool
	RSSKiB int64
	// VoluntaryCtxt and NonvoluntaryCtxt are this thread's own switches:
	// blocked (voluntary) or preempted (involuntary).
	VoluntaryCtxt, NonvoluntaryCtxt uint64
}

// ParseTaskStatus reads the Name, Threads, VmRSS and context-switch lines
// of a status file. Name, Threads and both switch counts are required. It
// walks the bytes rather than a Scanner's strings, as a snapshot parses one
// status per thread.
func ParseTaskStatus(b []byte) (TaskStatus, error) {
	var s TaskStatus
	var seen int
	const (
		name = 1 << iota
		threads
		vol
		nonvol
		all = name | threads | vol | nonvol
	)
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		var err error
		switch string(k) {
		case "Name":
			s.Name, seen = string(v), seen|name
		case "Threads":
			s.Threads, err = strconv.Atoi(string(v))
			seen |= threads
		case "VmRSS":
			num, unit, _ := bytes.Cut(v, []byte(" "))
			if string(bytes.TrimSpace(unit)) != "kB" {
				return s, fmt.Errorf("status VmRSS %q: want a number of kB", v)
			}
			s.RSSKiB, err = strconv.ParseInt(string(num), 10, 64)
			s.HasRSS = true
		case "voluntary_ctxt_switches":
			s.VoluntaryCtxt, err = strconv.ParseUint(string(v), 10, 64)
			seen |= vol
		case "nonvoluntary_ctxt_switches":
			s.NonvoluntaryCtxt, err = strconv.ParseUint(string(v), 10, 64)
			seen |= nonvol
		}
		if err != nil {
			return s, fmt.Errorf("status %s: %q is not a number", k, v)
		}
	}
	if seen != all {
		return s, fmt.Errorf("status: want Name, Threads, voluntary_ctxt_switches and nonvoluntary_ctxt_switches lines")
	}
	return s, nil
}

// PIDStat is what a snapshot uses of /proc/PID/stat.
type PIDStat struct {
	Comm  string
	State byte
	PPID  int
	// UTime and STime are the process's user and system time in clock
	// ticks (userHZ), its exited threads included.
	UTime, STime uint64
	Threads      int
	// StartTime is when the process started, in clock ticks since boot:
	// with the pid it names one process, even after the pid is reused.
	StartTime uint64
}

// ParsePIDStat parses /proc/PID/stat: "pid (comm) state ppid ... utime
// stime ... num_threads itrealvalue starttime ...". The command name may
// hold spaces and parentheses, so it runs to the last ')'.
func ParsePIDStat(b []byte) (PIDStat, error) {
	var s PIDStat
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return s, fmt.Errorf("stat %.40q: want pid (comm) state and the fields after it", b)
	}
	s.Comm = string(b[open+1 : end])
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state) of proc(5); field n is f[n-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return s, fmt.Errorf("stat of %q: want at least 22 fields", s.Comm)
	}
	s.State = f[0][0]
	var err [5]error
	s.PPID, err[0] = strconv.Atoi(f[1])
	s.UTime, err[1] = strconv.ParseUint(f[11], 10, 64)
	s.STime, err[2] = strconv.ParseUint(f[12], 10, 64)
	s.Threads, err[3] = strconv.Atoi(f[17])
	s.StartTime, err[4] = strconv.ParseUint(f[19], 10, 64)
	for _, e := range err {
		if e != nil {
			return s, fmt.Errorf("stat of %q: ppid, utime, stime, num_threads and starttime must be numbers", s.Comm)
		}
	}
	return s, nil
}

// ParseChildren parses a /proc/PID/task/TID/children file: the pids of the
// thread's children, separated by spaces.
func ParseChildren(b []byte) ([]int, error) {
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("children %q: want pids", b)
		}
		out = append(out, n)
	}
	return out, nil
}

// ThreadSample is one thread at one edge.
type ThreadSample struct {
	PID, TID int
	Comm     string
	CPUNs    int64 // schedstat's time on CPU
	// VoluntaryCtxt and NonvoluntaryCtxt are the thread's context switches.
	VoluntaryCtxt, NonvoluntaryCtxt uint64
}

// ProcessSample is one process of the tree at one edge.
type ProcessSample struct {
	PID, PPID int
	Comm      string
	StartTime uint64 // clock ticks since boot
	// StatTicks is utime+stime from /proc/PID/stat, exited threads
	// included, in clock ticks (userHZ).
	StatTicks uint64
	Threads   int
	RSSKiB    int64
}

// TreeSnapshot is a process tree at one edge of a window: every process
// descending from Root (Root first) and every thread of each.
type TreeSnapshot struct {
	Root      int
	Processes []ProcessSample
	Threads   []ThreadSample
}

// ThreadUse names a thread and the CPU it used in a window.
type ThreadUse struct {
	PID, TID int
	Comm     string
	CPUNs    int64
}

// TreeDelta is what a process tree did between two snapshots.
type TreeDelta struct {
	// CPUNs is the tree's time on CPU in the window, summed over threads
	// alive at the end from their schedstat: a thread that exited inside
	// the window is missing from it (see ThreadsExited and StatCPUNs).
	CPUNs int64
	// Busiest is the thread that used the most CPU in the window: for a
	// multi-threaded server, the figure to compare with a single-threaded
	// event loop's thread.
	Busiest ThreadUse
	// StatCPUNs is the same total from /proc/PID/stat's utime+stime, which
	// keeps exited threads' time but counts whole clock ticks (10 ms).
	StatCPUNs int64
	// Processes, Threads and RSSKiB are the tree at the end; RSSKiB sums
	// VmRSS over processes, so shared pages count once per process.
	Processes, Threads int
	RSSKiB             int64
	// VoluntaryCtxt and NonvoluntaryCtxt are the context switches of the
	// threads alive at the end, in the window.
	VoluntaryCtxt, NonvoluntaryCtxt uint64
	// ThreadsStarted and ThreadsExited count threads that appeared and
	// disappeared inside the window; ProcessesStarted and
	// ProcessesExited the same for processes. A thread or process started
	// inside the window counts from zero.
	ThreadsStarted, ThreadsExited     int
	ProcessesStarted, ProcessesExited int
}

// procKey names one process across pid reuse.
type procKey struct {
	pid   int
	start uint64
}

// Delta computes what the tree did between start and end. Threads are
// matched by process (pid and start time) and thread id; a thread whose
// counters went backwards is a reused id: the old one exited, a new one
// started. Snapshots of different roots are an error.
func Delta(start, end TreeSnapshot) (TreeDelta, error) {
	if start.Root != end.Root {
		return TreeDelta{}, fmt.Errorf("process tree delta: start is of pid %d, end of pid %d; snapshot one tree at both edges", start.Root, end.Root)
	}
	var d TreeDelta
	startOf := map[int]uint64{} // pid -> start time, at each edge
	before := map[procKey]ProcessSample{}
	for _, p := range start.Processes {
		startOf[p.PID] = p.StartTime
		before[procKey{p.PID, p.StartTime}] = p
	}
	endOf := map[int]uint64{}
	for _, p := range end.Processes {
		endOf[p.PID] = p.StartTime
		d.Processes++
		d.RSSKiB += p.RSSKiB
		key := procKey{p.PID, p.StartTime}
		was, ok := before[key]
		if !ok {
			d.ProcessesStarted++
			d.StatCPUNs += ticksToNs(p.StatTicks)
			continue
		}
		delete(before, key)
		if p.StatTicks >= was.StatTicks {
			d.StatCPUNs += ticksToNs(p.StatTicks - was.StatTicks)
		}
	}
	d.ProcessesExited = len(before)

	type threadKey struct {
		proc procKey
		tid  int
	}
	threadsBefore := map[threadKey]ThreadSample{}
	for _, t := range start.Threads {
		threadsBefore[threadKey{procKey{t.PID, startOf[t.PID]}, t.TID}] = t
	}
	for _, t := range end.Threads {
		d.Threads++
		key := threadKey{procKey{t.PID, endOf[t.PID]}, t.TID}
		used := ThreadSample{CPUNs: t.CPUNs, VoluntaryCtxt: t.VoluntaryCtxt, NonvoluntaryCtxt: t.NonvoluntaryCtxt}
		if was, ok := threadsBefore[key]; ok {
			delete(threadsBefore, key)
			if t.CPUNs >= was.CPUNs && t.VoluntaryCtxt >= was.VoluntaryCtxt && t.NonvoluntaryCtxt >= was.NonvoluntaryCtxt {
				used.CPUNs -= was.CPUNs
				used.VoluntaryCtxt -= was.VoluntaryCtxt
				used.NonvoluntaryCtxt -= was.NonvoluntaryCtxt
			} else {
				d.ThreadsExited++ // a reused id: the old thread is gone
				d.ThreadsStarted++
			}
		} else {
			d.ThreadsStarted++
		}
		d.CPUNs += used.CPUNs
		d.VoluntaryCtxt += used.VoluntaryCtxt
		d.NonvoluntaryCtxt += used.NonvoluntaryCtxt
		if used.CPUNs > d.Busiest.CPUNs || d.Busiest.TID == 0 {
			d.Busiest = ThreadUse{PID: t.PID, TID: t.TID, Comm: t.Comm, CPUNs: used.CPUNs}
		}
	}
	d.ThreadsExited += len(threadsBefore)
	return d, nil
}

// ticksToNs converts clock ticks to ns.
func ticksToNs(t uint64) int64 { return int64(t) * (1e9 / userHZ) }
