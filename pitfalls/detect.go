package pitfalls

import (
	"fmt"
	"time"

	"github.com/muxbench/muxbench/internal/human"
)

// The detectors: pure functions from what one run observed to a Verdict.
// Each states its rule in its comment; the thresholds are named constants.

// AcceptObs is what a burst of connects observed (pitfall 1).
type AcceptObs struct {
	Offered   int           // connects attempted at once
	Connected int           // connects that completed (the kernel queued them)
	Accepted  int           // connections the server accepted (its accepts counter)
	Served    int           // connections whose one-byte echo came back
	Waited    time.Duration // how long the check waited for the last accept before giving up
}

// DetectAcceptLoss: a connection the kernel completed but the server
// never served is a fault.
func DetectAcceptLoss(o AcceptObs) Verdict {
	lost := o.Connected - o.Served
	fig := fmt.Sprintf("%d of %d connections never served (gave up after %v)", lost, o.Connected, o.Waited.Round(time.Millisecond))
	if lost <= 0 {
		fig = fmt.Sprintf("all %d connections served (accepted within %v)", o.Connected, o.Waited.Round(time.Millisecond))
	}
	return Verdict{
		Fault:  lost > 0,
		Figure: fig,
		Counters: []Counter{
			{"connects_offered", float64(o.Offered)}, {"connects_completed", float64(o.Connected)},
			{"server_accepts", float64(o.Accepted)}, {"echoes_received", float64(o.Served)},
			{"never_served", float64(lost)}, {"gave_up_after_ms", float64(o.Waited.Milliseconds())},
		},
	}
}

// HangupObs is what clients that send and close at once observed
// (pitfall 2).
type HangupObs struct {
	Clients       int           // connections that sent data and shut down their write side
	Echoed        int           // of which got their data back
	ServerClosed  int           // connections the server closed (conns_closed)
	ServerOpen    int           // connections the server still holds (conns_open)
	ClientSawEOF  int           // clients that saw the server close its side
	ServerReads   uint64        // read calls
	ServerEAGAINs uint64        // reads that returned EAGAIN
	Waited        time.Duration // how long the check waited for the closes
}

// DetectLostHangup: a connection the server still holds after its client
// closed is a close never seen — a leaked connection.
func DetectLostHangup(o HangupObs) Verdict {
	fig := fmt.Sprintf("%d of %d closes never seen (connections still open after %v)", o.ServerOpen, o.Clients, o.Waited.Round(time.Millisecond))
	if o.ServerOpen <= 0 {
		fig = fmt.Sprintf("all %d closes seen (within %v)", o.Clients, o.Waited.Round(time.Millisecond))
	}
	return Verdict{
		Fault:  o.ServerOpen > 0,
		Figure: fig,
		Counters: []Counter{
			{"clients_closed", float64(o.Clients)}, {"echoes_received", float64(o.Echoed)},
			{"server_conns_closed", float64(o.ServerClosed)}, {"server_conns_open", float64(o.ServerOpen)},
			{"clients_saw_server_close", float64(o.ClientSawEOF)},
			{"server_reads", float64(o.ServerReads)}, {"server_read_eagain", float64(o.ServerEAGAINs)},
		},
	}
}

// StallObs is what pipelined input larger than one read observed
// (pitfall 3).
type StallObs struct {
	Conns        int           // connections, each sending BytesPerConn at once
	BytesPerConn int           // larger than the server's read buffer
	Stalled      int           // connections whose echo stopped short
	BytesSent    int64         // written by the clients (into their sockets), over all connections
	BytesEchoed  int64         // over all connections
	ServerReads  uint64        // read calls
	ServerIn     uint64        // bytes the server read
	Waited       time.Duration // how long the check waited without progress before giving up
}

// DetectStall: a connection whose echo stopped short of what it sent, with
// no progress for the check's patience, is stalled.
func DetectStall(o StallObs) Verdict {
	return Verdict{
		Fault: o.Stalled > 0,
		Figure: fmt.Sprintf("%d of %d connections stalled (%s of %s echoed)", o.Stalled, o.Conns,
			human.Thousands(float64(o.BytesEchoed)), human.Thousands(float64(o.BytesSent))),
		Counters: []Counter{
			{"conns", float64(o.Conns)}, {"bytes_per_conn", float64(o.BytesPerConn)},
			{"stalled_conns", float64(o.Stalled)}, {"bytes_written", float64(o.BytesSent)},
			{"bytes_echoed", float64(o.BytesEchoed)}, {"server_bytes_in", float64(o.ServerIn)},
			{"server_reads", float64(o.ServerReads)}, {"gave_up_after_ms", float64(o.Waited.Milliseconds())},
		},
	}
}

// Latency is a latency distribution's two figures the pitfalls report, ns.
type Latency struct {
	P50, P99 int64
}

// SlowReaderObs is what normal clients observed without and with one slow
// reader on the same server (pitfall 4).
type SlowReaderObs struct {
	Base, Slow       Latency // normal clients' latency without, with the slow reader
	BaseN, SlowN     int64   // requests answered in each window
	BaseErr, SlowErr int64   // errors and unanswered requests in each window
	WriteEAGAIN      uint64  // server writes that hit a full socket during the slow window
	LoopCPUNs        int64   // loop thread CPU during the slow window
	WallNs           int64   // the slow window's length, for LoopCPUNs
}

// SlowdownFactor and SlowdownFloor: with the slow reader the normal
// clients' p50 must grow by SlowdownFactor and reach SlowdownFloor to
// count as the loop being blocked. A loop that sleeps 1 ms per retry on a
// socket that stays full blocks for as many retries as it makes (the
// notes' loop retries forever, pitfall-sleep-send backends.SleepSendRetries
// times): most requests of the window wait, so the median moves by
// hundreds of milliseconds. The median, not the tail: a loaded machine
// puts tens of milliseconds into a p99 of its own (under a parallel go
// test the correct loop's p99 went from 9 to 148 ms with p50 unchanged),
// and p99 moves 2× between same-code runs.
const (
	SlowdownFactor = 3.0
	SlowdownFloor  = 100 * time.Millisecond
)

// DetectBlockedLoop: one slow reader blocking the loop shows as the normal
// clients' p50 (or their failed requests) growing past SlowdownFactor and
// SlowdownFloor.
func DetectBlockedLoop(o SlowReaderObs) Verdict {
	fault := (float64(o.Slow.P50) >= SlowdownFactor*float64(o.Base.P50) && o.Slow.P50 >= int64(SlowdownFloor)) ||
		o.SlowErr > o.BaseErr
	return Verdict{
		Fault: fault,
		Figure: fmt.Sprintf("normal clients p50 %s → %s, p99 %s → %s with one slow reader",
			human.Ns(float64(o.Base.P50)), human.Ns(float64(o.Slow.P50)), human.Ns(float64(o.Base.P99)), human.Ns(float64(o.Slow.P99))),
		Counters: []Counter{
			{"p50_ns_without", float64(o.Base.P50)}, {"p99_ns_without", float64(o.Base.P99)},
			{"p50_ns_with_slow_reader", float64(o.Slow.P50)}, {"p99_ns_with_slow_reader", float64(o.Slow.P99)},
			{"requests_without", float64(o.BaseN)}, {"requests_with_slow_reader", float64(o.SlowN)},
			{"errors_without", float64(o.BaseErr)}, {"errors_with_slow_reader", float64(o.SlowErr)},
			{"server_write_eagain", float64(o.WriteEAGAIN)},
			{"loop_cpu_util_with_slow_reader", ratio(float64(o.LoopCPUNs), float64(o.WallNs))},
		},
	}
}

// FDSetObs is what happened to an fd >= FD_SETSIZE (pitfall 5): either the
// unchecked child program's end, or the real select backend's refusal.
type FDSetObs struct {
	FD int
	// The child program (unchecked).
	Died        bool   // exited non-zero or by a signal
	ExitStatus  int    // exit status (-1 when killed by a signal)
	Signal      string // the signal that ended it, "" for none
	PanicText   string // the panic line on its stderr, "" for none
	Overwritten bool   // select(2) given nfds > FD_SETSIZE changed memory past the set
	// The select backend (checked).
	Refused   bool   // Add returned the typed *fdselect.LimitError (errors.Is backends.ErrFDLimit)
	RefuseErr string // its text
	Rejected  int    // connections the select server accepted and closed for want of room
	StillOpen int    // connections it still serves
	EchoOK    bool   // a connection below FD_SETSIZE still got its echo afterwards
}

// DetectUncheckedFD: for the unchecked program, dying or memory changed
// past the set is the fault; for the select backend, anything but a clean
// refusal (typed error, rejected connections, still serving) is.
func DetectUncheckedFD(o FDSetObs, checked bool) Verdict {
	if checked {
		clean := o.Refused && o.Rejected > 0 && o.EchoOK
		fig := fmt.Sprintf("fd %d refused: %s; the server rejected %d connections and still serves %d", o.FD, o.RefuseErr, o.Rejected, o.StillOpen)
		if !o.Refused {
			fig = fmt.Sprintf("fd %d not refused by Add", o.FD)
		}
		return Verdict{Fault: !clean, Figure: fig, Counters: []Counter{
			{"fd", float64(o.FD)}, {"typed_error", b2f(o.Refused)}, {"server_conns_rejected", float64(o.Rejected)},
			{"server_conns_open", float64(o.StillOpen)}, {"echo_after_rejections", b2f(o.EchoOK)},
		}}
	}
	how := "exited normally"
	switch {
	case o.Signal != "":
		how = "killed by " + o.Signal
	case o.PanicText != "":
		how = fmt.Sprintf("exit status %d: %s", o.ExitStatus, o.PanicText)
	case o.Died:
		how = fmt.Sprintf("exit status %d", o.ExitStatus)
	}
	fig := fmt.Sprintf("FdSet.Set(%d): %s", o.FD, how)
	if o.Overwritten {
		fig += fmt.Sprintf("; select(2) with nfds %d wrote past the 1024-bit set", o.FD+1)
	}
	return Verdict{Fault: o.Died || o.Overwritten, Figure: fig, Counters: []Counter{
		{"fd", float64(o.FD)}, {"died", b2f(o.Died)}, {"exit_status", float64(o.ExitStatus)},
		{"panicked", b2f(o.PanicText != "")}, {"memory_past_set_changed", b2f(o.Overwritten)},
	}}
}

// SpinObs is what a loop did over a window with only idle connections
// (pitfall 6).
type SpinObs struct {
	Conns     int   // idle connections, each of which once had output pending
	WindowNs  int64 // the window's length
	Waits     uint64
	Events    uint64
	LoopCPUNs int64 // loop thread CPU in the window
}

// SpinWaitsPerSec: an idle loop makes no wait call that returns (nothing
// is ready); more than this many per second is a loop spinning on
// readiness nobody wants.
const SpinWaitsPerSec = 1000

// DetectSpin: wait calls returning at more than SpinWaitsPerSec with no
// traffic is a spinning loop; its CPU is the cost.
func DetectSpin(o SpinObs) Verdict {
	sec := float64(o.WindowNs) / 1e9
	wps := ratio(float64(o.Waits), sec)
	util := ratio(float64(o.LoopCPUNs), float64(o.WindowNs))
	return Verdict{
		Fault:  wps > SpinWaitsPerSec,
		Figure: fmt.Sprintf("%s waits/s, loop thread %.0f%% of a CPU with %d idle connections", human.Thousands(wps), 100*util, o.Conns),
		Counters: []Counter{
			{"idle_conns", float64(o.Conns)}, {"window_ms", float64(o.WindowNs / 1e6)},
			{"waits", float64(o.Waits)}, {"events", float64(o.Events)},
			{"waits_per_sec", wps}, {"loop_cpu_util", util},
		},
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
