package server

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/wire"
)

// TakeReport snapshots r's counters and this process's resource usage, and
// for an event-loop server each loop thread's CPU time and context
// switches (its wake-ups), per loop when it runs several.
func TakeReport(r Runner) wire.Report {
	rep := wire.Report{Stats: r.Stats()}
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err == nil {
		rep.UserNs = ru.Utime.Nano()
		rep.SysNs = ru.Stime.Nano()
		rep.MaxRSSKiB = ru.Maxrss
		rep.VolCtxSw = ru.Nvcsw
		rep.InvolCtxSw = ru.Nivcsw
	}
	switch r := r.(type) {
	case interface{ LoopStats() []LoopStat }:
		loops := r.LoopStats()
		rep.Stats = wire.Stats{} // the sum of these, so that the loops add up exactly
		for _, l := range loops {
			rep.Stats.Add(l.Stats)
			cpu, st := threadCPU(l.TID), threadStatus(l.TID)
			rep.LoopCPUNs += cpu
			rep.LoopWakeups += int64(st.VoluntaryCtxt)
			if len(loops) > 1 {
				rep.Loops = append(rep.Loops, wire.Loop{Stats: l.Stats, TID: l.TID, CPU: l.CPU, CPUNs: cpu,
					Wakeups: int64(st.VoluntaryCtxt), InvolCtxSw: int64(st.NonvoluntaryCtxt)})
			}
		}
	case interface{ LoopThread() int }:
		if tid := r.LoopThread(); tid > 0 {
			rep.LoopCPUNs = threadCPU(tid)
			rep.LoopWakeups = int64(threadStatus(tid).VoluntaryCtxt)
		}
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
// field's "not counted") or tid is 0.
func threadCPU(tid int) int64 {
	if tid <= 0 {
		return 0
	}
	n, _ := procfs.ThreadCPU(tid)
	return n
}

// threadStatus is a thread's status (its context switches), zero if
// unreadable (a loop not running: tid 0).
func threadStatus(tid int) procfs.TaskStatus {
	if tid <= 0 {
		return procfs.TaskStatus{}
	}
	st, _ := procfs.ThreadStatus(tid)
	return st
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
