package results

import (
	"flag"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testRun is a small run with every kind of sample: two repetitions of
// three backends at two points, interleaved as the harness runs them, with
// select unsupported above FD_SETSIZE, one failed poll repetition, one
// saturated epoll-et repetition and an errors sample.
func testRun() *Run {
	run := &Run{
		Schema:   SchemaVersion,
		Tool:     "muxbench",
		Started:  time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Finished: time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC),
		Env: Environment{
			Hostname: "bench1", Kernel: "6.8.0-45-generic", OS: "linux", Arch: "amd64",
			CPUModel: "AMD EPYC 7B13", Cores: 2, GoVersion: "go1.26.0",
			Version: "devel", Commit: "0123456789abcdef", Dirty: true,
			NoFileSoft: 20000, NoFileHard: 20000, PortRange: "32768 60999", Somaxconn: 4096,
			ServerCPUs: "0", ClientCPUs: "1",
		},
		Scenario: Scenario{
			Name: "smoke", Description: "test", Backends: []string{"select", "poll", "epoll-et"},
			FDs: []int{10, 1100}, Active: []int{2}, Mode: "open", Rate: Rates{500}, Size: 64,
			KeepAlive: 0, Warmup: Duration(200 * time.Millisecond), Duration: Duration(500 * time.Millisecond), Repetitions: 2,
			Proto: "echo", ServerCPUs: "0", ClientCPUs: "1",
		},
	}
	sample := func(backend string, fds, rep int, p50, p99 int64, cpuPerReq float64) Sample {
		return Sample{
			Backend: backend, FDs: fds, Idle: fds - 3, Active: 2, Repetition: rep, Mode: "open", Size: 64,
			Status: StatusOK, WindowNs: 500_000_000, RateRequested: 500, RateAchieved: 498, Requests: 249,
			Latency:        Latency{P50: p50, P90: p99 * 8 / 10, P99: p99, P999: p99 * 2, P9999: p99 * 3, Max: p99 * 4, Mean: float64(p50) * 1.1, Count: 249},
			ServiceLatency: Latency{P50: p50 - 1000, P99: p99 - 1000, Count: 249},
			Histogram:      "not-a-real-histogram",
			Server: ServerDelta{
				UserNs: 1_000_000, SysNs: 2_000_000, Waits: 250, Events: 251, Reads: 249, Writes: 249,
				CPUNsPerReq: cpuPerReq, CPUUtil: cpuPerReq * 249 / 500_000_000, WaitsPerReq: 1.004, EventsPerWait: 1.004,
			},
			Client: ClientDelta{CPUNs: 3_000_000, CPUNsPerReq: 12048.2, ConnectSeconds: 0.01},
		}
	}
	unsupported := Sample{
		Backend: "select", FDs: 1100, Idle: 1097, Active: 2, Mode: "open", Size: 64,
		Status: StatusUnsupported, RateRequested: 500,
		Reason: "select(2) cannot watch fd >= FD_SETSIZE (1024); use poll or epoll",
	}
	for rep := range 2 {
		r := int64(rep)
		run.Samples = append(run.Samples,
			sample("select", 10, rep, 40_000+r*1000, 90_000+r*10_000, 11_000+float64(rep)*500),
			sample("poll", 10, rep, 41_000+r*1000, 95_000+r*10_000, 11_500+float64(rep)*500),
			sample("epoll-et", 10, rep, 39_000+r*1000, 88_000+r*10_000, 10_800+float64(rep)*500),
		)
		u := unsupported
		u.Repetition = rep
		run.Samples = append(run.Samples, u)
		poll := sample("poll", 1100, rep, 60_000, 150_000, 25_000)
		if rep == 1 {
			poll = Sample{Backend: "poll", FDs: 1100, Idle: 1097, Active: 2, Repetition: 1, Mode: "open", Size: 64,
				Status: StatusFailed, Reason: "server exited: signal: killed", RateRequested: 500}
		}
		epoll := sample("epoll-et", 1100, rep, 39_500, 89_000, 10_900)
		if rep == 1 {
			epoll.Status, epoll.RateAchieved = StatusSaturated, 450
			epoll.Reason = "achieved 450 req/s of 500 (90%)"
			epoll.Errors = map[string]int64{"timeout": 2}
		}
		run.Samples = append(run.Samples, poll, epoll)
	}
	// An errors sample at a third point, with a reason containing a comma
	// (summary.csv must quote it).
	bad := sample("poll", 200, 0, 45_000, 99_000, 12_000)
	bad.Status, bad.Reason = StatusErrors, "3 echo mismatches, 1 reset"
	bad.Errors = map[string]int64{"mismatch": 3, "reset": 1}
	run.Samples = append(run.Samples, bad)
	return run
}
