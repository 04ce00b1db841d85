package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/results"
)

// The words around the charts: titles' scenario names, the conditions a
// chart held fixed, and the footnote naming the machine and the method.

// uniq joins the distinct values of f over the runs with sep.
func uniq(ds []dataset, sep string, f func(dataset) string) string {
	var vals []string
	seen := map[string]bool{}
	for _, d := range ds {
		v := f(d)
		if v != "" && !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	return strings.Join(vals, sep)
}

func scenarioNames(ds []dataset) string {
	if s := uniq(ds, " vs ", func(d dataset) string { return d.Run.Scenario.Name }); s != "" {
		return s
	}
	return "muxbench"
}

// conditions describes what was held fixed for a chart: active connections,
// the load, the message size.
func conditions(ds []dataset, active int) string {
	parts := []string{human.Plural(active, "active connection")}
	load := uniq(ds, " / ", func(d dataset) string { return loadText(d.Run.Scenario) })
	if load != "" {
		parts = append(parts, load)
	}
	if requests := uniq(ds, " / ", func(d dataset) string { return requestText(d.Run.Scenario) }); mixedProtos(ds) {
		parts = append(parts, requests) // runs overlaid side by side, each in its own protocol
	} else if size := uniq(ds, " / ", func(d dataset) string {
		if d.Run.Scenario.Size <= 0 {
			return ""
		}
		return fmt.Sprintf("%d B", d.Run.Scenario.Size)
	}); size != "" {
		parts = append(parts, size+" messages")
	}
	if ka := uniq(ds, " / ", func(d dataset) string {
		if k := d.Run.Scenario.KeepAlive; k > 0 {
			return k.String()
		}
		return ""
	}); ka != "" {
		parts = append(parts, "idle keep-alive every "+ka)
	}
	return strings.Join(parts, " · ")
}

// mixedProtos reports whether the runs' requests are not all in one of
// the protocols muxbench's own servers speak (echo, sockperf), where a
// message size says what a request is.
func mixedProtos(ds []dataset) bool {
	protos := map[traffic.Proto]bool{}
	for _, d := range ds {
		protos[d.Run.Scenario.Proto] = true
	}
	for p := range protos {
		if p != "" && !slices.Contains(traffic.Served, p) {
			return true
		}
	}
	return len(protos) > 1
}

// requestText says what a request of the scenario is: "64 B echo",
// "http GET /", "redis PING", "line version".
func requestText(sc results.Scenario) string {
	switch sc.Proto {
	case traffic.HTTP:
		return "http GET " + sc.Path
	case traffic.Redis:
		return "redis PING"
	case traffic.Line:
		return "line " + sc.Line
	}
	p := sc.Proto
	if p == "" {
		p = traffic.Echo
	}
	if sc.Size <= 0 {
		return string(p)
	}
	return fmt.Sprintf("%d B %s", sc.Size, p)
}

func loadText(sc results.Scenario) string {
	switch {
	case sc.Mode == traffic.Closed:
		return "closed loop (max throughput)"
	case len(sc.Rate) > 0:
		return "open loop at " + sc.Rate.Text()
	}
	return string(sc.Mode)
}

// footnote says what a point and an error bar are, and where each run ran.
func footnote(ds []dataset) []string {
	reps := uniq(ds, " / ", func(d dataset) string {
		if d.Run.Scenario.Repetitions <= 0 {
			return ""
		}
		return fmt.Sprint(d.Run.Scenario.Repetitions)
	})
	caption := "Points: median across repetitions; error bars: min–max across repetitions."
	if reps != "" {
		caption = "Points: median of " + reps + " repetitions; error bars: min–max across them."
	}
	lines := []string{caption}
	for _, d := range ds {
		env := envText(d.Run.Env)
		if len(ds) > 1 {
			env = d.Label + ": " + env
		}
		lines = append(lines, env)
	}
	return lines
}

// envText is the one-line environment of a run: kernel, CPU, Go, build, pinning.
func envText(e results.Environment) string {
	var parts []string
	if e.Kernel != "" {
		os := e.OS
		if os == "" || os == "linux" {
			os = "Linux"
		}
		parts = append(parts, os+" "+e.Kernel)
	}
	if e.CPUModel != "" {
		cpu := e.CPUModel
		if e.Cores > 0 {
			cpu += fmt.Sprintf(" (%s)", human.Plural(e.Cores, "core"))
		}
		parts = append(parts, cpu)
	}
	if e.GoVersion != "" {
		parts = append(parts, e.GoVersion)
	}
	build := "muxbench"
	if e.Version != "" {
		build += " " + e.Version
	}
	if c := e.ShortCommit(); c != "" {
		build += " " + c
	}
	parts = append(parts, build)
	if e.ServerCPUs != "" || e.ClientCPUs != "" {
		parts = append(parts, fmt.Sprintf("server on CPU %s, load generator on CPU %s", orDash(e.ServerCPUs), orDash(e.ClientCPUs)))
	}
	return strings.Join(parts, " · ")
}

func orDash(s string) string {
	if s == "" {
		return "any"
	}
	return s
}
