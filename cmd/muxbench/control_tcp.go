package main

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/server"
)

// The control protocol over TCP (serve -control tcp:ADDR), for sampling a
// server from another host: the same verbs as on standard input, each
// line prefixed by a token that is random per start and printed in the
// hello line. Anyone who can reach the port and read the hello can stop
// the server; the token keeps out everyone else (it travels in clear
// text, so it is no defence against someone on the path). A connection is
// authenticated by its first line, which must come within preAuthTimeout;
// connections not yet authenticated have slots of their own, so clients
// without the token cannot take an authenticated client's.

const (
	// controlTokenBytes is the token's entropy: 128 bits, hex-encoded.
	controlTokenBytes = 16
	// maxControlConns bounds the authenticated control clients served at
	// once; a harness needs one, a person with nc one more.
	maxControlConns = 16
	// maxPreAuthConns bounds the connections that have not sent the token
	// yet, apart from the authenticated ones: clients without the token
	// never take an authenticated client's place. When they are all
	// taken, a new connection evicts the one that has waited longest, so
	// connections that say nothing can delay a client that sends its
	// token as it connects (as wire.Client does), never lock it out.
	maxPreAuthConns = 64
	// maxControlLine bounds a command line: the longest valid one is a
	// token, a space and a verb.
	maxControlLine = 1 << 10
	// preAuthTimeout bounds how long a connection may wait before its
	// first line, which must carry the token: a harness sends it as soon
	// as it connects.
	preAuthTimeout = 2 * time.Second
)

// controlTCP serves control connections on one listener.
type controlTCP struct {
	ln      net.Listener
	token   []byte
	srv     server.Runner
	report  func() wire.Report // stats, ControlRefused filled in
	hello   wire.Hello         // set before serve
	refused atomic.Uint64
	auth    time.Duration // preAuthTimeout; shorter in tests

	mu      sync.Mutex
	preAuth []net.Conn // not authenticated yet, oldest first
	authed  map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// newToken returns a fresh random control token.
func newToken() (string, error) {
	b := make([]byte, controlTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("control token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// parseControlFlag splits -control into its kind (stdin, none or tcp) and,
// for tcp, the address to listen on. An address without a host, or with
// localhost, binds 127.0.0.1: the port is loopback-only unless an IP says
// otherwise, and then stderr gets a warning.
func parseControlFlag(value string, stderr io.Writer) (kind, addr string, err error) {
	switch value {
	case "stdin", "none":
		return value, "", nil
	}
	rest, ok := strings.CutPrefix(value, "tcp:")
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
	return "tcp", net.JoinHostPort(host, port), nil
}

// listenControl opens the control port; report takes one stats report.
func listenControl(addr, token string, srv server.Runner, report func() wire.Report) (*controlTCP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("control port: %w", err)
	}
	return &controlTCP{ln: ln, token: []byte(token), srv: srv, report: report, auth: preAuthTimeout, authed: map[net.Conn]struct{}{}}, nil
}

// Addr is where the control port listens.
func (c *controlTCP) Addr() string { return c.ln.Addr().String() }

// Refused counts commands refused for their token.
func (c *controlTCP) Refused() uint64 { return c.refused.Load() }

// serve accepts control connections until close.
func (c *controlTCP) serve() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return // closed (a transient accept error would spin; none is expected on a control port)
		}
		if !c.admit(conn) {
			conn.Close()
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer c.drop(conn)
			c.handle(conn)
		}()
	}
}

// admit adds a new connection to the unauthenticated ones, evicting the
// one that has waited longest if they are at maxPreAuthConns. It is false
// once the port is closed.
func (c *controlTCP) admit(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if len(c.preAuth) >= maxPreAuthConns {
		c.preAuth[0].Close() // its handler's read fails and it drops out
		c.preAuth = c.preAuth[1:]
	}
	c.preAuth = append(c.preAuth, conn)
	return true
}

// promote moves conn from the unauthenticated connections to the
// authenticated ones. ok is false when conn was evicted meanwhile, or,
// with full, when maxControlConns clients are authenticated already.
func (c *controlTCP) promote(conn net.Conn) (ok bool, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.preAuth, conn)
	if i < 0 {
		return false, false
	}
	if len(c.authed) >= maxControlConns {
		return false, true
	}
	c.preAuth = slices.Delete(c.preAuth, i, i+1)
	c.authed[conn] = struct{}{}
	return true, false
}

// drop forgets conn, wherever it is, and closes it.
func (c *controlTCP) drop(conn net.Conn) {
	c.mu.Lock()
	if i := slices.Index(c.preAuth, conn); i >= 0 {
		c.preAuth = slices.Delete(c.preAuth, i, i+1)
	}
	delete(c.authed, conn)
	c.mu.Unlock()
	conn.Close()
}

// handle serves one connection's commands, one reply line each, until the
// client closes it, quits the server, or sends a line without the token.
// The first line must come within c.auth of connecting and carry the
// token; then the client may stay connected and idle.
func (c *controlTCP) handle(conn net.Conn) {
	rd := bufio.NewReaderSize(conn, 256)
	conn.SetReadDeadline(time.Now().Add(c.auth))
	authed := false
	for {
		line, err := readLine(rd, maxControlLine)
		if errors.Is(err, errLineTooLong) {
			c.refused.Add(1)
			reply(conn, errorReply("refused: %v; send TOKEN VERB lines", err))
			return
		}
		if err != nil {
			return // closed, evicted, or no token within c.auth
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		token, verb, ok := wire.ParseCommand(line)
		switch {
		case !ok:
			c.refused.Add(1)
			reply(conn, errorReply("refused: no token; send TOKEN %s (the token is in the server's hello line)", verb))
			return
		case subtle.ConstantTimeCompare([]byte(token), c.token) != 1:
			c.refused.Add(1)
			reply(conn, errorReply("refused: wrong token (the token is in this server's hello line; it changes every start)"))
			return
		}
		if !authed {
			if ok, full := c.promote(conn); !ok {
				if full {
					reply(conn, errorReply("too many control connections (at most %d at once); close one and retry", maxControlConns))
				}
				return
			}
			conn.SetReadDeadline(time.Time{}) // a client with the token may stay connected and idle
			authed = true
		}
		switch verb {
		case wire.CmdStats:
			reply(conn, c.report())
		case wire.CmdHello:
			reply(conn, c.hello)
		case wire.CmdQuit:
			// The final report goes to standard output as with stdin
			// control; the client sees its connection close.
			c.srv.Shutdown()
			return
		default:
			reply(conn, errorReply("unknown command %q (want %s, %s or %s)", verb, wire.CmdStats, wire.CmdHello, wire.CmdQuit))
		}
	}
}

// close stops accepting, closes every control connection and waits for
// their goroutines.
func (c *controlTCP) close() {
	c.ln.Close()
	c.mu.Lock()
	c.closed = true
	for _, conn := range c.preAuth {
		conn.Close()
	}
	for conn := range c.authed {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func errorReply(format string, args ...any) map[string]string {
	return map[string]string{"error": fmt.Sprintf(format, args...)}
}

// reply writes v as one JSON line; a client gone away is its own problem.
func reply(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	w.Write(append(b, '\n'))
}
