package main

import (
	"strings"
	"testing"
)

func TestConnChecks(t *testing.T) {
	base := connLimits{
		soft: 20000, hard: 20000, nrOpen: 1 << 20, fileMax: 1 << 21, portLo: 32768, portHi: 60999,
		somaxconn: 4096, tcpMem: [3]int64{100, 200, 300}, pageSize: 4096, memAvailKiB: 8 << 20,
		slab:        map[string]int64{"TCP": 2368, "sock_inode_cache": 832, "filp": 192, "dentry": 192, "eventpoll_epi": 128},
		sourceAddrs: 1, generators: 1, role: "both",
	}
	for _, tc := range []struct {
		name   string
		change func(l *connLimits)
		check  string // the check's name
		level  string
		want   string // in detail or fix
	}{
		{"fits one machine", func(l *connLimits) { l.conns = 15000 }, "nofile", "ok", "enough for 15016 fds"},
		{"past the hard limit", func(l *connLimits) { l.conns = 100000 }, "nofile", "fail", "ulimit -Hn 100016"},
		{"one machine: split it", func(l *connLimits) { l.conns = 100000 }, "nofile", "fail", "Across hosts"},
		{"soft below need", func(l *connLimits) { l.conns = 15000; l.soft = 1024 }, "nofile", "ok", "raises its soft limit"},
		{"nr_open", func(l *connLimits) { l.conns = 100000; l.nrOpen = 65536 }, "nr_open", "fail", "sysctl -w fs.nr_open=100016"},
		{"file-max counts both ends", func(l *connLimits) { l.conns = 15000; l.fileMax = 20000 }, "file-max", "fail", "holds 30000 sockets"},
		{"generator ports", func(l *connLimits) { l.conns = 100000; l.role = "generator" }, "ports", "fail", "-source-ips 4 addresses"},
		{"four generators share", func(l *connLimits) { l.conns = 100000; l.role = "generator"; l.generators = 4 }, "ports", "ok", "25000 connections per generator"},
		{"source addresses", func(l *connLimits) { l.conns = 100000; l.role = "generator"; l.sourceAddrs = 4 }, "ports", "ok", "28232 ports × 4"},
		{"somaxconn", func(l *connLimits) { l.conns = 1000; l.somaxconn = 128 }, "somaxconn", "warn", "sysctl -w net.core.somaxconn=4096"},
		{"memory from slabs", func(l *connLimits) { l.conns = 1000; l.role = "server" }, "memory", "ok", "1000 sockets × 3712 B"},
		{"memory too much", func(l *connLimits) { l.conns = 1000000; l.role = "server"; l.memAvailKiB = 1 << 20 }, "memory", "fail", "more than half of MemAvailable"},
		{"no slabinfo", func(l *connLimits) { l.conns = 1000; l.slab = nil }, "memory", "warn", "root only"},
		{"unreadable limit", func(l *connLimits) { l.conns = 1000; l.hard = 0 }, "nofile", "warn", "cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := base
			tc.change(&l)
			var found *envCheck
			checks := connChecks(l)
			for i := range checks {
				if checks[i].name == tc.check {
					found = &checks[i]
				}
			}
			if found == nil {
				t.Fatalf("no %s check in %+v", tc.check, checks)
			}
			if found.level != tc.level || !strings.Contains(found.detail+" "+found.fix, tc.want) {
				t.Errorf("%s: %s %q (fix %q); want %s containing %q", tc.check, found.level, found.detail, found.fix, tc.level, tc.want)
			}
		})
	}
	// A server checks no ports of its own; a generator no accept backlog.
	for role, absent := range map[string]string{"server": "ports", "generator": "somaxconn"} {
		l := base
		l.conns, l.role = 1000, role
		for _, c := range connChecks(l) {
			if c.name == absent {
				t.Errorf("role %s has a %s check: %+v", role, absent, c)
			}
		}
	}
}

func TestEnvParsers(t *testing.T) {
	if got, err := parseTCPMem("188 251\t376\n"); err != nil || got != [3]int64{188, 251, 376} {
		t.Errorf("parseTCPMem = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1 2", "1 2 x", "1 -2 3"} {
		if _, err := parseTCPMem(bad); err == nil {
			t.Errorf("parseTCPMem(%q): nil error; want one", bad)
		}
	}
	slab := "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> ...\nTCP 2054 2054 2368 13 8 : tunables 0 0 0\nfilp 2499 2499 192 21 1\nshort 1 2\n"
	if got := parseSlabSizes(slab); len(got) != 2 || got["TCP"] != 2368 || got["filp"] != 192 {
		t.Errorf("parseSlabSizes = %v; want TCP 2368 and filp 192", got)
	}
	if got := parseMemAvailable("MemTotal: 100 kB\nMemAvailable:   2048 kB\n"); got != 2048 {
		t.Errorf("parseMemAvailable = %d; want 2048", got)
	}
	if got := parseMemAvailable("MemTotal: 100 kB\n"); got != 0 {
		t.Errorf("parseMemAvailable without the line = %d; want 0", got)
	}
}

func TestEnvConnsUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"env", "-role", "server"}, "apply with -conns N only"},
		{[]string{"env", "-conns", "10", "-role", "client"}, `-role "client"`},
		{[]string{"env", "-conns", "10", "-generators", "3"}, "with -role both"},
		{[]string{"env", "-conns", "-5"}, "-conns -5"},
	} {
		code, _, stderr := loadRunCmd(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
