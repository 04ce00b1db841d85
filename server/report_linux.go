package server

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/procfs"
)

// Hello is the first line `muxbench serve` prints: where the server listens
// and what it can hold. The harness reads it to find the server and to
// decide which points the backend can run.
type Hello struct {
	Addr       string `json:"addr"`
	PID        int    `json:"pid"`
	Backend    string `json:"backend"`
	Proto      string `json:"proto"`
	CPUs       string `json:"cpus"` // CPU list the process is pinned to, "" = not pinned
	NoFileSoft uint64 `json:"nofile_soft"`
	NoFileHard uint64 `json:"nofile_hard"`
	// OpenFDs is how many fds the process holds before any connection
	// (stdio, listener, poller, runtime). Connections take the lowest free
	// numbers, so with N connections the highest fd is about OpenFDs+N-1.
	OpenFDs int `json:"open_fds"`
	// MaxFD is the backend's own limit on fd numbers (select: FD_SETSIZE);
	// 0 means none.
	MaxFD int `json:"max_fd,omitempty"`
	// LoopThread is true for the event-loop backends: their cost is the
	// loop thread's CPU (Report.LoopCPUNs). A whole server of its own
	// (gonet) is the whole process.
	LoopThread bool `json:"loop_thread"`
	// GOMAXPROCS and GODEBUG are the Go runtime settings the server runs
	// with; both change how many threads wake and how often.
	GOMAXPROCS int    `json:"gomaxprocs"`
	GODEBUG    string `json:"godebug,omitempty"`
	// GC is the garbage collector's setting: "default", or off with a
	// memory limit for the event loop (which allocates nothing per request).
	GC string `json:"gc"`
}

// Report is one line printed for `muxbench serve`'s stats command: every
// counter plus the process's resource usage.
type Report struct {
	Stats
	// From getrusage(RUSAGE_SELF): every thread of the server process,
	// Go runtime threads included.
	UserNs     int64 `json:"user_ns"`
	SysNs      int64 `json:"sys_ns"`
	MaxRSSKiB  int64 `json:"max_rss_kib"`
	VolCtxSw   int64 `json:"vol_ctxsw"`
	InvolCtxSw int64 `json:"invol_ctxsw"`
	// LoopCPUNs is the CPU time of the event loop's own thread
	// (/proc/self/task/TID/schedstat, ns): the multiplexer and the loop
	// without the Go runtime's other threads. 0 for gonet, which has no
	// single loop thread.
	LoopCPUNs int64 `json:"loop_cpu_ns"`
	// Threads is the server process's OS thread count (/proc/self/status;
	// 0 if unreadable).
	Threads int `json:"threads"`
	// MonoNs is CLOCK_MONOTONIC when the report was taken, so a reader can
	// compute utilisation over exactly the interval between two reports.
	MonoNs int64 `json:"mono_ns"`
	// Final marks the report printed as the server exits.
	Final bool `json:"final,omitempty"`
}

// TakeReport snapshots r's counters and this process's resource usage.
func TakeReport(r Runner) Report {
	rep := Report{Stats: r.Stats()}
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err == nil {
		rep.UserNs = ru.Utime.Nano()
		rep.SysNs = ru.Stime.Nano()
		rep.MaxRSSKiB = ru.Maxrss
		rep.VolCtxSw = ru.Nvcsw
		rep.InvolCtxSw = ru.Nivcsw
	}
	if lt, ok := r.(interface{ LoopThread() int }); ok && lt.LoopThread() > 0 {
		rep.LoopCPUNs = threadCPU(lt.LoopThread())
	}
	rep.Threads = threadCount()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err == nil {
		rep.MonoNs = ts.Nano()
	} else {
		rep.MonoNs = time.Now().UnixNano()
	}
	return rep
}

// threadCPU is a thread's time on CPU in ns, 0 if unreadable (the wire
// field's "not counted").
func threadCPU(tid int) int64 {
	n, _ := procfs.ThreadCPU(tid)
	return n
}

// threadCount is this process's thread count, 0 if unreadable.
func threadCount() int {
	n, _ := procfs.Threads()
	return n
}

// OpenFDs counts this process's open file descriptors (-1 if /proc is
// unreadable).
func OpenFDs() int {
	n, err := procfs.OpenFDs()
	if err != nil {
		return -1
	}
	return n
}
