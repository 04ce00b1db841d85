package harness

import (
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/results"
)

// readCPUs reads, at a window's edge, this machine's per-CPU load
// (/proc/stat) and the idle states of the server's CPUs (cpuidle). Either
// stays nil where it cannot be read, and its figure is then absent from
// the sample rather than recorded as a zero that looks measured.
func (e *edge) readCPUs(server cpuset.Set) {
	e.cpus, _ = procfs.ProcStat()
	if cpus := server.CPUs(); len(cpus) > 0 {
		e.idle, _ = procfs.CPUIdle(cpus)
	}
}

// cpuIdle is what the server CPUs' idle states counted between two edges,
// or nil when they were not read at both (no cpuidle driver, unpinned).
func cpuIdle(server cpuset.Set, start, end edge) *results.CPUIdle {
	cpus := server.CPUs()
	d, ok := procfs.IdleDelta(start.idle, end.idle, cpus)
	if !ok {
		return nil
	}
	c := &results.CPUIdle{CPUs: server.String(), NCPUs: len(cpus)}
	for _, st := range d {
		c.States = append(c.States, results.IdleState{Name: st.Name, Entries: int64(st.Entries), TimeNs: int64(st.TimeNs)})
	}
	return c
}
