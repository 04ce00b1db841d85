package main

import (
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for muxbench when `run` starts
// servers (`run` starts os.Executable() with "serve", which is this
// binary) and when a test runs a command as a process of its own.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		if _, ok := commands[os.Args[1]]; ok { // this test binary as muxbench
			os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		}
	}
	os.Exit(m.Run())
}

// TestUsageErrors: bad command lines exit 2 with one line in the user's
// words, before anything starts.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
		not  string // must not appear
	}{
		{"unknown flag is one line", []string{"serve", "-bogus"}, "unknown flag -bogus (see muxbench serve -h)", "flags:"},
		{"serve bad address", []string{"serve", "-addr", "foo"}, `-addr "foo": want IP:PORT`, ""},
		{"serve host name", []string{"serve", "-addr", "example.com:0"}, "is not an IP address", ""},
		{"serve offline CPU", []string{"serve", "-cpus", "99"}, "CPU 99 is not online", ""},
		{"serve a protocol of other servers", []string{"serve", "-proto", "http"}, "-proto http: muxbench's own servers speak only echo and sockperf; http is for a server muxbench did not write: drive one with `muxbench load -target HOST:PORT -proto http`", ""},
		{"serve pitfall without -pitfall", []string{"serve", "-backend", "pitfall-et-read-once"}, "pitfall-et-read-once is a pitfall", ""},
		{"negative CPU", []string{"load", "-target", "127.0.0.1:1", "-cpus", "-1"}, "-1 is not a CPU; CPUs are numbered from 0", `""`},
		{"negative fd limit", []string{"load", "-target", "127.0.0.1:1", "-server-nofile", "-1"}, "want the server's fd limit", "parse error"},
		{"not a number", []string{"load", "-target", "127.0.0.1:1", "-conns", "x"}, `invalid value "x" for flag -conns: not a number`, "parse error"},
		{"active out of range", []string{"load", "-target", "127.0.0.1:1", "-active", "-1"}, "up to -conns (1)", "0..Conns"},
		{"rate with nothing active", []string{"load", "-target", "127.0.0.1:1", "-conns", "3", "-active", "0", "-rate", "1000"}, "-rate 1000 with -active 0", ""},
		{"timeout 0", []string{"load", "-target", "127.0.0.1:1", "-timeout", "0"}, "-timeout 0: want a positive duration", ""},
		{"pipeline 0", []string{"load", "-target", "127.0.0.1:1", "-pipeline", "0"}, "-pipeline 0", ""},
		{"connect-rate 0", []string{"load", "-target", "127.0.0.1:1", "-connect-rate", "0"}, "-connect-rate 0", ""},
		{"pipeline in closed loop", []string{"load", "-target", "127.0.0.1:1", "-mode", "closed", "-pipeline", "4"}, "-pipeline applies to -mode open only", ""},
		{"run negative timeout", []string{"run", "-timeout", "-1s", "smoke"}, "-timeout -1s: want a positive duration", ""},
		{"run -force without -out", []string{"run", "-force", "smoke"}, "-force needs -out", ""},
		{"run -control without -server", []string{"run", "-control", "127.0.0.1:1", "-token", "t", "smoke"}, "apply to -server only", ""},
		{"run -server without -token", []string{"run", "-server", "127.0.0.1:1", "smoke"}, "-server needs -control HOST:PORT and -token T", ""},
		{"run -server not an address", []string{"run", "-server", "example", "-control", "127.0.0.1:1", "-token", "t", "smoke"}, `-server "example": want the server's HOST:PORT`, ""},
		{"run shares without -start-at", []string{"run", "-server", "127.0.0.1:1", "-control", "127.0.0.1:2", "-token", "t", "-generators", "2", "smoke"}, "-generators 2 needs -start-at", ""},
		{"run share index out of range", []string{"run", "-server", "127.0.0.1:1", "-control", "127.0.0.1:2", "-token", "t", "-generators", "2", "-generator-index", "2", "smoke"}, "-generator-index 2: want 0..1", ""},
		{"run -start-at past", []string{"run", "-server", "127.0.0.1:1", "-control", "127.0.0.1:2", "-token", "t", "-start-at", "2020-01-01T00:00:00Z", "smoke"}, "s in the past (now", ""},
		{"run -server with a suite", []string{"run", "-server", "127.0.0.1:1", "-control", "127.0.0.1:2", "-token", "t", "claims-quick"}, "-server drives one scenario", ""},
		{"run -server, nothing listening", []string{"run", "-server", "127.0.0.1:1", "-control", "127.0.0.1:1", "-token", "t", "smoke"}, "-control 127.0.0.1:1: connect to the control port", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := execMuxbench(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d; want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) || (tt.not != "" && strings.Contains(stderr, tt.not)) {
				t.Errorf("stderr %q; want it to contain %q and not %q", stderr, tt.want, tt.not)
			}
			if n := strings.Count(strings.TrimSuffix(stderr, "\n"), "\n"); n > 0 {
				t.Errorf("stderr has %d lines; want one:\n%s", n+1, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q; want nothing", stdout)
			}
		})
	}
}

// TestServePitfallFlag: -pitfall lets serve start a pitfall backend, and
// the hello line names it.
func TestServePitfallFlag(t *testing.T) {
	var out, errb strings.Builder
	code := run([]string{"serve", "-pitfall", "-backend", "pitfall-et-read-once"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d; stderr %q", code, errb.String())
	}
	if !strings.Contains(out.String(), `"backend":"pitfall-et-read-once"`) {
		t.Errorf("stdout %q; want a hello line naming pitfall-et-read-once", out.String())
	}
}

func TestServeWarnsOffLoopback(t *testing.T) {
	var out, errb strings.Builder
	code := run([]string{"serve", "-addr", "0.0.0.0:0"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d; stderr %q", code, errb.String())
	}
	if got := errb.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "reachable from the network") {
		t.Errorf("stderr %q; want one warning line that the server is reachable from the network", got)
	}
	errb.Reset()
	run([]string{"serve", "-addr", "127.0.0.1:0"}, strings.NewReader(""), &out, &errb)
	if errb.Len() != 0 {
		t.Errorf("loopback: stderr %q; want no warning", errb.String())
	}
}
