package preflight

import (
	"os"

	"github.com/muxbench/muxbench/internal/procfs"
)

// ReadLimits reads this machine's limits for Conns; what cannot be read
// stays 0 (nil for the slab sizes). The caller sets the point: Conns,
// Role, Generators and SourceAddrs.
func ReadLimits() Limits {
	var l Limits
	l.Soft, l.Hard, _ = procfs.NoFile()
	l.NrOpen, _ = procfs.NrOpen()
	l.FileMax, _ = procfs.FileMax()
	l.PortLo, l.PortHi, _ = procfs.LocalPortRange()
	l.Somaxconn, _ = procfs.Somaxconn()
	l.TCPMem, _ = procfs.TCPMem()
	l.PageSize = int64(os.Getpagesize())
	l.MemAvailKiB, _ = procfs.MemAvailable()
	if caches, err := procfs.Slabinfo(); err == nil {
		l.SlabObjSize = map[string]int64{}
		for name, c := range caches {
			l.SlabObjSize[name] = c.ObjSize
		}
	}
	return l
}
