package loadfile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/results"
)

// shareRuns builds the two generators' results directories of a shared
// remote run over the fixtures: sample 0 is the fixtures' point (10
// connections, 2 active), sample 1 a point both recorded unsupported.
func shareRuns(t *testing.T) []RunInput {
	t.Helper()
	files := fixtures(t)
	hello := files[0].File.Server.Hello
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	sc := results.Scenario{Name: "tiny", Backends: []string{hello.Backend}, FDs: []int{12, 2000}, Active: []int{2}, Repetitions: 1}
	var in []RunInput
	for i, f := range files {
		run := &results.Run{
			Schema: results.SchemaVersion, Tool: toolName, Scenario: sc,
			Started: f.File.WindowStart, Finished: f.File.WindowEnd,
			Remote: &results.RemoteServer{Addr: hello.Addr, Hello: hello, Generators: 2, GeneratorIndex: i, StartAt: &at},
			Samples: []results.Sample{
				{Backend: hello.Backend, FDs: 12, Idle: 8, Active: 2, Status: results.StatusOK, Requests: f.File.Result.Requests},
				{Backend: hello.Backend, FDs: 2000, Idle: 1996, Active: 2, Status: results.StatusUnsupported, Reason: "past its limit"},
			},
		}
		in = append(in, RunInput{Name: []string{"gen0", "gen1"}[i], Run: run, Loads: map[int]*File{0: f.File}})
	}
	return in
}

// TestMergeRuns: every point of the merged run is the whole point —
// requests add up, the server's counters come along — and a point both
// shares recorded unsupported stays unsupported.
func TestMergeRuns(t *testing.T) {
	in := shareRuns(t)
	run, err := MergeRuns(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Samples) != 2 {
		t.Fatalf("%d samples; want 2", len(run.Samples))
	}
	s := run.Samples[0]
	want := in[0].Loads[0].Result.Requests + in[1].Loads[0].Result.Requests
	if s.Status != results.StatusOK || s.Requests != want || s.FDs != 12 || s.Active != 2 || s.Server.UserNs+s.Server.SysNs == 0 {
		t.Errorf("sample 0: %s (%s), %d requests, %d fds, %d active, server CPU %d ns; want ok, %d, 12, 2 and the server's CPU",
			s.Status, s.Reason, s.Requests, s.FDs, s.Active, s.Server.UserNs+s.Server.SysNs, want)
	}
	if u := run.Samples[1]; u.Status != results.StatusUnsupported {
		t.Errorf("sample 1: %s; want unsupported", u.Status)
	}
	if run.Remote == nil || !run.Remote.Merged || run.Incomplete {
		t.Errorf("remote %+v, incomplete %v; want a merged, complete record", run.Remote, run.Incomplete)
	}
	if !strings.Contains(run.Scenario.Description, "2 generators' shares merged") {
		t.Errorf("description %q does not say it was merged", run.Scenario.Description)
	}
}

// TestMergeRunsShareVerdicts: a share that was not measured makes the
// point failed, naming the generator; a share's own worse verdict wins;
// a share cut short leaves the merged run incomplete.
func TestMergeRunsShareVerdicts(t *testing.T) {
	in := shareRuns(t)
	delete(in[1].Loads, 0)
	in[1].Run.Samples[0].Status, in[1].Run.Samples[0].Reason = results.StatusFailed, "load generator: connection refused"
	run, err := MergeRuns(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Samples[0]; s.Status != results.StatusFailed || !strings.Contains(s.Reason, "generator 1: failed: load generator: connection refused") || s.Requests != 0 {
		t.Errorf("sample 0: %s (%q), %d requests; want failed naming generator 1, no requests", s.Status, s.Reason, s.Requests)
	}

	in = shareRuns(t)
	in[1].Run.Samples[0].Status, in[1].Run.Samples[0].Reason = results.StatusErrors, "errors: 3 timeouts"
	in[1].Run.Samples = in[1].Run.Samples[:1]
	run, err = MergeRuns(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Samples[0]; s.Status != results.StatusErrors || s.Reason != "generator 1: errors: 3 timeouts" {
		t.Errorf("sample 0: %s (%q); want generator 1's errors", s.Status, s.Reason)
	}
	if len(run.Samples) != 1 || !run.Incomplete {
		t.Errorf("%d samples, incomplete %v; want the 1 sample both have, marked incomplete", len(run.Samples), run.Incomplete)
	}
}

// TestMergeRunsRefuses: directories that are not the shares of one run.
func TestMergeRunsRefuses(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spoil func(in []RunInput) []RunInput
		want  string
	}{
		{"not remote", func(in []RunInput) []RunInput { in[1].Run.Remote = nil; return in }, "gen1 is not a generator's share"},
		{"other server", func(in []RunInput) []RunInput {
			h := *in[1].Run.Remote
			h.Hello.PID++
			in[1].Run.Remote = &h
			return in
		}, "drove the server at"},
		{"same index", func(in []RunInput) []RunInput {
			h := *in[1].Run.Remote
			h.GeneratorIndex = 0
			in[1].Run.Remote = &h
			return in
		}, "gen0 and gen1 are both generator 0 of 2"},
		{"missing share", func(in []RunInput) []RunInput { return in[:1] }, "generator 1 of 2 missing"},
		{"other start", func(in []RunInput) []RunInput {
			h := *in[1].Run.Remote
			later := h.StartAt.Add(time.Minute)
			h.StartAt = &later
			in[1].Run.Remote = &h
			return in
		}, "different -start-at"},
		{"other scenario", func(in []RunInput) []RunInput { in[1].Run.Scenario.Rate = results.Rates{7}; return in }, "ran different scenarios"},
		{"other point", func(in []RunInput) []RunInput { in[1].Run.Samples[0].FDs = 13; return in }, "sample 0 is epoll-lt at 12 fds"},
		{"other rate", func(in []RunInput) []RunInput { in[1].Run.Samples[0].RateRequested = 7; return in }, "req/s, repetition 1 in gen0 but epoll-lt at 12 fds, 2 active, 7 req/s"},
		{"churn", func(in []RunInput) []RunInput {
			for _, x := range in {
				x.Run.Scenario.Churn = results.Churn{true}
			}
			return in
		}, "churn scenario"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MergeRuns(tt.spoil(shareRuns(t)), Options{})
			if !errors.Is(err, ErrMixed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v; want ErrMixed containing %q", err, tt.want)
			}
		})
	}
}
