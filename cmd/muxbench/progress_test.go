package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/results"
)

func TestLineProgress(t *testing.T) {
	var b bytes.Buffer
	p := &lineProgress{w: &b}
	p.Plan(2, 90*time.Second)
	j := harness.Job{Backend: "epoll-et", FDs: 1001, Active: 32, Rep: 0}
	s := results.Sample{Status: results.StatusOK, RateAchieved: 9980}
	s.Latency.P50, s.Latency.P99 = 41_234, 999_960
	p.Start(0, j)
	p.Done(0, j, s)
	p.Done(1, j, results.Sample{Status: results.StatusUnsupported, Reason: "select(2) cannot watch fd >= FD_SETSIZE"})
	want := "running 2 samples, about 1m30s\n" +
		"[1/2] epoll-et fds=1001   active=32  rep=1 p50=41.2µs p99=1.00ms server=0.0µs/req util=0% rate=9980/s ok\n" +
		"[2/2] epoll-et fds=1001   active=32  rep=1 unsupported: select(2) cannot watch fd >= FD_SETSIZE\n"
	if got := b.String(); got != want {
		t.Errorf("lineProgress wrote\n%s\nwant\n%s", got, want)
	}
}

// TestBarPhase: the phase the harness reports while it populates the
// server shows in the bar's description, after the sample's name.
func TestBarPhase(t *testing.T) {
	var b bytes.Buffer
	p := &barProgress{w: &b}
	p.Plan(1, time.Minute)
	p.Start(0, harness.Job{Backend: "poll", FDs: 10001, Active: 1})
	p.Phase("accepted", 4000, 10000)
	if got, want := b.String(), "poll     fds=10001  active=1   rep=1 accepted 4000/10000"; !strings.Contains(got, want) {
		t.Errorf("bar output %q; want it to contain %q", got, want)
	}
}
