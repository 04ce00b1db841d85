package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/runlock"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/results"
)

// muxbenchBin is the muxbench binary built once for these tests, and
// fixtureBin the external echo server of testdata/fixture.
var muxbenchBin, fixtureBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "muxbench-harness-test")
	if err != nil {
		panic(err) // test setup only
	}
	muxbenchBin, fixtureBin = filepath.Join(dir, "muxbench"), filepath.Join(dir, "fixture")
	for bin, pkg := range map[string]string{muxbenchBin: "github.com/muxbench/muxbench/cmd/muxbench", fixtureBin: "./testdata/fixture"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			os.Stderr.WriteString("build " + pkg + " for the harness tests: " + err.Error() + "\n")
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// keepAffinity pins the test process back to its CPUs at cleanup: Run
// pins it to the scenario's client CPUs, and the tests after would
// inherit that.
func keepAffinity(t *testing.T) {
	all, err := cpuset.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { all.PinProcess(procs) })
}

func tinyScenario() results.Scenario {
	return results.Scenario{
		Name: "tiny", Backends: []string{"select", "epoll-et", "gonet"},
		FDs: []int{5, 1100}, Active: []int{1}, Mode: "open", Rate: 200, Size: 64,
		Warmup: results.Duration(100 * time.Millisecond), Duration: results.Duration(300 * time.Millisecond), Repetitions: 1, Proto: traffic.Echo,
	}
}

func TestRunEndToEnd(t *testing.T) {
	keepAffinity(t)
	dir := t.TempDir()
	sc := tinyScenario()
	run, err := Run(context.Background(), Options{
		Scenario: sc, ServerCommand: []string{muxbenchBin, "serve"}, OutDir: dir, Env: CollectEnvironment(),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := len(run.Samples), len(Jobs(sc)); got != want {
		t.Fatalf("%d samples; want %d", got, want)
	}
	if run.Incomplete || run.Finished.IsZero() {
		t.Errorf("incomplete %v, finished %v; want a finished, complete run", run.Incomplete, run.Finished)
	}
	for _, s := range run.Samples {
		switch {
		case s.Backend == "select" && s.FDs == 1100:
			if s.Status != results.StatusUnsupported || !strings.Contains(s.Reason, "FD_SETSIZE") {
				t.Errorf("select at 1100 fds: %s %q; want unsupported naming FD_SETSIZE", s.Status, s.Reason)
			}
		default:
			if s.Status != results.StatusOK && s.Status != results.StatusSaturated {
				t.Errorf("%s at %d fds: %s %q; want measured", s.Backend, s.FDs, s.Status, s.Reason)
				continue
			}
			if s.Requests == 0 || s.Latency.P50 <= 0 || s.Histogram == "" {
				t.Errorf("%s at %d fds: %d requests, p50 %d, histogram %d bytes; want all > 0", s.Backend, s.FDs, s.Requests, s.Latency.P50, len(s.Histogram))
			}
			if s.Server.UserNs+s.Server.SysNs <= 0 || s.Server.BytesIn == 0 {
				t.Errorf("%s at %d fds: server cpu %d ns, bytes in %d; want the window's deltas > 0", s.Backend, s.FDs, s.Server.UserNs+s.Server.SysNs, s.Server.BytesIn)
			}
			if s.Backend != "gonet" && s.Server.Waits == 0 {
				t.Errorf("%s at %d fds: no wait calls counted", s.Backend, s.FDs)
			}
			// The population proof, checked again from the record: every
			// connection accepted before the window, all open at its end,
			// the fds the point names watched.
			if conns := int64(s.FDs - results.ServerOwnFDs); s.Server.ConnsOpen != conns || s.Server.Accepts != 0 {
				t.Errorf("%s at %d fds: %d connections open, %d accepts in the window; want %d, 0", s.Backend, s.FDs, s.Server.ConnsOpen, s.Server.Accepts, conns)
			}
			loop := s.Backend != "gonet"
			if loop && s.Watched != int64(s.FDs) {
				t.Errorf("%s at %d fds: server watched %d fds; want %d", s.Backend, s.FDs, s.Watched, s.FDs)
			}
			wantScope := map[bool]string{true: results.CPUScopeLoop, false: results.CPUScopeProcess}[loop]
			if s.Server.CPUScope != wantScope || s.Server.CPUNsPerReq <= 0 || s.Client.SetupSeconds < s.Client.ConnectSeconds {
				t.Errorf("%s at %d fds: cpu scope %q, %.0f ns/req, setup %.3fs < connect %.3fs?; want %q, > 0, setup >= connect",
					s.Backend, s.FDs, s.Server.CPUScope, s.Server.CPUNsPerReq, s.Client.SetupSeconds, s.Client.ConnectSeconds, wantScope)
			}
			// Memory needs /proc/slabinfo, which only root reads.
			if _, err := os.ReadFile("/proc/slabinfo"); err == nil {
				if m := s.Memory; m == nil || m.Conns != s.FDs-results.ServerOwnFDs {
					t.Errorf("%s at %d fds: memory %+v; want a delta over %d connections", s.Backend, s.FDs, m, s.FDs-results.ServerOwnFDs)
				}
			} else if s.Memory != nil {
				t.Errorf("%s at %d fds: memory %+v recorded without /proc/slabinfo", s.Backend, s.FDs, s.Memory)
			}
		}
	}
	back, err := results.ReadRun(dir)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if len(back.Samples) != len(run.Samples) || back.Scenario.Name != sc.Name {
		t.Errorf("read back %d samples of %q; want %d of %q", len(back.Samples), back.Scenario.Name, len(run.Samples), sc.Name)
	}
}

// TestBrokenServer: a server that dies at once, or lies about its address,
// fails its samples with the reason; the sweep goes on.
func TestBrokenServer(t *testing.T) {
	sc := tinyScenario()
	sc.Backends, sc.FDs = []string{"poll"}, []int{3, 4}
	for _, tt := range []struct {
		name   string
		script string
		want   string
	}{
		{"exits", "echo boom >&2; exit 3", "boom"},
		{"nobody listens", `echo '{"addr":"127.0.0.1:1","pid":1,"open_fds":5}'; cat >/dev/null`, "load generator"},
		{"garbage hello", "echo not-json; cat >/dev/null", "not the JSON line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keepAffinity(t)
			run, err := Run(context.Background(), Options{Scenario: sc, ServerCommand: []string{"sh", "-c", tt.script, "sh"}})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(run.Samples) != 2 {
				t.Fatalf("%d samples; want 2 (the sweep goes on)", len(run.Samples))
			}
			for _, s := range run.Samples {
				if s.Status != results.StatusFailed || !strings.Contains(s.Reason, tt.want) {
					t.Errorf("sample at %d fds: %s %q; want failed mentioning %q", s.FDs, s.Status, s.Reason, tt.want)
				}
			}
		})
	}
}

// TestInterrupt sends SIGINT to `muxbench run` mid-sweep: it must exit
// 130, leave a valid run.json marked incomplete with what it finished, and
// leave no server process behind.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	scen := filepath.Join(dir, "long.yaml")
	os.WriteFile(scen, []byte("name: long\nbackends: [poll, epoll-lt]\nfds: [10, 20, 30, 40]\nactive: 1\nrate: 100\nwarmup: 50ms\nduration: 400ms\nrepetitions: 5\nserver_cpus: \"\"\nclient_cpus: \"\"\n"), 0o644)
	out := filepath.Join(dir, "out")
	cmd := exec.Command(muxbenchBin, "run", "-out", out, "-no-report", scen)
	// Its own run locks: a real run elsewhere on this machine must not
	// make the test's run refuse to start.
	cmd.Env = append(os.Environ(), runlock.DirEnv+"="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if run, err := results.ReadRun(out); err == nil && len(run.Samples) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no samples written within 30s; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("exit after SIGINT: %v; want status 130\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("muxbench run did not exit within 20s of SIGINT")
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatalf("results after interrupt: %v", err)
	}
	if !run.Incomplete || len(run.Samples) < 2 || len(run.Samples) >= 40 {
		t.Errorf("incomplete %v with %d samples; want incomplete with some of 40", run.Incomplete, len(run.Samples))
	}
	for _, s := range run.Samples {
		if s.Status != results.StatusOK && s.Status != results.StatusSaturated {
			t.Errorf("kept sample %s at %d fds is %s (%s); an interrupted sample must not be kept", s.Backend, s.FDs, s.Status, s.Reason)
		}
	}
	// No server left: nothing running our binary with "serve".
	end := time.Now().Add(5 * time.Second)
	for left := servers(); len(left) > 0; left = servers() {
		if time.Now().After(end) {
			t.Fatalf("server processes left after interrupt: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// servers lists pids running muxbenchBin serve.
func servers() []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 1 && args[0] == muxbenchBin && args[1] == "serve" {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func TestJobsInterleaveBackends(t *testing.T) {
	sc := results.Scenario{Backends: []string{"a", "b"}, FDs: []int{10, 20}, Active: []int{1}, Repetitions: 2}
	var got []string
	for _, j := range Jobs(sc) {
		got = append(got, j.Backend)
	}
	if want := "a b a b a b a b"; strings.Join(got, " ") != want {
		t.Errorf("job order %v; want %s (backends innermost)", got, want)
	}
}

// twoLoops is the hello of a server of two loops, each with its own epoll.
var twoLoops = wire.Hello{LoopThread: true, Backend: epoll.NameSharedListener, Loops: 2, Sharing: "shared-listener"}

// loopsReport is a report of 10 connections, watched fds as given, from
// loops on threads tids.
func loopsReport(watched int64, tids ...int) wire.Report {
	r := wire.Report{Stats: wire.Stats{Accepts: 10, ConnsOpen: 10, Watched: watched}}
	for _, tid := range tids {
		r.Loops = append(r.Loops, wire.Loop{TID: tid})
	}
	return r
}

// TestJobsAxes: loops and churn are axes: every combination is a job,
// churn outermost after the repetition, loops inside active, backends
// innermost.
func TestJobsAxes(t *testing.T) {
	sc := results.Scenario{Backends: []string{"a", "b"}, FDs: []int{10}, Active: []int{1}, Repetitions: 1,
		Loops: []int{2, 4}, Churn: results.Churn{false, true}}
	var got []string
	for _, j := range Jobs(sc) {
		got = append(got, fmt.Sprintf("%s/%d/%v", j.Backend, j.Loops, j.Churn))
	}
	if want := "a/2/false b/2/false a/4/false b/4/false a/2/true b/2/true a/4/true b/4/true"; strings.Join(got, " ") != want {
		t.Errorf("jobs %v; want %s", got, want)
	}
	if j := Jobs(results.Scenario{Backends: []string{"a"}, FDs: []int{10}, Active: []int{1}, Repetitions: 1})[0]; j.Loops != 1 || j.Churn {
		t.Errorf("a scenario without the axes: job %+v; want one loop, no churn", j)
	}
}

func TestWindowFault(t *testing.T) {
	job := Job{Backend: "poll", FDs: 12, Active: 1}
	loop := wire.Hello{LoopThread: true}
	full := wire.Report{Stats: wire.Stats{Accepts: 10, ConnsOpen: 10, Watched: 12}}
	for _, tt := range []struct {
		name       string
		churn      bool
		h          wire.Hello
		start, end wire.Report
		want       string // substring; "" = no fault
	}{
		{"populated", false, loop, full, full, ""},
		{"churn accepts in the window, one slot between connections", true, loop,
			wire.Report{Stats: wire.Stats{Accepts: 10, ConnsOpen: 9, Watched: 11}}, wire.Report{Stats: wire.Stats{Accepts: 400, ConnsOpen: 10, Watched: 12}}, ""},
		{"churn: a slot's next connection accepted before its last one's close is read", true, loop, full,
			wire.Report{Stats: wire.Stats{Accepts: 400, ConnsOpen: 11, Watched: 13}}, ""},
		{"churn lost idle connections", true, loop, full,
			wire.Report{Stats: wire.Stats{Accepts: 400, ConnsOpen: 7, Watched: 9}}, "7 connections open at a window edge; want 9 idle plus 0 to 2 churning"},
		{"accepting in the window", false, loop,
			wire.Report{Stats: wire.Stats{Accepts: 8, ConnsOpen: 8, Watched: 10}}, full,
			"2 accepts inside the measured window; 8 of 10 connections open at the window's start; 10 of 12 fds watched at the window's start"},
		{"closed during the window", false, loop, full,
			wire.Report{Stats: wire.Stats{Accepts: 10, ConnsOpen: 9, Watched: 11}},
			"9 of 10 connections open at the window's end; 11 of 12 fds watched at the window's end"},
		{"gonet cannot count watched fds", false, wire.Hello{},
			wire.Report{Stats: wire.Stats{Accepts: 10, ConnsOpen: 10}}, wire.Report{Stats: wire.Stats{Accepts: 10, ConnsOpen: 10}}, ""},
		{"two loops: a listener and an eventfd in each loop's epoll", false, twoLoops, loopsReport(14, 5, 6), loopsReport(14, 5, 6), ""},
		{"two loops watching the fds of one", false, twoLoops, loopsReport(12, 5, 6), loopsReport(12, 5, 6),
			"12 of 14 fds watched at the window's start"},
		{"a loop not running at the window's start", false, twoLoops, loopsReport(14, 5, 0), loopsReport(14, 5, 6),
			"loop 1 ran on thread 0 at the window's start and 6 at its end"},
		{"a server of two loops reporting one", false, twoLoops, full, full, "the server runs 2 loops but reported 0 and 0"},
	} {
		j := job
		j.Churn = tt.churn
		got := windowFault(j, tt.h, tt.start, tt.end)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: windowFault = %q; want %q", tt.name, got, tt.want)
		}
	}
}
