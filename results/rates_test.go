package results

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// TestRatesJSON: one rate is written as a number, as files have it since
// before the axis, none (closed loop) as 0, several as a list; all read
// back.
func TestRatesJSON(t *testing.T) {
	for _, tc := range []struct {
		rates Rates
		want  string
	}{
		{nil, `{"rate":0}`},
		{Rates{2000}, `{"rate":2000}`},
		{Rates{2.5}, `{"rate":2.5}`},
		{Rates{100, 1000, 10000}, `{"rate":[100,1000,10000]}`},
	} {
		b, err := json.Marshal(struct {
			Rate Rates `json:"rate"`
		}{tc.rates})
		if err != nil || string(b) != tc.want {
			t.Errorf("marshal %v = %s, %v; want %s", tc.rates, b, err, tc.want)
		}
		var back struct {
			Rate Rates `json:"rate"`
		}
		if err := json.Unmarshal(b, &back); err != nil || len(back.Rate) != len(tc.rates) || back.Rate.Several() != (len(tc.rates) > 1) {
			t.Errorf("unmarshal %s = %v, %v; want %v", b, back.Rate, err, tc.rates)
		}
	}
	var r Rates
	if err := json.Unmarshal([]byte(`0`), &r); err != nil || r != nil || len(r.Values()) != 1 || r.Values()[0] != 0 {
		t.Errorf("0 read as %v, %v; want the closed loop's empty axis, one value 0", r, err)
	}
	if err := json.Unmarshal([]byte(`"fast"`), &r); err == nil || !strings.Contains(err.Error(), "want a number of requests/s or a list") {
		t.Errorf(`"fast" read with error %v; want one saying what rate takes`, err)
	}
}

// rateRun is a run of the rate axis: poll at two rates, two repetitions.
func rateRun() *Run {
	run := testRun()
	run.Scenario.Backends, run.Scenario.FDs, run.Scenario.Rate = []string{"poll"}, []int{10}, Rates{100, 1000}
	run.Samples = nil
	for rep := range 2 {
		for _, rate := range []float64{100, 1000} {
			run.Samples = append(run.Samples, Sample{
				Backend: "poll", FDs: 10, Idle: 7, Active: 1, Repetition: rep, Mode: "open", Size: 64,
				Status: StatusOK, WindowNs: 1e9, RateRequested: rate, RateAchieved: rate, Requests: int64(rate),
				Server: ServerDelta{CPUNsPerReq: 100_000 / rate, CPUUtil: 1e-4},
			})
		}
	}
	return run
}

// TestSummarizeRates: samples that differ only in their requested rate
// are different points, each keeping its rate.
func TestSummarizeRates(t *testing.T) {
	pts := Summarize(rateRun().Samples)
	if len(pts) != 2 || pts[0].RateRequested != 100 || pts[1].RateRequested != 1000 || pts[0].Reps != 2 || pts[1].Reps != 2 {
		t.Fatalf("Summarize = %d points (%+v); want 2 of 2 repetitions, at 100 and 1000 req/s", len(pts), pts)
	}
}

// TestBenchRates: a rate sweep's bench.txt names every line's rate, so
// benchstat keeps the rates apart, and its rate config line lists them.
func TestBenchRates(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteBench(&buf, rateRun()); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&buf, "bench.txt")
	var names []string
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("benchfmt: %v", rec)
		case *benchfmt.Result:
			names = append(names, string(rec.Name.Full()))
			if got := rec.GetConfig("rate"); got != "100 1000" {
				t.Errorf("config rate = %q; want %q", got, "100 1000")
			}
		}
	}
	want := []string{
		"Mux/backend=poll/fds=10/active=1/rate=100", "Mux/backend=poll/fds=10/active=1/rate=1000",
		"Mux/backend=poll/fds=10/active=1/rate=100", "Mux/backend=poll/fds=10/active=1/rate=1000",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("names:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

// TestHumanRates: the run's table gets a rate column only where the
// points differ by rate.
func TestHumanRates(t *testing.T) {
	var buf bytes.Buffer
	if err := Human(&buf, Summarize(rateRun().Samples)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if f := strings.Fields(lines[0]); len(f) < 4 || f[3] != "rate" {
		t.Errorf("header %q; want rate after active", lines[0])
	}
	if f := strings.Fields(lines[2]); len(f) < 4 || f[3] != "1000" {
		t.Errorf("second row %q; want its rate, 1000, after active", lines[2])
	}
	buf.Reset()
	if err := Human(&buf, Summarize(testRun().Samples)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Split(buf.String(), "\n")[0], "rate") {
		t.Errorf("one rate, header %q; want no rate column", strings.Split(buf.String(), "\n")[0])
	}
}

// TestCPUIdleFigures: a point's idle figures are per request and per
// window, over the repetitions that read them.
func TestCPUIdleFigures(t *testing.T) {
	run := rateRun()
	for i := range run.Samples {
		s := &run.Samples[i]
		if s.Repetition == 0 { // the second repetition read nothing
			s.Server.CPUIdle = &CPUIdle{CPUs: "0", NCPUs: 1, States: []IdleState{
				{Name: "POLL", Entries: 0, TimeNs: 0}, {Name: "C1", Entries: s.Requests, TimeNs: 600_000_000},
			}}
		}
	}
	for _, p := range Summarize(run.Samples) {
		if p.IdleReps != 1 || p.IdleEntriesPerReq.Median != 1 || p.IdleShare.Median != 0.6 {
			t.Errorf("at %v req/s: idle over %d reps, %v entries/req, share %v; want 1 rep, 1 entry per request, share 0.6",
				p.RateRequested, p.IdleReps, p.IdleEntriesPerReq.Median, p.IdleShare.Median)
		}
	}
}
