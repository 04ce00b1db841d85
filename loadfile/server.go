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
	start, end, h := e.Start, e.End, e.Hello
	d := results.ServerDelta{
		UserNs:           end.UserNs - start.UserNs,
		SysNs:            end.SysNs - start.SysNs,
		MaxRSSKiB:        end.MaxRSSKiB,
		VolCtxSw:         end.VolCtxSw - start.VolCtxSw,
		InvolCtxSw:       end.InvolCtxSw - start.InvolCtxSw,
		Waits:            int64(end.Waits - start.Waits),
		WaitsInterrupted: int64(end.WaitsInterrupted - start.WaitsInterrupted),
		Events:           int64(end.Events - start.Events),
		Accepts:          int64(end.Accepts - start.Accepts),
		Reads:            int64(end.Reads - start.Reads),
		Writes:           int64(end.Writes - start.Writes),
		ReadEAGAIN:       int64(end.ReadEAGAIN - start.ReadEAGAIN),
		WriteEAGAIN:      int64(end.WriteEAGAIN - start.WriteEAGAIN),
		InterestMods:     int64(end.InterestMods - start.InterestMods),
		BytesIn:          int64(end.BytesIn - start.BytesIn),
		BytesOut:         int64(end.BytesOut - start.BytesOut),
		LoopCPUNs:        end.LoopCPUNs - start.LoopCPUNs,
		ConnsOpen:        end.ConnsOpen,
		ConnsRejected:    int64(end.ConnsRejected),
		Threads:          end.Threads,
		GOMAXPROCS:       h.GOMAXPROCS,
		GODEBUG:          h.GODEBUG,
		GC:               h.GC,
	}
	proc := float64(d.UserNs + d.SysNs)
	scoped := proc
	d.CPUScope = results.CPUScopeProcess
	if h.LoopThread {
		scoped = float64(d.LoopCPUNs)
		d.CPUScope = results.CPUScopeLoop
	}
	if rq := float64(d.BytesIn) / float64(max(s.Size, 1)); rq > 0 {
		d.ProcessCPUNsPerReq = proc / rq
		d.CPUNsPerReq = scoped / rq
		d.LoopCPUNsPerReq = float64(d.LoopCPUNs) / rq
		d.WaitsPerReq = float64(d.Waits) / rq
		d.SyscallsPerReq = float64(d.Waits+d.Reads+d.Writes+d.InterestMods) / rq
	}
	if w := end.MonoNs - start.MonoNs; w > 0 {
		d.ProcessCPUUtil = proc / float64(w)
		d.CPUUtil = scoped / float64(w)
	}
	if d.Waits > 0 {
		d.EventsPerWait = float64(d.Events) / float64(d.Waits)
	}
	s.Server = d
	s.Watched, s.MaxWatchedFD = end.Watched, end.MaxWatchedFD
	if end.ConnsRejected > 0 {
		errs[results.ErrKindRejected] = int64(end.ConnsRejected)
	}
	if n := end.Errors.Protocol - start.Errors.Protocol; n > 0 {
		errs[results.ErrKindServerProtocol] = int64(n)
	}

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
