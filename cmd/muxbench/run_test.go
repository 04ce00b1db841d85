package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/runlock"
	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
)

// isolateLocks points the run locks at a directory of the test's own, so
// the test neither blocks nor is blocked by real runs on this machine.
func isolateLocks(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv(runlock.DirEnv, dir)
	return dir
}

// keepAffinity pins the test process back to the CPUs it has now at
// cleanup. run (the harness pins its process to client_cpus) and waitcost
// pin every thread of the process they run in; without this the tests
// after them, and the processes those start, would inherit it and see one
// CPU.
func keepAffinity(t *testing.T) {
	t.Helper()
	all, err := cpuset.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		if err := all.PinProcess(procs); err != nil {
			t.Errorf("give the test process its CPUs back: %v", err)
		}
	})
}

func TestRunRefusesHeldCPUs(t *testing.T) {
	t.Chdir(t.TempDir())
	lock, err := runlock.Acquire(isolateLocks(t), []int{1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lock.Release)
	code, _, stderr := execMuxbench(t, "run", "smoke")
	if code != 2 {
		t.Errorf("exit %d; want 2", code)
	}
	for _, want := range []string{"CPU 1 is in use", "PID " + strconv.Itoa(os.Getpid()), "wait for", "server_cpus and client_cpus"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "writing") {
		t.Errorf("a refused run went on:\n%s", stderr)
	}
	if _, err := os.Stat("results"); err == nil {
		t.Error("a refused run created a results directory")
	}
}

func TestRunRefusesNonEmptyOut(t *testing.T) {
	t.Chdir(t.TempDir())
	isolateLocks(t)
	writeRun(t, "old", reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1}))
	before, _ := os.ReadFile(filepath.Join("old", results.RunFile))
	code, _, stderr := execMuxbench(t, "run", "-out", "old", "smoke")
	if code != 2 || !strings.Contains(stderr, "-out old is not empty") || !strings.Contains(stderr, "-force") {
		t.Errorf("exit %d, stderr %q; want 2, naming the directory and -force", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join("old", results.RunFile)); string(after) != string(before) {
		t.Error("the refused run changed the old run.json")
	}
}

// TestRunValidatesUpFront: values the load generator would refuse are
// errors before any server starts, in the file's or the flag's terms.
func TestRunValidatesUpFront(t *testing.T) {
	t.Chdir(t.TempDir())
	isolateLocks(t)
	os.WriteFile("fast.yaml", []byte("fds: [10]\nrate: 1000000000000\n"), 0o644)
	os.WriteFile("big.yaml", []byte("fds: [10]\nproto: sockperf\nsize: 65508\n"), 0o644)
	os.WriteFile("redis.yaml", []byte("fds: [10]\nproto: redis\n"), 0o644)
	for _, tt := range []struct{ file, want string }{
		{"fast.yaml", "fast.yaml:2: rate: 1e+12 req/s is more than the load generator paces"},
		{"big.yaml", "big.yaml:3: size: 65508 bytes is more than a sockperf message holds"},
		{"redis.yaml", "scenario redis: proto redis: muxbench's own servers speak only echo and sockperf; redis is for a server muxbench did not write: drive one with `muxbench load -target HOST:PORT -proto redis`"},
	} {
		code, _, stderr := execMuxbench(t, "run", tt.file)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("run %s: exit %d, stderr %q; want 2 and %q", tt.file, code, stderr, tt.want)
		}
	}
	if _, err := os.Stat("results"); err == nil {
		t.Error("a refused run created a results directory")
	}
}

// TestRunSmokeForce runs the smoke scenario into a directory holding an
// older run: -force removes the old run's files first, and leaves others.
func TestRunSmokeForce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	t.Chdir(t.TempDir())
	isolateLocks(t)
	keepAffinity(t)
	writeRun(t, "out", reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1}))
	for _, f := range []string{"stale-active32.svg", "stale-active32.png", report.ReportFile, "notes.txt"} {
		os.WriteFile(filepath.Join("out", f), []byte("old"), 0o644)
	}
	code, _, stderr := execMuxbench(t, "run", "-force", "-out", "out", "smoke")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, f := range []string{"stale-active32.svg", "stale-active32.png"} {
		if _, err := os.Stat(filepath.Join("out", f)); err == nil {
			t.Errorf("-force left the old run's %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join("out", "notes.txt")); err != nil {
		t.Errorf("-force removed a file muxbench did not write: %v", err)
	}
	run, err := results.ReadRun("out")
	if err != nil || run.Scenario.Name != "smoke" {
		t.Fatalf("out holds %v (%v); want the smoke run", run, err)
	}
	names, _ := runFiles("out")
	last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
	if !strings.Contains(last, strings.Join(names, ", ")) {
		t.Errorf("last line %q; want it to list what is on disk: %v", last, names)
	}
}

// TestWriteReportFailure: a report that cannot be written in full says
// which files it wrote and which not. report.md is a non-empty directory,
// which no rename can replace, even as root.
func TestWriteReportFailure(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, report.ReportFile, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	in := report.Input{Run: reporttest.Run(reporttest.Options{FDs: []int{101, 1001}, Reps: 1})}
	written, err := writeReport(dir, in)
	if err == nil {
		t.Fatal("writeReport succeeded; want an error")
	}
	if len(written) != len(report.ChartKinds())*len(report.Formats) {
		t.Errorf("written %v; want every chart, %d files", written, len(report.ChartKinds())*len(report.Formats))
	}
	if msg := err.Error(); !strings.Contains(msg, "not written: "+report.ReportFile) || !strings.Contains(msg, "latency.svg") {
		t.Errorf("error %q; want it to list the charts written and report.md not written", msg)
	}

	// Nothing can be created under a regular file.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	written, err = writeReport(filepath.Join(file, "out"), in)
	if err == nil || len(written) != 0 || !strings.Contains(err.Error(), "wrote nothing") {
		t.Errorf("writeReport under a file: %v, wrote %v; want an error saying nothing was written", err, written)
	}
}

func TestReportCommandFailures(t *testing.T) {
	t.Chdir(t.TempDir())
	writeRun(t, "a", reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1}))
	empty := reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1})
	empty.Samples = nil
	writeRun(t, "empty", empty)
	os.WriteFile("file", nil, 0o644)

	code, _, stderr := execMuxbench(t, "report", "empty")
	if code == 0 || !strings.Contains(stderr, "has no samples") || strings.Contains(stderr, "charts") && strings.Contains(stderr, "wrote") {
		t.Errorf("report of a run without samples: exit %d, stderr %q; want non-zero and no claim of charts", code, stderr)
	}
	code, _, stderr = execMuxbench(t, "report", "-out", filepath.Join("file", "out"), "a")
	if code != 1 || !strings.Contains(stderr, "wrote nothing") {
		t.Errorf("report into an impossible directory: exit %d, stderr %q; want 1 and that nothing was written", code, stderr)
	}
}
