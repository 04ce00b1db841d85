package harness

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/sockdiag"
	"github.com/muxbench/muxbench/results"
)

// The External value a run is given, and its checks: what the command
// line and the scenario may ask of a server muxbench did not write.

// External is a server muxbench did not write, for Options: either a
// command started for every sample or a running server to attach to.
type External struct {
	// Label names the server's line: the samples' backend. The
	// scenario's backends must be just Label.
	Label string
	// Command, if set, is started for every sample, pinned to the
	// scenario's server CPUs in a process group of its own, and stopped
	// (SIGTERM, then SIGKILL after StopTimeout) when the sample ends. In
	// every argument PortPlaceholder is replaced by the port picked for
	// the sample and AddrPlaceholder by 127.0.0.1 and that port; at least
	// one of them must appear.
	Command []string
	// Attach is the HOST:PORT of a server already running on this
	// machine and PID its process: never started nor stopped, its figures
	// the deltas over each window.
	Attach string
	PID    int
	// CPUScope is the headline CPU figure: results.CPUScopeTree (every
	// thread of the server's process tree, what it costs; the default) or
	// results.CPUScopeBusiest (its busiest thread, a multi-threaded
	// server's event loop).
	CPUScope string
	// ReadyTimeout bounds the wait for a started command to accept a
	// connection; 0 means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// StopTimeout bounds the wait between SIGTERM and SIGKILL; 0 means
	// DefaultStopTimeout.
	StopTimeout time.Duration
}

// The placeholders of External.Command.
const (
	PortPlaceholder = "{port}"
	AddrPlaceholder = "{addr}"
)

// Bounds of an external server's start and stop.
const (
	DefaultReadyTimeout = 10 * time.Second
	DefaultStopTimeout  = 5 * time.Second
)

// StderrDir is the subdirectory of a results directory that keeps each
// started external server's standard error (its last StderrKeep bytes),
// stderr/NNN.txt for sample NNN.
const StderrDir = "stderr"

// StderrKeep is how much of an external server's standard error is kept:
// its last 64 KiB.
const StderrKeep = 64 << 10

// ParseHostPort reads an -attach address, HOST:PORT with a numeric port
// in 1..65535.
func ParseHostPort(addr string) (host string, port uint16, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: want HOST:PORT, e.g. 127.0.0.1:6379", addr)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("%q: port %q is not a number in 1..65535", addr, p)
	}
	return host, uint16(n), nil
}

// check validates x against the scenario before anything runs.
func (x *External) check(sc results.Scenario) error {
	switch {
	case x.Label == "":
		return errors.New("harness: an external server needs a label")
	case len(sc.Backends) != 1 || sc.Backends[0] != x.Label:
		return fmt.Errorf("harness: the external server is labelled %s; the scenario's backends must be just that, not %v", x.Label, sc.Backends)
	case (len(x.Command) == 0) == (x.Attach == ""):
		return errors.New("harness: an external server is either a command or an address to attach to")
	case x.Attach != "" && x.PID <= 0:
		return fmt.Errorf("harness: attaching to %s needs the server's pid", x.Attach)
	case x.CPUScope != "" && x.CPUScope != results.CPUScopeTree && x.CPUScope != results.CPUScopeBusiest:
		return fmt.Errorf("harness: CPU scope %q: want %q or %q", x.CPUScope, results.CPUScopeTree, results.CPUScopeBusiest)
	}
	if x.Attach != "" {
		_, _, err := ParseHostPort(x.Attach)
		return err
	}
	return CheckCommand(x.Command)
}

// CheckCommand checks an external server's command: it must name its port
// with PortPlaceholder or AddrPlaceholder, since the harness picks the
// port for every sample.
func CheckCommand(argv []string) error {
	if !slices.ContainsFunc(argv, func(a string) bool {
		return strings.Contains(a, PortPlaceholder) || strings.Contains(a, AddrPlaceholder)
	}) {
		return fmt.Errorf("command %q has neither %s nor %s: the harness picks the server's port for every sample", strings.Join(argv, " "), PortPlaceholder, AddrPlaceholder)
	}
	return nil
}

// CheckAttach checks that process pid (or one of its descendants) holds
// the socket listening on addr's port on this machine: what an attached
// server's CPU and connections are read from must be the server.
func CheckAttach(addr string, pid int) error {
	_, port, err := ParseHostPort(addr)
	if err != nil {
		return err
	}
	r, err := sockdiag.NewReader(port)
	if err != nil {
		return err
	}
	_, err = ownListener(r, pid)
	return err
}

// ProcessCPUs is the CPU list process pid may run on, as server_cpus
// spells it, or "" when that is every CPU (not pinned).
func ProcessCPUs(pid int) (string, error) {
	var mask unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &mask); err != nil {
		return "", fmt.Errorf("CPUs of process %d: %w", pid, err)
	}
	if mask.Count() >= runtime.NumCPU() {
		return "", nil
	}
	var cpus []string
	for c := range len(mask) * 64 {
		if mask.IsSet(c) {
			cpus = append(cpus, strconv.Itoa(c))
		}
	}
	set, err := cpuset.Parse(strings.Join(cpus, ","))
	if err != nil {
		return "", fmt.Errorf("CPUs of process %d: %w", pid, err)
	}
	return set.String(), nil
}

// record is what the run records of the server.
func (x *External) record(outDir string) *results.ExternalServer {
	r := &results.ExternalServer{Label: x.Label, Command: x.Command, Attach: x.Attach, CPUScope: x.scope()}
	if x.Attach != "" {
		r.PID = x.PID
	} else if outDir != "" {
		r.StderrDir = StderrDir
	}
	return r
}

func (x *External) scope() string {
	if x.CPUScope == "" {
		return results.CPUScopeTree
	}
	return x.CPUScope
}
