package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// A server muxbench did not write (run -exec, -attach) is one more line
// beside the built-in backends: the same axes, styles and legend. What
// differs is said where it matters: whose CPU its line shows, how it was
// run, and how it compares with the built-in epoll beside it.

// hasExternal reports whether any run measured an external server.
func hasExternal(ds []dataset) bool {
	return slices.ContainsFunc(ds, func(d dataset) bool { return d.Run.External != nil })
}

// externalText says what the run's external server was and how it was
// read; "" for a run of muxbench's own servers.
func externalText(r *results.Run) string {
	x := r.External
	if x == nil {
		return ""
	}
	how := fmt.Sprintf("`%s`, started for every sample (its own process group, stopped with SIGTERM)", shellJoin(x.Command))
	if x.Attach != "" {
		how = fmt.Sprintf("attached at %s (pid %d), never started or stopped: figures are each window's deltas", x.Attach, x.PID)
	}
	return fmt.Sprintf("%s, not muxbench's: %s; read from outside: connections through sock_diag at both window edges, CPU from /proc (shown: its %s)", x.Label, how, x.CPUScope)
}

// externalNote is the summary's sentence on external servers' CPU.
const externalNote = " A server muxbench did not write is read from outside: its CPU from /proc/PID/task/*/schedstat over its whole process tree (process tree: what it costs) or its busiest thread (a multi-threaded server's event loop), as the run chose; run.json keeps both, with its threads, RSS and context switches."

// shellJoin writes argv as a command line sh would split back into it:
// a word that is empty or holds anything but letters, digits and
// -_./:=@%+,{} in single quotes.
func shellJoin(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = a
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_./:=@%+,{}", r))
		}) {
			words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(words, " ")
}

// inRuns counts the runs that have a backend.
func inRuns(ds []dataset, backend string) int {
	n := 0
	for _, d := range ds {
		if hasBackend(d, backend) {
			n++
		}
	}
	return n
}

// obsExternal compares each overlaid external server with the built-in
// epoll of a run beside it, at the largest fd count both were measured at
// for each active count: CPU per request and median latency, a difference
// stated only where the repetitions' ranges are apart.
func obsExternal(ds []dataset) []string {
	var out []string
	for _, e := range ds {
		x := e.Run.External
		if x == nil {
			continue
		}
		for _, b := range ds {
			if b.Run.External != nil {
				continue
			}
			for _, a := range actives([]dataset{e, b}) {
				base := epollBase(b, a)
				if base == "" {
					continue
				}
				ec, bc := measuredAt(e, x.Label, a, cpuPerReq), measuredAt(b, base, a, cpuPerReq)
				f, ok := largestCommon(ec, bc)
				if !ok {
					continue
				}
				ep, bp := ec[f], bc[f]
				s := fmt.Sprintf("At %s fds with %s, %s (its %s) spent %s (%s vs %s of %s's loop thread)",
					human.Thousands(float64(f)), human.Plural(a, "active connection"), x.Label, x.CPUScope,
					relativeApart(ep, bp, cpuStat, base+"'s CPU per request", "less CPU per request than "+base, "CPU per request as "+base),
					human.Ns(cpuPerReq(ep)), human.Ns(cpuPerReq(bp)), base)
				if p50(ep) > 0 && p50(bp) > 0 {
					s += fmt.Sprintf(", and its p50 latency was %s (%s vs %s)",
						relativeApart(ep, bp, p50Stat, base+"'s", "lower than "+base+"'s", "as "+base+"'s"), human.Ns(p50(ep)), human.Ns(p50(bp)))
				}
				out = append(out, s+".")
			}
		}
	}
	return out
}

func p50(p results.Point) float64 { return p.P50.Median }

func p50Stat(p results.Point) results.Stat { return p.P50 }

// knownStyle reports whether s is the style of a backend muxbench ships:
// an external server's line must not look like one.
func knownStyle(s Style) bool {
	for _, k := range knownStyles {
		if k == s {
			return true
		}
	}
	return false
}
