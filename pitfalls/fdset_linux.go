package pitfalls

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	fdselect "github.com/muxbench/muxbench/backends/select"
)

// Pitfall 5: an fd >= FD_SETSIZE given to select without a check.
const (
	// overflowFD is the fd the unchecked program puts in its set: past
	// FD_SETSIZE, in the second word after the set's end.
	overflowFD = fdselect.FDSetSize + 76
	// uncheckedProgram names the wrong side in results: no server, a child.
	uncheckedProgram = "unchecked unix.FdSet (child program)"
	childTimeout     = 10 * time.Second
	// fdsetBeyond is how many connections past FD_SETSIZE the select
	// server is offered.
	fdsetBeyond = 8
)

// ChildEnv is the environment variable that makes a muxbench process (or
// a test binary) run RunChild instead of its command: set to ChildFDSet by
// pitfall 5 only, so the crashing program cannot run by accident.
const (
	ChildEnv   = "MUXBENCH_PITFALL_CHILD"
	ChildFDSet = "fdset-overflow"
)

// IsChild reports whether this process was started as pitfall 5's child.
func IsChild() bool { return os.Getenv(ChildEnv) == ChildFDSet }

// childReport is the line the child prints before it puts the fd in a set.
type childReport struct {
	FD        int      `json:"fd"`
	SelectN   int      `json:"select_n"`
	SelectErr string   `json:"select_err,omitempty"`
	Before    [2]int64 `json:"before"` // the two words after the 1024-bit set, before select(2)
	After     [2]int64 `json:"after"`  // and after
}

// fdsetWithNeighbour is a unix.FdSet with the memory that follows it.
type fdsetWithNeighbour struct {
	set   unix.FdSet
	after [2]int64
}

// RunChild is pitfall 5's program, the mistake itself: it opens an fd
// numbered overflowFD, calls select(2) with nfds = overflowFD+1 over a
// 1024-bit set (the kernel takes nfds on trust), prints what that did to
// the memory after the set, then puts the fd in a unix.FdSet with no
// FD_SETSIZE check. It is expected never to return from that; if it does,
// it says so and returns nil.
func RunChild(stdout io.Writer) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	if err := unix.Dup3(p[0], overflowFD, unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("dup pipe to fd %d: %w", overflowFD, err)
	}
	// The kernel's side: the bit for overflowFD lies in the memory after
	// the set. The pipe is empty, so select clears it — a write past the
	// end of the set that no Go code made.
	m := new(fdsetWithNeighbour)
	word, bit := overflowFD/64-len(m.set.Bits), overflowFD%64
	m.after[word] = 1 << bit
	rep := childReport{FD: overflowFD, Before: m.after}
	n, err := unix.Select(overflowFD+1, &m.set, nil, nil, &unix.Timeval{})
	rep.SelectN, rep.After = n, m.after
	if err != nil {
		rep.SelectErr = err.Error()
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintf(stdout, "%s\n", b)
	// Go's side: the classic FD_SET with no check.
	var set unix.FdSet
	fd := overflowFD
	set.Set(fd)
	fmt.Fprintln(stdout, `{"set_returned":true}`)
	return nil
}

func checkFDSet(ctx context.Context, o Options, backend string) (Verdict, error) {
	if backend == uncheckedProgram {
		obs, err := runUnchecked(ctx, o)
		if err != nil {
			return Verdict{}, err
		}
		return DetectUncheckedFD(obs, false), nil
	}
	obs, err := selectRefuses(ctx, o, backend)
	if err != nil {
		return Verdict{}, err
	}
	return DetectUncheckedFD(obs, true), nil
}

// runUnchecked runs RunChild in a child process and records how it ended.
func runUnchecked(ctx context.Context, o Options) (FDSetObs, error) {
	if len(o.ChildCommand) == 0 {
		return FDSetObs{}, errors.New("no child command to run the unchecked program with")
	}
	ctx, cancel := context.WithTimeout(ctx, childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.ChildCommand[0], o.ChildCommand[1:]...)
	cmd.Env = append(os.Environ(), ChildEnv+"="+ChildFDSet)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return FDSetObs{}, fmt.Errorf("unchecked program did not end within %v: %w", childTimeout, ctx.Err())
	}
	obs := FDSetObs{FD: overflowFD}
	var ee *exec.ExitError
	switch {
	case errors.As(runErr, &ee):
		obs.Died = true
		obs.ExitStatus = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			obs.Signal = ws.Signal().String()
		}
	case runErr != nil:
		return FDSetObs{}, fmt.Errorf("run the unchecked program: %w", runErr)
	}
	obs.PanicText = panicLine(stderr.String())
	lines := strings.SplitN(stdout.String(), "\n", 2)
	var rep childReport
	if err := json.Unmarshal([]byte(lines[0]), &rep); err != nil {
		return FDSetObs{}, fmt.Errorf("unchecked program printed %q, not its select report (stderr: %s)", lines[0], strings.TrimSpace(stderr.String()))
	}
	if rep.SelectErr != "" {
		return FDSetObs{}, fmt.Errorf("unchecked program: select(2) with nfds %d: %s", overflowFD+1, rep.SelectErr)
	}
	obs.Overwritten = rep.Before != rep.After
	return obs, nil
}

// panicLine returns the "panic: ..." line of a Go program's stderr.
func panicLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "panic: ") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// selectRefuses gives the select backend the same fd, then a server past
// FD_SETSIZE connections.
func selectRefuses(ctx context.Context, o Options, backend string) (FDSetObs, error) {
	obs := FDSetObs{FD: overflowFD}
	err := fdselect.New().Add(overflowFD, backends.Read)
	var le *fdselect.LimitError
	obs.Refused = errors.As(err, &le) && errors.Is(err, backends.ErrFDLimit)
	if err != nil {
		obs.RefuseErr = err.Error()
	}
	srv, stop, err := startServer(ctx, o, backend)
	if err != nil {
		return obs, err
	}
	defer stop()
	n := fdselect.FDSetSize - srv.Hello().OpenFDs + fdsetBeyond
	conns, err := dialAll(ctx, srv, n)
	defer closeAll(conns)
	if err != nil {
		return obs, err
	}
	obs.EchoOK = echoEach(conns[:1], []byte{'x'}, time.Now().Add(time.Second)) == 1
	r, err := srv.Report()
	if err != nil {
		return obs, err
	}
	obs.Rejected, obs.StillOpen = int(r.ConnsRejected), int(r.ConnsOpen)
	return obs, stop()
}
