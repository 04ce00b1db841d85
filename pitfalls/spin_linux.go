package pitfalls

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Pitfall 6: idle connections that once had output pending.
const (
	spinConns  = 20
	spinMsg    = 256 << 10 // echoed through spinSndBuf: the server's write is short, output pending
	spinSndBuf = 4096
	spinWindow = time.Second
	spinLimit  = 5 * time.Second // for the echoes
)

func checkSpin(ctx context.Context, o Options, backend string) (Verdict, error) {
	srv, stop, err := startServer(ctx, o, backend, "-sndbuf", strconv.Itoa(spinSndBuf))
	if err != nil {
		return Verdict{}, err
	}
	defer stop()
	conns, err := dialAll(ctx, srv, spinConns)
	defer closeAll(conns)
	if err != nil {
		return Verdict{}, err
	}
	// Every connection sends the whole message before reading its echo,
	// so the server's small send buffer fills and it asks for write
	// readiness once; then the client reads it all back and goes idle.
	msg := make([]byte, spinMsg)
	var wg sync.WaitGroup
	var whole atomic.Int64
	for _, c := range conns {
		c.SetDeadline(time.Now().Add(spinLimit))
		wg.Go(func() {
			var w sync.WaitGroup
			w.Go(func() { c.Write(msg) })
			if readFull(c, spinMsg) == spinMsg {
				whole.Add(1)
			}
			w.Wait()
		})
	}
	wg.Wait()
	if int(whole.Load()) != len(conns) {
		return Verdict{}, fmt.Errorf("only %d of %d connections got their %d-byte echo within %v", whole.Load(), len(conns), spinMsg, spinLimit)
	}
	r0, err := srv.Report()
	if err != nil {
		return Verdict{}, err
	}
	select {
	case <-ctx.Done():
		return Verdict{}, ctx.Err()
	case <-time.After(spinWindow): // the idle window itself: nothing is sent
	}
	r1, err := srv.Report()
	if err != nil {
		return Verdict{}, err
	}
	if r1.WriteEAGAIN == 0 {
		return Verdict{}, fmt.Errorf("no server write was ever short: output was never pending, so write interest was never asked for (SO_SNDBUF %d too large?)", spinSndBuf)
	}
	return DetectSpin(SpinObs{
		Conns: len(conns), WindowNs: r1.MonoNs - r0.MonoNs, Waits: r1.Waits - r0.Waits,
		Events: r1.Events - r0.Events, LoopCPUNs: r1.LoopCPUNs - r0.LoopCPUNs,
	}), stop()
}
