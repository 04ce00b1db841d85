package pitfalls

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/loadgen"
)

// Pitfall 4: one slow reader among normal clients.
const (
	slowActive = 4    // normal clients
	slowRate   = 2000 // their total requests/s
	slowWarmup = 200 * time.Millisecond
	slowWindow = time.Second
	slowRcvBuf = 4096 // the slow reader's SO_RCVBUF, set before connecting
	slowSndBuf = 4096 // the server's SO_SNDBUF (-sndbuf), so its writes to the slow reader fill at once
	slowChunk  = 64 << 10
)

func checkSlowReader(ctx context.Context, o Options, backend string) (Verdict, error) {
	srv, stop, err := startServer(ctx, o, backend, "-sndbuf", strconv.Itoa(slowSndBuf))
	if err != nil {
		return Verdict{}, err
	}
	defer stop()
	base, _, _, err := normalClients(ctx, srv, nil)
	if err != nil {
		return Verdict{}, fmt.Errorf("normal clients alone: %w", err)
	}
	slow, err := dialSlowReader(srv.Hello().Addr)
	if err != nil {
		return Verdict{}, err
	}
	defer slow.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	withSlow, r0, r1, err := normalClients(ctx, srv, func() {
		// Send for as long as the window lasts, never read: the server's
		// echo fills the slow reader's receive buffer and its own send
		// buffer, and its next write to it returns EAGAIN.
		slow.SetWriteDeadline(time.Now().Add(slowWindow))
		wg.Go(func() {
			chunk := make([]byte, slowChunk)
			for {
				if _, err := slow.Write(chunk); err != nil {
					return
				}
			}
		})
	})
	if err != nil {
		return Verdict{}, fmt.Errorf("normal clients with a slow reader: %w", err)
	}
	slow.Close() // ends the writer at once
	return DetectBlockedLoop(SlowReaderObs{
		Base: latencyOf(base), Slow: latencyOf(withSlow), BaseN: base.Requests, SlowN: withSlow.Requests,
		BaseErr: base.ErrorCount() + base.Unanswered, SlowErr: withSlow.ErrorCount() + withSlow.Unanswered,
		WriteEAGAIN: r1.WriteEAGAIN - r0.WriteEAGAIN, LoopCPUNs: r1.LoopCPUNs - r0.LoopCPUNs, WallNs: r1.MonoNs - r0.MonoNs,
	}), stop()
}

// normalClients runs the normal clients for one window and returns their
// result with the server's counters at the window's edges; onStart is
// called as the window starts.
func normalClients(ctx context.Context, srv *harness.Child, onStart func()) (res *loadgen.Result, start, end wire.Report, err error) {
	var startErr, endErr error
	res, err = loadgen.Run(ctx, loadgen.Config{
		Target: srv.Hello().Addr, Conns: slowActive, Active: slowActive, Mode: traffic.Open, Rate: slowRate,
		Warmup: slowWarmup, Duration: slowWindow, Timeout: 3 * time.Second, Pipeline: 1,
		OnWindowStart: func() {
			start, startErr = srv.Report()
			if onStart != nil {
				onStart()
			}
		},
		OnWindowEnd: func() { end, endErr = srv.Report() },
	})
	for _, e := range []error{err, startErr, endErr} {
		if e != nil {
			return nil, start, end, e
		}
	}
	return res, start, end, nil
}

func latencyOf(r *loadgen.Result) Latency {
	return Latency{P50: r.Latency.P50, P99: r.Latency.P99}
}

// dialSlowReader connects with a small receive buffer, set before connect
// so the window it advertises is small from the start.
func dialSlowReader(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, slowRcvBuf)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect the slow reader: %w", err)
	}
	return c, nil
}
