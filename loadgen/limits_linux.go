package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/procfs"
)

// Sentinel errors wrapped by the *LimitError that Check returns; test with
// errors.Is.
var (
	// ErrNoFile: this process's RLIMIT_NOFILE (hard limit) cannot hold
	// every connection.
	ErrNoFile = errors.New("not enough file descriptors")
	// ErrServerNoFile: the server's RLIMIT_NOFILE (Config.ServerNoFile)
	// cannot hold every connection.
	ErrServerNoFile = errors.New("server has not enough file descriptors")
	// ErrPorts: the local port range times the source addresses cannot
	// give every connection its own 4-tuple.
	ErrPorts = errors.New("not enough local ports")
)

// LimitError is an impossible request found before anything was opened:
// Need of something where only Have exist. Its message gives the numbers
// and the fix.
type LimitError struct {
	Limit error // ErrNoFile, ErrServerNoFile or ErrPorts
	Need  uint64
	Have  uint64
	msg   string
}

func (e *LimitError) Error() string { return e.msg }
func (e *LimitError) Unwrap() error { return e.Limit }

// SpareFDs is the file descriptors a muxbench process is budgeted beyond
// one per connection: the load generator's epoll, eventfd and the Go
// runtime's own; a server's standard files, listener, multiplexer, wake-up
// fd, the runtime's netpoller and control pipes (a serve holds 11 to 13
// before its first connection: its hello's open_fds). Check budgets the
// generator and the server with it, and so do the preflight checks.
const SpareFDs = 16

// Check verifies, before anything is opened, that c's connections fit this
// process's RLIMIT_NOFILE, the server's (when c.ServerNoFile is known) and
// the local port range times the source addresses. It returns c's
// validation error if c is invalid, a *LimitError wrapping ErrNoFile,
// ErrServerNoFile or ErrPorts if a limit is too low, or an error resolving
// the target.
func Check(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	target, err := resolveTarget(c.Target)
	if err != nil {
		return err
	}
	ports, err := localPorts(c.LocalPorts)
	if err != nil {
		return err
	}
	return checkLimits(c, target.Addr(), ports, planSources(target.Addr(), c.Conns, c.SourceIPs, ports.Size()))
}

func checkLimits(c Config, target netip.Addr, ports PortRange, sources []netip.Addr) error {
	_, hard, err := procfs.NoFile()
	if err != nil {
		return err
	}
	open := openFDs()
	need := uint64(c.Conns) + uint64(open) + SpareFDs
	// Run raises the soft limit up to the hard one itself (Go already
	// does at start-up), so the hard limit is what counts.
	if need > hard {
		return &LimitError{Limit: ErrNoFile, Need: need, Have: hard, msg: fmt.Sprintf(
			"need %d fds, limit is %d: lower -conns or raise ulimit -n (%d connections + %d already open + %d spare)",
			need, hard, c.Conns, open, SpareFDs)}
	}
	if c.ServerNoFile > 0 {
		need := uint64(c.Conns) + 1 + SpareFDs
		if need > c.ServerNoFile {
			return &LimitError{Limit: ErrServerNoFile, Need: need, Have: c.ServerNoFile, msg: fmt.Sprintf(
				"server needs %d fds, its limit is %d: lower -conns or raise the server's ulimit -n (%d connections + listener + %d spare)",
				need, c.ServerNoFile, c.Conns, SpareFDs)}
		}
	}
	nsrc := max(1, len(sources))
	perSource := uint64((c.Conns + nsrc - 1) / nsrc)
	have := uint64(ports.Size())
	if perSource > have {
		fix := "add source addresses with -source-ips (e.g. 127.0.0.1-127.0.0.4 for a loopback target)"
		switch {
		case c.SourceIPs == nil && target.Is4() && target.IsLoopback():
			fix = "leave -source-ips unset to spread over enough 127.0.0.x addresses"
		case target.Is6() && target.IsLoopback():
			fix = "IPv6 loopback has only ::1: use a 127.0.0.1 target to spread over 127.0.0.x, or add IPv6 addresses to lo and list them with -source-ips"
		}
		return &LimitError{Limit: ErrPorts, Need: perSource, Have: have, msg: fmt.Sprintf(
			"need %d local ports per source address (%d connections over %d source addresses), the local port range %s has %d: %s, or widen net.ipv4.ip_local_port_range",
			perSource, c.Conns, nsrc, ports, have, fix)}
	}
	return nil
}

// raiseNoFile raises the soft RLIMIT_NOFILE to at least need (up to the
// hard limit).
func raiseNoFile(need uint64) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur >= need {
		return nil
	}
	lim.Cur = min(need, lim.Max)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise RLIMIT_NOFILE soft limit to %d: %w", lim.Cur, err)
	}
	return nil
}

// openFDs counts this process's open file descriptors, or 0 if /proc is
// unreadable: the spare fds in every estimate cover the few a process
// holds before it opens connections.
func openFDs() int {
	n, _ := procfs.OpenFDs()
	return n
}

// localPorts returns the ports a socket may use: the system's
// net.ipv4.ip_local_port_range narrowed by restrict.
func localPorts(restrict PortRange) (PortRange, error) {
	lo, hi, err := procfs.LocalPortRange()
	if err != nil {
		return PortRange{}, err
	}
	sys := PortRange{lo, hi}
	r := sys.intersect(restrict)
	if r.Size() == 0 {
		return PortRange{}, fmt.Errorf("LocalPorts %s does not overlap net.ipv4.ip_local_port_range %s: pick ports inside it", restrict, sys)
	}
	return r, nil
}

// resolveTarget resolves host:port to one address (IPv4 preferred).
func resolveTarget(target string) (netip.AddrPort, error) {
	a, err := net.ResolveTCPAddr("tcp", target)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolve target %q: %w", target, err)
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
