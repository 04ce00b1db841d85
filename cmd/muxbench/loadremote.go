package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/muxbench/muxbench/internal/wire"
)

// controlConn is a client of a server's TCP control port (serve -control
// tcp:ADDR): `muxbench load -control` samples the server through it at
// its window's edges, as the harness does through a child's stdin.
type controlConn struct {
	conn  net.Conn
	rd    *bufio.Reader
	token string
}

// controlTimeout bounds each control round trip; a server that does not
// answer within it is not one to measure.
const controlTimeout = 5 * time.Second

func dialControlPort(addr, token string) (*controlConn, error) {
	conn, err := net.DialTimeout("tcp", addr, controlTimeout)
	if err != nil {
		return nil, fmt.Errorf("connect to the control port: %w", err)
	}
	return &controlConn{conn: conn, rd: bufio.NewReaderSize(conn, 4096), token: token}, nil
}

// do sends one verb and returns the reply line; an {"error":...} reply is
// an error.
func (c *controlConn) do(verb string) ([]byte, error) {
	c.conn.SetDeadline(time.Now().Add(controlTimeout))
	if _, err := fmt.Fprintf(c.conn, "%s\n", wire.Command(c.token, verb)); err != nil {
		return nil, fmt.Errorf("send %s: %w", verb, err)
	}
	line, err := c.rd.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("reply to %s: %w", verb, err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(line, &e) == nil && e.Error != "" {
		return nil, fmt.Errorf("server: %s", e.Error)
	}
	return line, nil
}

func (c *controlConn) hello() (wire.Hello, error) {
	line, err := c.do(wire.CmdHello)
	if err != nil {
		return wire.Hello{}, err
	}
	return wire.ParseHello(line)
}

func (c *controlConn) stats() (wire.Report, error) {
	line, err := c.do(wire.CmdStats)
	if err != nil {
		return wire.Report{}, err
	}
	return wire.ParseReport(line)
}

// connect opens -control, if given, and reads the server's hello before
// any connection is made: a wrong token or address fails here, and a
// hello whose port differs from -target's names the mix-up.
func (o *loadOut) connect(target string) error {
	if o.control == "" {
		return nil
	}
	c, err := dialControlPort(o.control, o.token)
	if err != nil {
		return usageErrorf("-control %s: %v", o.control, err)
	}
	h, err := c.hello()
	if err != nil {
		c.conn.Close()
		return usageErrorf("-control %s: %v", o.control, err)
	}
	_, helloPort, _ := net.SplitHostPort(h.Addr)
	_, targetPort, _ := net.SplitHostPort(target)
	if helloPort != targetPort {
		c.conn.Close()
		return usageErrorf("-control %s belongs to a server listening on %s, not on -target %s's port", o.control, h.Addr, target)
	}
	o.remote, o.edges.Hello = c, h
	return nil
}

func (o *loadOut) close() {
	if o.remote != nil {
		o.remote.conn.Close()
	}
}
