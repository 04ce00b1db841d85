package procfs

import (
	"fmt"
	"strconv"
	"strings"
)

// IdleState is one cpuidle state of one CPU as
// /sys/devices/system/cpu/cpuN/cpuidle/stateK shows it: its name (POLL,
// C1, "haltpoll idle" in a KVM guest, ...), how many times the CPU entered
// it (usage) and the time spent in it (time, µs, here in ns). Both count
// since boot and are updated when the CPU leaves the state, so a CPU idle
// at a reading has its current stay not yet counted.
type IdleState struct {
	Name    string
	Entries uint64
	TimeNs  uint64
}

// ParseIdleState parses the name, usage and time files of one cpuidle
// state directory.
func ParseIdleState(name, usage, timeUs []byte) (IdleState, error) {
	s := IdleState{Name: strings.TrimSpace(string(name))}
	if s.Name == "" {
		return s, fmt.Errorf("cpuidle state: empty name")
	}
	u, err := strconv.ParseUint(strings.TrimSpace(string(usage)), 10, 64)
	if err != nil {
		return s, fmt.Errorf("cpuidle state %s: usage: want a count, got %q", s.Name, strings.TrimSpace(string(usage)))
	}
	t, err := strconv.ParseUint(strings.TrimSpace(string(timeUs)), 10, 64)
	if err != nil || t > (1<<64-1)/1000 {
		return s, fmt.Errorf("cpuidle state %s: time: want microseconds, got %q", s.Name, strings.TrimSpace(string(timeUs)))
	}
	s.Entries, s.TimeNs = u, t*1000
	return s, nil
}

// IdleDelta sums, per state, what the cpus' idle states counted between
// two readings (Entries and TimeNs are deltas), in the state order of the
// first CPU. ok is false when a CPU is missing from either reading, its
// states differ between them or from the first CPU's, or a count went
// backwards.
func IdleDelta(start, end map[int][]IdleState, cpus []int) (delta []IdleState, ok bool) {
	if len(cpus) == 0 {
		return nil, false
	}
	for i, c := range cpus {
		a, inA := start[c]
		b, inB := end[c]
		if !inA || !inB || len(a) != len(b) || len(a) == 0 {
			return nil, false
		}
		if i == 0 {
			delta = make([]IdleState, len(a))
			for k := range a {
				delta[k].Name = a[k].Name
			}
		}
		if len(a) != len(delta) {
			return nil, false
		}
		for k := range a {
			if a[k].Name != delta[k].Name || b[k].Name != a[k].Name || b[k].Entries < a[k].Entries || b[k].TimeNs < a[k].TimeNs {
				return nil, false
			}
			delta[k].Entries += b[k].Entries - a[k].Entries
			delta[k].TimeNs += b[k].TimeNs - a[k].TimeNs
		}
	}
	return delta, true
}
