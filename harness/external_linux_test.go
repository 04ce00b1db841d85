package harness

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/results"
)

// externalScenario is a short sweep of one external server labelled label.
func externalScenario(label string) results.Scenario {
	return results.Scenario{
		Name: "tiny-external", Backends: []string{label}, FDs: []int{12, 52}, Active: []int{2}, Mode: traffic.Open, Rate: 400, Size: 64,
		Warmup: results.Duration(200 * time.Millisecond), Duration: results.Duration(600 * time.Millisecond), Repetitions: 1, Proto: traffic.Echo,
	}
}

// groupsGone checks that no process is left in the process group of any
// pid written in dir's pid files (each started server writes one; its
// process group is its pid).
func groupsGone(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "pid-*"))
	if len(files) == 0 {
		t.Fatal("no pid file written: the server never started?")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %q", f, b)
		}
		if err := unix.Kill(-pid, 0); !errors.Is(err, unix.ESRCH) {
			t.Errorf("process group %d (%s) still has processes after the run: kill -0 said %v", pid, f, err)
			unix.Kill(-pid, unix.SIGKILL)
		}
	}
}

// fixtureCommand is the fixture's -exec command line writing its pid into
// dir, plus extra flags.
func fixtureCommand(dir string, extra ...string) []string {
	return append([]string{fixtureBin, "-addr", AddrPlaceholder, "-pidfile", filepath.Join(dir, "pid-"+PortPlaceholder)}, extra...)
}

// TestExternalExec: a server muxbench did not write (its own event loop:
// Go's netpoller, a goroutine per connection), started per sample through
// its command line, is proven populated through sock_diag at both edges,
// its CPU read from /proc with the busiest thread labelled, the run
// records what it was, and no process of it is left.
func TestExternalExec(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	sc := externalScenario("fixture")
	x := &External{Label: "fixture", Command: fixtureCommand(pids)}
	run, err := Run(context.Background(), Options{Scenario: sc, OutDir: dir, External: x})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Samples) != 2 {
		t.Fatalf("%d samples; want 2", len(run.Samples))
	}
	for _, s := range run.Samples {
		conns := s.FDs - results.ServerOwnFDs
		if s.Backend != "fixture" || s.Status != results.StatusOK || s.Requests == 0 {
			t.Errorf("%s at %d fds: %s (%s), %d requests; want fixture ok", s.Backend, s.FDs, s.Status, s.Reason, s.Requests)
			continue
		}
		p := s.Sockets
		if p == nil || p.StartAccepted != conns || p.EndAccepted != conns || p.New+p.Gone+p.AcceptedInside != 0 || p.Source == "" || p.EndReadNs <= 0 {
			t.Errorf("at %d fds: socket proof %+v; want %d accepted at both edges, nothing new or gone, its source and read time", s.FDs, p, conns)
		}
		tr := s.Server.Tree
		if tr == nil || tr.CPUNs <= 0 || tr.BusiestCPUNs <= 0 || tr.BusiestCPUNs > tr.CPUNs || !strings.Contains(tr.Busiest, "(fixture)") || tr.Threads < 2 || tr.RSSKiB <= 0 {
			t.Errorf("at %d fds: tree %+v; want CPU > 0, the busiest thread named and within the total, threads and RSS", s.FDs, tr)
			continue
		}
		if s.Server.CPUScope != results.CPUScopeTree || s.Server.CPUNsPerReq != tr.CPUNsPerReq || s.Server.ConnsOpen != int64(conns) {
			t.Errorf("at %d fds: scope %q, %.0f ns/req (tree %.0f), %d open; want the tree's figure and %d open", s.FDs, s.Server.CPUScope, s.Server.CPUNsPerReq, tr.CPUNsPerReq, s.Server.ConnsOpen, conns)
		}
	}
	if e := run.External; e == nil || e.Label != "fixture" || e.CPUScope != results.CPUScopeTree || len(e.Command) == 0 || e.Command[2] != AddrPlaceholder {
		t.Errorf("run.External = %+v; want the label, the command as given and the CPU scope", e)
	}
	back, err := results.ReadRun(dir)
	if err != nil || back.External == nil || back.Samples[0].Sockets == nil || back.Samples[0].Server.Tree == nil {
		t.Errorf("read back: %v; external %v; want the external record, sockets and tree kept", err, back.External)
	}
	groupsGone(t, pids)
}

// TestExternalServe: muxbench's own server driven as an external one
// passes the same population proof, with stdin held open (serve stops at
// its end) and its hello line on stdout discarded; with the busiest
// thread as the headline, that thread is its event loop.
func TestExternalServe(t *testing.T) {
	sc := externalScenario("serve")
	x := &External{Label: "serve", Command: []string{muxbenchBin, "serve", "-backend", "epoll-lt", "-addr", AddrPlaceholder}, CPUScope: results.CPUScopeBusiest}
	run, err := Run(context.Background(), Options{Scenario: sc, External: x})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Samples {
		if s.Status != results.StatusOK || s.Sockets == nil || s.Sockets.EndAccepted != s.FDs-results.ServerOwnFDs {
			t.Errorf("at %d fds: %s (%s), sockets %+v; want ok with every connection held", s.FDs, s.Status, s.Reason, s.Sockets)
			continue
		}
		if tr := s.Server.Tree; s.Server.CPUScope != results.CPUScopeBusiest || s.Server.CPUNsPerReq != tr.BusiestPerRq || tr.BusiestPerRq >= tr.CPUNsPerReq {
			t.Errorf("at %d fds: scope %q, %.0f ns/req; tree %+v; want the busiest thread's, below the tree's", s.FDs, s.Server.CPUScope, s.Server.CPUNsPerReq, tr)
		}
	}
}

// TestExternalDropsIdle: a server that closes one idle connection inside
// the window fails the sample's population proof.
func TestExternalDropsIdle(t *testing.T) {
	pids := t.TempDir()
	sc := externalScenario("fixture")
	sc.FDs, sc.Duration = []int{22}, results.Duration(time.Second)
	// 400 requests/s of 64 bytes from the warm-up's start (200 ms: 80
	// requests): the 250th is due 425 ms into the 1 s window, however
	// long the population proof took.
	x := &External{Label: "fixture", Command: fixtureCommand(pids, "-drop-idle-after-bytes", strconv.Itoa(250*64))}
	run, err := Run(context.Background(), Options{Scenario: sc, External: x})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Samples[0]
	if s.Status != results.StatusFailed || !strings.Contains(s.Reason, "19 of 20 connections accepted at the window's end") || !strings.Contains(s.Reason, "1 connections open at the window's start were gone at its end") {
		t.Errorf("%s (%s); want failed: one connection gone inside the window", s.Status, s.Reason)
	}
	groupsGone(t, pids)
}

// trapTERM is a shell, the process group's leader, that runs the fixture
// and exits with status code when SIGTERM comes.
func trapTERM(pids string, code int) []string {
	return []string{"sh", "-c", `echo $$ >"$1"; shift; trap "echo stopping on TERM >&2; exit ` + strconv.Itoa(code) + `" TERM; "$@" & wait`,
		"sh", filepath.Join(pids, "pid-"+PortPlaceholder), fixtureBin, "-addr", AddrPlaceholder}
}

// TestExternalFailures: a command that fails to start, one that never
// listens, one that dies inside the window, and one whose helper ignores
// SIGTERM each end as the sample's reason — quoting the server's stderr
// where it said why — and leave no process behind.
func TestExternalFailures(t *testing.T) {
	for _, tt := range []struct {
		name    string
		command func(pids string) []string
		status  string
		want    string // in the reason
	}{
		{"exits at once", func(pids string) []string {
			return []string{"sh", "-c", `echo $$ >"$1"; echo "cannot open config: no such file" >&2; exit 3`, "sh", filepath.Join(pids, "pid-"+PortPlaceholder)}
		}, results.StatusFailed, "server exited (status 3): cannot open config: no such file"},
		{"never listens", func(pids string) []string {
			return []string{"sh", "-c", `echo $$ >"$1"; echo "listening elsewhere" >&2; exec sleep 600`, "sh", filepath.Join(pids, "pid-"+PortPlaceholder)}
		}, results.StatusFailed, "within 1s: does it listen on {port} or {addr}?: listening elsewhere"},
		{"dies while connections open", func(pids string) []string {
			return fixtureCommand(pids, "-conns", "5", "-exit-after", "1ms")
		}, results.StatusFailed, "server exited (status 3): fixture: exiting on cue"},
		{"dies mid-sample", func(pids string) []string {
			return fixtureCommand(pids, "-conns", "10", "-exit-after", "500ms")
		}, results.StatusFailed, "server exited (status 3): fixture: exiting on cue"},
		{"a helper ignores SIGTERM", func(pids string) []string {
			return fixtureCommand(pids, "-helper")
		}, results.StatusOK, ""},
		{"exits 143 on SIGTERM", func(pids string) []string {
			return trapTERM(pids, 143)
		}, results.StatusOK, ""},
		{"exits 3 on SIGTERM", func(pids string) []string {
			return trapTERM(pids, 3)
		}, results.StatusErrors, "server exited (status 3): stopping on TERM, stopped with SIGTERM"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pids, dir := t.TempDir(), t.TempDir()
			sc := externalScenario("x")
			sc.FDs = []int{12}
			x := &External{Label: "x", Command: tt.command(pids), ReadyTimeout: time.Second, StopTimeout: 300 * time.Millisecond}
			run, err := Run(context.Background(), Options{Scenario: sc, OutDir: dir, External: x})
			if err != nil {
				t.Fatal(err)
			}
			s := run.Samples[0]
			if s.Status != tt.status || !strings.Contains(s.Reason, tt.want) {
				t.Errorf("%s (%s); want %s with %q", s.Status, s.Reason, tt.status, tt.want)
			}
			if tt.want != "" {
				kept, err := os.ReadFile(filepath.Join(dir, StderrDir, "000.txt"))
				if err != nil || len(kept) == 0 {
					t.Errorf("stderr kept: %q, %v; want the server's stderr in the results directory", kept, err)
				}
			}
			groupsGone(t, pids)
		})
	}
}

// TestExternalRefusesLoops: a loops axis sweeps muxbench's own servers
// only; with an external server Run refuses it, naming the fix, before any
// server is started.
func TestExternalRefusesLoops(t *testing.T) {
	pids := t.TempDir()
	sc := externalScenario("fixture")
	sc.Loops = []int{2, 4}
	x := &External{Label: "fixture", Command: fixtureCommand(pids)}
	run, err := Run(context.Background(), Options{Scenario: sc, OutDir: t.TempDir(), External: x})
	if err == nil || run != nil || !strings.Contains(err.Error(), "remove loops from the scenario") {
		t.Fatalf("loops [2 4] with an external server: %v, %v; want an error naming the fix and no run", run, err)
	}
	if files, _ := filepath.Glob(filepath.Join(pids, "pid-*")); len(files) != 0 {
		t.Errorf("a server was started (%v) before the scenario was refused", files)
	}
}

// TestExternalAttach: a running server is driven without being started
// or stopped: its other client's connection is its baseline, each sample
// waits for the last one's connections to go, and it still runs after.
func TestExternalAttach(t *testing.T) {
	port, err := pickPort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(loopback, strconv.Itoa(int(port)))
	srv := exec.Command(fixtureBin, "-addr", addr)
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	var other net.Conn
	for deadline := time.Now().Add(10 * time.Second); other == nil; {
		if other, err = net.Dial("tcp", addr); err != nil && time.Now().After(deadline) {
			t.Fatalf("fixture never listened on %s: %v", addr, err)
		}
		time.Sleep(readyPoll)
	}
	defer other.Close()

	stranger := exec.Command("sleep", "60")
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stranger.Process.Kill(); stranger.Wait() })
	if _, err := Run(context.Background(), Options{Scenario: externalScenario("attached"), External: &External{Label: "attached", Attach: addr, PID: stranger.Process.Pid}}); err == nil || !strings.Contains(err.Error(), "is not held by process") {
		t.Errorf("attach with another pid: %v; want the listener's owner refused", err)
	}
	x := &External{Label: "attached", Attach: addr, PID: srv.Process.Pid}
	sc := externalScenario("attached")
	sc.Repetitions = 2
	run, err := Run(context.Background(), Options{Scenario: sc, External: x})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Samples {
		if s.Status != results.StatusOK || s.Sockets == nil || s.Sockets.Baseline < 1 || s.Sockets.EndAccepted != s.FDs-results.ServerOwnFDs {
			t.Errorf("rep %d at %d fds: %s (%s), sockets %+v; want ok, the other client as baseline", s.Repetition, s.FDs, s.Status, s.Reason, s.Sockets)
		}
	}
	if run.External == nil || run.External.PID != srv.Process.Pid || run.External.Attach != addr {
		t.Errorf("run.External = %+v; want the attached address and pid", run.External)
	}
	if _, err := procfs.ReadTree(srv.Process.Pid); err != nil {
		t.Errorf("the attached server after the run: %v; want it still running", err)
	}
}

func TestSocketFault(t *testing.T) {
	job := Job{FDs: 12, Active: 2}
	for _, tt := range []struct {
		name  string
		churn bool
		p     results.SocketProof
		want  string // "" = no fault
	}{
		{"held", false, results.SocketProof{StartAccepted: 10, EndAccepted: 10}, ""},
		{"one missing at the start", false, results.SocketProof{StartAccepted: 9, EndAccepted: 10, AcceptedInside: 1}, "9 of 10 connections accepted at the window's start (sock_diag, port 80); 1 connections queued at the window's start were accepted inside it"},
		{"one replaced", false, results.SocketProof{StartAccepted: 10, EndAccepted: 10, New: 1, Gone: 1}, "1 connections at the window's end were not there at its start: accepted inside the window; 1 connections open at the window's start were gone at its end"},
		{"churn within its slots", true, results.SocketProof{StartAccepted: 8, EndAccepted: 12, New: 30, Gone: 28}, ""},
		{"churn lost idle ones", true, results.SocketProof{StartAccepted: 10, EndAccepted: 7}, "7 connections accepted at a window edge; want 8 idle plus 0 to 4 churning (sock_diag, port 80)"},
	} {
		tt.p.Source, tt.p.Port = "sock_diag", 80
		if got := socketFault(job, tt.churn, &tt.p); got != tt.want {
			t.Errorf("%s: socketFault = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	got := strings.Join(expand([]string{"srv", "--port", PortPlaceholder, "-l", AddrPlaceholder, "x" + PortPlaceholder + ".conf"}, 4321), " ")
	if want := "srv --port 4321 -l 127.0.0.1:4321 x4321.conf"; got != want {
		t.Errorf("expand = %q; want %q", got, want)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{keep: 8}
	for _, s := range []string{"0123", "456789", "abcdefghij", "k"} {
		b.Write([]byte(s))
	}
	if got := b.String(); got != "defghijk" {
		t.Errorf("tail = %q; want the last 8 bytes, defghijk", got)
	}
}

// TestPickPort: a picked port is below the ephemeral range (where no
// connect takes it) and free.
func TestPickPort(t *testing.T) {
	lo, _, err := procfs.LocalPortRange()
	if err != nil {
		t.Skip(err)
	}
	p, err := pickPort()
	if err != nil {
		t.Fatal(err)
	}
	if lo >= 2048 && (p >= lo || p < lo/2) {
		t.Errorf("port %d; want in [%d, %d)", p, lo/2, lo)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(loopback, strconv.Itoa(int(p))))
	if err != nil {
		t.Errorf("picked port %d is not free: %v", p, err)
	} else {
		l.Close()
	}
}

// TestExternalProtocols: a server of another protocol, started through
// its command line, is driven in it with every reply verified: a line
// server, redis's PING, an HTTP keep-alive GET; a server that answers
// PING with anything but +PONG has its sample's errors say what it said.
func TestExternalProtocols(t *testing.T) {
	for _, tt := range []struct {
		proto            traffic.Proto
		line, expect     string
		serves           string
		status, inReason string
	}{
		{proto: traffic.Line, line: "version", expect: "version", serves: "echo", status: results.StatusOK},
		{proto: traffic.Redis, serves: "redis", status: results.StatusOK},
		{proto: traffic.HTTP, serves: "http", status: results.StatusOK},
		// Each wrong reply closes its connection, so the population
		// proof fails too; the reason says both.
		{proto: traffic.Redis, serves: "echo", status: results.StatusFailed, inReason: "first wrong_reply: redis replied"},
	} {
		t.Run(string(tt.proto)+"-to-"+tt.serves, func(t *testing.T) {
			pids := t.TempDir()
			sc := externalScenario("fixture")
			sc.FDs, sc.Proto, sc.Size, sc.Line, sc.Expect = []int{22}, tt.proto, 0, tt.line, tt.expect
			if tt.proto == traffic.HTTP {
				sc.Path = "/"
			}
			x := &External{Label: "fixture", Command: fixtureCommand(pids, "-proto", tt.serves)}
			run, err := Run(context.Background(), Options{Scenario: sc, External: x})
			if err != nil {
				t.Fatal(err)
			}
			s := run.Samples[0]
			if s.Status != tt.status || !strings.Contains(s.Reason, tt.inReason) || (tt.status == results.StatusOK && s.Requests == 0) {
				t.Errorf("%s (%s), %d requests; want %s with %q in the reason", s.Status, s.Reason, s.Requests, tt.status, tt.inReason)
			}
			groupsGone(t, pids)
		})
	}
}
