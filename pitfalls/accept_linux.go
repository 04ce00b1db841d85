package pitfalls

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muxbench/muxbench/internal/wire"
)

// Pitfall 1: a burst of simultaneous connects against an ET listener.
const (
	burstConns   = 500
	acceptQuiet  = 500 * time.Millisecond // no new accept for this long: the check gives up
	acceptLimit  = 5 * time.Second        // and never waits longer than this
	dialTimeout  = 3 * time.Second
	echoDeadline = 500 * time.Millisecond // for a one-byte echo once the accepts are done
)

func checkAcceptOnce(ctx context.Context, o Options, backend string) (Verdict, error) {
	srv, stop, err := startServer(ctx, o, backend)
	if err != nil {
		return Verdict{}, err
	}
	defer stop()
	conns := dialBurst(srv.Hello().Addr, burstConns)
	defer closeAll(conns)
	r, waited, err := awaitStats(ctx, srv, acceptLimit, acceptQuiet,
		func(r wire.Report) bool { return r.Accepts >= uint64(len(conns)) },
		func(r wire.Report) uint64 { return r.Accepts })
	if err != nil {
		return Verdict{}, err
	}
	served := echoEach(conns, []byte{'x'}, time.Now().Add(echoDeadline))
	return DetectAcceptLoss(AcceptObs{
		Offered: burstConns, Connected: len(conns), Accepted: int(r.Accepts), Served: served, Waited: waited,
	}), stop()
}

// dialBurst opens n connections at once (all goroutines released together)
// and returns those that connected.
func dialBurst(addr string, n int) []net.Conn {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			c, err := net.DialTimeout("tcp", addr, dialTimeout)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return conns
}

// echoEach writes msg on every connection and counts those whose echo
// comes back whole by deadline.
func echoEach(conns []net.Conn, msg []byte, deadline time.Time) int {
	var wg sync.WaitGroup
	var ok atomic.Int64
	for _, c := range conns {
		wg.Go(func() {
			c.SetDeadline(deadline)
			if _, err := c.Write(msg); err != nil {
				return
			}
			if readFull(c, len(msg)) == len(msg) {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

// readFull reads up to n bytes (until error or deadline) and returns how
// many came.
func readFull(c net.Conn, n int) int {
	buf := make([]byte, min(n, 64<<10))
	got := 0
	for got < n {
		k, err := c.Read(buf[:min(len(buf), n-got)])
		got += k
		if err != nil {
			break
		}
	}
	return got
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
