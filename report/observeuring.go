package report

import (
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/backends/uringpoll"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

// uringBackends are the io_uring backends obsUring compares with epoll:
// the multishot-poll poller under the one loop, and the completion-model
// server.
var uringBackends = []string{uringpoll.Name, lineup.Uring}

// obsUring says where each io_uring backend used less or more CPU per
// request than epoll beyond the spread of repetitions, and where the two
// were the same, across the fd counts both ran.
func obsUring(d dataset, active int, at string) string {
	base := epollBase(d, active)
	if base == "" {
		return ""
	}
	bm := measuredAt(d, base, active, cpuPerReq)
	var parts []string
	for _, b := range uringBackends {
		m := measuredAt(d, b, active, cpuPerReq)
		g, _, _, n := geomeanRatio(m, bm, cpuPerReq)
		if n == 0 {
			continue
		}
		var less, more, same []results.Point
		for f, p := range m {
			if q, ok := bm[f]; ok {
				switch apart(p, q, cpuStat) {
				case -1:
					less = append(less, p)
				case 1:
					more = append(more, p)
				default:
					same = append(same, p)
				}
			}
		}
		s := fmt.Sprintf("%s used %s (geometric mean over %d fd counts)", b, relative(g, base+"'s CPU per request", "less CPU per request than "+base, "CPU per request as "+base), n)
		switch {
		case len(less) == 0 && len(more) == 0:
			s += ", the same within the spread of repetitions at every one"
		default:
			var where []string
			if len(less) > 0 {
				where = append(where, "less beyond the spread at "+fdList(less)+" fds")
			}
			if len(more) > 0 {
				where = append(where, "more at "+fdList(more)+" fds")
			}
			if len(same) > 0 {
				where = append(where, "the same within it at "+fdList(same)+" fds")
			}
			s += ": " + strings.Join(where, ", ")
		}
		if w, wb := measuredAt(d, b, active, waitsPerReq), measuredAt(d, base, active, waitsPerReq); len(w) > 0 {
			if wg, _, _, wn := geomeanRatio(w, wb, waitsPerReq); wn > 0 {
				s += fmt.Sprintf("; %.2f× %s's wait calls (io_uring_enter) per request", wg, base)
			}
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return "io_uring against " + base + at + ": " + strings.Join(parts, "; ") + "."
}
