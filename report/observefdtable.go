package report

import (
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/backends/poll"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// sharedFDPairs are the backends whose loop thread has an fd table of its
// own, each beside its -sharedfd variant, which keeps the process's
// (backends.Info.SharedFDTable).
var sharedFDPairs = [][2]string{
	{poll.Name, poll.NameShared},
	{fdselect.Name, fdselect.NameShared},
	{epoll.NameLT, epoll.NameLTShared},
	{epoll.NameET, epoll.NameETShared},
}

// obsFDTable states what the shared fd table costs a wait, per watched fd,
// for each backend measured beside its -sharedfd variant: at the largest
// fd count both were measured at, the difference of their server CPU per
// wait call (CPU per request over wait calls per request, medians),
// divided by the fds. The interval is the widest the repetitions allow:
// from the variant's least CPU against the backend's most to the
// variant's most against the backend's least. The rule, as every
// comparison here: a cost is stated only when that interval excludes 0 —
// the two ranges do not overlap — so never one smaller than the spread.
func obsFDTable(d dataset, active int, at string) string {
	var parts []string
	for _, pair := range sharedFDPairs {
		own, shared := measuredAt(d, pair[0], active, perCall), measuredAt(d, pair[1], active, perCall)
		f, ok := largestCommon(own, shared)
		if !ok {
			continue
		}
		o, s := own[f], shared[f]
		x := (perCall(s) - perCall(o)) / float64(f)
		lo := (s.ServerCPUPerReq.Min/s.WaitsPerReq.Median - o.ServerCPUPerReq.Max/o.WaitsPerReq.Median) / float64(f)
		hi := (s.ServerCPUPerReq.Max/s.WaitsPerReq.Median - o.ServerCPUPerReq.Min/o.WaitsPerReq.Median) / float64(f)
		where := fmt.Sprintf("%s against %s at %s fds%s: %s vs %s CPU per wait call, medians", pair[1], pair[0], human.Thousands(float64(f)), at,
			human.Ns(perCall(s)), human.Ns(perCall(o)))
		switch apart(s, o, cpuStat) {
		case 1:
			parts = append(parts, fmt.Sprintf("%.2g ns [%.2g, %.2g] per watched fd per call (%s)", x, lo, hi, where))
		case -1:
			parts = append(parts, fmt.Sprintf("less, not more: %.2g ns [%.2g, %.2g] per watched fd per call (%s)", x, lo, hi, where))
		default:
			parts = append(parts, "no cost beyond the spread of repetitions ("+where+")")
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "A multi-threaded process (the loop thread in the process's shared fd table) pays " + strings.Join(parts, "; ") +
		"; interval from the repetitions' min–max, a cost stated only when it excludes 0."
}

// perCall is server CPU per wait call (medians), 0 when the point has no
// wait calls counted.
func perCall(p results.Point) float64 {
	if p.WaitsPerReq.Median <= 0 {
		return 0
	}
	return p.ServerCPUPerReq.Median / p.WaitsPerReq.Median
}
