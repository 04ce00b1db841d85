// Package control runs one echo server as a process, the system under
// test of `muxbench serve`: it sets the process up for the backend (CPU
// pinning, GOMAXPROCS, the collector and the preemption signal of an
// event-loop server), prints the hello line, answers control commands on
// standard input or on an authenticated TCP port, and prints the final
// report when the server stops. The command parses flags into Options and
// calls Serve.
package control

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/start"
)

// Kind is where control commands come from.
type Kind string

// The control sources: standard input (stats/quit lines; EOF stops the
// server), none (signals only), or a TCP port whose commands carry the
// token of the hello line.
const (
	Stdin Kind = "stdin"
	None  Kind = "none"
	TCP   Kind = "tcp"
)

// Options is one server process: what to serve and how it is controlled.
type Options struct {
	// Backend is the server to run; its Check, if any, has passed.
	Backend lineup.Backend
	// Config is the server's configuration; its CPUs come from CPUs.
	Config server.Config
	// CPUs pins every thread (empty: not pinned).
	CPUs cpuset.Set
	// Control is the command source; ControlAddr is the TCP port's
	// listen address when Control is TCP.
	Control     Kind
	ControlAddr string
	// Stdin is read for commands when Control is Stdin; Stdout gets the
	// hello line, the replies to standard-input commands and the final
	// report, one JSON line each.
	Stdin  io.Reader
	Stdout io.Writer
}

// Serve runs the server of o until a quit command, EOF on standard input
// (with Stdin control), or ctx is done; then it prints the final report.
// It changes process-wide state: CPU affinity, GOMAXPROCS and, for an
// event-loop server, the collector (see loopMemoryLimit). It returns the
// server's error, nil when it was stopped as asked.
func Serve(ctx context.Context, o Options) error {
	b := o.Backend
	// A Go server runs with the GOMAXPROCS its CPU set gives it (gonet on
	// one CPU: 1). The event loop holds its P while it waits (package
	// rawwait), so its process needs a second P for the control reader.
	procs := o.CPUs.Len()
	gc := "default"
	if b.LoopThread() {
		procs = max(o.Config.Loops+1, procs, runtime.GOMAXPROCS(0)) // a P per loop, one for the rest
		// The loop allocates nothing per request: with the collector off
		// (bounded by a memory limit) no stop-the-world ever has to wait
		// for the loop's raw wait call, which is what makes turning the
		// preemption signal off safe.
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(loopMemoryLimit)
		gc = fmt.Sprintf("off (memory limit %d MiB)", loopMemoryLimit>>20)
	}
	if err := o.CPUs.PinProcess(procs); err != nil {
		return err
	}
	cfg := o.Config
	cfg.CPUs = o.CPUs.CPUs()
	srv, err := start.Server(b.Name, cfg)
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
	var token string
	if o.Control == TCP {
		if token, err = newToken(); err != nil {
			srv.Shutdown()
			return err
		}
		if ctl, err = listenControl(o.ControlAddr, token, srv, report); err != nil {
			srv.Shutdown()
			return err
		}
		defer ctl.close()
	}
	out := &lineWriter{w: o.Stdout}
	h := hello(o, srv.Addr(), gc)
	if ctl != nil {
		h.Control, h.Token = ctl.Addr(), token
	}
	// The caller catches signals before the hello line says the server is
	// up: a SIGTERM right after it still gets the final report.
	go func() {
		<-ctx.Done()
		srv.Shutdown()
	}()
	out.json(h)
	if ctl != nil {
		ctl.hello = h
		ctl.hello.Token = "" // a control client has it; what it records of the hello must not
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	switch o.Control {
	case Stdin:
		go serveStdin(o.Stdin, report, srv, out)
	case TCP:
		go ctl.serve()
	}

	serveErr := <-served
	srv.Shutdown()
	final := report()
	final.Final = true
	out.json(final)
	return serveErr
}

// hello is the server's first line: where it listens and the conditions it
// runs under, for the harness to record.
func hello(o Options, addr, gc string) wire.Hello {
	b := o.Backend
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	h := wire.Hello{
		Addr: addr, PID: os.Getpid(), Backend: b.Name, Proto: o.Config.Proto,
		CPUs: o.CPUs.String(), NoFileSoft: lim.Cur, NoFileHard: lim.Max,
		OpenFDs: server.OpenFDs(), MaxFD: b.MaxFD,
		LoopThread: b.LoopThread(), GOMAXPROCS: runtime.GOMAXPROCS(0), GODEBUG: os.Getenv("GODEBUG"), GC: gc,
		SendBuffer: o.Config.SendBuffer,
	}
	if o.Config.Loops > 1 {
		h.Loops, h.Sharing = o.Config.Loops, b.Sharing.String()
	}
	return h
}

// noPreempt is the GODEBUG setting an event-loop server runs with.
const noPreempt = "asyncpreemptoff=1"

// ExecWithoutPreemptSignal re-executes this process with noPreempt added to
// GODEBUG, unless it is there already (then it returns nil at once; on
// success it does not return). The runtime reads GODEBUG only at start, so
// an event-loop server started as its own process calls it before it
// prints anything.
//
// Why: the loop waits in raw system calls holding its P (package rawwait),
// so the runtime's sysmon sees the loop goroutine running and sends it the
// asynchronous preemption signal every 10–20 ms of idleness. Each one ends
// the wait with EINTR, and for select and poll the retry is another full
// scan of every watched fd: at 20,000 fds ~12 ms each, most of a core spent
// on the runtime's signal, not on the multiplexer. gonet keeps Go's
// defaults: it is the baseline.
func ExecWithoutPreemptSignal() error {
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
