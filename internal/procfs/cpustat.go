package procfs

import (
	"bufio"
	"strconv"
	"strings"
)

// CPUTicks is one CPU's line of /proc/stat, in clock ticks (USER_HZ):
// Busy is everything but idle and iowait.
type CPUTicks struct {
	Busy, Total uint64
}

// ParseProcStat reads the per-CPU lines ("cpu0 user nice system idle
// iowait irq softirq steal ...") of /proc/stat. Busy is everything but idle
// and iowait: the server's own time, the kernel's work on its behalf
// (softirq for loopback packets is charged here whichever task it
// interrupted) and anything else that kept the CPU from idling.
func ParseProcStat(text string) map[int]CPUTicks {
	out := map[int]CPUTicks{}
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
		var t CPUTicks
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
			t.Total += n
			if i != 3 && i != 4 { // idle, iowait
				t.Busy += n
			}
		}
		if ok {
			out[cpu] = t
		}
	}
	return out
}

// BusyFraction is how busy the CPUs were between two /proc/stat readings:
// busy ticks over all ticks, summed over cpus (0..1). ok is false when a CPU
// is missing from either reading or no tick passed.
func BusyFraction(start, end map[int]CPUTicks, cpus []int) (frac float64, ok bool) {
	var busy, total uint64
	for _, c := range cpus {
		a, inA := start[c]
		b, inB := end[c]
		if !inA || !inB || b.Total < a.Total || b.Busy < a.Busy {
			return 0, false
		}
		busy += b.Busy - a.Busy
		total += b.Total - a.Total
	}
	if total == 0 {
		return 0, false
	}
	return float64(busy) / float64(total), true
}
