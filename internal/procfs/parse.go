// Package procfs reads what muxbench needs from /proc, sysctls and rlimits:
// net.core.somaxconn, the local port range, open fds, a thread's CPU time
// (schedstat), its state and system call (task.go), the thread count, the
// CPU model, RLIMIT_NOFILE, and what bounds how many connections a machine
// holds (fs.nr_open, fs.file-max, net.ipv4.tcp_mem, MemAvailable, the slab
// caches' object sizes).
//
// Reading is kept apart from parsing, as in prometheus/procfs: the parse
// functions here are pure and tested on fixtures; the read functions in
// procfs_linux.go open the files and return (value, error). Neither picks a
// default: a caller that needs one (a listen backlog) chooses it, and a
// caller that records a value (the run's environment) leaves an unreadable
// one absent rather than record a 0 that looks measured.
package procfs

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseInt parses a one-number sysctl file such as
// /proc/sys/net/core/somaxconn ("4096\n").
func ParseInt(b []byte) (int, error) {
	s := strings.TrimSpace(string(b))
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("want one number, got %q", s)
	}
	return n, nil
}

// ParseUint parses a one-number sysctl file that may exceed an int, such
// as /proc/sys/fs/file-max ("9223372036854775807\n").
func ParseUint(b []byte) (uint64, error) {
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want one unsigned number, got %q", s)
	}
	return n, nil
}

// ParseTCPMem parses /proc/sys/net/ipv4/tcp_mem ("188 251\t376\n"):
// three page counts, min, pressure and max, of memory for TCP socket
// buffers.
func ParseTCPMem(b []byte) ([3]int64, error) {
	var out [3]int64
	s := strings.TrimSpace(string(b))
	f := strings.Fields(s)
	if len(f) != 3 {
		return out, fmt.Errorf("tcp_mem %q: want three numbers", s)
	}
	for i, v := range f {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return [3]int64{}, fmt.Errorf("tcp_mem %q: %q is not a page count", s, v)
		}
		out[i] = n
	}
	return out, nil
}

// ParseMemAvailable returns MemAvailable, in KiB, from /proc/meminfo
// ("MemAvailable:   2048 kB"): the kernel's estimate of memory available
// without swapping.
func ParseMemAvailable(meminfo []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("MemAvailable line %q: want a number of kB", sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("MemAvailable line %q: want a number of kB", sc.Text())
		}
		return n, nil
	}
	return 0, fmt.Errorf("meminfo: no MemAvailable line")
}

// ParsePortRange parses /proc/sys/net/ipv4/ip_local_port_range
// ("32768\t60999\n"): two port numbers, 1 <= lo <= hi <= 65535.
func ParsePortRange(b []byte) (lo, hi uint16, err error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("port range %q: want two numbers", b)
	}
	l, err1 := strconv.ParseUint(f[0], 10, 16)
	h, err2 := strconv.ParseUint(f[1], 10, 16)
	if err1 != nil || err2 != nil || l == 0 || h < l {
		return 0, 0, fmt.Errorf("port range %q: want two port numbers lo <= hi", b)
	}
	return uint16(l), uint16(h), nil
}

// ParseSchedstat returns the time on CPU in ns, the first of the three
// numbers in /proc/PID/task/TID/schedstat ("1234 56 7\n": run time, wait
// time, timeslices). It counts only that thread, unlike getrusage.
func ParseSchedstat(b []byte) (int64, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("schedstat %q: empty", b)
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("schedstat %q: want a run time in ns first", b)
	}
	return n, nil
}

// ParseThreads returns the "Threads:" count of a /proc/PID/status file.
func ParseThreads(status []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return 0, fmt.Errorf("status Threads: %q: want a number", strings.TrimSpace(v))
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("status has no Threads: line")
}

// cpuModelKeys are the /proc/cpuinfo keys that name the CPU, in order of
// preference: x86 and most others write "model name"; some arm32 and
// RISC-V kernels "Processor", "cpu model" or "uarch"; POWER "cpu".
var cpuModelKeys = []string{"model name", "Processor", "cpu model", "uarch", "cpu"}

// ParseCPUModel returns the CPU's name exactly as /proc/cpuinfo gives it
// (the value of the first key in cpuModelKeys it has), or "" when it names
// none (arm64 kernels give only part numbers).
func ParseCPUModel(cpuinfo []byte) string {
	found := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, seen := found[k]; !seen && v != "" {
			found[k] = v
		}
	}
	for _, k := range cpuModelKeys {
		if v, ok := found[k]; ok {
			return v
		}
	}
	return ""
}

// SlabCache is one line of /proc/slabinfo: objects in use and their size.
type SlabCache struct {
	ActiveObjs int64
	ObjSize    int64
}

// Bytes is the memory the cache's objects in use take.
func (c SlabCache) Bytes() int64 { return c.ActiveObjs * c.ObjSize }

// ParseSlabinfo parses /proc/slabinfo (version 2.x): name, active_objs,
// num_objs, objsize, ... per cache. Header and comment lines are skipped.
func ParseSlabinfo(text []byte) (map[string]SlabCache, error) {
	caches := map[string]SlabCache{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "slabinfo") || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			return nil, fmt.Errorf("slabinfo line %q: want name, active_objs, num_objs, objsize", line)
		}
		active, err1 := strconv.ParseInt(f[1], 10, 64)
		size, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("slabinfo line %q: active_objs and objsize must be numbers", line)
		}
		caches[f[0]] = SlabCache{ActiveObjs: active, ObjSize: size}
	}
	if len(caches) == 0 {
		return nil, fmt.Errorf("slabinfo: no caches listed")
	}
	return caches, nil
}

// ParseSockstatTCPMem returns the "mem" figure of the TCP line of
// /proc/net/sockstat: pages the kernel charges to TCP socket buffers.
func ParseSockstatTCPMem(text []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "mem" {
				n, err := strconv.ParseInt(f[i+1], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("sockstat TCP mem %q: not a number", f[i+1])
				}
				return n, nil
			}
		}
		return 0, fmt.Errorf("sockstat TCP line %q has no mem field", sc.Text())
	}
	return 0, fmt.Errorf("sockstat: no TCP line")
}

// ParseVmRSS returns VmRSS in KiB from a /proc/PID/status file.
func ParseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: want a number of kB", sc.Text())
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("status: no VmRSS line")
}
