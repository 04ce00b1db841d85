package preflight

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// Scenario checks the machine against a scenario (or, with a zero
// scenario, against this machine's own maximum) before anything runs.
func Scenario(sc results.Scenario) []Check { return scenario(sc, false) }

// RemoteScenario is Scenario for a load generator whose server runs on
// another host (muxbench run -server): the scenario's server CPUs are not
// this machine's, so only the client CPUs are checked.
func RemoteScenario(sc results.Scenario) []Check { return scenario(sc, true) }

// serveOpenFDs is about how many fds a `muxbench serve` holds before its
// first connection (its hello's open_fds: 11 to 13), so its connections'
// fd numbers start there; select's check uses it to say which points pass
// FD_SETSIZE. (Not results.ServerOwnFDs, the fds its multiplexer watches
// besides its connections.)
const serveOpenFDs = 13

func scenario(sc results.Scenario, remote bool) []Check {
	var checks list
	maxFDs := 0
	for _, f := range sc.FDs {
		maxFDs = max(maxFDs, f)
	}

	// CPUs: server and client need disjoint sets, or each measures the other.
	n := runtime.NumCPU()
	srv, errS := cpuset.Parse(sc.ServerCPUs)
	cli, errC := cpuset.Parse(sc.ClientCPUs)
	if remote {
		srv, errS = cpuset.Set{}, nil // on another host
	}
	bad := append(missingCPUs(srv, n), missingCPUs(cli, n)...)
	switch {
	case errS != nil || errC != nil:
		checks.add("cpus", Fail, fmt.Sprintf("server_cpus %q / client_cpus %q: %v %v", sc.ServerCPUs, sc.ClientCPUs, errS, errC), "write CPU lists like 0 or 1-3")
	case len(bad) > 0:
		checks.add("cpus", Fail, fmt.Sprintf("CPUs %v do not exist (this machine has %d)", bad, n), fmt.Sprintf("use CPUs 0-%d in server_cpus and client_cpus", n-1))
	case remote:
		checks.add("cpus", OK, fmt.Sprintf("%d CPUs; load generator on %s; the server is remote", n, orAll(cli)), "")
	case n < 2:
		checks.add("cpus", Warn, fmt.Sprintf("%d CPU: server and load generator share it, so each run measures both", n), "run on a machine with 2 or more CPUs")
	case overlap(srv, cli):
		checks.add("cpus", Warn, fmt.Sprintf("the server (%s) and the load generator (%s) share CPUs", orAll(srv), orAll(cli)), "give server_cpus and client_cpus disjoint CPU lists")
	default:
		checks.add("cpus", OK, fmt.Sprintf("%d CPUs; server on %s, load generator on %s", n, orAll(srv), orAll(cli)), "")
	}

	// Several loops: each pinned to one server CPU in turn. Fewer CPUs
	// than loops is not an error: the loops take turns, and the run
	// measures wake-ups and balance, not a parallel speed-up.
	if loops := slices.Max(sc.LoopCounts()); loops > 1 {
		switch cpus := srv.Len(); {
		case remote:
			checks.add("loops", OK, fmt.Sprintf("up to %d loops in the remote server, on its CPUs", loops), "")
		case cpus == 0:
			checks.add("loops", Warn, fmt.Sprintf("up to %d loops, the server unpinned: they run wherever the scheduler puts them, beside the load generator", loops), "set server_cpus")
		case cpus < loops:
			checks.add("loops", OK, fmt.Sprintf("up to %d loops on %d server CPU(s) (%s): loops beyond %d take turns on them, so the run shows wasted wake-ups and balance, not a parallel speed-up past %d", loops, cpus, srv, cpus, cpus), "")
		default:
			checks.add("loops", OK, fmt.Sprintf("up to %d loops, one server CPU each (%s): the run shows scaling too", loops, srv), "")
		}
	}

	// File descriptors: each process holds one fd per connection.
	soft, hard, limErr := procfs.NoFile()
	switch {
	case limErr != nil:
		checks.add("nofile", Warn, fmt.Sprintf("cannot read RLIMIT_NOFILE: %v", limErr), "")
	case maxFDs == 0:
		checks.add("nofile", OK, fmt.Sprintf("RLIMIT_NOFILE %d (hard %d): up to about %d fds per point", soft, hard, soft-loadgen.SpareFDs), "")
	case uint64(maxFDs+loadgen.SpareFDs) > soft:
		checks.add("nofile", Warn, fmt.Sprintf("largest point needs about %d fds per process; RLIMIT_NOFILE is %d (hard %d): points above %d fds will be recorded unsupported", maxFDs+loadgen.SpareFDs, soft, hard, soft-loadgen.SpareFDs),
			"raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd, /etc/security/limits.conf) or lower the scenario's fds")
	default:
		checks.add("nofile", OK, fmt.Sprintf("RLIMIT_NOFILE %d: enough for %d fds", soft, maxFDs), "")
	}

	// Ephemeral ports: one per connection per source address.
	if lo, hi, err := procfs.LocalPortRange(); err != nil {
		checks.add("ports", Warn, fmt.Sprintf("cannot read the local port range: %v", err), "check /proc/sys/net/ipv4/ip_local_port_range")
	} else {
		ports := int(hi) - int(lo) + 1
		detail := fmt.Sprintf("local port range %d-%d (%d ports per source address)", lo, hi, ports)
		if maxFDs > ports {
			detail += fmt.Sprintf("; %d connections spread over %d loopback source addresses (127.0.0.x)", maxFDs, (maxFDs+ports-1)/ports)
		}
		checks.add("ports", OK, detail, "")
	}

	// Listen backlog: bounds how many connects can be queued at once.
	if sm, err := procfs.Somaxconn(); err != nil {
		checks.add("somaxconn", Warn, fmt.Sprintf("cannot read net.core.somaxconn: %v", err), "check /proc/sys/net/core/somaxconn")
	} else if sm < lowSomaxconn {
		checks.add("somaxconn", Warn, fmt.Sprintf("net.core.somaxconn is %d: fast connection bursts may be dropped and retried", sm), "sysctl -w net.core.somaxconn=4096")
	} else {
		checks.add("somaxconn", OK, fmt.Sprintf("net.core.somaxconn %d", sm), "")
	}

	// Backends the kernel or the process cannot run at all (io_uring off,
	// blocked by seccomp, too old): their points will be unsupported.
	var probed []string
	for _, b := range sc.Backends {
		if reason := lineup.Unsupported(b); reason != "" {
			checks.add(b, Warn, reason+"; its points will be recorded unsupported", "")
		} else if lb, err := lineup.Lookup(b); err == nil && lb.Check != nil {
			probed = append(probed, b)
		}
	}
	if len(probed) > 0 {
		checks.add("support", OK, strings.Join(probed, ", ")+": usable on this kernel (probed)", "")
	}

	// select's FD_SETSIZE: not a problem, a fact the results will show.
	for _, b := range sc.Backends {
		if b != fdselect.Name {
			continue
		}
		var over []string
		for _, f := range sc.FDs {
			if f-1+serveOpenFDs > fdselect.FDSetSize {
				over = append(over, strconv.Itoa(f))
			}
		}
		if len(over) > 0 {
			checks.add(fdselect.Name, OK, fmt.Sprintf("select stops at FD_SETSIZE (%d): fds %s will be recorded unsupported for it (the server holds ~%d fds of its own)", fdselect.FDSetSize, strings.Join(over, ", "), serveOpenFDs), "")
		}
	}
	return checks
}

// lowSomaxconn is the listen backlog cap below which the scenario check
// warns: a connect burst then overflows the accept queue and connects are
// retried. (Not FD_SETSIZE, though it is the same number.)
const lowSomaxconn = 1024

// missingCPUs lists the CPUs of set a machine of n CPUs does not have.
func missingCPUs(set cpuset.Set, n int) []int {
	var bad []int
	for _, c := range set.CPUs() {
		if c >= n {
			bad = append(bad, c)
		}
	}
	return bad
}

func overlap(a, b cpuset.Set) bool {
	if a.Empty() || b.Empty() {
		return true // unpinned shares every CPU
	}
	for _, x := range a.CPUs() {
		for _, y := range b.CPUs() {
			if x == y {
				return true
			}
		}
	}
	return false
}

func orAll(s cpuset.Set) string {
	if s.Empty() {
		return "any CPU"
	}
	return "CPU " + s.String()
}
