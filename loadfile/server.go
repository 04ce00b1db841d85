package loadfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/results"
)

// ServerEdges is the server's own view of a merged window: its hello and
// two stats reports taken inside the window over its TCP control port —
// by a generator at its window's edges (load -control), or by a script —
// Start before End.
type ServerEdges struct {
	Hello wire.Hello  `json:"hello"`
	Start wire.Report `json:"start"`
	End   wire.Report `json:"end"`
}

// ParseServer reads what a server said: its hello line, then report
// lines, as `muxbench serve` prints them and its control port answers.
// The first report is the window's start, the last non-final one its end.
// name is the file's name, for messages.
func ParseServer(name string, data []byte) (*ServerEdges, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	var e ServerEdges
	var reports []wire.Report
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if line == 1 {
			h, err := wire.ParseHello(text)
			if err != nil {
				return nil, fmt.Errorf("%s:1: %w (the first line must be the hello line serve printed)", name, err)
			}
			h.Token = "" // serve's hello line carries it; a merged run must not
			e.Hello = h
			continue
		}
		var probe struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(text, &probe) == nil && probe.Error != "" {
			return nil, fmt.Errorf("%s:%d: the server answered with an error: %s", name, line, probe.Error)
		}
		r, err := wire.ParseReport(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not a stats report: %w", name, line, err)
		}
		if !r.Final {
			reports = append(reports, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s: empty; want the hello line and two stats reports", name)
	}
	if len(reports) < 2 {
		return nil, fmt.Errorf("%s: %d stats reports; want two, taken inside the window (TOKEN stats on the control port)", name, len(reports))
	}
	e.Start, e.End = reports[0], reports[len(reports)-1]
	if e.End.MonoNs <= e.Start.MonoNs {
		return nil, fmt.Errorf("%s: the last report's clock (%d) is not after the first's (%d); want them in the order taken", name, e.End.MonoNs, e.Start.MonoNs)
	}
	return &e, nil
}

// fill puts the server's counter deltas into s and returns why the
// window is not a measurement of the point ("" when it is): every
// connection accepted before the first report and open at both.
//
// The reports are not taken at the generators' exact window edges, so
// per-request figures divide by the requests the server itself read over
// its interval (bytes in / request size), not by the generators' count.
func (e *ServerEdges) fill(s *results.Sample, errs map[string]int64, conns int) string {
	start, end := e.Start, e.End
	// Requests the server itself read over its interval (bytes in /
	// request size): the reports are not at the generators' window edges.
	d := results.ServerDeltaOf(e.Hello, start, end, float64(end.BytesIn-start.BytesIn)/float64(max(s.Size, 1)))
	s.Server = d
	s.Watched, s.MaxWatchedFD = end.Watched, end.MaxWatchedFD
	results.AddServerErrors(errs, start, end)

	var faults []string
	if d.Accepts > 0 {
		faults = append(faults, fmt.Sprintf("%d accepts between the server's two reports", d.Accepts))
	}
	for _, edge := range []struct {
		name string
		r    wire.Report
	}{{"first", start}, {"last", end}} {
		if edge.r.ConnsOpen != int64(conns) {
			faults = append(faults, fmt.Sprintf("%d of the generators' %d connections open at the server's %s report (take both inside the window)", edge.r.ConnsOpen, conns, edge.name))
		}
	}
	return strings.Join(faults, "; ")
}

// serverEnv is what the merged run's environment can say: the server's
// address, CPU list and fd limits from its hello. The rest (kernel, CPU
// model, build) describes the server host, which no generator saw, and
// stays absent: unknown, not this machine's.
func serverEnv(o Options) results.Environment {
	if o.Server == nil {
		return results.Environment{}
	}
	h := o.Server.Hello
	return results.Environment{Hostname: h.Addr, ServerCPUs: h.CPUs, NoFileSoft: h.NoFileSoft, NoFileHard: h.NoFileHard}
}
