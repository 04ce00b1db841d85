package harness

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/cpuset"
)

// process is a server process the harness started (a `muxbench serve`
// child, or an external server's command), and how it ended.
type process struct {
	cmd    *exec.Cmd
	stderr fmt.Stringer // what it wrote on stderr, as kept
	exited chan struct{}
	err    error // Wait's result, valid once exited is closed
}

// spawn starts cmd, whose standard streams the caller has set up, stderr
// being what cmd.Stderr keeps. The process gets a process group of its own
// (pgid = its pid), so kill takes any helper processes with it and a
// terminal's Ctrl-C stays with the harness, which then stops the server;
// and if the harness dies, the kernel kills it (Pdeathsig): no orphans.
// When cpus is not empty the process starts pinned to them, inherited from
// the thread that forks it, before it runs a single instruction of its own.
func spawn(cmd *exec.Cmd, stderr fmt.Stringer, cpus cpuset.Set) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	// Once the server exits, stop waiting for its output after a moment
	// even if something it started still holds the pipes.
	cmd.WaitDelay = time.Second
	p := &process{cmd: cmd, stderr: stderr, exited: make(chan struct{})}
	// Pdeathsig fires when the *thread* that forked the child exits, not
	// the process (golang.org/issue/27505), and Go ends threads at will
	// (every locked thread whose goroutine returns). So fork from a locked
	// thread that lives until the child is reaped. Its affinity is the
	// child's to inherit; the thread only waits, and ends with the
	// goroutine, so the harness's other threads keep theirs.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if !cpus.Empty() {
			var mask unix.CPUSet
			for _, c := range cpus.CPUs() {
				mask.Set(c)
			}
			if err := unix.SchedSetaffinity(0, &mask); err != nil {
				started <- fmt.Errorf("pin to CPUs %s: %w", cpus, err)
				return
			}
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// pid is the process's id, which is also its process group's.
func (p *process) pid() int { return p.cmd.Process.Pid }

// stderrTail is what the process wrote on stderr, for an error message:
// ": " and its last 500 bytes, or "" when it wrote nothing.
func (p *process) stderrTail() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	if len(s) > 500 {
		s = "..." + s[len(s)-500:]
	}
	return ": " + s
}

// waitExit waits up to d for the process to exit and reports whether it did.
func (p *process) waitExit(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

// exitedEarly reports whether the process has already exited. The
// goroutine that reaps it closes exited only after Wait has also drained
// its output pipes, some time after the exit: so the kernel is asked too,
// without reaping (WNOWAIT), and an exit it reports is waited for,
// bounded, so that exitReason can be read. A caller that saw the server's
// end (a refused connection) and asks at once then always gets it.
func (p *process) exitedEarly() bool {
	select {
	case <-p.exited:
		return true
	default:
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, p.pid(), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	if err == nil && info.Signo == 0 {
		return false // running: with WNOHANG and nothing to report, the kernel leaves si_signo 0
	}
	// Exited and not yet reaped (SIGCHLD reported), or reaped already
	// (ECHILD): exited closes once Wait returns, within WaitDelay.
	return p.waitExit(p.cmd.WaitDelay + time.Second)
}

// exitReason says how the exited server ended, in the words a user looks
// for: "server exited (signal 9: killed)", "server exited (status 1): ...".
// Call it only once exited is closed.
func (p *process) exitReason() string {
	how := "status 0"
	var ee *exec.ExitError
	switch {
	case errors.As(p.err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			how = fmt.Sprintf("signal %d: %v", int(ws.Signal()), ws.Signal())
		} else {
			how = fmt.Sprintf("status %d", ee.ExitCode())
		}
	case p.err != nil:
		how = p.err.Error()
	}
	return fmt.Sprintf("server exited (%s)%s", how, p.stderrTail())
}

// kill ends the process and its group at once and reaps it.
func (p *process) kill() {
	syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.exited
}

// watchContext kills the process and its group when ctx ends (an
// interrupted run); call the returned func once it is stopped.
func (p *process) watchContext(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			syscall.Kill(-p.pid(), syscall.SIGKILL)
		case <-done:
		case <-p.exited:
		}
	}()
	return func() { close(done) }
}

// exitStatus is the exited process's exit status, or -1 when it was
// ended by a signal or has not exited. Call it only once exited is closed.
func (p *process) exitStatus() int {
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		return -1
	}
	return ee.ExitCode()
}

// diedOf reports whether the exited process was ended by signal sig.
// Call it only once exited is closed.
func (p *process) diedOf(sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
