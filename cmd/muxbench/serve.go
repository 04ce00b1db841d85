package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/start"
)

func init() {
	commands["serve"] = command{
		summary: "run the echo server on one backend (the system under test)",
		run:     runServe,
	}
}

func runServe(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [-backend NAME] [-addr IP:PORT] [-proto echo|sockperf] [-cpus LIST] [-loops N]", stderr)
	backend := fs.String("backend", epoll.NameLT, "multiplexer `name`: "+strings.Join(lineup.Names(), ", "))
	addr := fs.String("addr", "127.0.0.1:0", "listen `address` (port 0 picks a free port; 0.0.0.0 listens on all interfaces)")
	protoName := fs.String("proto", "echo", "`protocol`: echo (any echo client) or sockperf (sockperf's TCP framing)")
	cpus := fs.String("cpus", "", "pin every thread to this CPU `list`, e.g. 0 or 0,2-3 (default: not pinned)")
	sndbuf := fs.Int("sndbuf", 0, "SO_SNDBUF `bytes` for accepted connections; small values force the back-pressure path (default: kernel autotuning)")
	loops := fs.Int("loops", 1, "run `N` copies of the event loop, each on its own thread pinned to one of -cpus in turn; N > 1 needs a backend with a sharing mode: "+strings.Join(lineup.Sharing(), ", "))
	pitfall := fs.Bool("pitfall", false, "allow a pitfall backend (a deliberately wrong loop, see `muxbench list`); `muxbench pitfalls` runs them")
	control := fs.String("control", "stdin", "`source` of control commands: stdin (stats/quit lines; EOF stops the server), none (signals only) or tcp:IP:PORT (\"TOKEN stats\" lines; the token is in the hello line; loopback unless an IP says otherwise; stdin is not read)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	b, err := lineup.Lookup(*backend)
	if err != nil {
		return usageErrorf("-backend: %v", err)
	}
	if b.Pitfall && !*pitfall {
		return usageErrorf("-backend: %s is a pitfall, a deliberately wrong loop run by `muxbench pitfalls`; add -pitfall to serve it by hand", *backend)
	}
	switch {
	case *loops < 1 || *loops > backends.MaxLoops:
		return usageErrorf("-loops: %d is out of range (use 1 to %d)", *loops, backends.MaxLoops)
	case *loops > 1 && b.Sharing == backends.NoSharing:
		return usageErrorf("-loops %d: %s runs one loop only (it has no sharing mode); for several loops use %s", *loops, *backend, strings.Join(lineup.Sharing(), ", "))
	}
	if b.Check != nil {
		// Not usable here at all (io_uring off or blocked): say why before
		// anything starts. The harness records the same reason.
		if err := b.Check(); err != nil {
			return fmt.Errorf("-backend %s: %w", *backend, err)
		}
	}
	// An event-loop server started as its own process: re-exec before
	// anything is printed. (Called in-process, by tests, it runs as it is.)
	if b.LoopThread() && len(os.Args) > 1 && os.Args[1] == "serve" && slices.Equal(os.Args[2:], args) {
		if err := execWithoutPreemptSignal(); err != nil {
			return err
		}
	}
	proto, err := traffic.ParseProto(*protoName)
	if err != nil {
		return usageErrorf("-proto: %v", err)
	}
	if err := traffic.CheckServed(proto); err != nil {
		return usageErrorf("-proto %s: %v", proto, err)
	}
	set, err := parseCPUsFlag(*cpus)
	if err != nil {
		return err
	}
	if err := checkListenAddr(*addr, stderr); err != nil {
		return err
	}
	if *sndbuf < 0 {
		return usageErrorf("-sndbuf: %d is negative (0 leaves the kernel default)", *sndbuf)
	}
	controlKind, controlAddr, err := parseControlFlag(*control, stderr)
	if err != nil {
		return err
	}
	// A Go server runs with the GOMAXPROCS its CPU set gives it (gonet on
	// one CPU: 1). The event loop holds its P while it waits (package
	// rawwait), so its process needs a second P for the control reader.
	procs := set.Len()
	gc := "default"
	if b.LoopThread() {
		procs = max(*loops+1, procs, runtime.GOMAXPROCS(0)) // a P per loop, one for the rest
		// The loop allocates nothing per request: with the collector off
		// (bounded by a memory limit) no stop-the-world ever has to wait
		// for the loop's raw wait call, which is what makes turning the
		// preemption signal off safe.
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(loopMemoryLimit)
		gc = fmt.Sprintf("off (memory limit %d MiB)", loopMemoryLimit>>20)
	}
	if err := set.PinProcess(procs); err != nil {
		return err
	}
	srv, err := start.Server(*backend, server.Config{Addr: *addr, Proto: proto, SendBuffer: *sndbuf, Loops: *loops, CPUs: set.CPUs()})
	if err != nil {
		return err
	}
	var ctl *controlTCP
	report := func() wire.Report {
		r := server.TakeReport(srv)
		if ctl != nil {
			r.ControlRefused = ctl.Refused()
		}
		return r
	}
	hello := wire.Hello{}
	if controlKind == "tcp" {
		token, err := newToken()
		if err != nil {
			srv.Shutdown()
			return err
		}
		if ctl, err = listenControl(controlAddr, token, srv, report); err != nil {
			srv.Shutdown()
			return err
		}
		defer ctl.close()
		hello.Control, hello.Token = ctl.Addr(), token
	}
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	out := &lineWriter{w: stdout}
	hello = wire.Hello{
		Control: hello.Control, Token: hello.Token,
		Addr: srv.Addr(), PID: os.Getpid(), Backend: *backend, Proto: proto,
		CPUs: set.String(), NoFileSoft: lim.Cur, NoFileHard: lim.Max,
		OpenFDs: server.OpenFDs(), MaxFD: b.MaxFD,
		LoopThread: b.LoopThread(), GOMAXPROCS: runtime.GOMAXPROCS(0), GODEBUG: os.Getenv("GODEBUG"), GC: gc,
		SendBuffer: *sndbuf,
	}
	if *loops > 1 {
		hello.Loops, hello.Sharing = *loops, b.Sharing.String()
	}
	// Signals are caught before the hello line says the server is up: a
	// SIGTERM right after it still gets the final report.
	ctx, stop := notifyInterrupts()
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown()
	}()
	out.json(hello)
	if ctl != nil {
		ctl.hello = hello
		ctl.hello.Token = "" // a control client has it; what it records of the hello must not
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	switch controlKind {
	case "stdin":
		go serveControl(stdin, report, srv, out)
	case "tcp":
		go ctl.serve()
	}

	serveErr := <-served
	srv.Shutdown()
	final := report()
	final.Final = true
	out.json(final)
	var sig signalCause
	if serveErr == nil && errors.As(context.Cause(ctx), &sig) {
		// Stopped as asked, but by a signal: the status says which, as for
		// every command (the final report is out).
		return &exitError{code: interruptStatus(ctx), err: sig}
	}
	return serveErr
}

// noPreempt is the GODEBUG setting an event-loop server runs with.
const noPreempt = "asyncpreemptoff=1"

// execWithoutPreemptSignal re-executes this process with noPreempt added to
// GODEBUG, unless it is there already (then it returns nil at once; on
// success it does not return). The runtime reads GODEBUG only at start.
//
// Why: the loop waits in raw system calls holding its P (package rawwait),
// so the runtime's sysmon sees the loop goroutine running and sends it the
// asynchronous preemption signal every 10–20 ms of idleness. Each one ends
// the wait with EINTR, and for select and poll the retry is another full
// scan of every watched fd: at 20,000 fds ~12 ms each, most of a core spent
// on the runtime's signal, not on the multiplexer. gonet keeps Go's
// defaults: it is the baseline.
func execWithoutPreemptSignal() error {
	godebug := os.Getenv("GODEBUG")
	if slices.Contains(strings.Split(godebug, ","), noPreempt) {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("re-exec with GODEBUG=%s: %w", noPreempt, err)
	}
	if godebug != "" {
		godebug += ","
	}
	env := append(os.Environ(), "GODEBUG="+godebug+noPreempt)
	return fmt.Errorf("re-exec with GODEBUG=%s: %w", noPreempt, syscall.Exec(exe, os.Args, env))
}

// loopMemoryLimit is the event-loop server's soft memory limit, the only
// trigger left for its garbage collector: far above what 20,000 idle
// connections take (a few MiB), so reaching it means something is wrong.
const loopMemoryLimit = 1 << 30

// serveControl reads commands, one per line, until EOF, which stops the
// server. A line too long to be a command gets an error line and is
// skipped; serving goes on.
func serveControl(stdin io.Reader, report func() wire.Report, srv server.Runner, out *lineWriter) {
	rd := bufio.NewReader(stdin)
	for {
		line, err := readLine(rd, maxControlLine)
		switch {
		case errors.Is(err, errLineTooLong):
			out.json(errorReply("%v: ignored (want %s or %s)", err, wire.CmdStats, wire.CmdQuit))
			continue
		case errors.Is(err, io.EOF):
			srv.Shutdown()
			return
		case err != nil:
			out.json(errorReply("read standard input: %v; stopping the server as at EOF", err))
			srv.Shutdown()
			return
		}
		switch cmd := strings.TrimSpace(line); cmd {
		case "":
		case wire.CmdStats:
			out.json(report())
		case wire.CmdQuit:
			srv.Shutdown()
			return
		default:
			out.json(errorReply("unknown command %q (want %s or %s)", cmd, wire.CmdStats, wire.CmdQuit))
		}
	}
}

// errLineTooLong is readLine's error for a line longer than its bound.
var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxControlLine)

// readLine returns the next line of r without its line ending. A line
// longer than limit bytes is read to its end and dropped, with
// errLineTooLong: the next call reads the line after it. A last line
// without a newline is returned at EOF; then io.EOF. Any other read error
// drops the partial line.
func readLine(r *bufio.Reader, limit int) (string, error) {
	var line []byte
	long := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !long {
			line = append(line, chunk...)
			long = len(line) > limit+len("\r\n")
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !(errors.Is(err, io.EOF) && (len(line) > 0 || long)) {
			return "", err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if long || len(line) > limit {
			return "", errLineTooLong
		}
		return string(line), nil
	}
}

// lineWriter writes whole JSON lines from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) json(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
}

// checkListenAddr refuses an -addr the server could not listen on, and warns
// when it is not a loopback address: the echo server answers anyone.
func checkListenAddr(addr string, stderr io.Writer) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("-addr %q: want IP:PORT, e.g. 127.0.0.1:0 (port 0 picks a free port)", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return usageErrorf("-addr %q: port %q is not a number in 0..65535", addr, port)
	}
	loopback := host == "localhost"
	if !loopback && host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return usageErrorf("-addr %q: %q is not an IP address (want e.g. 127.0.0.1:0 or [::1]:0)", addr, host)
		}
		loopback = ip.IsLoopback()
	}
	if !loopback {
		fmt.Fprintf(stderr, "muxbench serve: warning: listening on %s: the echo server is reachable from the network (use 127.0.0.1 to keep it local)\n", addr)
	}
	return nil
}
