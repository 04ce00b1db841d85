package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/internal/sockdiag"
)

// An external server started for every sample (-exec): its port, its
// start until it accepts a connection, its stop, and its whole process
// group reaped.

// loopback is the address a started external server is given ({addr})
// and reached at.
const loopback = "127.0.0.1"

// portAttempts bounds how often a start is retried with another port when
// the one picked was taken before the server could listen on it.
const portAttempts = 3

// subreaper makes the harness the reaper of its servers' orphans, once.
var subreaper sync.Once

// launch starts the command on a port picked for the sample and waits,
// bounded, until it accepts a connection there and its own process tree
// holds the listener. If another program took the port between the pick
// and the server's listen (the server exits with "address in use", or
// someone else's listener answers), it starts again on another port, at
// most portAttempts times.
func (e *externalServer) launch(ctx context.Context) error {
	// A server's helpers (nginx's workers) outlive a killed master as
	// orphans; as their subreaper the harness gets them as children and
	// reapGroup reaps them, instead of leaving them to init.
	subreaper.Do(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
	var err error
	for range portAttempts {
		var port uint16
		if port, err = pickPort(); err != nil {
			return err
		}
		var taken bool
		if taken, err = e.try(ctx, expand(e.x.Command, port), port); err == nil || !taken {
			return err
		}
	}
	return fmt.Errorf("%w (tried %d ports)", err, portAttempts)
}

// expand substitutes the placeholders of argv for port.
func expand(argv []string, port uint16) []string {
	p := strconv.Itoa(int(port))
	r := strings.NewReplacer(PortPlaceholder, p, AddrPlaceholder, net.JoinHostPort(loopback, p))
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = r.Replace(a)
	}
	return out
}

// pickPort returns a port nothing on this machine holds now, from below
// the ephemeral range (net.ipv4.ip_local_port_range, its lower half):
// the kernel never hands those ports out to a connect(2) — the load
// generator's thousands of connections included — so only a program that
// binds that very port can take it before the server does. Where the
// range leaves no room below it, the kernel picks a free port.
func pickPort() (uint16, error) {
	if lo, _, err := procfs.LocalPortRange(); err == nil && lo >= 2048 {
		base := int(lo) / 2
		for range 64 {
			p := uint16(base + rand.IntN(int(lo)-base))
			if l, err := net.Listen("tcp", net.JoinHostPort(loopback, strconv.Itoa(int(p)))); err == nil {
				l.Close()
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		return 0, fmt.Errorf("pick a port for the server: %w", err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// try starts argv and waits until it accepts a connection on port and
// holds the listener. taken reports a failure that another program
// holding the port explains.
func (e *externalServer) try(ctx context.Context, argv []string, port uint16) (taken bool, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	// Standard input is a pipe the harness holds open until the server is
	// stopped: a server that reads it (muxbench serve) sees neither input
	// nor its end. Standard output is discarded (/dev/null: it can never
	// block the server); standard error is kept, its last StderrKeep bytes.
	stdin, w, err := os.Pipe()
	if err != nil {
		return false, fmt.Errorf("server stdin pipe: %w", err)
	}
	cmd.Stdin = stdin
	tail := &tailBuffer{keep: StderrKeep}
	cmd.Stderr = tail
	p, err := spawn(cmd, tail, e.serverCPUs)
	stdin.Close() // the server has its own
	if err != nil {
		w.Close()
		return false, fmt.Errorf("start server %q: %w", strings.Join(argv, " "), err)
	}
	e.p, e.stdin, e.stderr, e.stopWatch = p, w, tail, p.watchContext(ctx)
	e.pid, e.addr = p.pid(), net.JoinHostPort(loopback, strconv.Itoa(int(port)))
	if e.socks, err = sockdiag.NewReader(port); err != nil {
		e.stop()
		return false, err
	}
	if err = e.awaitListening(ctx, argv); err != nil {
		taken = portTaken(e.socks, tail)
		e.stop()
		return taken, err
	}
	if _, err := ownListener(e.socks, e.pid); err != nil {
		e.stop()
		return true, fmt.Errorf("%s accepts connections, but %w: another program took the port", e.addr, err)
	}
	return false, nil
}

// readyPoll is how often a starting server's port is tried.
const readyPoll = 10 * time.Millisecond

// awaitListening waits, bounded, until the server accepts a connection at
// its address; the connection is closed at once (the server's end is then
// no longer ESTABLISHED: the population proof does not count it).
func (e *externalServer) awaitListening(ctx context.Context, argv []string) error {
	timeout := e.x.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		if e.p.exitedEarly() {
			hint := ""
			if e.p.err == nil {
				hint = " (a server under -exec must stay in the foreground: nginx 'daemon off;', redis-server --daemonize no)"
			}
			return fmt.Errorf("%s before accepting a connection on %s%s", e.p.exitReason(), e.addr, hint)
		}
		c, err := net.DialTimeout("tcp", e.addr, timeout/10)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %q did not accept a connection on %s within %v: does it listen on %s or %s?%s",
				strings.Join(argv, " "), e.addr, timeout, PortPlaceholder, AddrPlaceholder, e.p.stderrTail())
		}
		if err := sleepUntil(ctx, time.Now().Add(readyPoll)); err != nil {
			return err
		}
	}
}

// portTaken reports whether a server that never accepted a connection
// failed because its port was taken: it said so, or another program
// listens there now.
func portTaken(r *sockdiag.Reader, stderr *tailBuffer) bool {
	if strings.Contains(strings.ToLower(stderr.String()), "address already in use") {
		return true
	}
	set, err := r.Read()
	return err == nil && len(set.Listeners) > 0
}

// terminate stops the started server: SIGTERM to its process group, then
// SIGKILL if it has not exited within the stop bound; then the rest of the
// group is reaped. Exiting on the SIGTERM, with status 0, or with status
// 143 (128+SIGTERM: the shells' convention, which servers that catch the
// signal follow, muxbench serve among them) is a clean stop; anything
// else is reported.
func (e *externalServer) terminate() error {
	bound := e.x.StopTimeout
	if bound <= 0 {
		bound = DefaultStopTimeout
	}
	pgid := e.p.pid()
	unix.Kill(-pgid, unix.SIGTERM)
	killed := !e.p.waitExit(bound)
	if killed {
		e.p.kill()
	}
	e.stdin.Close()
	rest := reapGroup(pgid, bound)
	switch {
	case killed:
		return fmt.Errorf("server did not exit within %v of SIGTERM; killed%s", bound, e.p.stderrTail())
	case rest != nil:
		return rest
	case e.p.err == nil || e.p.diedOf(syscall.SIGTERM) || e.p.exitStatus() == 128+int(syscall.SIGTERM):
		return nil
	}
	return fmt.Errorf("%s, stopped with SIGTERM", e.p.exitReason())
}

// reapGroup waits, up to bound, for the rest of process group pgid (a
// server's helper processes, sent the same SIGTERM) to exit, then kills
// what is left, reaping those the harness adopted as their subreaper. It
// reports a group it could not end.
func reapGroup(pgid int, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	killed := false
	for {
		for {
			if pid, err := unix.Wait4(-pgid, nil, unix.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
		if unix.Kill(-pgid, 0) == unix.ESRCH {
			return nil
		}
		if time.Now().After(deadline) {
			if killed {
				return fmt.Errorf("server's process group %d still has processes after SIGKILL", pgid)
			}
			unix.Kill(-pgid, unix.SIGKILL)
			killed, deadline = true, time.Now().Add(time.Second)
		}
		time.Sleep(readyPoll)
	}
}

// tailBuffer keeps the last keep bytes written to it: a server's stderr,
// whose end says why it stopped.
type tailBuffer struct {
	mu   sync.Mutex
	keep int
	b    []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2*t.keep {
		t.b = append(t.b[:0], t.b[len(t.b)-t.keep:]...)
	}
	return len(p), nil
}

// Bytes returns a copy of the last keep bytes.
func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.b
	if len(b) > t.keep {
		b = b[len(b)-t.keep:]
	}
	return append([]byte(nil), b...)
}

func (t *tailBuffer) String() string { return string(t.Bytes()) }
