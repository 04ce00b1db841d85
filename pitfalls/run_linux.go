package pitfalls

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/muxbench/muxbench/backends/epoll"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/lineup"
)

// Options configure Run.
type Options struct {
	// ServeCommand is the argv prefix that starts a server, e.g.
	// {"/path/to/muxbench", "serve"}; the runners append -backend and
	// their own flags.
	ServeCommand []string
	// ChildCommand is the argv that, with ChildEnv set in its
	// environment, runs the unchecked FD_SETSIZE program of pitfall 5
	// (RunChild): {"/path/to/muxbench", "pitfalls"} from the CLI, the test
	// binary in tests.
	ChildCommand []string
	// Only lists the pitfall names to run (nil: all); they run in the
	// table's order whatever the order here.
	Only []string
	// Progress receives one line per run (nil: silent).
	Progress io.Writer
}

// pitfall is one entry of the table below: its description and the check
// that runs one loop under its client behaviour.
type pitfall struct {
	Result         // Number, Name, Title, Claim, Did, Explanation; the rest is filled by Run
	correct, wrong string
	check          func(ctx context.Context, o Options, backend string) (Verdict, error)
}

// table is every pitfall, in the order of their Numbers.
var table = []pitfall{
	{Result: Result{Number: 1, Name: "et-accept-once", Claim: 7,
		Title:       "ET listener that accepts once per event",
		Did:         fmt.Sprintf("%d simultaneous connects, then one byte echoed on each; the check waits for accepts until none come for %v", burstConns, acceptQuiet),
		Explanation: "connections that arrive together raise one edge; accepting one leaves the rest queued, and no new edge comes for them"},
		correct: epoll.NameET, wrong: epoll.NamePitfallETAcceptOnce, check: checkAcceptOnce},
	{Result: Result{Number: 2, Name: "et-short-read-ignore-hup", Claim: 6,
		Title:       "ET reader that stops at a short read and ignores the hang-up",
		Did:         fmt.Sprintf("%d clients each send %d bytes and shut down their write side at once, then wait for the server to close", hupClients, hupMsg),
		Explanation: "data and the FIN arrive in one edge; a reader that stops at the short read never reads the EOF, and no further edge comes"},
		correct: epoll.NameET, wrong: epoll.NamePitfallETShortReadIgnoreHup, check: checkHangup},
	{Result: Result{Number: 3, Name: "et-read-once",
		Title:       "ET reader that reads once per event",
		Did:         fmt.Sprintf("%d connections each write %s at once (%d× the server's 64 KiB read buffer) and read the echo", stallConns, fmtBytes(stallBytes), stallBytes/readBuffer),
		Explanation: "one read takes at most one buffer; what is left raises no new edge once the client has sent everything, so the connection stalls"},
		correct: epoll.NameET, wrong: epoll.NamePitfallETReadOnce, check: checkStall},
	{Result: Result{Number: 4, Name: "sleep-send", Claim: 9,
		Title:       "Send that sleeps and retries on EAGAIN",
		Did:         fmt.Sprintf("%d normal clients at %d req/s (open loop, %v), without and then with one slow reader (SO_RCVBUF %d, sending, never reading); server SO_SNDBUF %d", slowActive, slowRate, slowWindow, slowRcvBuf, slowSndBuf),
		Explanation: "each write to the full socket sleeps the one loop thread for a millisecond, and every other connection waits with it"},
		correct: epoll.NameLT, wrong: epoll.NamePitfallSleepSend, check: checkSlowReader},
	{Result: Result{Number: 5, Name: "select-fd-setsize",
		Title:       "select with an fd >= FD_SETSIZE and no check",
		Did:         fmt.Sprintf("a child program puts fd %d in a unix.FdSet unchecked (after calling select(2) with nfds %d); the select backend is given the same fd and a server past 1024 fds", overflowFD, overflowFD+1),
		Explanation: "an fd_set holds 1024 bits; Go's bounds check turns the write past it into a panic, while select(2) itself trusts nfds and reads and writes past the set"},
		correct: fdselect.Name, wrong: uncheckedProgram, check: checkFDSet},
	{Result: Result{Number: 6, Name: "lt-keep-epollout",
		Title:       "LT loop that leaves EPOLLOUT registered after the output drained",
		Did:         fmt.Sprintf("%d connections each get one %s echo through a %d-byte SO_SNDBUF (so output was pending once), then stay idle for %v", spinConns, fmtBytes(spinMsg), spinSndBuf, spinWindow),
		Explanation: "a level-triggered writable fd is ready on every wait: the loop wakes at once, forever, with nothing to write"},
		correct: epoll.NameLT, wrong: epoll.NamePitfallLTKeepWriteInterest, check: checkSpin},
}

// Names returns the pitfall names in order.
func Names() []string {
	var n []string
	for _, p := range table {
		n = append(n, p.Name)
	}
	return n
}

// Run runs every pitfall (or those in o.Only), each against its correct
// loop and then its wrong one, and returns the file to write. A run that
// fails is recorded in its Result (StatusError), not returned; only an
// unknown name in o.Only or a cancelled ctx is an error.
func Run(ctx context.Context, o Options) (*File, error) {
	for _, n := range o.Only {
		if !slices.Contains(Names(), n) {
			return nil, fmt.Errorf("unknown pitfall %q (known: %s)", n, strings.Join(Names(), ", "))
		}
	}
	f := &File{Schema: SchemaVersion, Tool: "muxbench", Started: time.Now().UTC(), Env: harness.CollectEnvironment()}
	start := time.Now()
	for _, p := range table {
		if o.Only != nil && !slices.Contains(o.Only, p.Name) {
			continue
		}
		f.Pitfalls = append(f.Pitfalls, runOne(ctx, o, p))
		if err := ctx.Err(); err != nil {
			f.Seconds = time.Since(start).Seconds()
			return f, err
		}
	}
	f.Seconds = time.Since(start).Seconds()
	return f, nil
}

func runOne(ctx context.Context, o Options, p pitfall) Result {
	r := p.Result
	start := time.Now()
	r.Correct = outcome(ctx, o, p, p.correct, "correct")
	r.Wrong = outcome(ctx, o, p, p.wrong, "wrong")
	r.Status = Judge(r.Correct, r.Wrong)
	r.Reproduced = r.Status == StatusReproduced
	for _, e := range []string{r.Correct.Error, r.Wrong.Error} {
		if e != "" && r.Error == "" {
			r.Error = e
		}
	}
	r.Seconds = time.Since(start).Seconds()
	progressf(o, "pitfall %d %s: %s\n", p.Number, p.Name, r.Status)
	return r
}

func outcome(ctx context.Context, o Options, p pitfall, backend, role string) Outcome {
	progressf(o, "pitfall %d %s: %s loop %s ...\n", p.Number, p.Name, role, backend)
	v, err := p.check(ctx, o, backend)
	out := Outcome{Backend: backend, Verdict: v}
	if err != nil {
		out.Error = err.Error()
		progressf(o, "  %s: error: %v\n", backend, err)
	} else {
		progressf(o, "  %s: %s\n", backend, v.Figure)
	}
	return out
}

func progressf(o Options, format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format, args...)
	}
}

// startServer starts `serve -backend backend` with extra flags; the
// returned stop func stops and reaps it (kill on timeout) and reports an
// unclean exit.
func startServer(ctx context.Context, o Options, backend string, extra ...string) (*harness.Child, func() error, error) {
	argv := slices.Concat(o.ServeCommand, []string{"-backend", backend, "-addr", "127.0.0.1:0"}, pitfallFlag(backend), extra)
	srv, err := harness.StartChild(argv)
	if err != nil {
		return nil, nil, err
	}
	unwatch := srv.WatchContext(ctx)
	// Idempotent: runners defer it for every path out and call it once more
	// to learn whether the server exited cleanly.
	stop := sync.OnceValue(func() error {
		unwatch()
		err := srv.Stop()
		srv.Kill() // only reaps after a clean stop
		return err
	})
	return srv, stop, nil
}

// pitfallFlag is the flag serve needs to run a pitfall backend: they are
// refused without it, so a sweep cannot pick one by accident.
func pitfallFlag(backend string) []string {
	if b, err := lineup.Lookup(backend); err == nil && b.Pitfall {
		return []string{"-pitfall"}
	}
	return nil // an unknown name: serve's own error says so
}

// Poll bounds for waiting on the server's counters.
const statsPoll = 10 * time.Millisecond

// awaitStats polls the server's counters until done reports true, or
// until key has not changed for quiet, or until limit passes; it returns
// the last report and how long it waited.
func awaitStats(ctx context.Context, srv *harness.Child, limit, quiet time.Duration, done func(wire.Report) bool, key func(wire.Report) uint64) (wire.Report, time.Duration, error) {
	start := time.Now()
	var last uint64
	lastChange := start
	for first := true; ; first = false {
		r, err := srv.Report()
		if err != nil {
			return r, time.Since(start), err
		}
		now := time.Now()
		if k := key(r); first || k != last {
			last, lastChange = k, now
		}
		if done(r) || now.Sub(lastChange) >= quiet || now.Sub(start) >= limit {
			return r, now.Sub(start), nil
		}
		select {
		case <-ctx.Done():
			return r, time.Since(start), ctx.Err()
		case <-time.After(statsPoll):
		}
	}
}

func fmtBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprint(n)
}
