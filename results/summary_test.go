package results

import (
	"reflect"
	"testing"
)

func TestSummarize(t *testing.T) {
	ok := func(backend string, fds, active int, p99 int64, cpu float64) Sample {
		return Sample{Backend: backend, FDs: fds, Idle: fds - active - 1, Active: active, Mode: "open",
			Status: StatusOK, RateRequested: 100, RateAchieved: 99,
			Latency: Latency{P50: p99 / 2, P99: p99, P999: p99 * 2},
			Server:  ServerDelta{CPUNsPerReq: cpu, CPUUtil: cpu / 1e6, WaitsPerReq: 1, EventsPerWait: 2},
			Client:  ClientDelta{CPUNsPerReq: 7}}
	}
	with := func(s Sample, status, reason string, errs map[string]int64) Sample {
		s.Status, s.Reason, s.Errors = status, reason, errs
		return s
	}
	stat := func(med, lo, hi float64) Stat { return Stat{Median: med, Min: lo, Max: hi} }

	tests := []struct {
		name    string
		samples []Sample
		want    []Point
	}{
		{
			name:    "no samples",
			samples: nil,
			want:    []Point{},
		},
		{
			name: "median min max over three repetitions, points in first-appearance order",
			samples: []Sample{
				ok("poll", 100, 1, 300, 30), ok("epoll-lt", 100, 1, 50, 5),
				ok("poll", 100, 1, 100, 10), ok("epoll-lt", 100, 1, 70, 7),
				ok("poll", 100, 1, 200, 20), ok("epoll-lt", 100, 1, 60, 6),
			},
			want: []Point{
				{Backend: "poll", FDs: 100, Idle: 98, Active: 1, Mode: "open", Status: StatusOK, Reps: 3,
					RateRequested: 100, RateAchieved: stat(99, 99, 99),
					P50: stat(100, 50, 150), P99: stat(200, 100, 300), P999: stat(400, 200, 600),
					ServerCPUPerReq: stat(20, 10, 30), ServerCPUUtil: stat(20e-6, 10e-6, 30e-6),
					ClientCPUPerReq: stat(7, 7, 7), WaitsPerReq: stat(1, 1, 1), EventsPerWait: stat(2, 2, 2)},
				{Backend: "epoll-lt", FDs: 100, Idle: 98, Active: 1, Mode: "open", Status: StatusOK, Reps: 3,
					RateRequested: 100, RateAchieved: stat(99, 99, 99),
					P50: stat(30, 25, 35), P99: stat(60, 50, 70), P999: stat(120, 100, 140),
					ServerCPUPerReq: stat(6, 5, 7), ServerCPUUtil: stat(6e-6, 5e-6, 7e-6),
					ClientCPUPerReq: stat(7, 7, 7), WaitsPerReq: stat(1, 1, 1), EventsPerWait: stat(2, 2, 2)},
			},
		},
		{
			name: "active and fds separate points; even count takes the mean of the middle two",
			samples: []Sample{
				ok("gonet", 10, 1, 100, 1), ok("gonet", 10, 4, 500, 1), ok("gonet", 20, 1, 900, 1),
				ok("gonet", 10, 1, 300, 1),
			},
			want: []Point{
				{Backend: "gonet", FDs: 10, Idle: 8, Active: 1, Mode: "open", Status: StatusOK, Reps: 2,
					RateRequested: 100, RateAchieved: stat(99, 99, 99),
					P50: stat(100, 50, 150), P99: stat(200, 100, 300), P999: stat(400, 200, 600),
					ServerCPUPerReq: stat(1, 1, 1), ServerCPUUtil: stat(1e-6, 1e-6, 1e-6),
					ClientCPUPerReq: stat(7, 7, 7), WaitsPerReq: stat(1, 1, 1), EventsPerWait: stat(2, 2, 2)},
				{Backend: "gonet", FDs: 10, Idle: 5, Active: 4, Mode: "open", Status: StatusOK, Reps: 1,
					RateRequested: 100, RateAchieved: stat(99, 99, 99),
					P50: stat(250, 250, 250), P99: stat(500, 500, 500), P999: stat(1000, 1000, 1000),
					ServerCPUPerReq: stat(1, 1, 1), ServerCPUUtil: stat(1e-6, 1e-6, 1e-6),
					ClientCPUPerReq: stat(7, 7, 7), WaitsPerReq: stat(1, 1, 1), EventsPerWait: stat(2, 2, 2)},
				{Backend: "gonet", FDs: 20, Idle: 18, Active: 1, Mode: "open", Status: StatusOK, Reps: 1,
					RateRequested: 100, RateAchieved: stat(99, 99, 99),
					P50: stat(450, 450, 450), P99: stat(900, 900, 900), P999: stat(1800, 1800, 1800),
					ServerCPUPerReq: stat(1, 1, 1), ServerCPUUtil: stat(1e-6, 1e-6, 1e-6),
					ClientCPUPerReq: stat(7, 7, 7), WaitsPerReq: stat(1, 1, 1), EventsPerWait: stat(2, 2, 2)},
			},
		},
		{
			name: "failed repetition: excluded from the figures, but the point is failed with its reason",
			samples: []Sample{
				ok("poll", 10, 1, 100, 1),
				with(ok("poll", 10, 1, 999_999, 999), StatusFailed, "server hung", map[string]int64{"timeout": 5}),
				with(ok("poll", 10, 1, 300, 3), StatusErrors, "1 reset", map[string]int64{"reset": 1}),
			},
			want: []Point{
				{Backend: "poll", FDs: 10, Idle: 8, Active: 1, Mode: "open", Status: StatusFailed, Reason: "server hung",
					Reps: 2, Errors: 6, RateRequested: 100, RateAchieved: stat(99, 99, 99),
					P50: stat(100, 50, 150), P99: stat(200, 100, 300), P999: stat(400, 200, 600),
					ServerCPUPerReq: stat(2, 1, 3), ServerCPUUtil: stat(2e-6, 1e-6, 3e-6),
					ClientCPUPerReq: stat(7, 7, 7), WaitsPerReq: stat(1, 1, 1), EventsPerWait: stat(2, 2, 2)},
			},
		},
		{
			name: "all unsupported: no figures, status and reason kept once",
			samples: []Sample{
				with(Sample{Backend: "select", FDs: 2000, Idle: 1998, Active: 1, Mode: "open", RateRequested: 100}, StatusUnsupported, "fd >= 1024", nil),
				with(Sample{Backend: "select", FDs: 2000, Idle: 1998, Active: 1, Mode: "open", RateRequested: 100}, StatusUnsupported, "fd >= 1024", nil),
			},
			want: []Point{
				{Backend: "select", FDs: 2000, Idle: 1998, Active: 1, Mode: "open", Status: StatusUnsupported,
					Reason: "fd >= 1024", RateRequested: 100},
			},
		},
		{
			name: "worst status wins, reasons of that status joined, unknown status is failed",
			samples: []Sample{
				with(ok("epoll-et", 10, 1, 100, 1), StatusSaturated, "90% of rate", nil),
				with(ok("epoll-et", 10, 1, 100, 1), StatusErrors, "2 mismatches", nil),
				with(ok("epoll-et", 10, 1, 100, 1), StatusErrors, "1 short echo", nil),
				with(ok("epoll-lt", 10, 1, 100, 1), "weird", "", nil),
			},
			want: []Point{
				{Backend: "epoll-et", FDs: 10, Idle: 8, Active: 1, Mode: "open", Status: StatusErrors,
					Reason: "2 mismatches; 1 short echo", Reps: 3, RateRequested: 100, RateAchieved: stat(99, 99, 99),
					P50: stat(50, 50, 50), P99: stat(100, 100, 100), P999: stat(200, 200, 200),
					ServerCPUPerReq: stat(1, 1, 1), ServerCPUUtil: stat(1e-6, 1e-6, 1e-6),
					ClientCPUPerReq: stat(7, 7, 7), WaitsPerReq: stat(1, 1, 1), EventsPerWait: stat(2, 2, 2)},
				{Backend: "epoll-lt", FDs: 10, Idle: 8, Active: 1, Mode: "open", Status: StatusFailed,
					Reason: `unknown sample status "weird"`, RateRequested: 100},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.samples)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Summarize:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
