package harness

import (
	"strings"
	"testing"

	"github.com/muxbench/muxbench/backends/poll"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// TestJudgeBacklog: requests still unanswered at the drain's end are
// saturation when the rate was not met with the server's CPU full (a
// server that cannot keep up, as poll at 10,000 fds under churn), and
// errors when the server's CPU was idle (it answers nothing) or the rate
// was met (it lost them), or when another kind of error came with them.
func TestJudgeBacklog(t *testing.T) {
	sc := results.Scenario{Mode: traffic.Open, ServerCPUs: "0"}
	job := Job{Backend: poll.Name, FDs: 10000, Active: 4, Loops: 1, Churn: true}
	for _, tc := range []struct {
		name      string
		busy      float64
		saturated bool
		errs      map[string]int64
		want      string
	}{
		{"backlog, CPU full", 1.0, true, map[string]int64{results.ErrKindUnanswered: 427}, results.StatusSaturated},
		{"nothing answered, CPU idle", 0.02, true, map[string]int64{results.ErrKindUnanswered: 1000}, results.StatusErrors},
		{"rate met, some lost", 1.0, false, map[string]int64{results.ErrKindUnanswered: 3}, results.StatusErrors},
		{"backlog and resets", 1.0, true, map[string]int64{results.ErrKindUnanswered: 400, "reset": 1}, results.StatusErrors},
	} {
		s := results.Sample{Errors: tc.errs}
		s.Server.CPUSetBusy = tc.busy
		res := &loadgen.Result{Saturated: tc.saturated, RateAchieved: 280, RateRequested: 500}
		got := judge(s, sc, job, res, "", nil)
		if got.Status != tc.want {
			t.Errorf("%s: %s (%s); want %s", tc.name, got.Status, got.Reason, tc.want)
		}
		if tc.want == results.StatusSaturated && !strings.Contains(got.Reason, "427 requests still unanswered") {
			t.Errorf("%s: reason %q; want it to count the unanswered requests", tc.name, got.Reason)
		}
	}
}
