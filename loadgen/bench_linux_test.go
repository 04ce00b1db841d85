package loadgen

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Benchmarks drive an in-process server unless LOADGEN_BENCH_TARGET names
// an external echo server (host:port; LOADGEN_BENCH_PROTO=sockperf for
// sockperf framing), e.g. `muxbench serve` pinned to another CPU — the
// in-process server shares this process's CPU and runtime, so only the
// external figures are comparable with scripts/loadgen-bench.sh.
func benchTarget(b *testing.B) (target string, proto traffic.Proto) {
	b.Helper()
	if t := os.Getenv("LOADGEN_BENCH_TARGET"); t != "" {
		return t, traffic.Proto(os.Getenv("LOADGEN_BENCH_PROTO"))
	}
	return startServer(b, echoHandler).addr, traffic.Echo
}

func benchRun(b *testing.B, c Config) *Result {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Run(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	if r.ErrorCount() != 0 {
		b.Fatalf("errors: %s", r.ErrorString())
	}
	return r
}

// BenchmarkConnect opens 2,000 idle connections per op at an unbounded
// connect rate (idle-only server: no goroutine per connection).
func BenchmarkConnect(b *testing.B) {
	const n = 2000
	addr := idleServer(b)
	var secs float64
	for i := 0; i < b.N; i++ {
		r := benchRun(b, Config{Target: addr, Conns: n, ConnectRate: 1e9, Duration: time.Millisecond})
		secs += r.ConnectSeconds
	}
	b.ReportMetric(secs/float64(b.N)/n*1e9, "ns/conn")
	b.ReportMetric(float64(b.N*n)/secs, "conns/s")
}

// BenchmarkIdleMemory reports the Go heap and goroutines per idle
// connection: the slope between 100 and 2,100 idle connections.
func BenchmarkIdleMemory(b *testing.B) {
	addr := idleServer(b)
	sample := func(conns int) (uint64, int) {
		var heap uint64
		var gs int
		benchRun(b, Config{Target: addr, Conns: conns, Duration: time.Millisecond, OnWindowStart: func() {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap, gs = ms.HeapAlloc, runtime.NumGoroutine()
		}})
		return heap, gs
	}
	var perConn, perG float64
	for i := 0; i < b.N; i++ {
		h1, g1 := sample(100)
		h2, g2 := sample(2100)
		perConn += (float64(h2) - float64(h1)) / 2000
		perG += float64(g2-g1) / 2000
	}
	b.ReportMetric(perConn/float64(b.N), "heap-B/idle-conn")
	b.ReportMetric(perG/float64(b.N), "goroutines/idle-conn")
}

// benchClosed runs closed-loop ping-pong for 500 ms per op and reports
// p50, requests/s and this process's CPU per request.
func benchClosed(b *testing.B, active int) {
	target, proto := benchTarget(b)
	var p50, rate, cpu float64
	for i := 0; i < b.N; i++ {
		r := benchRun(b, Config{Target: target, Proto: proto, Conns: active, Active: active, Mode: traffic.Closed,
			Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond})
		p50 += float64(r.Latency.P50)
		rate += r.RateAchieved
		cpu += r.ClientCPUPerRq
	}
	n := float64(b.N)
	b.ReportMetric(p50/n, "p50-ns")
	b.ReportMetric(rate/n, "req/s")
	b.ReportMetric(cpu/n, "cpu-ns/req")
}

func BenchmarkClosedLoop1(b *testing.B)  { benchClosed(b, 1) }
func BenchmarkClosedLoop32(b *testing.B) { benchClosed(b, 32) }

// BenchmarkOpenLoop paces 20,000 requests/s over 8 connections and
// reports whether the generator kept the schedule (achieved/requested)
// and its CPU per request.
func BenchmarkOpenLoop(b *testing.B) {
	target, proto := benchTarget(b)
	var kept, cpu float64
	for i := 0; i < b.N; i++ {
		r := benchRun(b, Config{Target: target, Proto: proto, Conns: 8, Active: 8, Rate: 20000,
			Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond})
		kept += r.RateAchieved / r.RateRequested
		cpu += r.ClientCPUPerRq
	}
	b.ReportMetric(kept/float64(b.N), "achieved/requested")
	b.ReportMetric(cpu/float64(b.N), "cpu-ns/req")
}
