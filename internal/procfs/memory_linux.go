package procfs

import (
	"fmt"
	"os"
	"strconv"
)

// ConnCaches are the slab caches an idle TCP connection and its epoll
// registration allocate from: the sockets, their inodes, dentries and
// files, and epoll's per-fd item and wait-queue hook. Summing these rather
// than /proc/meminfo's Slab keeps other processes' file-system caches out.
var ConnCaches = []string{"TCP", "sock_inode_cache", "dentry", "filp", "eventpoll_epi", "eventpoll_pwq"}

// Memory is a snapshot of the memory connections cost: the ConnCaches'
// bytes in use, the pages charged to TCP buffers, and one process's RSS.
type Memory struct {
	SlabBytes   int64 // sum over ConnCaches of active objects × object size
	EpitemBytes int64 // eventpoll_epi alone: epoll's item per watched fd
	TCPMemBytes int64 // /proc/net/sockstat TCP mem, in bytes
	RSSBytes    int64 // VmRSS of the process
}

// ReadMemory snapshots Memory for process pid. /proc/slabinfo is readable
// by root only: without it the error says so and nothing is returned.
func ReadMemory(pid int) (Memory, error) {
	var m Memory
	caches, err := Slabinfo()
	if err != nil {
		return m, err
	}
	for _, name := range ConnCaches {
		m.SlabBytes += caches[name].Bytes()
	}
	m.EpitemBytes = caches["eventpoll_epi"].Bytes()
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return m, fmt.Errorf("read sockstat: %w", err)
	}
	pages, err := ParseSockstatTCPMem(b)
	if err != nil {
		return m, err
	}
	m.TCPMemBytes = pages * int64(os.Getpagesize())
	if b, err = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); err != nil {
		return m, fmt.Errorf("read process %d status: %w", pid, err)
	}
	rss, err := ParseVmRSS(b)
	if err != nil {
		return m, err
	}
	m.RSSBytes = rss << 10
	return m, nil
}
