package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
	"github.com/muxbench/muxbench/server/control"
)

func init() {
	commands["serve"] = command{
		summary: "run the echo server on one backend (the system under test)",
		run:     runServe,
	}
}

func runServe(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := serveOptions(args, stderr)
	if err != nil {
		return err
	}
	o.Stdin, o.Stdout = stdin, stdout
	// Signals are caught before the hello line says the server is up: a
	// SIGTERM right after it still gets the final report.
	ctx, stop := notifyInterrupts()
	defer stop()
	serveErr := control.Serve(ctx, o)
	var sig signalCause
	if serveErr == nil && errors.As(context.Cause(ctx), &sig) {
		// Stopped as asked, but by a signal: the status says which, as for
		// every command (the final report is out).
		return &exitError{code: interruptStatus(ctx), err: sig}
	}
	return serveErr
}

// serveOptions parses and checks serve's flags; an event-loop server
// re-executes itself here (control.ExecWithoutPreemptSignal).
func serveOptions(args []string, stderr io.Writer) (control.Options, error) {
	fs := newFlagSet("serve", "serve [-backend NAME] [-addr IP:PORT] [-proto echo|sockperf] [-cpus LIST] [-loops N]", stderr)
	backend := fs.String("backend", epoll.NameLT, "multiplexer `name`: "+strings.Join(lineup.Names(), ", "))
	addr := fs.String("addr", "127.0.0.1:0", "listen `address` (port 0 picks a free port; 0.0.0.0 listens on all interfaces)")
	protoName := fs.String("proto", "echo", "`protocol`: echo (any echo client) or sockperf (sockperf's TCP framing)")
	cpus := fs.String("cpus", "", "pin every thread to this CPU `list`, e.g. 0 or 0,2-3 (default: not pinned)")
	sndbuf := fs.Int("sndbuf", 0, "SO_SNDBUF `bytes` for accepted connections; small values force the back-pressure path (default: kernel autotuning)")
	loops := fs.Int("loops", 1, "run `N` copies of the event loop, each on its own thread pinned to one of -cpus in turn; N > 1 needs a backend with a sharing mode: "+strings.Join(lineup.Sharing(), ", "))
	pitfall := fs.Bool("pitfall", false, "allow a pitfall backend (a deliberately wrong loop, see `muxbench list`); `muxbench pitfalls` runs them")
	ctl := fs.String("control", "stdin", "`source` of control commands: stdin (stats/quit lines; EOF stops the server), none (signals only) or tcp:IP:PORT (\"TOKEN stats\" lines; the token is in the hello line; loopback unless an IP says otherwise; stdin is not read)")
	if err := parseFlags(fs, args); err != nil {
		return control.Options{}, err
	}
	b, err := serveBackend(*backend, *loops, *pitfall)
	if err != nil {
		return control.Options{}, err
	}
	// An event-loop server started as its own process: re-exec before
	// anything is printed, warnings included. (Called in-process, by
	// tests, it runs as it is.)
	if b.LoopThread() && len(os.Args) > 1 && os.Args[1] == "serve" && slices.Equal(os.Args[2:], args) {
		if err := control.ExecWithoutPreemptSignal(); err != nil {
			return control.Options{}, err
		}
	}
	proto, err := traffic.ParseProto(*protoName)
	if err != nil {
		return control.Options{}, usageErrorf("-proto: %v", err)
	}
	if err := traffic.CheckServed(proto); err != nil {
		return control.Options{}, usageErrorf("-proto %s: %v", proto, err)
	}
	set, err := parseCPUsFlag(*cpus)
	if err != nil {
		return control.Options{}, err
	}
	if err := checkListenAddr(*addr, stderr); err != nil {
		return control.Options{}, err
	}
	if *sndbuf < 0 {
		return control.Options{}, usageErrorf("-sndbuf: %d is negative (0 leaves the kernel default)", *sndbuf)
	}
	kind, ctlAddr, err := parseControlFlag(*ctl, stderr)
	if err != nil {
		return control.Options{}, err
	}
	return control.Options{
		Backend: b, CPUs: set, Control: kind, ControlAddr: ctlAddr,
		Config: server.Config{Addr: *addr, Proto: proto, SendBuffer: *sndbuf, Loops: *loops},
	}, nil
}

// serveBackend looks up -backend and checks it can run with -loops and
// -pitfall as given.
func serveBackend(name string, loops int, pitfall bool) (lineup.Backend, error) {
	b, err := lineup.Lookup(name)
	if err != nil {
		return b, usageErrorf("-backend: %v", err)
	}
	if b.Pitfall && !pitfall {
		return b, usageErrorf("-backend: %s is a pitfall, a deliberately wrong loop run by `muxbench pitfalls`; add -pitfall to serve it by hand", name)
	}
	switch {
	case loops < 1 || loops > backends.MaxLoops:
		return b, usageErrorf("-loops: %d is out of range (use 1 to %d)", loops, backends.MaxLoops)
	case loops > 1 && b.Sharing == backends.NoSharing:
		return b, usageErrorf("-loops %d: %s runs one loop only (it has no sharing mode); for several loops use %s", loops, name, strings.Join(lineup.Sharing(), ", "))
	}
	if b.Check != nil {
		// Not usable here at all (io_uring off or blocked): say why before
		// anything starts. The harness records the same reason.
		if err := b.Check(); err != nil {
			return b, fmt.Errorf("-backend %s: %w", name, err)
		}
	}
	return b, nil
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

// parseControlFlag splits -control into its kind (stdin, none or tcp) and,
// for tcp, the address to listen on. An address without a host, or with
// localhost, binds 127.0.0.1: the port is loopback-only unless an IP says
// otherwise, and then stderr gets a warning.
func parseControlFlag(value string, stderr io.Writer) (kind control.Kind, addr string, err error) {
	switch k := control.Kind(value); k {
	case control.Stdin, control.None:
		return k, "", nil
	}
	rest, ok := strings.CutPrefix(value, string(control.TCP)+":")
	if !ok {
		return "", "", usageErrorf("-control: %q is not stdin, none or tcp:ADDR (e.g. tcp:127.0.0.1:0)", value)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return "", "", usageErrorf("-control %q: want tcp:IP:PORT, e.g. tcp:127.0.0.1:0 (port 0 picks a free port)", value)
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", "", usageErrorf("-control %q: %q is not an IP address (want e.g. tcp:127.0.0.1:0 or tcp:10.0.0.5:7001)", value, host)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", usageErrorf("-control %q: port %q is not a number in 0..65535", value, port)
	}
	if !ip.IsLoopback() {
		fmt.Fprintf(stderr, "muxbench serve: warning: control port on %s is reachable from the network; only the token in the hello line protects it, and it travels in clear text\n", rest)
	}
	return control.TCP, net.JoinHostPort(host, port), nil
}
