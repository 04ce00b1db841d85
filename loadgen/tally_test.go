package loadgen

import (
	"maps"
	"net/netip"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
)

func TestTallyResult(t *testing.T) {
	open := Config{Target: "127.0.0.1:1", Conns: 10, Active: 2, Rate: 1000, Duration: 2 * time.Second}
	closed := open
	closed.Mode, closed.Rate = traffic.Closed, 0
	tests := []struct {
		name          string
		c             Config
		requests      int64
		wantSaturated bool
		wantRequested float64
		wantSvc       int64 // values in the service histogram
	}{
		{"open loop keeping up", open, 1900, false, 1000, 1},
		{"open loop below 95%", open, 1899, true, 1000, 1},
		{"closed loop: service latency is the corrected one", closed, 1000, false, 0, 3},
	}
	for _, tt := range tests {
		ty := newTally()
		ty.requests, ty.winIssued = tt.requests, 2000
		ty.errs[ekTimeout], ty.errs[ekIdleReset] = 2, 1
		for _, v := range []int64{1000, 2000, 3000} {
			ty.hist.RecordValue(v)
		}
		ty.svc.RecordValue(500)
		m := measures{sources: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, connectSeconds: 1.5, populateSeconds: 2, windowCPUNs: 4e6}
		r, err := ty.result(tt.c, m)
		if err != nil {
			t.Fatalf("%s: result: %v", tt.name, err)
		}
		if got, want := r.Unanswered, 2000-tt.requests; got != want {
			t.Errorf("%s: Unanswered = %d; want %d", tt.name, got, want)
		}
		if got, want := r.RateAchieved, float64(tt.requests)/2; got != want {
			t.Errorf("%s: RateAchieved = %v; want %v", tt.name, got, want)
		}
		if r.Saturated != tt.wantSaturated || r.RateRequested != tt.wantRequested {
			t.Errorf("%s: Saturated, RateRequested = %v, %v; want %v, %v", tt.name, r.Saturated, r.RateRequested, tt.wantSaturated, tt.wantRequested)
		}
		if got := r.Uncorrected.TotalCount(); got != tt.wantSvc {
			t.Errorf("%s: service histogram holds %d values; want %d", tt.name, got, tt.wantSvc)
		}
		if got, want := r.Errors, map[string]int64{ErrKindTimeout: 2, ErrKindIdleReset: 1}; !maps.Equal(got, want) {
			t.Errorf("%s: Errors = %v; want %v", tt.name, got, want)
		}
		if r.Idle != 8 || r.PopulateSeconds != 2 || r.ClientCPUPerRq != 4e6/float64(tt.requests) || len(r.SourceAddrs) != 1 {
			t.Errorf("%s: Idle, PopulateSeconds, ClientCPUPerRq, SourceAddrs = %d, %v, %v, %v; want 8, 2, %v, [127.0.0.2]",
				tt.name, r.Idle, r.PopulateSeconds, r.ClientCPUPerRq, r.SourceAddrs, 4e6/float64(tt.requests))
		}
	}
}
