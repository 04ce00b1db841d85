package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/wire"
)

// servedChild is a `muxbench serve` process (this test binary, see
// TestMain) and its output lines.
type servedChild struct {
	hello  wire.Hello
	lines  chan []byte
	exited chan error
	stderr *bytes.Buffer
}

// startServe starts serve with args and reads its hello line; the process
// is killed in t.Cleanup if it is still running.
func startServe(t *testing.T, args ...string) *servedChild {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &servedChild{lines: make(chan []byte, 16), exited: make(chan error, 1), stderr: &bytes.Buffer{}}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		readLines(stdout, c.lines)
		c.exited <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	line := c.next(t, "hello")
	if c.hello, err = wire.ParseHello(line); err != nil {
		t.Fatalf("hello %s: %v; stderr %q", line, err, c.stderr.String())
	}
	return c
}

// readLines sends every line of r to lines, then closes it.
func readLines(r io.Reader, lines chan<- []byte) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lines <- slices.Clone(sc.Bytes())
	}
	close(lines)
}

func (c *servedChild) next(t *testing.T, what string) []byte {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			t.Fatalf("%s: serve ended its output", what)
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no line within 20s", what)
	}
	return nil
}

func TestParseControlFlag(t *testing.T) {
	for _, tc := range []struct {
		value, kind, addr string
		warn              bool
		err               string
	}{
		{"stdin", "stdin", "", false, ""},
		{"none", "none", "", false, ""},
		{"tcp:127.0.0.1:0", "tcp", "127.0.0.1:0", false, ""},
		{"tcp::7001", "tcp", "127.0.0.1:7001", false, ""},
		{"tcp:localhost:0", "tcp", "127.0.0.1:0", false, ""},
		{"tcp:[::1]:0", "tcp", "[::1]:0", false, ""},
		{"tcp:0.0.0.0:7001", "tcp", "0.0.0.0:7001", true, ""},
		{"tcp:10.77.0.1:7001", "tcp", "10.77.0.1:7001", true, ""},
		{"tcp", "", "", false, "is not stdin, none or tcp:ADDR"},
		{"tcp:7001", "", "", false, "want tcp:IP:PORT"},
		{"tcp:example.com:1", "", "", false, "is not an IP address"},
		{"tcp:127.0.0.1:70000", "", "", false, "is not a number in 0..65535"},
	} {
		var stderr bytes.Buffer
		kind, addr, err := parseControlFlag(tc.value, &stderr)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseControlFlag(%q) error %v; want %q", tc.value, err, tc.err)
			}
			continue
		}
		if err != nil || string(kind) != tc.kind || addr != tc.addr {
			t.Errorf("parseControlFlag(%q) = %q, %q, %v; want %q, %q", tc.value, kind, addr, err, tc.kind, tc.addr)
		}
		if warned := strings.Contains(stderr.String(), "warning"); warned != tc.warn {
			t.Errorf("parseControlFlag(%q) warned %v (%q); want %v", tc.value, warned, stderr.String(), tc.warn)
		}
	}
}
