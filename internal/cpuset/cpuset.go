// Package cpuset parses CPU lists ("0", "1-3", "0,2-3") and pins every
// thread of the calling process to one, so the server under test and the
// load generator run on disjoint CPUs.
package cpuset

import (
	"fmt"
	"strconv"
	"strings"
)

// Set is a parsed CPU list. The zero value means "not pinned".
type Set struct {
	cpus []int
}

// Parse reads a CPU list in the kernel's cpulist format: comma-separated
// CPU numbers or inclusive ranges, e.g. "0", "1-3", "0,2-3". An empty string
// is the empty Set (no pinning).
func Parse(s string) (Set, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Set{}, nil
	}
	seen := map[int]bool{}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := cpuNumber(lo)
		if err != nil {
			return Set{}, fmt.Errorf("cpu list %q: %w (want e.g. 0 or 1-3 or 0,2-3)", s, err)
		}
		b := a
		if isRange {
			if b, err = cpuNumber(hi); err != nil {
				return Set{}, fmt.Errorf("cpu list %q: %w (want e.g. 0 or 1-3 or 0,2-3)", s, err)
			}
			if b < a {
				return Set{}, fmt.Errorf("cpu list %q: range %s is backwards (write %d-%d)", s, part, b, a)
			}
		}
		for c := a; c <= b; c++ {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return Set{cpus: out}, nil
}

func cpuNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n >= maxCPU {
		return 0, fmt.Errorf("%q is not a CPU number in 0..%d", s, maxCPU-1)
	}
	return n, nil
}

// maxCPU bounds CPU numbers to what a unix.CPUSet can hold.
const maxCPU = 1024

// Empty reports whether the set names no CPU (pinning is off).
func (s Set) Empty() bool { return len(s.cpus) == 0 }

// Len is the number of CPUs in the set.
func (s Set) Len() int { return len(s.cpus) }

// CPUs returns the CPU numbers in the order they were listed.
func (s Set) CPUs() []int { return append([]int(nil), s.cpus...) }

// String formats the set back as a CPU list ("" when empty).
func (s Set) String() string {
	parts := make([]string, len(s.cpus))
	for i, c := range s.cpus {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ",")
}
