package results

import "github.com/muxbench/muxbench/internal/wire"

// ServerDeltaOf is the change in a server's counters between two of its
// stats reports, with the per-request figures divided by requests (those
// completed in the window; 0 leaves them 0) and CPU counted as the hello
// line says: the loop thread for an event-loop server, else the process.
// The harness and merged multi-host results both use it.
func ServerDeltaOf(h wire.Hello, start, end wire.Report, requests float64) ServerDelta {
	d := ServerDelta{
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
	d.CPUScope = CPUScopeProcess
	if h.LoopThread {
		scoped = float64(d.LoopCPUNs)
		d.CPUScope = CPUScopeLoop
	}
	if requests > 0 {
		d.ProcessCPUNsPerReq = proc / requests
		d.CPUNsPerReq = scoped / requests
		d.LoopCPUNsPerReq = float64(d.LoopCPUNs) / requests
		d.WaitsPerReq = float64(d.Waits) / requests
		d.SyscallsPerReq = float64(d.Waits+d.Reads+d.Writes+d.InterestMods) / requests
	}
	if w := end.MonoNs - start.MonoNs; w > 0 {
		d.ProcessCPUUtil = proc / float64(w)
		d.CPUUtil = scoped / float64(w)
	}
	if d.Waits > 0 {
		d.EventsPerWait = float64(d.Events) / float64(d.Waits)
	}
	wakeups(&d, h, start, end, requests)
	return d
}

// wakeups fills d's wake-up figures and, for a server of several loops,
// its per-loop part.
func wakeups(d *ServerDelta, h wire.Hello, start, end wire.Report, requests float64) {
	d.WastedWaits = int64(end.WastedWaits - start.WastedWaits)
	d.EmptyAccepts = int64(end.EmptyAccepts - start.EmptyAccepts)
	if h.LoopCount() > 1 {
		d.Loops, d.Sharing = h.LoopCount(), h.Sharing
	}
	if d.PerLoop, d.ConnsMin, d.ConnsMax = loopDeltas(start, end); d.PerLoop != nil {
		for _, l := range d.PerLoop {
			d.Wakeups += l.Wakeups
			d.WastedWakeups += l.WastedWakeups
		}
	} else if end.LoopWakeups > 0 {
		d.Wakeups = end.LoopWakeups - start.LoopWakeups
		d.WastedWakeups = WastedWakeups(d.Wakeups, start.Stats, end.Stats)
	}
	if d.Wakeups <= 0 {
		return
	}
	if requests > 0 {
		d.WakeupsPerReq = float64(d.Wakeups) / requests
		d.WastedWakeupsPerReq = float64(d.WastedWakeups) / requests
	}
	if d.Accepts > 0 {
		d.WastedWakeupsPerAccept = float64(d.WastedWakeups) / float64(d.Accepts)
	}
	d.EventsPerWakeup = float64(d.Events) / float64(d.Wakeups)
}

// AddServerErrors counts into errs what the server's reports say went
// wrong: connections it refused (select past FD_SETSIZE) since it started —
// they happen while connecting, before any window — and malformed
// requests between the two reports.
func AddServerErrors(errs map[string]int64, start, end wire.Report) {
	if end.ConnsRejected > 0 {
		errs[ErrKindRejected] = int64(end.ConnsRejected)
	}
	if n := end.Errors.Protocol - start.Errors.Protocol; n > 0 {
		errs[ErrKindServerProtocol] = int64(n)
	}
}
