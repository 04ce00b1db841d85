package report

import (
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

// Whose CPU a CPU chart's lines count, and how the axis and legend say it.

// scopeMark stands in a scoped CPU metric's y label for whose CPU its
// lines count (scopeLabel).
const scopeMark = "{scope}"

// cpuScope is whose CPU backend b's points in d count: an external
// server's scope, else what the points recorded (results.CPUScope*), else
// what the backend counts (files from before the scope was recorded).
func cpuScope(d dataset, b string) string {
	if x := d.Run.External; x != nil && b == x.Label {
		return x.CPUScope
	}
	for _, p := range d.points {
		if p.Backend == b && p.ServerCPUScope != "" {
			return p.ServerCPUScope
		}
	}
	if b == lineup.GoNet {
		return results.CPUScopeProcess
	}
	return results.CPUScopeLoop
}

// scopeLabel returns the scope most of the lines count, for the y label,
// and leaves Scope set only on the lines that count another, whose legend
// entries then name theirs ("gonet: process", "nginx: process tree").
// A short axis title also fits beside the plot: naming every scope there
// ran past the axis into the subtitle.
func scopeLabel(series []Series) string {
	count := map[string]int{}
	label := ""
	for _, s := range series {
		count[s.Scope]++
		if n := count[s.Scope]; n > count[label] || n == count[label] && s.Scope == results.CPUScopeLoop {
			label = s.Scope
		}
	}
	for i := range series {
		if series[i].Scope == label {
			series[i].Scope = ""
		}
	}
	return label
}
