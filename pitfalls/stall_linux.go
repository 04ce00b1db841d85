package pitfalls

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muxbench/muxbench/backends"
)

// Pitfall 3: pipelined input larger than one read.
const (
	readBuffer = backends.ReadBufferSize
	stallConns = 8
	stallBytes = 16 * readBuffer        // per connection, written in one call
	stallQuiet = 500 * time.Millisecond // no echo byte for this long: stalled
	stallLimit = 5 * time.Second        // and never longer than this
)

func checkStall(ctx context.Context, o Options, backend string) (Verdict, error) {
	srv, stop, err := startServer(ctx, o, backend)
	if err != nil {
		return Verdict{}, err
	}
	defer stop()
	conns, err := dialAll(ctx, srv, stallConns)
	defer closeAll(conns)
	if err != nil {
		return Verdict{}, err
	}
	payload := make([]byte, stallBytes)
	for i := range payload {
		payload[i] = byte(i)
	}
	var echoed, sent atomic.Int64
	var wg sync.WaitGroup
	got := make([]atomic.Int64, len(conns))
	start := make(chan struct{})
	for i, c := range conns {
		c.SetDeadline(time.Now().Add(stallLimit + time.Second))
		wg.Go(func() {
			<-start
			n, _ := c.Write(payload) // one call: Go's Write loops until all is sent or the deadline
			sent.Add(int64(n))
		})
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for got[i].Load() < stallBytes {
				n, err := c.Read(buf)
				got[i].Add(int64(n))
				echoed.Add(int64(n))
				if err != nil {
					return
				}
			}
		})
	}
	close(start)
	// Watch the client's own count: the stall is the echo stopping.
	begin := time.Now()
	last, lastChange := int64(-1), begin
	for {
		now := time.Now()
		if e := echoed.Load(); e != last {
			last, lastChange = e, now
		}
		if last >= int64(len(conns))*stallBytes || now.Sub(lastChange) >= stallQuiet || now.Sub(begin) >= stallLimit {
			break
		}
		select {
		case <-ctx.Done():
			return Verdict{}, ctx.Err()
		case <-time.After(statsPoll):
		}
	}
	waited := time.Since(begin)
	r, err := srv.Report()
	for _, c := range conns {
		c.SetDeadline(time.Now()) // release the readers and writers of stalled connections
	}
	wg.Wait()
	if err != nil {
		return Verdict{}, err
	}
	stalled := 0
	for i := range got {
		if got[i].Load() < stallBytes {
			stalled++
		}
	}
	return DetectStall(StallObs{
		Conns: len(conns), BytesPerConn: stallBytes, Stalled: stalled, BytesSent: sent.Load(), BytesEchoed: echoed.Load(),
		ServerReads: r.Reads, ServerIn: r.BytesIn, Waited: waited,
	}), stop()
}
