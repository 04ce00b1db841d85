// Package reporttest makes deterministic, realistic-looking muxbench runs
// for testing code that reads results, without running a benchmark: select
// and poll cost grows linearly with the fds they scan, epoll and gonet stay
// flat, select stops at FD_SETSIZE, poll saturates at the largest fd count,
// and repetitions scatter by a seeded amount of noise.
package reporttest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/results"
)

// Options shapes a synthetic run. The zero value is valid: see Run.
type Options struct {
	Backends []string // default select, poll, epoll-lt, epoll-et, gonet
	FDs      []int    // default 101, 501, 1001, 2001, 5001, 10001, 20001
	Active   []int    // default 32
	Reps     int      // default 5
	Rate     float64  // requests/s; default 10,000
	Noise    float64  // relative spread of repetitions; default 0.03
	Seed     uint64   // noise seed; default 1

	// Scale multiplies one backend's CPU per request and latency (2 = twice
	// as slow), for synthetic regressions.
	Scale map[string]float64

	// ErrorsAt injects connection resets into the first repetition of a
	// backend at an fd count: "epoll-et" -> 20001.
	ErrorsAt map[string]int
}

func (o *Options) defaults() {
	if o.Backends == nil {
		o.Backends = []string{"select", "poll", "epoll-lt", "epoll-et", "gonet"}
	}
	if o.FDs == nil {
		o.FDs = []int{101, 501, 1001, 2001, 5001, 10001, 20001}
	}
	if o.Active == nil {
		o.Active = []int{32}
	}
	if o.Reps == 0 {
		o.Reps = 5
	}
	if o.Rate == 0 {
		o.Rate = 10000
	}
	if o.Noise == 0 {
		o.Noise = 0.03
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// cost models a backend: CPU per request as a fixed part plus a part per
// watched fd (the O(n) scan of select and poll).
type cost struct {
	fixedNs, perFDNs float64
	countsWaits      bool // gonet's runtime netpoller has no wait counter
}

var models = map[string]cost{
	"select":   {3800, 9, true},
	"poll":     {3500, 8, true},
	"epoll-lt": {4000, 0.02, true},
	"epoll-et": {3600, 0.02, true},
	"gonet":    {5500, 0.03, false},
}

// Reason is the reason synthetic select samples give above FD_SETSIZE.
var Reason = fmt.Sprintf("fd %d >= FD_SETSIZE (%d): select(2) cannot watch it; use poll or epoll", fdselect.FDSetSize+3, fdselect.FDSetSize)

// Run returns a run shaped by o, the same for the same options.
func Run(o Options) *results.Run {
	o.defaults()
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	noise := func() float64 { return 1 + o.Noise*(2*rng.Float64()-1) }
	start := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	run := &results.Run{
		Schema:   results.SchemaVersion,
		Tool:     "muxbench",
		Started:  start,
		Finished: start.Add(7 * time.Minute),
		Env: results.Environment{
			Hostname: "bench-1", Kernel: "6.8.0-45-generic", OS: "linux", Arch: "amd64",
			CPUModel: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", Cores: 2,
			GoVersion: "go1.26.8", Version: "devel", Commit: "0123456789abcdef0123456789abcdef01234567",
			NoFileSoft: 1048576, NoFileHard: 1048576, PortRange: "32768 60999", Somaxconn: 4096,
			ServerCPUs: "0", ClientCPUs: "1",
		},
		Scenario: results.Scenario{
			Name: "idle-sweep", Description: "Latency and CPU as mostly-idle connections grow, at a fixed request rate.",
			Backends: o.Backends, FDs: o.FDs, Active: o.Active, Mode: traffic.Open, Rate: results.RateOf(o.Rate), Size: 64,
			KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: o.Reps, Proto: traffic.Echo,
			ServerCPUs: "0", ClientCPUs: "1",
		},
	}
	for rep := 0; rep < o.Reps; rep++ {
		for _, active := range o.Active {
			for _, fds := range o.FDs {
				for _, b := range o.Backends { // interleaved, as the harness runs them
					run.Samples = append(run.Samples, sample(b, fds, active, rep, o, noise))
				}
			}
		}
	}
	return run
}

func sample(b string, fds, active, rep int, o Options, noise func() float64) results.Sample {
	s := results.Sample{
		Backend: b, FDs: fds, Idle: fds - active - 1, Active: active, Repetition: rep,
		Mode: "open", Size: 64, Status: results.StatusOK, RateRequested: o.Rate,
	}
	if b == "select" && fds >= fdselect.FDSetSize {
		s.Status, s.Reason = results.StatusUnsupported, Reason
		return s
	}
	m, ok := models[b]
	if !ok {
		m = cost{4000, 1, true}
	}
	scale := 1.0
	if v, ok := o.Scale[b]; ok {
		scale = v
	}
	window := 3 * time.Second
	baseCPU := m.fixedNs + m.perFDNs*float64(fds)
	cpuPerReq := baseCPU * scale * noise()
	achieved := o.Rate * (1 - 0.002*noise())
	// One core's worth of CPU is all the server has: past it, it saturates.
	if cpuPerReq*achieved > 0.97e9 {
		achieved = 0.97e9 / cpuPerReq
	}
	util := cpuPerReq * achieved / 1e9
	// Queueing: latency grows as utilisation nears 1; saturated points
	// queue for the whole window.
	p50 := (30e3 + 0.6*baseCPU) * scale / (1 - math.Min(util, 0.9)) * noise()
	p99 := p50 * 3.2 * noise()
	if achieved < traffic.SaturatedBelow*o.Rate {
		s.Status = results.StatusSaturated
		p50, p99 = 40e6*noise(), 120e6*noise()
	}
	requests := int64(achieved * window.Seconds())
	eventsPerWait := math.Max(1, float64(active)*achieved/1e6*(1+cpuPerReq/2e4)) * noise()
	waitsPerReq := 1 / eventsPerWait * 1.02
	s.WindowNs = int64(window)
	s.RateAchieved = achieved
	s.Requests = requests
	s.Latency = results.Latency{P50: int64(p50), P90: int64(p50 * 2), P99: int64(p99), P999: int64(p99 * 1.8),
		P9999: int64(p99 * 2.5), Max: int64(p99 * 3), Mean: p50 * 1.2, Count: requests}
	s.ServiceLatency = s.Latency
	cpu := int64(cpuPerReq * float64(requests))
	s.Server = results.ServerDelta{
		UserNs: cpu * 3 / 10, SysNs: cpu - cpu*3/10, MaxRSSKiB: 8000 + int64(fds)*3,
		Reads: requests, Writes: requests, BytesIn: requests * 64, BytesOut: requests * 64,
		ConnsOpen: int64(fds - 1), CPUNsPerReq: cpuPerReq, CPUUtil: util,
	}
	if m.countsWaits {
		s.Server.Waits = int64(float64(requests) * waitsPerReq)
		s.Server.Events = int64(float64(s.Server.Waits) * eventsPerWait)
		s.Server.WaitsPerReq = waitsPerReq
		s.Server.EventsPerWait = eventsPerWait
		s.Server.SyscallsPerReq = waitsPerReq + 2
	}
	s.Client = results.ClientDelta{CPUNs: requests * 2500, CPUNsPerReq: 2500, ConnectSeconds: float64(fds) / 5000}
	if f, ok := o.ErrorsAt[b]; ok && f == fds && rep == 0 {
		s.Status = results.StatusErrors
		s.Errors = map[string]int64{"reset": 3}
		s.Reason = "3 connections reset by peer during the window"
	}
	return s
}
