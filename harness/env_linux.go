package harness

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/server"
)

// CollectEnvironment describes this machine and build for the record.
func CollectEnvironment() results.Environment {
	e := results.Environment{
		OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: runtime.NumCPU(),
		GoVersion: runtime.Version(), Version: "devel", Somaxconn: server.Somaxconn(),
	}
	e.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	e.CPUModel = cpuModel()
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		e.NoFileSoft, e.NoFileHard = lim.Cur, lim.Max
	}
	if lo, hi, err := portRange(); err == nil {
		e.PortRange = fmt.Sprintf("%d %d", lo, hi)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			e.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				e.Commit = s.Value
			case "vcs.modified":
				e.Dirty = s.Value == "true"
			}
		}
	}
	if e.Commit == "" {
		// `go run` does not stamp VCS information; ask git, if it is there.
		if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
			e.Commit = strings.TrimSpace(string(out))
			if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
				e.Dirty = len(strings.TrimSpace(string(st))) > 0
			}
		}
	}
	return e
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func portRange() (lo, hi int, err error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("ip_local_port_range %q: want two numbers", b)
	}
	if lo, err = strconv.Atoi(f[0]); err == nil {
		hi, err = strconv.Atoi(f[1])
	}
	return lo, hi, err
}

// Check is one preflight finding.
type Check struct {
	Name   string
	Level  string // "ok", "warn" (results are affected) or "fail" (points cannot run)
	Detail string
	Fix    string // empty when Level is ok
}

// Preflight checks the machine against a scenario (or, with a zero
// scenario, against this machine's own maximum) before anything runs.
func Preflight(sc results.Scenario) []Check {
	var checks []Check
	add := func(name, level, detail, fix string) {
		checks = append(checks, Check{Name: name, Level: level, Detail: detail, Fix: fix})
	}
	maxFDs := 0
	for _, f := range sc.FDs {
		maxFDs = max(maxFDs, f)
	}

	// CPUs: server and client need disjoint sets, or each measures the other.
	n := runtime.NumCPU()
	srv, errS := cpuset.Parse(sc.ServerCPUs)
	cli, errC := cpuset.Parse(sc.ClientCPUs)
	switch {
	case errS != nil || errC != nil:
		add("cpus", "fail", fmt.Sprintf("server_cpus %q / client_cpus %q: %v %v", sc.ServerCPUs, sc.ClientCPUs, errS, errC), "write CPU lists like 0 or 1-3")
	case n < 2:
		add("cpus", "warn", fmt.Sprintf("%d CPU: server and load generator share it, so each run measures both", n), "run on a machine with 2 or more CPUs")
	case overlap(srv, cli):
		add("cpus", "warn", fmt.Sprintf("server CPUs %s and client CPUs %s overlap", srv, cli), "give server_cpus and client_cpus disjoint CPU lists")
	default:
		var bad []int
		for _, c := range append(srv.CPUs(), cli.CPUs()...) {
			if c >= n {
				bad = append(bad, c)
			}
		}
		if len(bad) > 0 {
			add("cpus", "fail", fmt.Sprintf("CPUs %v do not exist (this machine has %d)", bad, n), fmt.Sprintf("use CPUs 0-%d in server_cpus and client_cpus", n-1))
		} else {
			add("cpus", "ok", fmt.Sprintf("%d CPUs; server on %s, load generator on %s", n, orAll(srv), orAll(cli)), "")
		}
	}

	// File descriptors: each process holds one fd per connection.
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	const reserve = 16 // stdio, listener, poller, runtime, control pipes
	switch {
	case maxFDs == 0:
		add("nofile", "ok", fmt.Sprintf("RLIMIT_NOFILE %d (hard %d): up to about %d fds per point", lim.Cur, lim.Max, lim.Cur-reserve), "")
	case uint64(maxFDs+reserve) > lim.Cur:
		add("nofile", "warn", fmt.Sprintf("largest point needs about %d fds per process; RLIMIT_NOFILE is %d (hard %d): points above %d fds will be recorded unsupported", maxFDs+reserve, lim.Cur, lim.Max, lim.Cur-reserve),
			"raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd, /etc/security/limits.conf) or lower the scenario's fds")
	default:
		add("nofile", "ok", fmt.Sprintf("RLIMIT_NOFILE %d: enough for %d fds", lim.Cur, maxFDs), "")
	}

	// Ephemeral ports: one per connection per source address.
	if lo, hi, err := portRange(); err != nil {
		add("ports", "warn", fmt.Sprintf("cannot read the local port range: %v", err), "check /proc/sys/net/ipv4/ip_local_port_range")
	} else {
		ports := hi - lo + 1
		detail := fmt.Sprintf("local port range %d-%d (%d ports per source address)", lo, hi, ports)
		if maxFDs > ports {
			detail += fmt.Sprintf("; %d connections spread over %d loopback source addresses (127.0.0.x)", maxFDs, (maxFDs+ports-1)/ports)
		}
		add("ports", "ok", detail, "")
	}

	// Listen backlog: bounds how many connects can be queued at once.
	if sm := server.Somaxconn(); sm < 1024 {
		add("somaxconn", "warn", fmt.Sprintf("net.core.somaxconn is %d: fast connection bursts may be dropped and retried", sm), "sysctl -w net.core.somaxconn=4096")
	} else {
		add("somaxconn", "ok", fmt.Sprintf("net.core.somaxconn %d", sm), "")
	}

	// select's FD_SETSIZE: not a problem, a fact the results will show. The
	// server holds about serverOwnFDs fds before any connection.
	const serverOwnFDs = 13
	for _, b := range sc.Backends {
		if b != "select" {
			continue
		}
		var over []string
		for _, f := range sc.FDs {
			if f-1+serverOwnFDs > 1024 {
				over = append(over, strconv.Itoa(f))
			}
		}
		if len(over) > 0 {
			add("select", "ok", fmt.Sprintf("select stops at FD_SETSIZE (1024): fds %s will be recorded unsupported for it (the server holds ~%d fds of its own)", strings.Join(over, ", "), serverOwnFDs), "")
		}
	}
	return checks
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
