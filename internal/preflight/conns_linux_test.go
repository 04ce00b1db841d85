package preflight

import "testing"

// TestReadLimits reads this machine: the limits every Linux has are read.
func TestReadLimits(t *testing.T) {
	l := ReadLimits()
	if l.Hard == 0 || l.NrOpen == 0 || l.FileMax == 0 || l.PortHi == 0 || l.PageSize == 0 || l.MemAvailKiB == 0 || l.TCPMem[2] == 0 {
		t.Errorf("ReadLimits() = %+v; want RLIMIT_NOFILE, nr_open, file-max, ports, page size, MemAvailable and tcp_mem read", l)
	}
}
