package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/sockdiag"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// server is the server under test as the one sample path (sample.go) sees
// it, whatever kind it is — as backends.Poller is the multiplexer to the
// event loop. Each kind lives in its own file:
//
//   - childServer (child_linux.go): the `muxbench serve` child the harness
//     starts for every sample, read through its stdin/stdout stats lines;
//   - *Remote (remote.go): a server on another host, started by someone
//     else, read over its TCP control port;
//   - externalServer (external_linux.go, external_exec_linux.go): a server
//     muxbench did not write, started for every sample or attached to,
//     read from outside through sock_diag and /proc.
//
// A run has one server value; its methods are called for one sample at a
// time, in this order: start, ready, populated (from the load generator's
// OnConnected), edge twice (the window's start and end), stop, measure.
// Every sample that start returned from without error is stopped.
type server interface {
	// start starts the sample's server, or reaches the running one, and
	// returns once it listens, with what is known of it: its own hello
	// line, or what was read of it from outside. An unsupported error
	// records the sample unsupported, any other failed.
	start(ctx context.Context, i int, job Job) (wire.Hello, error)
	// ready fits the load generator's config to the server (where to
	// connect, a shared generator's share), checks it (loadgen.Check:
	// unsupported when it fails) and waits, bounded, until connecting may
	// begin (the previous sample's connections gone, a slot's start).
	ready(ctx context.Context, cfg *loadgen.Config, s *results.Sample) error
	// populated is the population proof before the warm-up: it returns
	// once the server holds exactly the job's connections, or says why it
	// does not, calling progress with the count seen as it goes.
	populated(ctx context.Context, job Job, progress func(open int)) error
	// edge reads the server's counters and CPU at the window's start (end
	// false) or end.
	edge(end bool) (edge, error)
	// stop ends the sample: a server started for it is stopped and
	// reaped. early says how the server ended if it had exited before
	// being stopped (a crash), else ""; err is a server that exited with
	// an error or had to be killed.
	stop() (early string, err error)
	// measure turns the window's edges into s's server figures and
	// returns why the window does not measure the job's point (the
	// population moved, an accept inside it), or "".
	measure(s *results.Sample, job Job, res *loadgen.Result, start, end edge) string
}

// edge is what a server kind read at one edge of the window; each kind
// fills the fields it reads.
type edge struct {
	at time.Time // when the read began
	// report is the server's own counters (child and remote servers).
	report wire.Report
	// cpus is this machine's /proc/stat per CPU, for the server CPU set's
	// busy fraction; nil when unread (a remote server's CPUs are not
	// this machine's).
	cpus map[int]procfs.CPUTicks
	// idle is the server CPUs' idle states (cpuidle), read beside cpus;
	// nil when unread or unreadable (no cpuidle driver, unpinned).
	idle map[int][]procfs.IdleState
	// tree, socks and sockRead are an external server's, read from
	// outside: its process tree's threads, its ESTABLISHED sockets on
	// its port, and how long reading those took.
	tree     procfs.TreeSnapshot
	socks    sockdiag.Set
	sockRead time.Duration
}

// unsupportedError is a reason a sample cannot run at all (a limit of the
// backend, the server or this machine): the sample is recorded
// unsupported, not failed.
type unsupportedError struct{ reason string }

func (e *unsupportedError) Error() string { return e.reason }

// unsupported returns an unsupportedError with the formatted reason.
func unsupported(format string, args ...any) error {
	return &unsupportedError{reason: fmt.Sprintf(format, args...)}
}

// statusOf is the status of a sample that could not be taken for err.
func statusOf(err error) string {
	var u *unsupportedError
	if errors.As(err, &u) {
		return results.StatusUnsupported
	}
	return results.StatusFailed
}
