package server

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

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

// threadCPU reads a thread's time on CPU in ns from its schedstat (0 if
// unreadable).
func threadCPU(tid int) int64 {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n
}

// threadCount reads this process's thread count (0 if unreadable).
func threadCount() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// OpenFDs counts this process's open file descriptors (-1 if /proc is
// unreadable).
func OpenFDs() int {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names) - 1 // not counting d itself
}
