package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/scenarios"
)

const remoteScenarioYAML = `name: tiny-remote
backends: [poll, epoll-lt]
fds: [12, 52]
active: 2
rate: 400
warmup: 100ms
duration: 300ms
repetitions: 1
`

// TestRunRemote: run -server sweeps a server it did not start: the
// server's one backend of the scenario's, sampled over its control port,
// a load file per sample, and the server left running. What cannot work
// — a wrong token, a backend the scenario does not sweep — is refused
// before any connection, and no results directory is made.
func TestRunRemote(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	t.Chdir(t.TempDir())
	isolateLocks(t)
	keepAffinity(t)
	os.WriteFile("tiny.yaml", []byte(remoteScenarioYAML), 0o644)
	os.WriteFile("poll-only.yaml", []byte(strings.Replace(remoteScenarioYAML, "[poll, epoll-lt]", "[poll]", 1)), 0o644)
	srv := startServe(t, "-backend", "epoll-lt", "-addr", "127.0.0.1:0", "-control", "tcp:127.0.0.1:0")
	h := srv.hello
	remote := []string{"run", "-server", h.Addr, "-control", h.Control}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong token", append(remote, "-token", "00", "-out", "bad1", "tiny.yaml"), "refused: wrong token"},
		{"other backend", append(remote, "-token", h.Token, "-out", "bad2", "poll-only.yaml"), "runs epoll-lt; scenario tiny-remote sweeps [poll]"},
		{"other port", []string{"run", "-server", "127.0.0.1:1", "-control", h.Control, "-token", h.Token, "-out", "bad3", "tiny.yaml"}, "not on -server 127.0.0.1:1's port"},
	} {
		code, _, stderr := execMuxbench(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tt.name, code, stderr, tt.want)
		}
	}
	for _, d := range []string{"bad1", "bad2", "bad3"} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("a refused run created %s", d)
		}
	}

	code, _, stderr := execMuxbench(t, append(remote, "-token", h.Token, "-out", "out", "-no-report", "tiny.yaml")...)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "sweeping that backend only") {
		t.Errorf("stderr does not say poll is left out:\n%s", stderr)
	}
	run, err := results.ReadRun("out")
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Scenario.Backends) != 1 || run.Scenario.Backends[0] != "epoll-lt" || len(run.Samples) != 2 || run.Remote == nil || run.Remote.Hello.Token != "" {
		t.Fatalf("run: backends %v, %d samples, remote %+v; want epoll-lt's 2 samples and the server's hello without its token", run.Scenario.Backends, len(run.Samples), run.Remote)
	}
	for i, s := range run.Samples {
		if s.Status != results.StatusOK {
			t.Errorf("sample %d: %s (%s)", i, s.Status, s.Reason)
		}
		if _, err := os.Stat(harness.LoadFile("out", i)); err != nil {
			t.Errorf("sample %d: %v", i, err)
		}
	}
	noTokenIn(t, h.Token, "out")
	// The server is still up: a second run against it works, and -force
	// replaces the first run's load files too.
	os.WriteFile(filepath.Join("out", harness.LoadsDir, "999.json"), []byte("stale"), 0o644)
	if code, _, stderr := execMuxbench(t, append(remote, "-token", h.Token, "-out", "out", "-force", "-no-report", "tiny.yaml")...); code != 0 {
		t.Fatalf("second run: exit %d; stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join("out", harness.LoadsDir, "999.json")); err == nil {
		t.Error("-force left the previous run's load files")
	}
}

// noTokenIn fails the test if the control token is in any file under
// the paths: no file muxbench writes records it.
func noTokenIn(t *testing.T, token string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err == nil && bytes.Contains(data, []byte(token)) {
				t.Errorf("%s holds the server's control token", path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestMergeMixedInputs: load files and run directories do not mix.
func TestMergeMixedInputs(t *testing.T) {
	t.Chdir(t.TempDir())
	os.Mkdir("rundir", 0o755)
	os.WriteFile("gen.json", []byte("{}"), 0o644)
	code, _, stderr := execMuxbench(t, "merge", "-out", "m", "rundir", "gen.json")
	if code != 2 || !strings.Contains(stderr, "not both") {
		t.Errorf("exit %d, stderr %q; want 2 and a refusal to mix", code, stderr)
	}
}

// TestRunFailedSamples: a run whose samples failed exits 1 and says how
// many in its closing line. Here another client connects to a remote
// server over and over, so no sample can prove its population.
func TestRunFailedSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	t.Chdir(t.TempDir())
	isolateLocks(t)
	keepAffinity(t)
	os.WriteFile("tiny.yaml", []byte(strings.Replace(remoteScenarioYAML, "[poll, epoll-lt]", "[epoll-lt]", 1)), 0o644)
	srv := startServe(t, "-backend", "epoll-lt", "-addr", "127.0.0.1:0", "-control", "tcp:127.0.0.1:0")
	h := srv.hello
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if c, err := net.DialTimeout("tcp", h.Addr, time.Second); err == nil {
				c.Close()
			}
		}
	})
	code, _, stderr := execMuxbench(t, "run", "-server", h.Addr, "-control", h.Control, "-token", h.Token, "-out", "out", "-no-report", "tiny.yaml")
	close(stop)
	wg.Wait()
	if code != 1 || !strings.Contains(stderr, "\n2 samples: 2 failed\n") || !strings.Contains(stderr, "2 of 2 samples failed or counted errors") {
		t.Errorf("exit %d, stderr:\n%s\nwant 1, the closing line \"2 samples: 2 failed\" and the error", code, stderr)
	}
	run, err := results.ReadRun("out")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Samples {
		if s.Status != results.StatusFailed {
			t.Errorf("sample %s: %s; want failed: other clients' accepts at the server", s.Status, s.Reason)
		}
	}
}

// TestSuiteFailedSamples: a suite whose parts finished but whose samples
// failed exits 1 too. Its servers here cannot start (the server command is
// /bin/false), so every sample fails.
func TestSuiteFailedSamples(t *testing.T) {
	t.Chdir(t.TempDir())
	keepAffinity(t)
	if err := os.Mkdir("out", 0o755); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse("tiny.yaml", []byte(strings.Replace(remoteScenarioYAML, "[poll, epoll-lt]", "[epoll-lt]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = runSuite(context.Background(), suiteRun{
		suite:     scenarios.Suite{Name: "tiny-suite", Description: "one tiny scenario"},
		scenarios: []results.Scenario{sc}, dir: "out", exe: "/bin/false", timeout: time.Second, noReport: true,
	}, &stdout, &stderr)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "2 of 2 samples failed") {
		t.Errorf("runSuite: %v; want exit 1 for 2 of 2 samples failed", err)
	}
	if !strings.Contains(stderr.String(), "\n2 samples: 2 failed\n") {
		t.Errorf("stderr:\n%s\nwant the closing line \"2 samples: 2 failed\"", stderr.String())
	}
}
