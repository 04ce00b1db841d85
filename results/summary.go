package results

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/montanaflynn/stats"
)

// statusRank orders the Status* values from best to worst; a point takes
// the worst status of its samples.
var statusRank = map[string]int{
	StatusOK:          0,
	StatusSaturated:   1,
	StatusErrors:      2,
	StatusUnsupported: 3,
	StatusFailed:      4,
}

// Statuses lists the Status values from best to worst.
var Statuses = []string{StatusOK, StatusSaturated, StatusErrors, StatusUnsupported, StatusFailed}

// Worse reports whether status a is worse than b (a point takes the worst
// of its samples').
func Worse(a, b string) bool { return statusRank[a] > statusRank[b] }

// measured reports whether a sample with this status has numbers worth
// summarising. Unsupported and failed samples have none.
func measured(status string) bool {
	return status == StatusOK || status == StatusSaturated || status == StatusErrors
}

// Summarize reduces samples to one Point per (backend, fds, active, rate,
// loops, churn), in the order each first appears. A point's figures are the median, min and max
// over its measured samples (status ok, saturated or errors); unsupported
// and failed samples are left out of the statistics, but the point's Status
// is the worst status among all its samples, and Reason joins the distinct
// reasons given by the samples with that status. A sample with an unknown
// status makes its point failed.
func Summarize(samples []Sample) []Point {
	type key struct {
		backend            string
		fds, active, loops int
		rate               float64 // requested: the rate axis's value (a share's, for a generator of a shared run)
		churn              bool
	}
	var order []key
	groups := map[key][]Sample{}
	for _, s := range samples {
		k := key{s.Backend, s.FDs, s.Active, max(s.Loops, 1), s.RateRequested, s.Churn}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	points := make([]Point, 0, len(order))
	for _, k := range order {
		points = append(points, summarizePoint(groups[k]))
	}
	return points
}

// summarizePoint summarises the samples of one point; there is at least one.
func summarizePoint(samples []Sample) Point {
	first := samples[0]
	p := Point{
		Backend:       first.Backend,
		FDs:           first.FDs,
		Idle:          first.Idle,
		Active:        first.Active,
		Loops:         first.Loops,
		Churn:         first.Churn,
		Mode:          first.Mode,
		Status:        StatusOK,
		RateRequested: first.RateRequested,
	}

	var reasons []string
	var m []Sample
	for _, s := range samples {
		status, reason := s.Status, s.Reason
		if _, known := statusRank[status]; !known {
			status, reason = StatusFailed, "unknown sample status "+strconv.Quote(s.Status)
		}
		switch {
		case statusRank[status] > statusRank[p.Status]:
			p.Status, reasons = status, nil
			fallthrough
		case status == p.Status:
			if reason != "" && !slices.Contains(reasons, reason) {
				reasons = append(reasons, reason)
			}
		}
		if measured(status) {
			m = append(m, s)
		}
		for _, n := range s.Errors {
			p.Errors += n
		}
	}
	if len(reasons) > maxReasons {
		reasons = append(reasons[:maxReasons], fmt.Sprintf("%d more like these", len(reasons)-maxReasons))
	}
	p.Reason = strings.Join(reasons, "; ")
	p.Reps = len(m)
	if len(m) == 0 {
		return p
	}

	p.RateAchieved = stat(m, func(s Sample) float64 { return s.RateAchieved })
	p.P50 = stat(m, func(s Sample) float64 { return float64(s.Latency.P50) })
	p.P99 = stat(m, func(s Sample) float64 { return float64(s.Latency.P99) })
	p.P999 = stat(m, func(s Sample) float64 { return float64(s.Latency.P999) })
	p.ServerCPUScope = m[0].Server.CPUScope
	p.ServerCPUPerReq = stat(m, func(s Sample) float64 { return s.Server.CPUNsPerReq })
	p.ServerCPUUtil = stat(m, func(s Sample) float64 { return s.Server.CPUUtil })
	p.ProcessCPUPerReq = stat(m, func(s Sample) float64 { return s.Server.ProcessCPUNsPerReq })
	p.SetupSeconds = stat(m, func(s Sample) float64 { return s.Client.SetupSeconds })
	p.CPUSetBusy = stat(m, func(s Sample) float64 { return s.Server.CPUSetBusy })
	p.ClientCPUPerReq = stat(m, func(s Sample) float64 { return s.Client.CPUNsPerReq })
	p.WaitsPerReq = stat(m, func(s Sample) float64 { return s.Server.WaitsPerReq })
	p.EventsPerWait = stat(m, func(s Sample) float64 { return s.Server.EventsPerWait })
	p.WakeupsPerReq = stat(m, func(s Sample) float64 { return s.Server.WakeupsPerReq })
	p.WastedWakeupsPerReq = stat(m, func(s Sample) float64 { return s.Server.WastedWakeupsPerReq })
	p.WastedWakeupsPerAccept = stat(m, func(s Sample) float64 { return s.Server.WastedWakeupsPerAccept })
	p.ConnBalance = stat(m, func(s Sample) float64 { return s.Server.ConnBalance() })
	p.BusiestLoopShare = stat(m, func(s Sample) float64 { return s.Server.BusiestLoopShare() })
	var idle []Sample // the repetitions whose server CPUs' idle states were read
	for _, s := range m {
		if s.Server.CPUIdle != nil && s.Requests > 0 {
			idle = append(idle, s)
		}
	}
	if p.IdleReps = len(idle); len(idle) > 0 {
		p.IdleEntriesPerReq = stat(idle, func(s Sample) float64 { return float64(s.Server.CPUIdle.Entries()) / float64(s.Requests) })
		p.IdleShare = stat(idle, func(s Sample) float64 { return s.Server.CPUIdle.Share(s.WindowNs) })
	}
	return p
}

// maxReasons caps the distinct sample reasons a point's Reason lists: the
// samples of one point usually differ only in their figures.
const maxReasons = 2

// stat is the median, min and max of one figure over samples.
func stat(samples []Sample, figure func(Sample) float64) Stat {
	data := make(stats.Float64Data, len(samples))
	for i, s := range samples {
		data[i] = figure(s)
	}
	// The errors these return are for empty input, which callers rule out.
	median, _ := stats.Median(data)
	lo, _ := stats.Min(data)
	hi, _ := stats.Max(data)
	return Stat{Median: median, Min: lo, Max: hi}
}
