package harness

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// readProcStat reads /proc/stat's per-CPU ticks (nil if unreadable).
func readProcStat() map[int]cpuTicks {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	return parseProcStat(string(b))
}

// cpuTicks is one CPU's line of /proc/stat, in clock ticks (USER_HZ).
type cpuTicks struct {
	busy, total uint64
}

// parseProcStat reads the per-CPU lines ("cpu0 user nice system idle
// iowait irq softirq steal ...") of /proc/stat. Busy is everything but idle
// and iowait: the server's own time, the kernel's work on its behalf
// (softirq for loopback packets is charged here whichever task it
// interrupted) and anything else that kept the CPU from idling.
func parseProcStat(text string) map[int]cpuTicks {
	out := map[int]cpuTicks{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		cpu, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		var t cpuTicks
		ok := true
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				ok = false
				break
			}
			if i >= 7 { // guest and guest_nice are already in user and nice
				break
			}
			t.total += n
			if i != 3 && i != 4 { // idle, iowait
				t.busy += n
			}
		}
		if ok {
			out[cpu] = t
		}
	}
	return out
}

// busyFraction is how busy the CPUs were between two /proc/stat readings:
// busy ticks over all ticks, summed over cpus (0..1). ok is false when a CPU
// is missing from either reading or no tick passed.
func busyFraction(start, end map[int]cpuTicks, cpus []int) (frac float64, ok bool) {
	var busy, total uint64
	for _, c := range cpus {
		a, inA := start[c]
		b, inB := end[c]
		if !inA || !inB || b.total < a.total || b.busy < a.busy {
			return 0, false
		}
		busy += b.busy - a.busy
		total += b.total - a.total
	}
	if total == 0 {
		return 0, false
	}
	return float64(busy) / float64(total), true
}
