package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// signalled runs this test binary as `muxbench args...`, sends it sig once
// ready (given the stdout printed so far) says so, and returns its exit
// status and output. Every wait is bounded.
func signalled(t *testing.T, sig unix.Signal, ready func(stdout string) bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "MUXBENCH_LOCK_DIR="+t.TempDir())
	cmd.Dir = t.TempDir()
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(outPipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	var out strings.Builder
	deadline := time.After(20 * time.Second)
	for sent := false; ; {
		if !sent && ready(out.String()) {
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			sent = true
		}
		select {
		case l, ok := <-lines:
			if !ok {
				err := <-exited // stderr is complete only now
				if !sent {
					t.Fatalf("muxbench %s ended before it was ready for the signal; stdout %q stderr %q", args[0], out.String(), errb.String())
				}
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatal(err)
				}
				if ee != nil {
					if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
						t.Fatalf("muxbench %s was killed by %v: it did not handle it", args[0], ws.Signal())
					}
				}
				return cmd.ProcessState.ExitCode(), out.String(), errb.String()
			}
			out.WriteString(l + "\n")
		case <-time.After(10 * time.Millisecond): // poll ready again
		case <-deadline:
			cmd.Process.Kill()
			for range lines {
			}
			<-exited
			t.Fatalf("muxbench %s: not done within 20s; stdout %q stderr %q", args[0], out.String(), errb.String())
		}
	}
}

// TestSignalExitStatus: SIGINT ends every command with status 130 and
// SIGTERM with 143 (128 + the signal, as a shell reports a process the
// signal killed), each after keeping what it finished.
func TestSignalExitStatus(t *testing.T) {
	for _, tc := range []struct {
		sig  unix.Signal
		want int
	}{{unix.SIGINT, 130}, {unix.SIGTERM, 143}} {
		t.Run(unix.SignalName(tc.sig), func(t *testing.T) {
			t.Run("serve", func(t *testing.T) {
				hello := func(out string) bool { return strings.Contains(out, `"addr"`) }
				code, out, stderr := signalled(t, tc.sig, hello, "serve", "-backend", "gonet", "-control", "none")
				if code != tc.want || !strings.Contains(out, `"final":true`) || !strings.Contains(stderr, "stopped by "+unix.SignalName(tc.sig)) {
					t.Errorf("exit %d, stdout %q, stderr %q; want %d after the final report, naming the signal", code, out, stderr, tc.want)
				}
			})
			t.Run("load", func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				var accepted atomic.Int64
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						accepted.Add(1)
						go func() { io.Copy(c, c); c.Close() }()
					}
				}()
				t.Cleanup(func() { ln.Close() })
				connected := func(string) bool { return accepted.Load() > 0 }
				code, _, stderr := signalled(t, tc.sig, connected, "load", "-target", ln.Addr().String(), "-rate", "100", "-warmup", "0s", "-duration", "30s")
				if code != tc.want || !strings.Contains(stderr, "interrupted") {
					t.Errorf("exit %d, stderr %q; want %d, interrupted", code, stderr, tc.want)
				}
			})
			t.Run("run", func(t *testing.T) {
				if testing.Short() {
					t.Skip("starts a server")
				}
				dir := t.TempDir()
				scenario := dir + "/long.yaml"
				// Unpinned: the run's preflight must not depend on the
				// CPUs this test process happens to be pinned to.
				os.WriteFile(scenario, []byte("backends: [epoll-lt]\nfds: [12]\nwarmup: 0s\nduration: 30s\nrepetitions: 1\nserver_cpus: \"\"\nclient_cpus: \"\"\n"), 0o644)
				start := time.Now()
				// run writes its progress to stderr, which the helper
				// only reads at the end: signal once the run is under way.
				under := func(string) bool { return time.Since(start) > 500*time.Millisecond }
				code, _, stderr := signalled(t, tc.sig, under, "run", "-out", dir+"/out", scenario)
				if code != tc.want || !strings.Contains(stderr, "interrupted") {
					t.Errorf("exit %d, stderr %q; want %d, interrupted", code, stderr, tc.want)
				}
			})
		})
	}
}
