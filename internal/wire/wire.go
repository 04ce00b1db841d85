// Package wire is the schema of what `muxbench serve` says on its standard
// output and hears on its standard input: one JSON hello line when it
// listens, one JSON report line per stats command (and a final one as it
// exits), and the control verbs. The server writes it, the harness and any
// other client read it; both import it from here so the format has one
// source.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Control verbs, one per line on the server's standard input. End of input
// stops the server as quit does.
const (
	// CmdStats asks for one Report line.
	CmdStats = "stats"
	// CmdQuit stops the server; it prints its final Report and exits.
	CmdQuit = "quit"
	// CmdHello asks for the Hello line again; on the TCP control port only,
	// so a client on another host learns what it samples.
	CmdHello = "hello"
)

// On a TCP control port (serve -control tcp:ADDR) every command line is the
// server's token, one space, and the verb: "TOKEN stats". The token is
// random per start and printed in the Hello; a line without it, or with
// another, is refused and its connection closed.

// Command returns the control line for verb on a TCP control port.
func Command(token, verb string) string { return token + " " + verb }

// ParseCommand splits a TCP control line into its token and verb; ok is
// false when the line has no token (a bare verb).
func ParseCommand(line string) (token, verb string, ok bool) {
	token, verb, ok = strings.Cut(strings.TrimSpace(line), " ")
	if !ok || token == "" {
		return "", strings.TrimSpace(line), false
	}
	return token, strings.TrimSpace(verb), true
}

// Hello is the first line `muxbench serve` prints: where the server listens
// and what it can hold. The harness reads it to find the server and to
// decide which points the backend can run.
type Hello struct {
	Addr       string        `json:"addr"`
	PID        int           `json:"pid"`
	Backend    string        `json:"backend"`
	Proto      traffic.Proto `json:"proto"`
	CPUs       string        `json:"cpus"` // CPU list the process is pinned to, "" = not pinned
	NoFileSoft uint64        `json:"nofile_soft"`
	NoFileHard uint64        `json:"nofile_hard"`
	// OpenFDs is how many fds the process holds before any connection
	// (stdio, listener, poller, runtime). Connections take the lowest free
	// numbers, so with N connections the highest fd is about OpenFDs+N-1.
	OpenFDs int `json:"open_fds"`
	// MaxFD is the backend's own limit on fd numbers (select: FD_SETSIZE);
	// 0 means none.
	MaxFD int `json:"max_fd,omitempty"`
	// LoopThread is true for the event-loop backends: their cost is the
	// loop thread's CPU (Report.LoopCPUNs). A whole server of its own
	// (gonet) is the whole process.
	LoopThread bool `json:"loop_thread"`
	// GOMAXPROCS and GODEBUG are the Go runtime settings the server runs
	// with; both change how many threads wake and how often.
	GOMAXPROCS int    `json:"gomaxprocs"`
	GODEBUG    string `json:"godebug,omitempty"`
	// GC is the garbage collector's setting: "default", or off with a
	// memory limit for the event loop (which allocates nothing per request).
	GC string `json:"gc"`
	// SendBuffer is the SO_SNDBUF set on accepted connections (serve
	// -sndbuf); 0 leaves the kernel's autotuning.
	SendBuffer int `json:"sndbuf,omitempty"`
	// Control and Token are the TCP control port's address and the token
	// every command on it must carry (serve -control tcp:ADDR); absent when
	// the server is controlled through its standard input. The token is
	// in serve's hello line only: the hello the control port sends, and
	// every hello muxbench records, leave it out.
	Control string `json:"control,omitempty"`
	Token   string `json:"token,omitempty"`
	// Loops is how many copies of the event loop the server runs (serve
	// -loops; absent: one), and Sharing how they share the listener and
	// the ready list (backends.Sharing's name; absent with one loop).
	Loops   int    `json:"loops,omitempty"`
	Sharing string `json:"sharing,omitempty"`
}

// LoopCount is how many loops the hello's server runs: Loops, or 1 when
// absent.
func (h Hello) LoopCount() int { return max(h.Loops, 1) }

// Report is one line printed for the stats command: every counter plus the
// process's resource usage.
type Report struct {
	Stats
	// From getrusage(RUSAGE_SELF): every thread of the server process,
	// Go runtime threads included.
	UserNs     int64 `json:"user_ns"`
	SysNs      int64 `json:"sys_ns"`
	MaxRSSKiB  int64 `json:"max_rss_kib"`
	VolCtxSw   int64 `json:"vol_ctxsw"`
	InvolCtxSw int64 `json:"invol_ctxsw"`
	// LoopCPUNs is the CPU time of the event loop's own thread
	// (/proc/self/task/TID/schedstat, ns): the multiplexer and the loop
	// without the Go runtime's other threads; with several loops, the sum
	// of their threads'. 0 for gonet, which has no single loop thread.
	LoopCPUNs int64 `json:"loop_cpu_ns"`
	// LoopWakeups is how many times the loop thread(s) went to sleep and
	// were woken: their voluntary context switches
	// (/proc/self/task/TID/status). A wait that is woken but finds its
	// event already taken by another loop can sleep again inside the
	// kernel without returning (ep_poll rechecks readiness): no counter of
	// the loop's own sees that wake-up, its thread's switches do. Absent
	// where unread (gonet, an older server).
	LoopWakeups int64 `json:"loop_wakeups,omitempty"`
	// Loops holds each loop's own part when the server runs several
	// (serve -loops N): the Stats above are their sum.
	Loops []Loop `json:"loops,omitempty"`
	// Threads is the server process's OS thread count (/proc/self/status;
	// 0 if unreadable).
	Threads int `json:"threads"`
	// MonoNs is CLOCK_MONOTONIC when the report was taken, so a reader can
	// compute utilisation over exactly the interval between two reports.
	MonoNs int64 `json:"mono_ns"`
	// ControlRefused counts TCP control commands refused for a missing or
	// wrong token since the server started (absent: none, or no TCP port).
	ControlRefused uint64 `json:"control_refused,omitempty"`
	// Final marks the report printed as the server exits.
	Final bool `json:"final,omitempty"`
}

// Stats is a snapshot of the server's counters. Backends that cannot
// observe a counter (gonet has no wait calls of its own) leave it zero.
type Stats struct {
	Waits            uint64 `json:"waits"`             // multiplexer wait calls that returned events
	WaitsInterrupted uint64 `json:"waits_interrupted"` // wait calls a signal interrupted (EINTR)
	Events           uint64 `json:"events"`            // ready events those calls returned
	Accepts          uint64 `json:"accepts"`           // connections accepted
	Reads            uint64 `json:"reads"`             // read syscalls
	Writes           uint64 `json:"writes"`            // write syscalls
	ReadEAGAIN       uint64 `json:"read_eagain"`       // reads that returned EAGAIN
	WriteEAGAIN      uint64 `json:"write_eagain"`      // writes that returned EAGAIN or were short
	InterestMods     uint64 `json:"interest_mods"`     // Add/Modify/Remove calls on the poller
	BytesIn          uint64 `json:"bytes_in"`
	BytesOut         uint64 `json:"bytes_out"`
	ConnsOpen        int64  `json:"conns_open"`     // connections open now
	ConnsClosed      uint64 `json:"conns_closed"`   // connections closed, for any reason
	ConnsRejected    uint64 `json:"conns_rejected"` // accepted, then closed: the backend could not watch the fd
	// Watched is how many fds the multiplexer watches now (0 where the
	// backend cannot tell: gonet); MaxWatchedFD the highest connection fd
	// number registered so far.
	Watched      int64  `json:"watched"`
	MaxWatchedFD int64  `json:"max_watched_fd"`
	Errors       Errors `json:"errors"`
	// WastedWaits are waits (counted in Waits) that returned events but
	// found no work in any of them: every connection they reported was
	// already taken by another loop sharing the listener (accept returned
	// EAGAIN). EmptyAccepts counts listener readinesses whose first accept
	// returned EAGAIN that way. Absent: none.
	WastedWaits  uint64 `json:"wasted_waits,omitempty"`
	EmptyAccepts uint64 `json:"empty_accepts,omitempty"`
}

// Add adds o's counters to s: several loops' counters make the server's.
// Levels add too (connections open, fds watched: each loop's share);
// MaxWatchedFD takes the larger.
func (s *Stats) Add(o Stats) {
	s.Waits += o.Waits
	s.WaitsInterrupted += o.WaitsInterrupted
	s.WastedWaits += o.WastedWaits
	s.Events += o.Events
	s.Accepts += o.Accepts
	s.EmptyAccepts += o.EmptyAccepts
	s.Reads += o.Reads
	s.Writes += o.Writes
	s.ReadEAGAIN += o.ReadEAGAIN
	s.WriteEAGAIN += o.WriteEAGAIN
	s.InterestMods += o.InterestMods
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.ConnsOpen += o.ConnsOpen
	s.ConnsClosed += o.ConnsClosed
	s.ConnsRejected += o.ConnsRejected
	s.Watched += o.Watched
	s.MaxWatchedFD = max(s.MaxWatchedFD, o.MaxWatchedFD)
	s.Errors.Reset += o.Errors.Reset
	s.Errors.Pipe += o.Errors.Pipe
	s.Errors.Protocol += o.Errors.Protocol
	s.Errors.Accept += o.Errors.Accept
	s.Errors.Other += o.Errors.Other
}

// Loop is one loop's part of a server that runs several: its counters
// and its thread's figures, read by the stats command.
type Loop struct {
	Stats
	// TID is the loop's OS thread while it runs (0 when it does not), for
	// a tool that watches the thread (perf -t, /proc/PID/task/TID).
	TID int `json:"tid"`
	// CPU is the CPU the loop's thread is pinned to; -1 when it runs on
	// the process's CPU set.
	CPU int `json:"cpu"`
	// CPUNs is its thread's CPU time (schedstat, ns).
	CPUNs int64 `json:"cpu_ns"`
	// Wakeups are its thread's voluntary context switches: each is a
	// sleep in the wait (or, rarely, elsewhere: a lock, the Go scheduler)
	// ended by a wake-up. See Report.LoopWakeups.
	Wakeups int64 `json:"wakeups"`
	// InvolCtxSw are its thread's involuntary context switches: preempted
	// while runnable, by another loop on the same CPU for one.
	InvolCtxSw int64 `json:"invol_ctxsw"`
}

// Errors counts the server's per-connection errors by kind; the JSON names
// are the kinds.
type Errors struct {
	Reset    uint64 `json:"reset"`    // ECONNRESET on read or write
	Pipe     uint64 `json:"pipe"`     // EPIPE on write
	Protocol uint64 `json:"protocol"` // malformed input (sockperf frame length out of range)
	Accept   uint64 `json:"accept"`   // accept failures (EMFILE, ENFILE, ENOBUFS, ...)
	Other    uint64 `json:"other"`    // any other per-connection error
}

// ErrNotHello is returned (wrapped) by ParseHello for a line that is not a
// hello: not JSON, or without an address.
var ErrNotHello = errors.New("not the hello line muxbench serve prints")

// ParseHello decodes a hello line.
func ParseHello(line []byte) (Hello, error) {
	var h Hello
	if err := json.Unmarshal(line, &h); err != nil {
		return Hello{}, fmt.Errorf("%w: %v", ErrNotHello, err)
	}
	if h.Addr == "" {
		return Hello{}, fmt.Errorf("%w: no addr", ErrNotHello)
	}
	return h, nil
}

// ParseReport decodes a report line.
func ParseReport(line []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(line, &r); err != nil {
		return Report{}, err
	}
	return r, nil
}
