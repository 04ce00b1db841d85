package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/results"
)

// TestRunExec: run -exec sweeps a server it starts from a command line
// for every sample — here muxbench's own serve, as any server — as one
// line named by -name, and records what the server was.
func TestRunExec(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	t.Chdir(t.TempDir())
	isolateLocks(t)
	// Unpinned: a CPU kept busy by other work on a shared machine would
	// mark the samples saturated.
	os.WriteFile("tiny.yaml", []byte(remoteScenarioYAML+"server_cpus: \"\"\nclient_cpus: \"\"\n"), 0o644)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	command := "'" + exe + "' serve -backend epoll-lt -addr {addr}"
	code, _, stderr := execMuxbench(t, "run", "-exec", command, "-name", "own-loop", "-server-cpu", "busiest", "-out", "out", "tiny.yaml")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "external server own-loop: one line, in place of the scenario's backends [poll epoll-lt]") {
		t.Errorf("stderr does not say the backends became one line:\n%s", stderr)
	}
	run, err := results.ReadRun("out")
	if err != nil {
		t.Fatal(err)
	}
	x := run.External
	if !slices.Equal(run.Scenario.Backends, []string{"own-loop"}) || x == nil || x.Label != "own-loop" || x.CPUScope != results.CPUScopeBusiest || !slices.Equal(x.Command, []string{exe, "serve", "-backend", "epoll-lt", "-addr", "{addr}"}) {
		t.Fatalf("backends %v, external %+v; want one line own-loop, the command split as given, busiest thread shown", run.Scenario.Backends, x)
	}
	for _, s := range run.Samples {
		if s.Backend != "own-loop" || s.Status != results.StatusOK || s.Sockets == nil || s.Server.Tree == nil {
			t.Errorf("sample at %d fds: %s %s (%s); want own-loop ok with its socket proof and process tree", s.FDs, s.Backend, s.Status, s.Reason)
		}
	}
	md, err := os.ReadFile(filepath.Join("out", "report.md"))
	if err != nil || !strings.Contains(string(md), "| own-loop |") {
		t.Errorf("report.md (%v) has no row for own-loop", err)
	}
}

func TestRunExternalUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	isolateLocks(t)
	os.WriteFile("tiny.yaml", []byte(remoteScenarioYAML), 0o644)
	os.WriteFile("sndbuf.yaml", []byte(remoteScenarioYAML+"server_sndbuf: 4096\n"), 0o644)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no port", []string{"-exec", "nginx -c x.conf"}, "has neither {port} nor {addr}"},
		{"both", []string{"-exec", "srv {port}", "-attach", "127.0.0.1:80", "-pid", "1"}, "give one of them"},
		{"attach without pid", []string{"-attach", "127.0.0.1:80"}, "-attach needs -pid PID"},
		{"attach, bad address", []string{"-attach", "localhost", "-pid", "1"}, `want HOST:PORT`},
		{"pid without attach", []string{"-exec", "srv {port}", "-pid", "1"}, "-pid applies to -attach"},
		{"name without a server", []string{"-name", "x"}, "apply to -exec and -attach only"},
		{"a backend's name", []string{"-exec", "srv {port}", "-name", "epoll-lt"}, "-name epoll-lt is one of muxbench's own backends"},
		{"odd name", []string{"-exec", "srv {port}", "-name", "my server"}, `-name "my server": want letters`},
		{"bad figure", []string{"-exec", "srv {port}", "-server-cpu", "loop"}, `-server-cpu "loop": want tree or busiest`},
		{"unterminated quote", []string{"-exec", "srv '{port}"}, "unterminated single quote"},
		{"with -server", []string{"-exec", "srv {port}", "-server", "127.0.0.1:1", "-control", "127.0.0.1:2", "-token", "t"}, "give one of them"},
		{"a suite", []string{"-exec", "srv {port}", "-out", "o", "claims-quick"}, "suite claims-quick also runs parts"},
		{"server_sndbuf", []string{"-exec", "srv {port}", "-out", "o", "sndbuf.yaml"}, "sets server_sndbuf"},
		{"attach to nothing", []string{"-attach", "127.0.0.1:1", "-pid", "1", "-name", "none", "-out", "o", "tiny.yaml"}, "nothing listens on port 1"},
	} {
		args := append([]string{"run"}, tt.args...)
		if !slices.Contains(args, "-out") {
			args = append(args, "-out", "o", "tiny.yaml")
		}
		code, _, stderr := execMuxbench(t, args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tt.name, code, stderr, tt.want)
		}
	}
	if _, err := os.Stat("o"); err == nil {
		t.Error("a refused run created its results directory")
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"redis-server --port {port} --save ''", []string{"redis-server", "--port", "{port}", "--save", ""}},
		{`sh -c "exec nginx -g 'daemon off;' -c \"$HOME/n.conf\""`, []string{"sh", "-c", `exec nginx -g 'daemon off;' -c "$HOME/n.conf"`}},
		{`a\ b  'c d'e	f`, []string{"a b", "c de", "f"}},
		{`"x\y"`, []string{`x\y`}},
	} {
		got, err := splitCommand(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "  ", `a "b`, `a\`} {
		if got, err := splitCommand(bad); err == nil {
			t.Errorf("splitCommand(%q) = %q; want an error", bad, got)
		}
	}
}

// TestRunExecProto: a scenario in a protocol muxbench's own servers do not
// speak, refused for them, runs against an external server: here serve
// again, whose echo of a line is a line server's answer.
func TestRunExecProto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	t.Chdir(t.TempDir())
	isolateLocks(t)
	os.WriteFile("line.yaml", []byte("name: line\nfds: [12]\nactive: 1\nrate: 200\nwarmup: 100ms\nduration: 300ms\nrepetitions: 1\nproto: line\nline: version\nexpect: version\nserver_cpus: \"\"\nclient_cpus: \"\"\n"), 0o644)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := execMuxbench(t, "run", "-out", "refused", "line.yaml"); code != 2 || !strings.Contains(stderr, "muxbench's own servers speak only echo and sockperf") {
		t.Errorf("own servers: exit %d, %q; want the refusal", code, stderr)
	}
	code, _, stderr := execMuxbench(t, "run", "-exec", exe+" serve -addr {addr}", "-name", "liner", "-out", "out", "-no-report", "line.yaml")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	run, err := results.ReadRun("out")
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Samples[0]; s.Status != results.StatusOK || s.Requests == 0 || run.Scenario.Proto != "line" {
		t.Errorf("sample %s (%s), %d requests, proto %s; want line requests answered", s.Status, s.Reason, s.Requests, run.Scenario.Proto)
	}
}
