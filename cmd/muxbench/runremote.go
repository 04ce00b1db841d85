package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/results"
)

// runRemote is `muxbench run -server`: sweep a server this run did not
// start, sampled through its control port, optionally as one of several
// generators sharing every point.
type runRemote struct {
	server, control, token string
	gens, index            int
	startAt                string
	setup                  time.Duration
	host                   string

	at time.Time // parsed -start-at
}

func (r *runRemote) flags(fs *flag.FlagSet) {
	fs.StringVar(&r.server, "server", "", "drive a server this run did not start, listening at `host:port` (muxbench serve -control tcp:...; needs -control and -token); the scenario's backends must include its backend")
	fs.StringVar(&r.control, "control", "", "with -server: its control port, `host:port`, from its hello line")
	fs.StringVar(&r.token, "token", "", "with -server: its control `token`, from its hello line")
	fs.IntVar(&r.gens, "generators", 1, "with -server: this run opens one of `N` equal shares of every point's connections, active connections and rate; run N copies with the same -start-at (muxbench merge combines their results)")
	fs.IntVar(&r.index, "generator-index", 0, "with -generators: which share, `I` in 0..N-1 (a Kubernetes indexed Job: $JOB_COMPLETION_INDEX)")
	fs.StringVar(&r.startAt, "start-at", "", "with -server: start the first sample's slot at this wall-clock `time` (RFC 3339); every sample then has a fixed slot every copy computes alike (required with -generators > 1)")
	fs.DurationVar(&r.setup, "setup", 0, "with -start-at: every slot's `time` for opening connections (default 2 s + 200 µs per connection)")
	fs.StringVar(&r.host, "host", "", "with -server: `name` of this generator in its load files (default: the host name)")
}

// on reports whether -server was given.
func (r *runRemote) on() bool { return r.server != "" }

// check validates the flags before any work; now is the current time.
func (r *runRemote) check(now time.Time) error {
	if !r.on() {
		if r.control != "" || r.token != "" || r.gens != 1 || r.index != 0 || r.startAt != "" || r.setup != 0 || r.host != "" {
			return usageErrorf("-control, -token, -generators, -generator-index, -start-at, -setup and -host apply to -server only (a run that starts its own servers samples them directly)")
		}
		return nil
	}
	if _, port, err := net.SplitHostPort(r.server); err != nil || port == "0" {
		return usageErrorf("-server %q: want the server's HOST:PORT from its hello line, e.g. 10.0.0.5:7000", r.server)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return usageErrorf("-server %q: port %q is not a number in 1..65535", r.server, port)
	}
	if r.control == "" || r.token == "" {
		return usageErrorf("-server needs -control HOST:PORT and -token T from the server's hello line: the run samples its counters and CPU there")
	}
	if err := checkShare(r.gens, r.index); err != nil {
		return err
	}
	if r.startAt != "" {
		at, err := parseStartAt(r.startAt, now)
		if err != nil {
			return err
		}
		r.at = at
	}
	switch {
	case r.gens > 1 && r.at.IsZero():
		return usageErrorf("-generators %d needs -start-at: the copies find each other's samples by the wall clock (give every copy the same time, e.g. $(date -u -d +30sec +%%Y-%%m-%%dT%%H:%%M:%%SZ))", r.gens)
	case r.setup < 0:
		return usageErrorf("-setup %v: want a positive duration", r.setup)
	case r.setup > 0 && r.at.IsZero():
		return usageErrorf("-setup applies to -start-at's slots only")
	}
	var err error
	r.host, err = hostOr(r.host, "the load files")
	return err
}

// hostOr returns name, or if empty this host's name, which names a
// generator in what (its result files).
func hostOr(name, what string) (string, error) {
	if name != "" {
		return name, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("host name for %s: %w (give -host NAME)", what, err)
	}
	return h, nil
}

// connect opens the control port and reads the server's hello, then fits
// sc to it: its one backend, and nothing the scenario would set on a
// server this run starts (server CPUs, send buffer, protocol) may differ
// from what the server says it runs with. All before any connection.
func (r *runRemote) connect(sc *results.Scenario, stderr io.Writer) (*harness.Remote, error) {
	c, err := wire.Dial(r.control, r.token)
	if err != nil {
		return nil, usageErrorf("-control %s: %v", r.control, err)
	}
	h, err := c.Hello()
	if err != nil {
		c.Close()
		return nil, usageErrorf("-control %s: %v", r.control, err)
	}
	fail := func(format string, args ...any) (*harness.Remote, error) {
		c.Close()
		return nil, usageErrorf(format, args...)
	}
	_, helloPort, _ := net.SplitHostPort(h.Addr)
	_, serverPort, _ := net.SplitHostPort(r.server)
	switch {
	case helloPort != serverPort:
		return fail("-control %s belongs to a server listening on %s, not on -server %s's port", r.control, h.Addr, r.server)
	case !slices.Contains(sc.Backends, h.Backend):
		return fail("the server at %s runs %s; scenario %s sweeps %v: start the server with one of those (-backend), or give a scenario file with backends: [%s]", r.server, h.Backend, sc.Name, sc.Backends, h.Backend)
	case h.Proto != sc.Proto:
		return fail("the server at %s speaks %s; scenario %s sends %s: start it with -proto %s", r.server, h.Proto, sc.Name, sc.Proto, sc.Proto)
	case h.SendBuffer != sc.ServerSendBuffer:
		return fail("the server at %s sets SO_SNDBUF %d; scenario %s wants server_sndbuf %d: start it with -sndbuf %d", r.server, h.SendBuffer, sc.Name, h.SendBuffer, sc.ServerSendBuffer)
	}
	if len(sc.Backends) > 1 {
		fmt.Fprintf(stderr, "remote server %s runs %s: sweeping that backend only (the scenario's others need servers of their own)\n", r.server, h.Backend)
	}
	if sc.ServerCPUs != "" && sc.ServerCPUs != h.CPUs {
		fmt.Fprintf(stderr, "remote server %s: the scenario's server_cpus %s does not apply; the server is pinned to %q by whoever started it (serve -cpus)\n", r.server, sc.ServerCPUs, h.CPUs)
	}
	sc.Backends, sc.ServerCPUs = []string{h.Backend}, h.CPUs
	fmt.Fprintf(stderr, "remote server %s: %s, pid %d, control %s; generator %d of %d (%s)\n", r.server, h.Backend, h.PID, r.control, r.index, r.gens, r.host)
	rem := &harness.Remote{
		Addr: r.server, Client: c, Hello: h, Generators: r.gens, Index: r.index,
		StartAt: r.at, Setup: r.setup, Host: r.host,
	}
	if !r.at.IsZero() {
		slots := rem.Schedule(*sc)
		fmt.Fprintf(stderr, "schedule: %d samples from %s to %s\n", len(slots), r.at.UTC().Format(time.RFC3339), slots[len(slots)-1].End.UTC().Format(time.RFC3339))
	}
	return rem, nil
}

// parseStartAt parses a -start-at flag: an RFC 3339 time after now.
func parseStartAt(value string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, usageErrorf("-start-at %q: want an RFC 3339 time like 2026-01-02T15:04:05Z (date -u -d +20sec +%%Y-%%m-%%dT%%H:%%M:%%SZ)", value)
	}
	if !t.After(now) {
		return time.Time{}, usageErrorf("-start-at %s is %.1f s in the past (now %s): give a time ahead of every generator's start", value, now.Sub(t).Seconds(), now.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// checkShare validates -generators N -generator-index I.
func checkShare(n, i int) error {
	switch {
	case n < 1:
		return usageErrorf("-generators %d: want 1 or more", n)
	case i < 0 || i >= n:
		return usageErrorf("-generator-index %d: want 0..%d (-generators %d)", i, n-1, n)
	}
	return nil
}
