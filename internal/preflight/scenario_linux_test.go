package preflight

import (
	"runtime"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/pollertest"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/results"
)

// A poller whose support check fails, as io_uring's does on a kernel with
// kernel.io_uring_disabled=2: registered for this test binary only.
const noKernel = "test-no-kernel"

func init() {
	backends.Register(pollertest.Unsupported(noKernel, "unsupported: disabled by sysctl x=2: set x=0"))
}

// TestScenario: server and client on one CPU is a warning, a backend whose
// support check fails is a warning with its reason, and select's points
// past FD_SETSIZE are named (a fact, not a problem).
func TestScenario(t *testing.T) {
	sc := results.Scenario{Name: "tiny", Backends: []string{fdselect.Name, noKernel}, FDs: []int{5, 1100},
		ServerCPUs: "0", ClientCPUs: "0"}
	checks := Scenario(sc)
	if c := find(t, checks, "cpus"); c.Level != Warn || c.Fix == "" {
		t.Errorf("cpus check with server and client on CPU 0 = %+v; want a warning with a fix", c)
	}
	if c := find(t, checks, noKernel); c.Level != Warn || !strings.Contains(c.Detail, "disabled by sysctl") {
		t.Errorf("support check %+v; want a warning with the reason", c)
	}
	if c := find(t, checks, fdselect.Name); c.Level != OK || !strings.Contains(c.Detail, "fds 1100 will be recorded unsupported") {
		t.Errorf("select check %+v; want ok naming 1100 (and not 5)", c)
	}
	if n := Fails(checks); n != 0 {
		t.Errorf("%d failures in %+v; want none", n, checks)
	}
	sc.ServerCPUs = "x"
	if c := find(t, Scenario(sc), "cpus"); c.Level != Fail {
		t.Errorf("cpus check with server_cpus x = %+v; want a failure", c)
	}
	// A remote server's CPUs are another host's: not checked here.
	if c := find(t, RemoteScenario(sc), "cpus"); c.Level == Fail {
		t.Errorf("remote cpus check with server_cpus x = %+v; want the server's CPUs ignored", c)
	}
}

// TestScenarioLoops: the preflight says whether the loops have a CPU
// each (the run shows scaling) or take turns (wake-ups and balance only),
// and says nothing of loops for a scenario of one.
func TestScenarioLoops(t *testing.T) {
	sc := results.Scenario{Name: "herd", Backends: []string{"epoll-reuseport"}, FDs: []int{10}, Loops: []int{2, 8}, ServerCPUs: "0", ClientCPUs: "1"}
	if c := find(t, Scenario(sc), "loops"); c.Level != OK || !strings.Contains(c.Detail, "8 loops on 1 server CPU(s) (0)") || !strings.Contains(c.Detail, "not a parallel speed-up") {
		t.Errorf("8 loops on CPU 0: %+v; want ok, saying they take turns", c)
	}
	sc.Loops, sc.ServerCPUs = []int{2}, "0-1"
	if c := find(t, Scenario(sc), "loops"); c.Level != OK || !strings.Contains(c.Detail, "one server CPU each (0,1)") {
		t.Errorf("2 loops on CPUs 0-1: %+v; want ok, a CPU each", c)
	}
	sc.Loops = nil
	for _, c := range Scenario(sc) {
		if c.Name == "loops" {
			t.Errorf("one loop: %+v; want no loops check", c)
		}
	}
}

// TestOverlapNamesCPUs: the overlap warning names both sets, an unpinned
// one ("any CPU") too: it read "server CPUs  and client CPUs 1 overlap".
func TestOverlapNamesCPUs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("the overlap check needs 2 CPUs or more")
	}
	for _, tc := range []struct{ server, client, want string }{
		{"0", "0", "the server (CPU 0) and the load generator (CPU 0) share CPUs"},
		{"", "1", "the server (any CPU) and the load generator (CPU 1) share CPUs"},
		{"0", "", "the server (CPU 0) and the load generator (any CPU) share CPUs"},
	} {
		sc := results.Scenario{Name: "tiny", FDs: []int{5}, ServerCPUs: tc.server, ClientCPUs: tc.client}
		if c := find(t, Scenario(sc), "cpus"); c.Level != Warn || c.Detail != tc.want {
			t.Errorf("server_cpus %q, client_cpus %q: cpus check %v %q; want a warning %q", tc.server, tc.client, c.Level, c.Detail, tc.want)
		}
	}
}

func TestLevelString(t *testing.T) {
	for l, want := range map[Level]string{OK: "ok", Warn: "warn", Fail: "fail", Level(7): "unknown"} {
		if got := l.String(); got != want {
			t.Errorf("Level(%d).String() = %q; want %q", int(l), got, want)
		}
	}
}
