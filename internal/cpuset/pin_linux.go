package cpuset

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Allowed returns the CPUs the calling thread may run on (its affinity):
// what to pin a process back to after PinProcess, e.g. in a test whose
// process goes on to run others.
func Allowed() (Set, error) {
	var mask unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mask); err != nil {
		return Set{}, fmt.Errorf("read CPU affinity: %w", err)
	}
	var cpus []int
	for c := range 64 * len(mask) {
		if mask.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return Set{cpus: cpus}, nil
}

// PinProcess sets the CPU affinity of every existing thread of this process
// to s, and of the calling thread last, and sets GOMAXPROCS to procs. New
// threads inherit the affinity of the thread that creates them, and the Go
// runtime creates threads from already-pinned ones, so the whole process
// stays on s. An empty set only sets GOMAXPROCS. A set with no online CPU is
// an error saying which CPUs exist. (The set may lie outside the current
// affinity: a child started by a pinned parent re-pins itself elsewhere.)
//
// procs is explicit because Go otherwise re-derives GOMAXPROCS from the
// affinity within a second or so of a change, and what is right depends on
// the caller: a Go server on one CPU runs with 1 (gonet), while a process
// whose event loop holds its P through raw wait calls (package rawwait)
// needs at least 2 so its other goroutines can run. procs <= 0 keeps the
// current value (and stops the automatic update).
func (s Set) PinProcess(procs int) error {
	if procs <= 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(procs)
	if s.Empty() {
		return nil
	}
	var mask unix.CPUSet
	for _, c := range s.cpus {
		mask.Set(c)
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
