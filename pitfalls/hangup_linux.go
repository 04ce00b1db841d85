package pitfalls

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/wire"
)

// Pitfall 2: clients that send and close at once.
const (
	hupClients = 200
	hupMsg     = 100                    // bytes: far below one read, so the server's read is short
	hupQuiet   = 500 * time.Millisecond // no close for this long: the rest are never seen
	hupLimit   = 5 * time.Second
)

func checkHangup(ctx context.Context, o Options, backend string) (Verdict, error) {
	srv, stop, err := startServer(ctx, o, backend)
	if err != nil {
		return Verdict{}, err
	}
	defer stop()
	conns, err := dialAll(ctx, srv, hupClients)
	defer closeAll(conns)
	if err != nil {
		return Verdict{}, err
	}
	// Every client at once: data, then its FIN right behind it, so the
	// two arrive in one edge as often as the scheduling allows.
	msg := make([]byte, hupMsg)
	var wg sync.WaitGroup
	var echoed, sawEOF atomic.Int64
	start := make(chan struct{})
	for _, c := range conns {
		wg.Go(func() {
			<-start
			c.SetDeadline(time.Now().Add(hupLimit + time.Second))
			if _, err := c.Write(msg); err != nil {
				return
			}
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				return
			}
			if readFull(c, hupMsg) < hupMsg {
				return
			}
			echoed.Add(1)
			var one [1]byte
			if _, err := c.Read(one[:]); errors.Is(err, io.EOF) {
				sawEOF.Add(1)
			}
		})
	}
	close(start)
	r, waited, err := awaitStats(ctx, srv, hupLimit, hupQuiet,
		func(r wire.Report) bool { return r.ConnsClosed >= uint64(len(conns)) },
		func(r wire.Report) uint64 { return r.ConnsClosed })
	for _, c := range conns {
		c.SetDeadline(time.Now()) // the readers waiting for a close that will not come
	}
	wg.Wait()
	if err != nil {
		return Verdict{}, err
	}
	return DetectLostHangup(HangupObs{
		Clients: len(conns), Echoed: int(echoed.Load()), ServerClosed: int(r.ConnsClosed), ServerOpen: int(r.ConnsOpen),
		ClientSawEOF: int(sawEOF.Load()), ServerReads: r.Reads, ServerEAGAINs: r.ReadEAGAIN, Waited: waited,
	}), stop()
}

// dialAll opens n connections one after another and waits until the
// server has accepted them all, so a later check counts only what it
// means to.
func dialAll(ctx context.Context, srv *harness.Child, n int) ([]net.Conn, error) {
	var conns []net.Conn
	for range n {
		c, err := net.DialTimeout("tcp", srv.Hello().Addr, dialTimeout)
		if err != nil {
			return conns, fmt.Errorf("connect %d of %d: %w", len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(acceptLimit)
	for {
		r, err := srv.Report()
		if err != nil {
			return conns, err
		}
		if r.Accepts >= uint64(n) {
			return conns, nil
		}
		if time.Now().After(deadline) {
			return conns, fmt.Errorf("server accepted %d of %d connections within %v", r.Accepts, n, acceptLimit)
		}
		select {
		case <-ctx.Done():
			return conns, ctx.Err()
		case <-time.After(statsPoll):
		}
	}
}
