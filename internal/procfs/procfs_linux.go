package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Paths read by this package.
const (
	somaxconnPath = "/proc/sys/net/core/somaxconn"
	portRangePath = "/proc/sys/net/ipv4/ip_local_port_range"
	cpuinfoPath   = "/proc/cpuinfo"
	selfFDPath    = "/proc/self/fd"
	selfStatus    = "/proc/self/status"
	nrOpenPath    = "/proc/sys/fs/nr_open"
	fileMaxPath   = "/proc/sys/fs/file-max"
	tcpMemPath    = "/proc/sys/net/ipv4/tcp_mem"
	meminfoPath   = "/proc/meminfo"
	slabinfoPath  = "/proc/slabinfo"
)

// Somaxconn returns net.core.somaxconn, the cap on any listen backlog.
func Somaxconn() (int, error) {
	b, err := os.ReadFile(somaxconnPath)
	if err != nil {
		return 0, fmt.Errorf("read net.core.somaxconn: %w", err)
	}
	n, err := ParseInt(b)
	if err != nil {
		return 0, fmt.Errorf("read net.core.somaxconn: %w", err)
	}
	return n, nil
}

// LocalPortRange returns net.ipv4.ip_local_port_range, the ports connect
// picks from when a socket is not bound to one.
func LocalPortRange() (lo, hi uint16, err error) {
	b, err := os.ReadFile(portRangePath)
	if err != nil {
		return 0, 0, fmt.Errorf("read local port range: %w", err)
	}
	lo, hi, err = ParsePortRange(b)
	if err != nil {
		return 0, 0, fmt.Errorf("read local port range: %w", err)
	}
	return lo, hi, nil
}

// OpenFDs counts this process's open file descriptors, not counting the
// one it opens to list /proc/self/fd.
func OpenFDs() (int, error) {
	d, err := os.Open(selfFDPath)
	if err != nil {
		return 0, fmt.Errorf("count open fds: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("count open fds: %w", err)
	}
	return len(names) - 1, nil
}

// Comm returns the command name of process pid (/proc/PID/comm: the
// executable's name, cut to 15 bytes), which names a server muxbench did
// not start.
func Comm(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ThreadCPU returns the time on CPU, in ns, of thread tid of this process
// (/proc/self/task/TID/schedstat).
func ThreadCPU(tid int) (int64, error) {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		return 0, fmt.Errorf("read thread %d CPU time: %w", tid, err)
	}
	n, err := ParseSchedstat(b)
	if err != nil {
		return 0, fmt.Errorf("read thread %d CPU time: %w", tid, err)
	}
	return n, nil
}

// ThreadStatus returns what the status file of thread tid of this
// process says (/proc/self/task/TID/status): its context switches among
// the rest.
func ThreadStatus(tid int) (TaskStatus, error) {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return TaskStatus{}, fmt.Errorf("read thread %d status: %w", tid, err)
	}
	ts, err := ParseTaskStatus(b)
	if err != nil {
		return TaskStatus{}, fmt.Errorf("read thread %d status: %w", tid, err)
	}
	return ts, nil
}

// Threads returns this process's OS thread count (/proc/self/status).
func Threads() (int, error) {
	b, err := os.ReadFile(selfStatus)
	if err != nil {
		return 0, fmt.Errorf("read thread count: %w", err)
	}
	n, err := ParseThreads(b)
	if err != nil {
		return 0, fmt.Errorf("read thread count: %w", err)
	}
	return n, nil
}

// CPUModel returns the CPU's name from /proc/cpuinfo; "" with a nil error
// when cpuinfo names none.
func CPUModel() (string, error) {
	b, err := os.ReadFile(cpuinfoPath)
	if err != nil {
		return "", fmt.Errorf("read CPU model: %w", err)
	}
	return ParseCPUModel(b), nil
}

// NoFile returns this process's RLIMIT_NOFILE, soft and hard.
func NoFile() (soft, hard uint64, err error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	return lim.Cur, lim.Max, nil
}

// NrOpen returns fs.nr_open, the ceiling of any process's RLIMIT_NOFILE.
func NrOpen() (uint64, error) { return readUint(nrOpenPath, "fs.nr_open") }

// FileMax returns fs.file-max, the open files the whole system may hold.
func FileMax() (uint64, error) { return readUint(fileMaxPath, "fs.file-max") }

func readUint(path, name string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	n, err := ParseUint(b)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	return n, nil
}

// TCPMem returns net.ipv4.tcp_mem: the min, pressure and max page counts
// of memory for TCP socket buffers.
func TCPMem() ([3]int64, error) {
	b, err := os.ReadFile(tcpMemPath)
	if err != nil {
		return [3]int64{}, fmt.Errorf("read net.ipv4.tcp_mem: %w", err)
	}
	return ParseTCPMem(b)
}

// MemAvailable returns /proc/meminfo's MemAvailable in KiB.
func MemAvailable() (int64, error) {
	b, err := os.ReadFile(meminfoPath)
	if err != nil {
		return 0, fmt.Errorf("read /proc/meminfo: %w", err)
	}
	return ParseMemAvailable(b)
}

// Slabinfo returns /proc/slabinfo's caches, which only root may read.
func Slabinfo() (map[string]SlabCache, error) {
	b, err := os.ReadFile(slabinfoPath)
	if err != nil {
		return nil, fmt.Errorf("read /proc/slabinfo (root only): %w", err)
	}
	return ParseSlabinfo(b)
}

// ProcStat reads /proc/stat's per-CPU busy and total ticks.
func ProcStat() (map[int]CPUTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("read /proc/stat: %w", err)
	}
	return ParseProcStat(string(b)), nil
}
