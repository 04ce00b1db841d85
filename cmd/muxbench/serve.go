package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/all"
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/server"
)

func init() {
	commands["serve"] = command{
		summary: "run the echo server on one backend (the system under test)",
		run:     runServe,
	}
}

func runServe(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [-backend NAME] [-addr IP:PORT] [-proto echo|sockperf] [-cpus LIST]", stderr)
	backend := fs.String("backend", "epoll-lt", "multiplexer `name`: "+strings.Join(backends.Names(), ", "))
	addr := fs.String("addr", "127.0.0.1:0", "listen `address` (port 0 picks a free port; 0.0.0.0 listens on all interfaces)")
	protoName := fs.String("proto", "echo", "`protocol`: echo (any echo client) or sockperf (sockperf's TCP framing)")
	cpus := fs.String("cpus", "", "pin every thread to this CPU `list`, e.g. 0 or 0,2-3 (default: not pinned)")
	sndbuf := fs.Int("sndbuf", 0, "SO_SNDBUF `bytes` for accepted connections; small values force the back-pressure path (default: kernel autotuning)")
	control := fs.String("control", "stdin", "`source` of control commands: stdin (stats/quit lines; EOF stops the server) or none (signals only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := backends.Lookup(*backend); err != nil {
		return usageErrorf("-backend: %v", err)
	}
	proto, err := server.ParseProto(*protoName)
	if err != nil {
		return usageErrorf("-proto: %v", err)
	}
	set, err := cpuset.Parse(*cpus)
	if err != nil {
		return usageErrorf("-cpus: %v", err)
	}
	if *sndbuf < 0 {
		return usageErrorf("-sndbuf: %d is negative (0 leaves the kernel default)", *sndbuf)
	}
	if *control != "stdin" && *control != "none" {
		return usageErrorf("-control: %q is not stdin or none", *control)
	}
	if err := set.PinProcess(); err != nil {
		return err
	}
	srv, err := all.Start(*backend, server.Config{Addr: *addr, Proto: proto, SendBuffer: *sndbuf})
	if err != nil {
		return err
	}
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	info, _ := backends.Lookup(*backend)
	out := &lineWriter{w: stdout}
	out.json(server.Hello{
		Addr: srv.Addr(), PID: os.Getpid(), Backend: *backend, Proto: proto.String(),
		CPUs: set.String(), NoFileSoft: lim.Cur, NoFileHard: lim.Max,
		OpenFDs: server.OpenFDs(), MaxFD: info.MaxFD,
	})

	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; ok {
			srv.Shutdown()
		}
	}()
	if *control == "stdin" {
		go serveControl(stdin, srv, out)
	}

	serveErr := <-served
	srv.Shutdown()
	final := server.TakeReport(srv)
	final.Final = true
	out.json(final)
	return serveErr
}

// serveControl reads commands, one per line, until EOF, which stops the server.
func serveControl(stdin io.Reader, srv server.Runner, out *lineWriter) {
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		switch cmd := strings.TrimSpace(sc.Text()); cmd {
		case "":
		case "stats":
			out.json(server.TakeReport(srv))
		case "quit":
			srv.Shutdown()
			return
		default:
			out.json(map[string]string{"error": fmt.Sprintf("unknown command %q (want stats or quit)", cmd)})
		}
	}
	srv.Shutdown()
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
