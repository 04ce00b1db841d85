package harness

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

// CollectEnvironment describes this machine and build for the record. What
// cannot be read is left empty (unknown), never guessed: the commit is the
// one stamped into this binary, not asked of git in the current directory.
func CollectEnvironment() results.Environment {
	e := results.Environment{
		OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	e.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	e.CPUModel, _ = procfs.CPUModel()
	readWakeup("/", &e)
	// Unreadable limits stay absent (0, ""): a default here would be
	// recorded as if measured.
	if n, err := procfs.Somaxconn(); err == nil {
		e.Somaxconn = n
	}
	if soft, hard, err := procfs.NoFile(); err == nil {
		e.NoFileSoft, e.NoFileHard = soft, hard
	}
	if lo, hi, err := procfs.LocalPortRange(); err == nil {
		e.PortRange = fmt.Sprintf("%d %d", lo, hi)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		e.Version, e.Commit, e.Dirty = buildProvenance(bi)
	}
	return e
}

// readWakeup fills in what changes the cost of a wake-up, read from the
// sysfs and procfs under root ("/" but for tests): the cpuidle driver and
// governor, haltpoll's parameters, the CPU vulnerability mitigations and
// whether IRQ time is accounted apart from tasks.
func readWakeup(root string, e *results.Environment) {
	cpuidle := filepath.Join(root, "sys/devices/system/cpu/cpuidle")
	e.CPUIdleDriver = readValue(filepath.Join(cpuidle, "current_driver"))
	// current_governor_ro is the read-only name on kernels that let root
	// switch governors through current_governor.
	if e.CPUIdleGovernor = readValue(filepath.Join(cpuidle, "current_governor_ro")); e.CPUIdleGovernor == "" {
		e.CPUIdleGovernor = readValue(filepath.Join(cpuidle, "current_governor"))
	}
	e.Haltpoll = readValues(filepath.Join(root, "sys/module/haltpoll/parameters"))
	e.Vulnerabilities = readValues(filepath.Join(root, "sys/devices/system/cpu/vulnerabilities"))
	if cfg, err := readKernelConfig(root, e.Kernel); err == nil {
		e.IRQTimeAccounting = parseIRQTimeAccounting(cfg)
	}
}

// readValue is the value of a one-value sysfs file, "" when unreadable.
func readValue(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return sysValue(b)
}

// readValues reads every file in dir as name: value; nil when dir cannot
// be read, and files that cannot be read (or are empty) are left out.
func readValues(dir string) map[string]string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out map[string]string
	for _, ent := range entries {
		if ent.IsDir() {
			continue
		}
		if v := readValue(filepath.Join(dir, ent.Name())); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[ent.Name()] = v
		}
	}
	return out
}

// readKernelConfig returns the running kernel's build configuration from
// /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-RELEASE.
func readKernelConfig(root, release string) ([]byte, error) {
	if f, err := os.Open(filepath.Join(root, "proc/config.gz")); err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("read /proc/config.gz: %w", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("read /proc/config.gz: %w", err)
		}
		return b, nil
	}
	if release == "" {
		return nil, errors.New("kernel release unknown: no /boot/config-RELEASE to read")
	}
	return os.ReadFile(filepath.Join(root, "boot", "config-"+release))
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
func Preflight(sc results.Scenario) []Check { return preflight(sc, false) }

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

// PreflightRemote is Preflight for a load generator whose server runs on
// another host (muxbench run -server): the scenario's server CPUs are not
// this machine's, so only the client CPUs are checked.
func PreflightRemote(sc results.Scenario) []Check { return preflight(sc, true) }

func preflight(sc results.Scenario, remote bool) []Check {
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
	if remote {
		srv, errS = cpuset.Set{}, nil // on another host
	}
	bad := append(missingCPUs(srv, n), missingCPUs(cli, n)...)
	switch {
	case errS != nil || errC != nil:
		add("cpus", "fail", fmt.Sprintf("server_cpus %q / client_cpus %q: %v %v", sc.ServerCPUs, sc.ClientCPUs, errS, errC), "write CPU lists like 0 or 1-3")
	case len(bad) > 0:
		add("cpus", "fail", fmt.Sprintf("CPUs %v do not exist (this machine has %d)", bad, n), fmt.Sprintf("use CPUs 0-%d in server_cpus and client_cpus", n-1))
	case remote:
		add("cpus", "ok", fmt.Sprintf("%d CPUs; load generator on %s; the server is remote", n, orAll(cli)), "")
	case n < 2:
		add("cpus", "warn", fmt.Sprintf("%d CPU: server and load generator share it, so each run measures both", n), "run on a machine with 2 or more CPUs")
	case overlap(srv, cli):
		add("cpus", "warn", fmt.Sprintf("the server (%s) and the load generator (%s) share CPUs", orAll(srv), orAll(cli)), "give server_cpus and client_cpus disjoint CPU lists")
	default:
		add("cpus", "ok", fmt.Sprintf("%d CPUs; server on %s, load generator on %s", n, orAll(srv), orAll(cli)), "")
	}

	// File descriptors: each process holds one fd per connection.
	soft, hard, limErr := procfs.NoFile()
	const reserve = 16 // stdio, listener, poller, runtime, control pipes
	switch {
	case limErr != nil:
		add("nofile", "warn", fmt.Sprintf("cannot read RLIMIT_NOFILE: %v", limErr), "")
	case maxFDs == 0:
		add("nofile", "ok", fmt.Sprintf("RLIMIT_NOFILE %d (hard %d): up to about %d fds per point", soft, hard, soft-reserve), "")
	case uint64(maxFDs+reserve) > soft:
		add("nofile", "warn", fmt.Sprintf("largest point needs about %d fds per process; RLIMIT_NOFILE is %d (hard %d): points above %d fds will be recorded unsupported", maxFDs+reserve, soft, hard, soft-reserve),
			"raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd, /etc/security/limits.conf) or lower the scenario's fds")
	default:
		add("nofile", "ok", fmt.Sprintf("RLIMIT_NOFILE %d: enough for %d fds", soft, maxFDs), "")
	}

	// Ephemeral ports: one per connection per source address.
	if lo, hi, err := procfs.LocalPortRange(); err != nil {
		add("ports", "warn", fmt.Sprintf("cannot read the local port range: %v", err), "check /proc/sys/net/ipv4/ip_local_port_range")
	} else {
		ports := int(hi) - int(lo) + 1
		detail := fmt.Sprintf("local port range %d-%d (%d ports per source address)", lo, hi, ports)
		if maxFDs > ports {
			detail += fmt.Sprintf("; %d connections spread over %d loopback source addresses (127.0.0.x)", maxFDs, (maxFDs+ports-1)/ports)
		}
		add("ports", "ok", detail, "")
	}

	// Listen backlog: bounds how many connects can be queued at once.
	if sm, err := procfs.Somaxconn(); err != nil {
		add("somaxconn", "warn", fmt.Sprintf("cannot read net.core.somaxconn: %v", err), "check /proc/sys/net/core/somaxconn")
	} else if sm < lowSomaxconn {
		add("somaxconn", "warn", fmt.Sprintf("net.core.somaxconn is %d: fast connection bursts may be dropped and retried", sm), "sysctl -w net.core.somaxconn=4096")
	} else {
		add("somaxconn", "ok", fmt.Sprintf("net.core.somaxconn %d", sm), "")
	}

	// Backends the kernel or the process cannot run at all (io_uring off,
	// blocked by seccomp, too old): their points will be unsupported.
	var checked []string
	for _, b := range sc.Backends {
		if reason := unsupportedHere(b); reason != "" {
			add(b, "warn", reason+"; its points will be recorded unsupported", "")
		} else if lb, err := lineup.Lookup(b); err == nil && lb.Check != nil {
			checked = append(checked, b)
		}
	}
	if len(checked) > 0 {
		add("support", "ok", strings.Join(checked, ", ")+": usable on this kernel (probed)", "")
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
			if f-1+serverOwnFDs > fdselect.FDSetSize {
				over = append(over, strconv.Itoa(f))
			}
		}
		if len(over) > 0 {
			add("select", "ok", fmt.Sprintf("select stops at FD_SETSIZE (%d): fds %s will be recorded unsupported for it (the server holds ~%d fds of its own)", fdselect.FDSetSize, strings.Join(over, ", "), serverOwnFDs), "")
		}
	}
	return checks
}

// lowSomaxconn is the listen backlog cap below which the environment
// check warns: a connect burst then overflows the accept queue and
// connects are retried. (Not FD_SETSIZE, though it is the same number.)
const lowSomaxconn = 1024

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
