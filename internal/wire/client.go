package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Client is a client of a server's TCP control port (serve -control
// tcp:ADDR): `muxbench load -control` and `muxbench run -server` sample a
// server they did not start through it, as the harness samples a child
// through its standard input. It is not safe for concurrent use.
type Client struct {
	conn  net.Conn
	rd    *bufio.Reader
	token string
}

// ClientTimeout bounds each control round trip; a server that does not
// answer within it is not one to measure.
const ClientTimeout = 5 * time.Second

// Dial connects to the control port at addr (HOST:PORT); every command
// will carry token.
func Dial(addr, token string) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, ClientTimeout)
	if err != nil {
		return nil, fmt.Errorf("connect to the control port: %w", err)
	}
	return &Client{conn: conn, rd: bufio.NewReaderSize(conn, 4096), token: token}, nil
}

// do sends one verb and returns the reply line; an {"error":...} reply is
// an error.
func (c *Client) do(verb string) ([]byte, error) {
	c.conn.SetDeadline(time.Now().Add(ClientTimeout))
	if _, err := fmt.Fprintf(c.conn, "%s\n", Command(c.token, verb)); err != nil {
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

// Hello asks for the server's hello line. Its Token is always empty: the
// caller holds the token, and what it does with a hello is record it
// (load -out files, run.json, loads/NNN.json), which must never hold it.
//
// It is the first command a client sends, so it is what finds a wrong
// address: a port that answers with anything but a hello, or not at all
// (the echo port echoes the command back), is an ErrNoHello naming what
// came back.
func (c *Client) Hello() (Hello, error) {
	line, err := c.do(CmdHello)
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.As(err, &ne) && ne.Timeout():
		return Hello{}, fmt.Errorf("%w (%v)", ErrNoHello, err)
	case err != nil:
		return Hello{}, err
	}
	h, err := ParseHello(line)
	if err != nil {
		return Hello{}, fmt.Errorf("%w (it sent %.60q)", ErrNoHello, bytes.TrimSpace(line))
	}
	h.Token = ""
	return h, nil
}

// ErrNoHello is returned (wrapped) by Client.Hello when the port did not
// answer as a control port does.
var ErrNoHello = errors.New(`that port did not answer with a muxbench hello: give the control port, the "control" of serve's hello line`)

// Stats asks for one report of the server's counters.
func (c *Client) Stats() (Report, error) {
	line, err := c.do(CmdStats)
	if err != nil {
		return Report{}, err
	}
	return ParseReport(line)
}

// Close closes the connection; the server keeps running.
func (c *Client) Close() error { return c.conn.Close() }
