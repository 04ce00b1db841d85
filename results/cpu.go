package results

// Where a window's CPU went beside the server's own counters: the server
// CPU set's idle states, and an external server's process tree.

// CPUIdle is the server CPU set's idle states over a window, summed over
// its CPUs: /sys/devices/system/cpu/cpuN/cpuidle/stateK's usage and time
// at the window's edges, read by the harness beside /proc/stat. Entries
// count every stay in a state, whatever woke the CPU; time is updated when
// a CPU leaves a state, so a stay under way at an edge is counted in the
// window it ends in (at most one stay per CPU and edge).
type CPUIdle struct {
	CPUs   string      `json:"cpus"`  // the CPU list read, e.g. "0"
	NCPUs  int         `json:"ncpus"` // how many CPUs that is
	States []IdleState `json:"states"`
}

// IdleState is one idle state's part of a window: the state's name as the
// cpuidle driver gives it (POLL, C1, C6, "haltpoll idle" in a KVM guest,
// where it is a HLT that exits to the host), entries into it and time in it.
type IdleState struct {
	Name    string `json:"name"`
	Entries int64  `json:"entries"`
	TimeNs  int64  `json:"time_ns"`
}

// Entries is the entries into every idle state, all CPUs of the set.
func (c *CPUIdle) Entries() int64 {
	var n int64
	for _, s := range c.States {
		n += s.Entries
	}
	return n
}

// Share is the fraction of the set's CPU time over window ns spent in
// idle states (0..1, a little over 1 when a stay that began before the
// window ended in it).
func (c *CPUIdle) Share(windowNs int64) float64 {
	if c.NCPUs <= 0 || windowNs <= 0 {
		return 0
	}
	var t int64
	for _, s := range c.States {
		t += s.TimeNs
	}
	return float64(t) / float64(windowNs) / float64(c.NCPUs)
}

// TreeCPU is an external server's process tree over a window: every thread
// of the process it was started as (or attached to) and of its
// descendants, as /proc/PID/task/*/schedstat and status show them.
type TreeCPU struct {
	PID int `json:"pid"` // the tree's root
	// CPUNs is the tree's CPU time in the window, threads alive at the end
	// (schedstat); StatCPUNs the same from /proc/PID/stat's utime+stime,
	// which keeps exited threads' time but counts whole 10 ms ticks.
	CPUNs     int64 `json:"cpu_ns"`
	StatCPUNs int64 `json:"stat_cpu_ns"`
	// Busiest is the thread that used the most CPU in the window, "PID/TID
	// (comm)": for a multi-threaded server the figure to compare with an
	// event loop's thread.
	Busiest      string  `json:"busiest"`
	BusiestCPUNs int64   `json:"busiest_cpu_ns"`
	CPUNsPerReq  float64 `json:"cpu_ns_per_req"`         // CPUNs / requests
	BusiestPerRq float64 `json:"busiest_cpu_ns_per_req"` // BusiestCPUNs / requests
	// Processes, Threads and RSSKiB are the tree at the window's end;
	// RSSKiB sums VmRSS over processes (pages shared between them count
	// once per process: an upper bound).
	Processes int   `json:"processes"`
	Threads   int   `json:"threads"`
	RSSKiB    int64 `json:"rss_kib"`
	// VolCtxSw and InvolCtxSw are the context switches of the threads
	// alive at the end, in the window.
	VolCtxSw   int64 `json:"vol_ctxsw"`
	InvolCtxSw int64 `json:"invol_ctxsw"`
	// ThreadsStarted, ThreadsExited, ProcessesStarted and
	// ProcessesExited count what came and went inside the window: a
	// thread that exited took its schedstat time with it (StatCPUNs
	// keeps it).
	ThreadsStarted   int `json:"threads_started,omitempty"`
	ThreadsExited    int `json:"threads_exited,omitempty"`
	ProcessesStarted int `json:"processes_started,omitempty"`
	ProcessesExited  int `json:"processes_exited,omitempty"`
}
