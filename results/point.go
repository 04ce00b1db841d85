package results

import (
	"github.com/muxbench/muxbench/internal/traffic"
)

// Point is the summary of one backend at one point (fds, active, and the
// rate, loops and churn where the scenario sweeps them) across
// repetitions: medians, with min and max as the spread. It is what
// summary.csv holds and what charts and compare use.
type Point struct {
	Backend string       `json:"backend"`
	FDs     int          `json:"fds"`
	Idle    int          `json:"idle"`
	Active  int          `json:"active"`
	Loops   int          `json:"loops,omitempty"` // 0 or 1: one
	Churn   bool         `json:"churn,omitempty"`
	Mode    traffic.Mode `json:"mode"`
	Status  string       `json:"status"` // worst status among the samples
	Reason  string       `json:"reason,omitempty"`
	Reps    int          `json:"reps"` // measured samples summarised (unsupported/failed excluded)

	RateRequested float64 `json:"rate_requested"`
	RateAchieved  Stat    `json:"rate_achieved"`
	P50           Stat    `json:"p50_ns"`
	P99           Stat    `json:"p99_ns"`
	P999          Stat    `json:"p999_ns"`
	// ServerCPUScope is whose CPU ServerCPUPerReq and ServerCPUUtil
	// count (a CPUScope* value); ProcessCPUPerReq is always the whole
	// process.
	ServerCPUScope   string `json:"server_cpu_scope"`
	ServerCPUPerReq  Stat   `json:"server_cpu_ns_per_req"`
	ServerCPUUtil    Stat   `json:"server_cpu_util"`
	ProcessCPUPerReq Stat   `json:"process_cpu_ns_per_req"`
	SetupSeconds     Stat   `json:"setup_seconds"`
	CPUSetBusy       Stat   `json:"cpuset_busy"` // the server CPU set's busy fraction (0 when unpinned)
	ClientCPUPerReq  Stat   `json:"client_cpu_ns_per_req"`
	WaitsPerReq      Stat   `json:"waits_per_req"`
	EventsPerWait    Stat   `json:"events_per_wait"`
	Errors           int64  `json:"errors"` // total over samples
	// Wake-ups (ServerDelta's): per request, wasted per request and per
	// accept; ConnBalance, max/min of the loops' connections (+Inf when a
	// loop had none; 0 for one loop), and BusiestLoopShare, the largest
	// share of the connections one loop had (1/loops is even).
	WakeupsPerReq          Stat `json:"wakeups_per_req"`
	WastedWakeupsPerReq    Stat `json:"wasted_wakeups_per_req"`
	WastedWakeupsPerAccept Stat `json:"wasted_wakeups_per_accept"`
	ConnBalance            Stat `json:"conn_balance"`
	BusiestLoopShare       Stat `json:"busiest_loop_share"`
	// IdleEntriesPerReq is how often the server's CPUs entered an idle
	// state per request, IdleShare the fraction of their time idle
	// (ServerDelta.CPUIdle); IdleReps counts the repetitions that had
	// them (0: not read, and both are zero).
	IdleEntriesPerReq Stat `json:"idle_entries_per_req,omitzero"`
	IdleShare         Stat `json:"idle_share,omitzero"`
	IdleReps          int  `json:"idle_reps,omitempty"`
}

// Stat is a median with its spread across repetitions.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}
