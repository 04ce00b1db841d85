package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// `muxbench env -conns N`: will this machine hold N connections, as the
// server or as one of several generators? Reading the limits is
// envconns_linux.go; judging them is here, pure and table-tested.

// connLimits is what the connection checks read from the machine. A zero
// field was not readable and is reported as unknown, never judged.
type connLimits struct {
	soft, hard  uint64   // RLIMIT_NOFILE of this process (what a child inherits)
	nrOpen      uint64   // fs.nr_open: the ceiling of any hard limit
	fileMax     uint64   // fs.file-max: open files, whole system
	portLo      uint16   // net.ipv4.ip_local_port_range
	portHi      uint16   //
	somaxconn   int      // net.core.somaxconn
	tcpMem      [3]int64 // net.ipv4.tcp_mem, pages: min, pressure, max
	pageSize    int64
	memAvailKiB int64            // MemAvailable
	slab        map[string]int64 // object sizes from /proc/slabinfo (root only)
	sourceAddrs int              // source addresses per generator (-source-ips count)
	generators  int              // hosts sharing the load
	role        string           // "server", "generator" or "both" (one machine)
	conns       int              // the point's total connections
}

// socketSlabs are the kernel objects of one TCP socket fd: the socket, its
// inode, its file and dentry, and (in an epoll set) one epitem.
var socketSlabs = []string{"TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi"}

// envCheck is one line of env's verdict.
type envCheck struct{ level, name, detail, fix string }

// connChecks judges l for l.conns connections in l.role.
func connChecks(l connLimits) []envCheck {
	var out []envCheck
	add := func(level, name, detail, fix string) { out = append(out, envCheck{level, name, detail, fix}) }
	gens := max(l.generators, 1)
	perGen := (l.conns + gens - 1) / gens
	const reserve = 16 // stdio, listener, poller, runtime, control port (the hello's open_fds is ~14)

	var perProcess, onMachine int // fds one process needs; sockets this machine holds
	switch l.role {
	case "server":
		perProcess, onMachine = l.conns+reserve, l.conns
	case "generator":
		perProcess, onMachine = perGen+reserve, perGen
	default: // both on one machine: two processes, two socket ends per connection
		perProcess, onMachine = l.conns+reserve, 2*l.conns
	}

	need := uint64(perProcess)
	switch {
	case l.hard == 0:
		add("warn", "nofile", "cannot read RLIMIT_NOFILE", "")
	case l.hard < need:
		fix := fmt.Sprintf("raise the hard limit to %d: ulimit -Hn %d as root, LimitNOFILE=%d in a systemd unit, or nofile %d in /etc/security/limits.conf", need, need, need, need)
		if l.role != "generator" && l.role != "server" {
			fix += "; or split the run: the server on one host, generators on others (README: Across hosts)"
		}
		add("fail", "nofile", fmt.Sprintf("one process needs about %d fds; RLIMIT_NOFILE is %d (hard %d)", need, l.soft, l.hard), fix)
	case l.soft < need:
		add("ok", "nofile", fmt.Sprintf("one process needs about %d fds; soft limit %d, hard %d: muxbench (a Go program) raises its soft limit to the hard one at start", need, l.soft, l.hard), "")
	default:
		add("ok", "nofile", fmt.Sprintf("RLIMIT_NOFILE %d: enough for %d fds per process", l.soft, need), "")
	}
	switch {
	case l.nrOpen == 0:
		add("warn", "nr_open", "cannot read fs.nr_open", "")
	case l.nrOpen < need:
		add("fail", "nr_open", fmt.Sprintf("fs.nr_open is %d: no hard limit can reach %d", l.nrOpen, need), fmt.Sprintf("sysctl -w fs.nr_open=%d (before raising the hard limit)", need))
	default:
		add("ok", "nr_open", fmt.Sprintf("fs.nr_open %d", l.nrOpen), "")
	}
	switch {
	case l.fileMax == 0:
		add("warn", "file-max", "cannot read fs.file-max", "")
	case l.fileMax < uint64(onMachine+2*reserve):
		add("fail", "file-max", fmt.Sprintf("fs.file-max is %d; this machine holds %d sockets", l.fileMax, onMachine), fmt.Sprintf("sysctl -w fs.file-max=%d", 2*onMachine))
	default:
		add("ok", "file-max", fmt.Sprintf("fs.file-max %d", l.fileMax), "")
	}

	if l.role != "server" {
		ports := int(l.portHi) - int(l.portLo) + 1
		srcs := max(l.sourceAddrs, 1)
		switch {
		case l.portHi == 0:
			add("warn", "ports", "cannot read net.ipv4.ip_local_port_range", "")
		case perGen > ports*srcs:
			add("fail", "ports", fmt.Sprintf("%d connections from one generator to one server address need %d (source address, port) pairs; the port range %d-%d gives %d per source address × %d", perGen, perGen, l.portLo, l.portHi, ports, srcs),
				fmt.Sprintf("give load -source-ips %d addresses (on loopback 127.0.0.x works as is; across hosts add addresses to the generator's interface), widen net.ipv4.ip_local_port_range (sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"), or use %d generators",
					(perGen+ports-1)/ports, (l.conns+ports*srcs-1)/(ports*srcs)))
		default:
			add("ok", "ports", fmt.Sprintf("%d connections per generator fit %d ports × %d source addresses", perGen, ports, srcs), "")
		}
	}
	if l.role != "generator" {
		switch {
		case l.somaxconn == 0:
			add("warn", "somaxconn", "cannot read net.core.somaxconn", "")
		case l.somaxconn < lowSomaxconnConns:
			add("warn", "somaxconn", fmt.Sprintf("net.core.somaxconn is %d: connect bursts from %d generators overflow the accept queue and wait for SYN retries (1 s, 3 s, ...)", l.somaxconn, gens), fmt.Sprintf("sysctl -w net.core.somaxconn=%d", lowSomaxconnConns))
		default:
			add("ok", "somaxconn", fmt.Sprintf("net.core.somaxconn %d", l.somaxconn), "")
		}
	}

	// Kernel memory: the socket objects are read, per socket, from this
	// kernel's slab sizes; tcp_mem bounds only buffer pages (data in
	// flight), which idle connections do not hold.
	var perSocket int64
	for _, s := range socketSlabs {
		perSocket += l.slab[s]
	}
	if perSocket == 0 {
		add("warn", "memory", "cannot read /proc/slabinfo (root only): kernel memory per socket unknown", "run muxbench env as root for the estimate")
	} else {
		kernel := perSocket * int64(onMachine)
		detail := fmt.Sprintf("%d sockets × %d B of kernel objects (/proc/slabinfo: %s) = %d MiB", onMachine, perSocket, strings.Join(socketSlabs, "+"), kernel>>20)
		switch {
		case l.memAvailKiB == 0:
			add("warn", "memory", detail+"; MemAvailable unknown", "")
		case kernel > l.memAvailKiB*1024/2:
			add("fail", "memory", fmt.Sprintf("%s, more than half of MemAvailable (%d MiB)", detail, l.memAvailKiB>>10), "use fewer connections per host or a machine with more memory")
		default:
			add("ok", "memory", fmt.Sprintf("%s of %d MiB available", detail, l.memAvailKiB>>10), "")
		}
	}
	if l.tcpMem[2] > 0 && l.pageSize > 0 {
		add("ok", "tcp_mem", fmt.Sprintf("net.ipv4.tcp_mem pressure at %d MiB, limit %d MiB of socket buffers: only data in flight counts (active connections × request size × pipeline), not idle connections",
			l.tcpMem[1]*l.pageSize>>20, l.tcpMem[2]*l.pageSize>>20), "")
	} else {
		add("warn", "tcp_mem", "cannot read net.ipv4.tcp_mem", "")
	}
	return out
}

// lowSomaxconnConns is the accept backlog below which many connections
// from several generators are likely to overflow it.
const lowSomaxconnConns = 4096

// parseTCPMem parses net.ipv4.tcp_mem: three page counts.
func parseTCPMem(s string) ([3]int64, error) {
	var out [3]int64
	f := strings.Fields(s)
	if len(f) != 3 {
		return out, fmt.Errorf("tcp_mem %q: want three numbers", s)
	}
	for i, v := range f {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return out, fmt.Errorf("tcp_mem %q: %q is not a page count", s, v)
		}
		out[i] = n
	}
	return out, nil
}

// parseSlabSizes returns the object size of each cache in /proc/slabinfo
// ("name active_objs num_objs objsize ...").
func parseSlabSizes(text string) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || strings.HasPrefix(f[0], "#") || f[0] == "slabinfo" {
			continue
		}
		if n, err := strconv.ParseInt(f[3], 10, 64); err == nil && n > 0 {
			out[f[0]] = n
		}
	}
	return out
}

// parseMemAvailable returns MemAvailable from /proc/meminfo in KiB (0 if absent).
func parseMemAvailable(text string) int64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// connTarget is env's -conns, -role, -generators and -source-ips.
type connTarget struct {
	conns, generators, sources int
	role                       string
}

func connFlags(fs *flag.FlagSet) *connTarget {
	c := &connTarget{}
	fs.IntVar(&c.conns, "conns", 0, "also check this machine for `N` connections of one point (fds, nr_open, file-max, ports, somaxconn, kernel memory)")
	fs.StringVar(&c.role, "role", "both", "with -conns: this machine runs the `server`, a `generator`, or `both` (one machine)")
	fs.IntVar(&c.generators, "generators", 1, "with -conns: generator hosts sharing the connections (each holds N/G)")
	fs.IntVar(&c.sources, "source-ips", 1, "with -conns: source addresses each generator spreads its connections over")
	return c
}

func (c *connTarget) check(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case c.conns < 0:
		return usageErrorf("-conns %d: want a positive number of connections", c.conns)
	case c.conns == 0 && (given["role"] || given["generators"] || given["source-ips"]):
		return usageErrorf("-role, -generators and -source-ips apply with -conns N only")
	case c.role != "server" && c.role != "generator" && c.role != "both":
		return usageErrorf("-role %q: want server, generator or both", c.role)
	case c.generators < 1:
		return usageErrorf("-generators %d: want 1 or more", c.generators)
	case c.sources < 1:
		return usageErrorf("-source-ips %d: want 1 or more addresses", c.sources)
	case c.role == "both" && c.generators > 1:
		return usageErrorf("-generators %d with -role both: several generators run on other hosts (give -role server here, -role generator there)", c.generators)
	}
	return nil
}

// print writes the checks for c on this machine and returns the failures.
func (c *connTarget) print(w io.Writer) int {
	l := readConnLimits()
	l.conns, l.role, l.generators, l.sourceAddrs = c.conns, c.role, c.generators, c.sources
	fmt.Fprintf(w, "\nchecks for %d connections (this machine: %s; %d generator(s), %d source address(es) each):\n", c.conns, c.role, c.generators, c.sources)
	fails := 0
	for _, ch := range connChecks(l) {
		fmt.Fprintf(w, "  %-4s %-9s %s\n", ch.level, ch.name, ch.detail)
		if ch.fix != "" {
			fmt.Fprintf(w, "            fix: %s\n", ch.fix)
		}
		if ch.level == "fail" {
			fails++
		}
	}
	return fails
}
