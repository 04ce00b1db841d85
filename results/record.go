// Package results defines the record a muxbench run leaves behind — one
// schema-versioned Run holding the environment, the scenario as run and every
// Sample of every repetition — and reads and writes it as run.json,
// summary.csv and bench.txt (Go benchmark format, readable by benchstat).
package results

import (
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
)

// SchemaVersion is the version of the run.json layout written by this
// package. Readers refuse other versions with an error naming both.
const SchemaVersion = 2

// Status values of a Sample or a Point. A sample is exactly one of these; the
// order is worst-last so a point's status is the worst of its samples'.
const (
	StatusOK          = "ok"          // measured, rate met, no integrity errors
	StatusSaturated   = "saturated"   // open loop: achieved rate < traffic.SaturatedBelow of requested, or the server's CPU >= SaturatedCPU
	StatusErrors      = "errors"      // any Errors counted: echo mismatches, timeouts, resets, unanswered requests, rejected conns, ...
	StatusUnsupported = "unsupported" // the backend cannot run this point (Reason says why)
	StatusFailed      = "failed"      // the server died or hung, setup failed, or the window's conditions did not hold (Reason says why)
)

// Error kinds the harness adds to a Sample's Errors besides the load
// generator's.
const (
	ErrKindUnanswered     = "unanswered"      // requests still unanswered when the window closed
	ErrKindRejected       = "rejected"        // connections the server accepted and closed because it could not watch the fd (select past FD_SETSIZE)
	ErrKindServerProtocol = "server_protocol" // malformed requests the server counted in the window (sockperf framing)
	ErrKindServerExit     = "server_exit"     // the server exited with an error or had to be killed after the window
)

// SaturatedCPU is the server CPU utilisation (of one core) from which an
// open-loop point is marked saturated although the rate was met: the
// server then answers several requests per wait, and CPU per request is
// just 1/rate. (Closed loop is always CPU-bound; there CPU per request is
// the measurement.)
const SaturatedCPU = 0.95

// CPU scopes: whose CPU time ServerDelta.CPUNsPerReq's scoped figures count.
const (
	CPUScopeLoop    = "loop thread" // the event loop's own thread (schedstat)
	CPUScopeProcess = "process"     // every thread of the server process (getrusage)
	// An external server's, read from outside (ServerDelta.Tree): the
	// whole process tree's threads, what the server costs; or the one
	// thread that used the most, a multi-threaded server's event loop.
	CPUScopeTree    = "process tree"
	CPUScopeBusiest = "busiest thread"
)

// ServerOwnFDs is how many fds a server's multiplexer watches besides its
// connections: the listener and the event loop's wake-up eventfd (Go's
// netpoller watches a listener and an eventfd of its own too). A point's
// FDs is its connections plus these.
const ServerOwnFDs = 2

// Run is the whole record of one `muxbench run`, written as run.json.
type Run struct {
	Schema     int         `json:"schema"`      // SchemaVersion
	Tool       string      `json:"tool"`        // always "muxbench"; identifies foreign files
	Started    time.Time   `json:"started"`     // UTC
	Finished   time.Time   `json:"finished"`    // UTC; zero while running
	Incomplete bool        `json:"incomplete"`  // interrupted or stopped early
	Env        Environment `json:"environment"` // where it ran
	Scenario   Scenario    `json:"scenario"`    // the scenario as run (defaults filled in)
	Samples    []Sample    `json:"samples"`     // every repetition of every point, in run order
	// Remote is set when the run drove a server it did not start
	// (muxbench run -server); Env is then the load generator's machine.
	Remote *RemoteServer `json:"remote,omitempty"`
	// External is set when the run measured a server muxbench did not
	// write (muxbench run -exec or -attach): its samples' backend is its
	// label, and its figures were read from outside it.
	External *ExternalServer `json:"external,omitempty"`
}

// ExternalServer is the server of a run that measured one muxbench did not
// write, started per sample from Command or attached at Attach. Nothing
// was read from inside it: its connections came from sock_diag (Sample.
// Sockets), its CPU, threads and memory from /proc (ServerDelta.Tree).
type ExternalServer struct {
	// Label names its line in tables and charts (the samples' backend).
	Label string `json:"label"`
	// Command is the argv started for every sample, with the {port} and
	// {addr} placeholders as given (-exec); empty when attached.
	Command []string `json:"command,omitempty"`
	// Attach is the HOST:PORT of the running server, PID its process
	// (-attach): never started nor stopped by the run, its figures deltas.
	Attach string `json:"attach,omitempty"`
	PID    int    `json:"pid,omitempty"`
	// CPUScope is which CPU figure the run's headline CPU (CPUNsPerReq,
	// CPUUtil, the charts) shows: CPUScopeTree or CPUScopeBusiest. Every
	// sample keeps both in ServerDelta.Tree.
	CPUScope string `json:"cpu_scope"`
	// StderrDir is the subdirectory of the results directory holding each
	// started server's standard error, last part, one file per sample
	// (NNN.txt, the sample's index) that wrote any.
	StderrDir string `json:"stderr_dir,omitempty"`
}

// RemoteServer is the server of a run that did not start it: what its
// hello said (the control token left out) and this generator's part. Its
// figures are what it reported over its control port; nothing of its
// host's memory or CPU set was read.
type RemoteServer struct {
	Addr  string     `json:"addr"` // where the generator reached its listener
	Hello wire.Hello `json:"hello"`
	// Generators and GeneratorIndex: the run drove share GeneratorIndex
	// of Generators of every point, so its requests and latencies are that
	// share's; its server figures are per request the server read.
	// `muxbench merge` combines every share's loads/ into the whole point.
	Generators     int `json:"generators"`
	GeneratorIndex int `json:"generator_index"`
	// StartAt is the wall-clock start of the first sample's slot, the
	// schedule every generator of the run computed; absent if unscheduled.
	StartAt *time.Time `json:"start_at,omitempty"`
	// Merged is true for `muxbench merge`'s combination of every share:
	// its samples are then the whole points.
	Merged bool `json:"merged,omitempty"`
}

// Environment describes the machine and build that produced a Run.
type Environment struct {
	Hostname  string `json:"hostname"`
	Kernel    string `json:"kernel"`     // uname -r
	OS        string `json:"os"`         // runtime.GOOS
	Arch      string `json:"arch"`       // runtime.GOARCH
	CPUModel  string `json:"cpu_model"`  // /proc/cpuinfo "model name"
	Cores     int    `json:"cores"`      // online CPUs
	GoVersion string `json:"go_version"` // runtime.Version()
	Version   string `json:"version"`    // main module version from build info, "devel" for a source build, "" if unknown
	Commit    string `json:"commit"`     // vcs.revision from the binary's build info, "" if unknown
	Dirty     bool   `json:"dirty"`      // vcs.modified; meaningful only with Commit
	// The limits below are absent (0, "") when they could not be read,
	// never a default standing in for a measurement.
	NoFileSoft uint64 `json:"nofile_soft,omitempty"` // RLIMIT_NOFILE
	NoFileHard uint64 `json:"nofile_hard,omitempty"`
	PortRange  string `json:"port_range,omitempty"` // net.ipv4.ip_local_port_range, "lo hi"
	Somaxconn  int    `json:"somaxconn,omitempty"`  // net.core.somaxconn
	ServerCPUs string `json:"server_cpus"`          // CPU list the server was pinned to, "" = unpinned
	ClientCPUs string `json:"client_cpus"`          // CPU list the load generator was pinned to

	// What changes the cost of a wake-up between machines. Each is absent
	// when it could not be read: absent means unknown, never "none" or 0.
	CPUIdleDriver   string            `json:"cpuidle_driver,omitempty"`   // /sys/devices/system/cpu/cpuidle/current_driver
	CPUIdleGovernor string            `json:"cpuidle_governor,omitempty"` // current_governor_ro or current_governor
	Haltpoll        map[string]string `json:"haltpoll,omitempty"`         // /sys/module/haltpoll/parameters/*, by name
	Vulnerabilities map[string]string `json:"vulnerabilities,omitempty"`  // /sys/devices/system/cpu/vulnerabilities/*, by name
	// IRQTimeAccounting is "yes" or "no" for CONFIG_IRQ_TIME_ACCOUNTING
	// (from /proc/config.gz or /boot/config-RELEASE): with it, time in
	// interrupts is not charged to the task they interrupted.
	IRQTimeAccounting string `json:"irq_time_accounting,omitempty"`
	GOMAXPROCS        int    `json:"gomaxprocs,omitempty"` // of the harness process when the environment was collected
}

// ShortCommit is the build's commit as people cite it: the first 7 hex
// digits, with "+dirty" when the tree had uncommitted changes; "" when the
// commit is unknown.
func (e Environment) ShortCommit() string {
	c := e.Commit
	if len(c) > 7 {
		c = c[:7]
	}
	if c != "" && e.Dirty {
		c += "+dirty"
	}
	return c
}

// Scenario is the scenario as run: every field has its default filled in.
// Durations are typed values, parsed once (package scenarios) and stored
// as Go duration text ("2s") for readability.
type Scenario struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Backends    []string      `json:"backends"` // e.g. select, poll, epoll-lt, epoll-et, gonet
	FDs         []int         `json:"fds"`      // total fds registered: idle + active + listener
	Active      []int         `json:"active"`   // active connections (second axis)
	Mode        traffic.Mode  `json:"mode"`
	Rate        Rates         `json:"rate"`      // requests/s in total (open loop), one or an ascending list (the rate axis); none for closed
	Size        int           `json:"size"`      // bytes per request (echo, sockperf; 0 for the request/reply protocols)
	KeepAlive   Duration      `json:"keepalive"` // idle trickle interval, 0 = silent
	Warmup      Duration      `json:"warmup"`
	Duration    Duration      `json:"duration"`    // measured window
	Repetitions int           `json:"repetitions"` // per point
	Proto       traffic.Proto `json:"proto"`
	// Path, Line and Expect are the request of proto http (the path it
	// GETs) and of proto line (the request line, and the prefix every
	// reply must start with); empty for the other protocols. Size is 0
	// for those three: they send one fixed request.
	Path   string `json:"path,omitempty"`
	Line   string `json:"line,omitempty"`
	Expect string `json:"expect,omitempty"`
	// ServerSendBuffer, when > 0, is the SO_SNDBUF the server sets on every
	// connection (the back-pressure scenarios); 0 leaves autotuning alone.
	ServerSendBuffer int `json:"server_sndbuf,omitempty"`
	// Churn is the churn axis (see Churn): every request a connection
	// of its own (true), so the server pays setup per request, or
	// connections kept open (false, the default).
	Churn Churn `json:"churn,omitempty"`
	// Loops is the loops axis: how many copies of the event loop the
	// server runs (serve -loops), ascending; absent: one (LoopCounts).
	Loops      []int  `json:"loops,omitempty"`
	ServerCPUs string `json:"server_cpus"` // e.g. "0"
	ClientCPUs string `json:"client_cpus"` // e.g. "1"
}

// Sample is one measured window: one backend at one point in one repetition.
type Sample struct {
	Backend    string       `json:"backend"`
	FDs        int          `json:"fds"`    // total fds the multiplexer watches: Idle + Active + ServerOwnFDs
	Idle       int          `json:"idle"`   // idle connections
	Active     int          `json:"active"` // active connections
	Repetition int          `json:"rep"`    // 0-based
	Mode       traffic.Mode `json:"mode"`
	Size       int          `json:"size"`
	// Loops is how many loops the server ran (absent: one); Churn whether
	// every request was a connection of its own. Both are axes of the
	// scenario: points differ by them.
	Loops int  `json:"loops,omitempty"`
	Churn bool `json:"churn,omitempty"`

	Status string `json:"status"`           // one of the Status* constants
	Reason string `json:"reason,omitempty"` // why unsupported/failed/errors, with the fix

	WindowNs      int64   `json:"window_ns"`      // measured window length actually observed
	RateRequested float64 `json:"rate_requested"` // req/s (0 in closed loop)
	RateAchieved  float64 `json:"rate_achieved"`  // req/s completed in the window
	Requests      int64   `json:"requests"`       // completed, verified requests in the window

	Latency        Latency `json:"latency_ns"`         // from intended send time (CO-corrected)
	ServiceLatency Latency `json:"service_latency_ns"` // from actual send time (uncorrected)
	// Histogram is the CO-corrected latency histogram, hdrhistogram-go's
	// compressed encoding (Histogram.Encode(V2CompressedEncodingCookieBase)),
	// so runs can be merged and re-percentiled.
	Histogram string `json:"histogram,omitempty"`

	// Errors counts integrity errors by kind: the load generator's
	// (loadgen.ErrKind*: mismatch, short, timeout, reset, closed, connect,
	// idle_closed, idle_reset, write, read, and for the request/reply
	// protocols wrong_reply, http_status, http_close) and the harness's own
	// (ErrKindUnanswered, ErrKindRejected, ErrKindServerProtocol,
	// ErrKindServerExit). Kinds that did not occur are left out.
	Errors map[string]int64 `json:"errors,omitempty"`

	// Watched is how many fds the server's multiplexer watched at the
	// window's end as the server counts them (listener, wake-up eventfd,
	// connections; 0 where the backend cannot tell), and MaxWatchedFD the
	// highest connection fd number: select's cost follows it, not FDs.
	Watched      int64 `json:"watched"`
	MaxWatchedFD int64 `json:"max_watched_fd"`

	Server ServerDelta `json:"server"` // server counters over the window
	Client ClientDelta `json:"client"`
	// Memory is what populating the point's connections cost, measured
	// from before the first connect to the population proof; absent when
	// /proc/slabinfo was unreadable (not root).
	Memory *MemoryDelta `json:"memory,omitempty"`
	// Sockets is the population proof of a server read from outside (an
	// external server): its ESTABLISHED sockets on the listening port at
	// both window edges. Absent for muxbench's own servers, which count
	// their connections themselves.
	Sockets *SocketProof `json:"sockets,omitempty"`
}

// SocketProof is what an external server's sockets on its listening port
// showed at the two edges of a window, read through sock_diag (or
// /proc/net/tcp where sock_diag is refused). Accepted sockets have an
// inode (the server took them with accept(2)); queued ones wait in the
// listener's accept queue.
type SocketProof struct {
	Port   int    `json:"port"`
	Source string `json:"source"`         // "sock_diag" or "/proc/net/tcp"
	Note   string `json:"note,omitempty"` // why the source is not sock_diag
	// Baseline is the accepted sockets on the port that were not the
	// sample's (an attached server's other clients), subtracted from
	// the counts below.
	Baseline      int `json:"baseline,omitempty"`
	StartAccepted int `json:"start_accepted"`
	EndAccepted   int `json:"end_accepted"`
	StartQueued   int `json:"start_queued"`
	EndQueued     int `json:"end_queued"`
	// New are the sockets at the end absent at the start (connected, and
	// with an inode accepted, inside the window); Gone those at the start
	// absent at the end; AcceptedInside those queued at the start and
	// accepted by the end.
	New            int `json:"new"`
	Gone           int `json:"gone"`
	AcceptedInside int `json:"accepted_inside"`
	// StartReadNs and EndReadNs are how long the read at each edge took:
	// the proof's cost, paid by the load generator's process on its CPUs
	// just after each edge.
	StartReadNs int64 `json:"start_read_ns"`
	EndReadNs   int64 `json:"end_read_ns"`
}

// MemoryDelta is the memory the point's idle connections took, kernel and
// server, from just before connecting to just after every connection was
// accepted. Kernel figures are system-wide and count both ends of each
// loopback connection (the generator's socket too), so BytesPerConn is an
// upper bound on what one server-side connection costs.
type MemoryDelta struct {
	Conns        int     `json:"conns"`
	SlabBytes    int64   `json:"slab_bytes"`    // the connection slab caches (procfs.ConnCaches)
	EpitemBytes  int64   `json:"epitem_bytes"`  // of which epoll's items (eventpoll_epi)
	TCPMemBytes  int64   `json:"tcp_mem_bytes"` // TCP buffer pages (sockstat)
	ServerRSS    int64   `json:"server_rss_bytes"`
	BytesPerConn float64 `json:"bytes_per_conn"` // (slab + TCP mem + server RSS) / conns
}

// Latency is a latency summary in nanoseconds.
type Latency struct {
	P50   int64   `json:"p50"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	P999  int64   `json:"p999"`
	P9999 int64   `json:"p9999"`
	Max   int64   `json:"max"`
	Mean  float64 `json:"mean"`
	Count int64   `json:"count"`
}

// ServerDelta is the change in the server's counters over the measured
// window (end minus start), plus derived per-request figures, sampled
// through the server's stats command at the window's start and end.
//
// CPU is counted two ways. UserNs/SysNs are the whole process's
// getrusage(RUSAGE_SELF), Go runtime threads included; LoopCPUNs is the event
// loop thread's own time. CPUScope says which one the headline figures
// (CPUNsPerReq, CPUUtil) count: the loop thread for event-loop backends —
// the multiplexer and the loop, not the runtime's housekeeping — and the
// process for gonet, whose server is the whole process.
type ServerDelta struct {
	CPUScope   string `json:"cpu_scope"` // CPUScopeLoop or CPUScopeProcess
	UserNs     int64  `json:"user_ns"`
	SysNs      int64  `json:"sys_ns"`
	MaxRSSKiB  int64  `json:"max_rss_kib"` // at window end (ru_maxrss)
	VolCtxSw   int64  `json:"vol_ctxsw"`
	InvolCtxSw int64  `json:"invol_ctxsw"`
	Waits      int64  `json:"waits"`  // select/poll/epoll_wait calls that returned events
	Events     int64  `json:"events"` // ready events returned by those calls
	// WaitsInterrupted counts wait calls a signal interrupted before any
	// event (EINTR): no work for any request, so left out of the ratios.
	WaitsInterrupted int64 `json:"waits_interrupted"`
	Accepts          int64 `json:"accepts"`       // accepted connections
	Reads            int64 `json:"reads"`         // read syscalls
	Writes           int64 `json:"writes"`        // write syscalls
	ReadEAGAIN       int64 `json:"read_eagain"`   // reads that returned EAGAIN
	WriteEAGAIN      int64 `json:"write_eagain"`  // writes that returned EAGAIN or were short
	InterestMods     int64 `json:"interest_mods"` // epoll_ctl / fd_set / pollfd changes
	BytesIn          int64 `json:"bytes_in"`
	BytesOut         int64 `json:"bytes_out"`
	ConnsOpen        int64 `json:"conns_open"` // open at window end (a level, not a delta)
	ConnsRejected    int64 `json:"conns_rejected"`

	// LoopCPUNs is the event loop thread's own CPU time (schedstat), the
	// multiplexer and loop without the Go runtime's other threads; 0 for
	// gonet.
	LoopCPUNs       int64   `json:"loop_cpu_ns"`
	LoopCPUNsPerReq float64 `json:"loop_cpu_ns_per_req"`

	Threads    int    `json:"threads"`           // server OS threads at the window's end
	GOMAXPROCS int    `json:"gomaxprocs"`        // the server's
	GODEBUG    string `json:"godebug,omitempty"` // the server's
	GC         string `json:"gc,omitempty"`      // the server's garbage collector: "default" or off with a memory limit

	ProcessCPUNsPerReq float64 `json:"process_cpu_ns_per_req"` // (user+sys) / requests
	ProcessCPUUtil     float64 `json:"process_cpu_util"`       // (user+sys) / window, 1.0 = one core
	CPUNsPerReq        float64 `json:"cpu_ns_per_req"`         // CPU of CPUScope / requests
	CPUUtil            float64 `json:"cpu_util"`               // CPU of CPUScope / window, 1.0 = one core
	// CPUSetBusy is how busy the server's CPU set was over the window
	// (/proc/stat: everything but idle and iowait, whichever task), 0..1;
	// absent when the server was not pinned. It tells a server whose CPU
	// was full although its own thread was not (kernel work, other tasks).
	CPUSetBusy float64 `json:"cpuset_busy,omitempty"`
	// CPUIdle is what the idle states of the server's CPU set counted over
	// the window (cpuidle): how often the CPUs went idle between the
	// requests, and for how long. Absent where the machine has no cpuidle
	// driver, or the server is unpinned or on another host.
	CPUIdle        *CPUIdle `json:"cpuidle,omitempty"`
	WaitsPerReq    float64  `json:"waits_per_req"`    // waits / requests
	EventsPerWait  float64  `json:"events_per_wait"`  // events / waits
	SyscallsPerReq float64  `json:"syscalls_per_req"` // (waits+reads+writes+mods) / requests
	// Tree is an external server's process tree over the window, read
	// from /proc (schedstat per thread); absent for muxbench's own
	// servers, whose reports carry their CPU.
	Tree *TreeCPU `json:"tree,omitempty"`

	// Wake-ups of the loop thread(s), every event-loop server: Wakeups are
	// their voluntary context switches over the window (each a sleep they
	// were woken from; /proc/self/task/TID/status), WastedWakeups those
	// that did no work (see WastedWakeups: summed per loop, a lower
	// bound), WastedWaits the waits that returned but found nothing to do
	// (already in Waits), EmptyAccepts the listener readinesses whose
	// connection another loop took. Absent for gonet and servers that do
	// not report them.
	Wakeups       int64 `json:"wakeups,omitempty"`
	WastedWakeups int64 `json:"wasted_wakeups,omitempty"`
	WastedWaits   int64 `json:"wasted_waits,omitempty"`
	EmptyAccepts  int64 `json:"empty_accepts,omitempty"`
	// WakeupsPerReq and WastedWakeupsPerReq divide by the requests;
	// WastedWakeupsPerAccept by the connections accepted in the window
	// (churn: one per request; 0 when none were); EventsPerWakeup is
	// events over wake-ups.
	WakeupsPerReq          float64 `json:"wakeups_per_req,omitempty"`
	WastedWakeupsPerReq    float64 `json:"wasted_wakeups_per_req,omitempty"`
	WastedWakeupsPerAccept float64 `json:"wasted_wakeups_per_accept,omitempty"`
	EventsPerWakeup        float64 `json:"events_per_wakeup,omitempty"`

	// Several loops (serve -loops N): how many, their sharing mode
	// (backends.Sharing's name), each loop's part with its shares of the
	// connections and the CPU, and the fewest and most connections a loop
	// had (accepted in the window under churn, else open at its end):
	// ConnBalance is their ratio. Absent for one loop.
	Loops    int         `json:"loops,omitempty"`
	Sharing  string      `json:"sharing,omitempty"`
	PerLoop  []LoopDelta `json:"per_loop,omitempty"`
	ConnsMin int64       `json:"conns_min,omitempty"`
	ConnsMax int64       `json:"conns_max,omitempty"`
}

// ClientDelta is the load generator's own cost over the window, so a reader
// can tell when the generator, not the server, was the limit.
type ClientDelta struct {
	CPUNs          int64   `json:"cpu_ns"` // user+sys of the generator process over the window
	CPUNsPerReq    float64 `json:"cpu_ns_per_req"`
	ConnectSeconds float64 `json:"connect_seconds"` // time to open all connections
	// SetupSeconds is connect plus accept: from the first connect until
	// the server reported every connection accepted and open (libev's
	// "setup" beside the steady state the window measures).
	SetupSeconds float64 `json:"setup_seconds"`
}
