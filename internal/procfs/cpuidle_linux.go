package procfs

import (
	"fmt"
	"os"
	"path/filepath"
)

// cpuidleDir is where a CPU's idle states are listed (state0, state1, ...);
// the kernel has at most CPUIDLE_STATE_MAX (10) of them.
const (
	cpuidleDir    = "/sys/devices/system/cpu/cpu%d/cpuidle"
	maxIdleStates = 10
)

// CPUIdle reads the idle states of each of cpus, in state order. It fails
// when a CPU has no cpuidle directory (no cpuidle driver: some VMs and
// containers) or a state cannot be read; callers then record nothing.
func CPUIdle(cpus []int) (map[int][]IdleState, error) {
	out := make(map[int][]IdleState, len(cpus))
	for _, c := range cpus {
		dir := fmt.Sprintf(cpuidleDir, c)
		var states []IdleState
		for k := 0; k < maxIdleStates; k++ {
			sd := filepath.Join(dir, fmt.Sprintf("state%d", k))
			name, err := os.ReadFile(filepath.Join(sd, "name"))
			if os.IsNotExist(err) && k > 0 {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read cpu%d idle states: %w", c, err)
			}
			usage, err := os.ReadFile(filepath.Join(sd, "usage"))
			if err != nil {
				return nil, fmt.Errorf("read cpu%d idle states: %w", c, err)
			}
			timeUs, err := os.ReadFile(filepath.Join(sd, "time"))
			if err != nil {
				return nil, fmt.Errorf("read cpu%d idle states: %w", c, err)
			}
			s, err := ParseIdleState(name, usage, timeUs)
			if err != nil {
				return nil, fmt.Errorf("read cpu%d idle states: %w", c, err)
			}
			states = append(states, s)
		}
		out[c] = states
	}
	return out, nil
}
