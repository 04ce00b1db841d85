package server

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/wire"
)

// TakeReport snapshots r's counters and this process's resource usage.
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
