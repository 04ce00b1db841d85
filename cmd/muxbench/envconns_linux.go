package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/muxbench/muxbench/internal/procfs"
)

// readConnLimits reads what connChecks judges; what cannot be read stays 0.
func readConnLimits() connLimits {
	var l connLimits
	l.soft, l.hard, _ = procfs.NoFile()
	l.nrOpen = readUint("/proc/sys/fs/nr_open")
	l.fileMax = readUint("/proc/sys/fs/file-max")
	l.portLo, l.portHi, _ = procfs.LocalPortRange()
	l.somaxconn, _ = procfs.Somaxconn()
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_mem"); err == nil {
		l.tcpMem, _ = parseTCPMem(string(b))
	}
	l.pageSize = int64(os.Getpagesize())
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		l.memAvailKiB = parseMemAvailable(string(b))
	}
	if b, err := os.ReadFile("/proc/slabinfo"); err == nil {
		l.slab = parseSlabSizes(string(b))
	}
	return l
}

func readUint(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}
