package preflight

import (
	"strings"
	"testing"
)

func TestConns(t *testing.T) {
	base := Limits{
		Soft: 20000, Hard: 20000, NrOpen: 1 << 20, FileMax: 1 << 21, PortLo: 32768, PortHi: 60999,
		Somaxconn: 4096, TCPMem: [3]int64{100, 200, 300}, PageSize: 4096, MemAvailKiB: 8 << 20,
		SlabObjSize: map[string]int64{"TCP": 2368, "sock_inode_cache": 832, "filp": 192, "dentry": 192, "eventpoll_epi": 128},
		SourceAddrs: 1, Generators: 1, Role: RoleBoth,
	}
	for _, tc := range []struct {
		name   string
		change func(l *Limits)
		check  string // the check's name
		level  Level
		want   string // in detail or fix
	}{
		{"fits one machine", func(l *Limits) { l.Conns = 15000 }, "nofile", OK, "enough for 15016 fds"},
		{"past the hard limit", func(l *Limits) { l.Conns = 100000 }, "nofile", Fail, "ulimit -Hn 100016"},
		{"one machine: split it", func(l *Limits) { l.Conns = 100000 }, "nofile", Fail, "Across hosts"},
		{"soft below need", func(l *Limits) { l.Conns = 15000; l.Soft = 1024 }, "nofile", OK, "raises its soft limit"},
		{"nr_open", func(l *Limits) { l.Conns = 100000; l.NrOpen = 65536 }, "nr_open", Fail, "sysctl -w fs.nr_open=100016"},
		{"file-max counts both ends", func(l *Limits) { l.Conns = 15000; l.FileMax = 20000 }, "file-max", Fail, "holds 30000 sockets"},
		{"generator ports", func(l *Limits) { l.Conns = 100000; l.Role = RoleGenerator }, "ports", Fail, "-source-ips 4 addresses"},
		{"four generators share", func(l *Limits) { l.Conns = 100000; l.Role = RoleGenerator; l.Generators = 4 }, "ports", OK, "25000 connections per generator"},
		{"source addresses", func(l *Limits) { l.Conns = 100000; l.Role = RoleGenerator; l.SourceAddrs = 4 }, "ports", OK, "28232 ports × 4"},
		{"somaxconn", func(l *Limits) { l.Conns = 1000; l.Somaxconn = 128 }, "somaxconn", Warn, "sysctl -w net.core.somaxconn=4096"},
		{"memory from slabs", func(l *Limits) { l.Conns = 1000; l.Role = RoleServer }, "memory", OK, "1000 sockets × 3712 B"},
		{"memory too much", func(l *Limits) { l.Conns = 1000000; l.Role = RoleServer; l.MemAvailKiB = 1 << 20 }, "memory", Fail, "more than half of MemAvailable"},
		{"no slabinfo", func(l *Limits) { l.Conns = 1000; l.SlabObjSize = nil }, "memory", Warn, "root only"},
		{"unreadable limit", func(l *Limits) { l.Conns = 1000; l.Hard = 0 }, "nofile", Warn, "cannot read"},
		{"no tcp_mem", func(l *Limits) { l.Conns = 1000; l.TCPMem = [3]int64{} }, "tcp_mem", Warn, "cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := base
			tc.change(&l)
			found := find(t, Conns(l), tc.check)
			if found.Level != tc.level || !strings.Contains(found.Detail+" "+found.Fix, tc.want) {
				t.Errorf("%s: %s %q (fix %q); want %s containing %q", tc.check, found.Level, found.Detail, found.Fix, tc.level, tc.want)
			}
		})
	}
	// A server checks no ports of its own; a generator no accept backlog.
	for role, absent := range map[Role]string{RoleServer: "ports", RoleGenerator: "somaxconn"} {
		l := base
		l.Conns, l.Role = 1000, role
		for _, c := range Conns(l) {
			if c.Name == absent {
				t.Errorf("role %s has a %s check: %+v", role, absent, c)
			}
		}
	}
}

func find(t *testing.T, checks []Check, name string) Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, checks)
	return Check{}
}
