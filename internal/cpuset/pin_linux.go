package cpuset

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// PinProcess sets the CPU affinity of every existing thread of this process
// to s, and of the calling thread last. New threads inherit the affinity of
// the thread that creates them, and the Go runtime creates threads from
// already-pinned ones, so the whole process stays on s. An empty set is a
// no-op. A set with no online CPU is an error saying which CPUs exist.
// (The set may lie outside the current affinity: a child started by a
// pinned parent re-pins itself elsewhere.)
func (s Set) PinProcess() error {
	if s.Empty() {
		return nil
	}
	var mask unix.CPUSet
	for _, c := range s.cpus {
		mask.Set(c)
	}
	// Go lowers GOMAXPROCS to the affinity's CPU count within a second or
	// so of a change. Pinned to one CPU that would leave one P, which the
	// server's event loop holds while it waits (package rawwait): every
	// other goroutine would then wait for the loop. Setting GOMAXPROCS
	// explicitly stops the automatic update; keep at least 2.
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("pin to CPUs %s: list threads: %w", s, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// A thread may exit between ReadDir and here; ESRCH is harmless.
		err = unix.SchedSetaffinity(tid, &mask)
		switch {
		case err == unix.EINVAL:
			online, _ := os.ReadFile("/sys/devices/system/cpu/online")
			return fmt.Errorf("pin to CPUs %s: none of them is online (online CPUs: %s)", s, strings.TrimSpace(string(online)))
		case err != nil && err != unix.ESRCH:
			return fmt.Errorf("pin thread %d to CPUs %s: %w", tid, s, err)
		}
	}
	return nil
}
