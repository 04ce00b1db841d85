package control

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/server"
)

// serveStdin reads commands, one per line, until EOF, which stops the
// server. A line too long to be a command gets an error line and is
// skipped; serving goes on.
func serveStdin(stdin io.Reader, report func() wire.Report, srv server.Runner, out *lineWriter) {
	rd := bufio.NewReader(stdin)
	for {
		line, err := readLine(rd, maxControlLine)
		switch {
		case errors.Is(err, errLineTooLong):
			out.json(errorReply("%v: ignored (want %s or %s)", err, wire.CmdStats, wire.CmdQuit))
			continue
		case errors.Is(err, io.EOF):
			srv.Shutdown()
			return
		case err != nil:
			out.json(errorReply("read standard input: %v; stopping the server as at EOF", err))
			srv.Shutdown()
			return
		}
		switch cmd := strings.TrimSpace(line); cmd {
		case "":
		case wire.CmdStats:
			out.json(report())
		case wire.CmdQuit:
			srv.Shutdown()
			return
		default:
			out.json(errorReply("unknown command %q (want %s or %s)", cmd, wire.CmdStats, wire.CmdQuit))
		}
	}
}

// errLineTooLong is readLine's error for a line longer than its bound.
var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxControlLine)

// readLine returns the next line of r without its line ending. A line
// longer than limit bytes is read to its end and dropped, with
// errLineTooLong: the next call reads the line after it. A last line
// without a newline is returned at EOF; then io.EOF. Any other read error
// drops the partial line.
func readLine(r *bufio.Reader, limit int) (string, error) {
	var line []byte
	long := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !long {
			line = append(line, chunk...)
			long = len(line) > limit+len("\r\n")
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !(errors.Is(err, io.EOF) && (len(line) > 0 || long)) {
			return "", err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if long || len(line) > limit {
			return "", errLineTooLong
		}
		return string(line), nil
	}
}

// lineWriter writes whole JSON lines from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) json(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
}
