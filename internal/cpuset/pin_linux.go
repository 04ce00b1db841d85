package cpuset

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// PinProcess sets the CPU affinity of every existing thread of this process
// to s, and of the calling thread last. New threads inherit the affinity of
// the thread that creates them, and the Go runtime creates threads from
// already-pinned ones, so the whole process stays on s. An empty set is a
// no-op. A CPU that is not online is an error naming the online CPUs.
func (s Set) PinProcess() error {
	if s.Empty() {
		return nil
	}
	var mask unix.CPUSet
	for _, c := range s.cpus {
		mask.Set(c)
	}
	var online unix.CPUSet
	if err := unix.SchedGetaffinity(0, &online); err == nil {
		for _, c := range s.cpus {
			if !online.IsSet(c) {
				return fmt.Errorf("pin to CPUs %s: CPU %d is not available to this process (it may use %d CPUs; see nproc)", s, c, online.Count())
			}
		}
	}
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
		if err := unix.SchedSetaffinity(tid, &mask); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pin thread %d to CPUs %s: %w", tid, s, err)
		}
	}
	return nil
}
