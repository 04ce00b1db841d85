package preflight

import (
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/loadgen"
)

// Role is what one machine does in a run, for Conns.
type Role string

const (
	// RoleServer: this machine runs the server only.
	RoleServer Role = "server"
	// RoleGenerator: this machine runs one of the load generators only.
	RoleGenerator Role = "generator"
	// RoleBoth: server and load generator on this one machine.
	RoleBoth Role = "both"
)

// Roles lists the roles, RoleBoth (one machine) last.
var Roles = []Role{RoleServer, RoleGenerator, RoleBoth}

// Limits is what Conns judges: the machine's limits (ReadLimits) and the
// point it is asked to hold. A zero limit was not readable and is reported
// as unknown, never judged.
type Limits struct {
	Soft, Hard  uint64           // RLIMIT_NOFILE of this process (what a child inherits)
	NrOpen      uint64           // fs.nr_open: the ceiling of any hard limit
	FileMax     uint64           // fs.file-max: open files, whole system
	PortLo      uint16           // net.ipv4.ip_local_port_range
	PortHi      uint16           //
	Somaxconn   int              // net.core.somaxconn
	TCPMem      [3]int64         // net.ipv4.tcp_mem, pages: min, pressure, max
	PageSize    int64            //
	MemAvailKiB int64            // MemAvailable
	SlabObjSize map[string]int64 // object size per slab cache (/proc/slabinfo: root only)
	SourceAddrs int              // source addresses per generator (-source-ips count)
	Generators  int              // hosts sharing the load
	Role        Role             // what this machine runs
	Conns       int              // the point's total connections
}

// socketSlabs are the kernel objects of one TCP socket fd: the socket, its
// inode, its file and dentry, and (in an epoll set) one epitem.
var socketSlabs = []string{"TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi"}

// lowSomaxconnConns is the accept backlog below which many connections
// from several generators are likely to overflow it.
const lowSomaxconnConns = 4096

// Conns judges l for l.Conns connections in l.Role: open files per process
// and on the machine, ports per generator, the accept backlog, kernel
// memory per socket.
func Conns(l Limits) []Check {
	var checks list
	gens := max(l.Generators, 1)
	perGen := (l.Conns + gens - 1) / gens

	var perProcess, onMachine int // fds one process needs; sockets this machine holds
	switch l.Role {
	case RoleServer:
		perProcess, onMachine = l.Conns+loadgen.SpareFDs, l.Conns
	case RoleGenerator:
		perProcess, onMachine = perGen+loadgen.SpareFDs, perGen
	default: // both on one machine: two processes, two socket ends per connection
		perProcess, onMachine = l.Conns+loadgen.SpareFDs, 2*l.Conns
	}

	need := uint64(perProcess)
	switch {
	case l.Hard == 0:
		checks.add("nofile", Warn, "cannot read RLIMIT_NOFILE", "")
	case l.Hard < need:
		fix := fmt.Sprintf("raise the hard limit to %d: ulimit -Hn %d as root, LimitNOFILE=%d in a systemd unit, or nofile %d in /etc/security/limits.conf", need, need, need, need)
		if l.Role != RoleGenerator && l.Role != RoleServer {
			fix += "; or split the run: the server on one host, generators on others (README: Across hosts)"
		}
		checks.add("nofile", Fail, fmt.Sprintf("one process needs about %d fds; RLIMIT_NOFILE is %d (hard %d)", need, l.Soft, l.Hard), fix)
	case l.Soft < need:
		checks.add("nofile", OK, fmt.Sprintf("one process needs about %d fds; soft limit %d, hard %d: muxbench (a Go program) raises its soft limit to the hard one at start", need, l.Soft, l.Hard), "")
	default:
		checks.add("nofile", OK, fmt.Sprintf("RLIMIT_NOFILE %d: enough for %d fds per process", l.Soft, need), "")
	}
	switch {
	case l.NrOpen == 0:
		checks.add("nr_open", Warn, "cannot read fs.nr_open", "")
	case l.NrOpen < need:
		checks.add("nr_open", Fail, fmt.Sprintf("fs.nr_open is %d: no hard limit can reach %d", l.NrOpen, need), fmt.Sprintf("sysctl -w fs.nr_open=%d (before raising the hard limit)", need))
	default:
		checks.add("nr_open", OK, fmt.Sprintf("fs.nr_open %d", l.NrOpen), "")
	}
	switch {
	case l.FileMax == 0:
		checks.add("file-max", Warn, "cannot read fs.file-max", "")
	case l.FileMax < uint64(onMachine+2*loadgen.SpareFDs):
		checks.add("file-max", Fail, fmt.Sprintf("fs.file-max is %d; this machine holds %d sockets", l.FileMax, onMachine), fmt.Sprintf("sysctl -w fs.file-max=%d", 2*onMachine))
	default:
		checks.add("file-max", OK, fmt.Sprintf("fs.file-max %d", l.FileMax), "")
	}

	if l.Role != RoleServer {
		ports := int(l.PortHi) - int(l.PortLo) + 1
		srcs := max(l.SourceAddrs, 1)
		switch {
		case l.PortHi == 0:
			checks.add("ports", Warn, "cannot read net.ipv4.ip_local_port_range", "")
		case perGen > ports*srcs:
			checks.add("ports", Fail, fmt.Sprintf("%d connections from one generator to one server address need %d (source address, port) pairs; the port range %d-%d gives %d per source address × %d", perGen, perGen, l.PortLo, l.PortHi, ports, srcs),
				fmt.Sprintf("give load -source-ips %d addresses (on loopback 127.0.0.x works as is; across hosts add addresses to the generator's interface), widen net.ipv4.ip_local_port_range (sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"), or use %d generators",
					(perGen+ports-1)/ports, (l.Conns+ports*srcs-1)/(ports*srcs)))
		default:
			checks.add("ports", OK, fmt.Sprintf("%d connections per generator fit %d ports × %d source addresses", perGen, ports, srcs), "")
		}
	}
	if l.Role != RoleGenerator {
		switch {
		case l.Somaxconn == 0:
			checks.add("somaxconn", Warn, "cannot read net.core.somaxconn", "")
		case l.Somaxconn < lowSomaxconnConns:
			checks.add("somaxconn", Warn, fmt.Sprintf("net.core.somaxconn is %d: connect bursts from %d generators overflow the accept queue and wait for SYN retries (1 s, 3 s, ...)", l.Somaxconn, gens), fmt.Sprintf("sysctl -w net.core.somaxconn=%d", lowSomaxconnConns))
		default:
			checks.add("somaxconn", OK, fmt.Sprintf("net.core.somaxconn %d", l.Somaxconn), "")
		}
	}

	// Kernel memory: the socket objects are read, per socket, from this
	// kernel's slab sizes; tcp_mem bounds only buffer pages (data in
	// flight), which idle connections do not hold.
	var perSocket int64
	for _, s := range socketSlabs {
		perSocket += l.SlabObjSize[s]
	}
	if perSocket == 0 {
		checks.add("memory", Warn, "cannot read /proc/slabinfo (root only): kernel memory per socket unknown", "run muxbench env as root for the estimate")
	} else {
		kernel := perSocket * int64(onMachine)
		detail := fmt.Sprintf("%d sockets × %d B of kernel objects (/proc/slabinfo: %s) = %d MiB", onMachine, perSocket, strings.Join(socketSlabs, "+"), kernel>>20)
		switch {
		case l.MemAvailKiB == 0:
			checks.add("memory", Warn, detail+"; MemAvailable unknown", "")
		case kernel > l.MemAvailKiB*1024/2:
			checks.add("memory", Fail, fmt.Sprintf("%s, more than half of MemAvailable (%d MiB)", detail, l.MemAvailKiB>>10), "use fewer connections per host or a machine with more memory")
		default:
			checks.add("memory", OK, fmt.Sprintf("%s of %d MiB available", detail, l.MemAvailKiB>>10), "")
		}
	}
	if l.TCPMem[2] > 0 && l.PageSize > 0 {
		checks.add("tcp_mem", OK, fmt.Sprintf("net.ipv4.tcp_mem pressure at %d MiB, limit %d MiB of socket buffers: only data in flight counts (active connections × request size × pipeline), not idle connections",
			l.TCPMem[1]*l.PageSize>>20, l.TCPMem[2]*l.PageSize>>20), "")
	} else {
		checks.add("tcp_mem", Warn, "cannot read net.ipv4.tcp_mem", "")
	}
	return checks
}
