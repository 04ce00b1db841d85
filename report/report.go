// Package report turns muxbench runs into what people and CI read: charts
// of latency, CPU and multiplexer work against the number of watched fds
// (SVG and PNG, drawn with gonum/plot) and a markdown report with the
// summary table and observations computed from the data. Old-versus-new
// comparisons are package compare's.
//
// Everything here works from the results record alone (run.json): nothing
// is re-measured. Statistics across repetitions come from
// results.Summarize; chart code only draws the numbers it is given.
package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

// ReportFile is the name of the markdown report Write creates.
const ReportFile = "report.md"

// Write renders every chart of the runs as SVG and PNG, and report.md, into
// dir (created if needed). Each file is replaced with atomicfile.Write
// (temporary file, fsync, rename), so an interrupted Write, or a crash,
// leaves no half-written file. Several inputs are overlaid into one report.
func Write(dir string, inputs ...Input) error {
	ds, err := prepare(inputs)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	charts := buildCharts(ds)
	for _, c := range charts {
		for _, f := range Formats {
			var buf bytes.Buffer
			if err := c.Render(&buf, f); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			if err := atomicfile.Write(filepath.Join(dir, c.Name+"."+f), buf.Bytes()); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		}
	}
	var md bytes.Buffer
	writeMarkdown(&md, ds, charts)
	if err := atomicfile.Write(filepath.Join(dir, ReportFile), md.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteMarkdown writes the markdown report of the runs to w, linking the
// charts by the names Write gives them. It does not render the charts.
func WriteMarkdown(w io.Writer, inputs ...Input) error {
	ds, err := prepare(inputs)
	if err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	var md bytes.Buffer
	writeMarkdown(&md, ds, buildCharts(ds))
	if _, err := w.Write(md.Bytes()); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

func writeMarkdown(b *bytes.Buffer, ds []dataset, charts []*Chart) {
	fmt.Fprintf(b, "# muxbench report: %s\n\n", scenarioNames(ds))
	if len(ds) > 1 {
		fmt.Fprintf(b, "%d runs overlaid: %s. Each series is labelled \"backend (run)\"", len(ds), joinLabels(ds))
		if slices.ContainsFunc(backends(ds), func(be string) bool { return inRuns(ds, be) == 1 }) {
			b.WriteString("; a backend or server in one run only, by its name, on the same axes")
		}
		b.WriteString(".\n\n")
	}
	descs := uniq(ds, "\x00", func(d dataset) string { return human.OneLine(d.Run.Scenario.Description) })
	if descs != "" && !strings.Contains(descs, "\x00") {
		fmt.Fprintf(b, "%s\n\n", descs) // one description, shared by all runs
	} else if descs != "" {
		for _, d := range ds {
			if desc := human.OneLine(d.Run.Scenario.Description); desc != "" {
				fmt.Fprintf(b, "**%s**: %s\n\n", d.Label, desc)
			}
		}
	}
	for _, d := range ds {
		if d.Run.Incomplete {
			fmt.Fprintf(b, "> **Incomplete run%s**: it was interrupted or stopped early; only the points it finished are shown.\n\n", labelSuffix(ds, d))
		}
	}

	b.WriteString("## What was run\n\n")
	writeRunTable(b, ds)

	b.WriteString("\n## Observations\n\n")
	anyObs := false
	for _, d := range ds {
		obs := observations(d)
		if len(ds) > 1 && len(obs) > 0 {
			fmt.Fprintf(b, "**%s**\n\n", d.Label)
		}
		for _, o := range obs {
			fmt.Fprintf(b, "- %s\n", o)
			anyObs = true
		}
		if len(ds) > 1 && len(obs) > 0 {
			b.WriteString("\n")
		}
	}
	if !anyObs {
		b.WriteString("None: too few measured points to say anything beyond the table.\n")
	}
	if side := obsExternal(ds); len(side) > 0 {
		b.WriteString("**Side by side**\n\n")
		for _, o := range side {
			fmt.Fprintf(b, "- %s\n", o)
		}
		b.WriteString("\n")
		anyObs = true
	}
	if len(ds) == 1 || !anyObs {
		b.WriteString("\n")
	}

	b.WriteString("## Charts\n\n")
	if len(charts) > 0 {
		fmt.Fprintf(b, "%s Hollow markers: saturated (open loop: achieved < %.0f%% of the requested rate, or the server CPU >= %.0f%% busy so CPU per request is only 1/rate); red rings: errors or failed repetitions; a red cross ends a line where the backend could not be measured.\n\n", charts[0].Footnote[0], traffic.SaturatedBelow*100, results.SaturatedCPU*100)
	}
	for _, c := range charts {
		fmt.Fprintf(b, "### %s\n\n%s\n\n", c.Title, c.Subtitle)
		fmt.Fprintf(b, "![%s](%s.png)\n\n[SVG](%s.svg)\n\n", c.Title, c.Name, c.Name)
	}

	b.WriteString("## Summary\n\n")
	b.WriteString("Medians across repetitions (the charts' error bars show the min–max spread). Latency is measured from the intended send time (corrected for coordinated omission); CPU is the server's over the measured window: for the event-loop backends the loop thread's own CPU time (schedstat: the multiplexer and the loop, not the Go runtime's other threads), for " + lineup.GoNet + " the whole process's user+system time (its server is the process); run.json keeps both for every sample. Points are compared only where every repetition was ok, and a difference is stated only where the two points' min–max ranges do not overlap.")
	if hasExternal(ds) {
		b.WriteString(externalNote)
	}
	b.WriteString("\n\n")
	acts := actives(ds)
	if herdRun(ds) {
		b.WriteString(wastedNote + " Max/min conns: the most and fewest connections one loop had — accepted in the window under churn, open at its end under keep-alive; busiest loop: the largest share of them.\n\n")
		writeHerdTable(b, ds)
		b.WriteString("\n")
		acts = nil
	}
	if rateRun(ds) {
		b.WriteString("CPU idle: the server CPUs' share of the window in cpuidle states, and their idle entries per request (— where /sys/devices/system/cpu/cpuN/cpuidle is not readable). Wake-ups: the loop thread's voluntary context switches per request.\n\n")
		writeRateTable(b, ds)
		b.WriteString("\n")
		acts = nil
	}
	for _, a := range acts {
		if len(acts) > 1 {
			fmt.Fprintf(b, "### %s\n\n", human.Plural(a, "active connection"))
		}
		writeSummaryTable(b, ds, a)
		b.WriteString("\n")
	}

	writeProblems(b, ds)
}

func joinLabels(ds []dataset) string {
	l := make([]string, len(ds))
	for i, d := range ds {
		l[i] = d.Label
	}
	return strings.Join(l, ", ")
}

func labelSuffix(ds []dataset, d dataset) string {
	if len(ds) == 1 {
		return ""
	}
	return " " + d.Label
}

// writeRunTable writes the scenario and environment, one column per run.
func writeRunTable(b *bytes.Buffer, ds []dataset) {
	rows := []struct {
		name string
		f    func(*results.Run) string
	}{
		{"scenario", func(r *results.Run) string { return r.Scenario.Name }},
		{"backends", func(r *results.Run) string { return strings.Join(r.Scenario.Backends, ", ") }},
		{"fds", func(r *results.Run) string { return joinInts(r.Scenario.FDs) }},
		{"active connections", func(r *results.Run) string { return joinInts(r.Scenario.Active) }},
		{"load", func(r *results.Run) string {
			s := loadText(r.Scenario)
			if r.Scenario.Size > 0 {
				s += fmt.Sprintf(", %d B messages", r.Scenario.Size)
			}
			if r.Scenario.Proto != "" {
				s += ", " + string(r.Scenario.Proto) + " protocol"
			}
			return s
		}},
		{"idle connections", func(r *results.Run) string {
			if k := r.Scenario.KeepAlive; k > 0 {
				return "one message every " + k.String()
			}
			return "silent"
		}},
		{"timing", func(r *results.Run) string {
			return fmt.Sprintf("warm-up %s, measured %s, %s (backends interleaved)", r.Scenario.Warmup, r.Scenario.Duration, human.Plural(r.Scenario.Repetitions, "repetition"))
		}},
		{"CPUs", func(r *results.Run) string {
			return fmt.Sprintf("server on CPU %s, load generator on CPU %s", orDash(r.Env.ServerCPUs), orDash(r.Env.ClientCPUs))
		}},
		{"host", func(r *results.Run) string {
			parts := []string{}
			if r.Env.Hostname != "" {
				parts = append(parts, r.Env.Hostname)
			}
			if r.Env.Kernel != "" {
				parts = append(parts, "Linux "+r.Env.Kernel)
			}
			if r.Env.CPUModel != "" {
				parts = append(parts, fmt.Sprintf("%s (%s)", r.Env.CPUModel, human.Plural(r.Env.Cores, "core")))
			}
			return strings.Join(parts, ", ")
		}},
		{"build", func(r *results.Run) string {
			if r.Env.GoVersion == "" && r.Env.Version == "" {
				return "unknown (a merge: each generator's build is in its own run)"
			}
			s := r.Env.GoVersion + ", muxbench " + r.Env.Version
			if c := r.Env.ShortCommit(); c != "" {
				s += " " + c
			}
			return s
		}},
		{"limits", func(r *results.Run) string {
			ports := strings.Join(strings.Fields(r.Env.PortRange), "–")
			somaxconn := "unknown"
			if r.Env.Somaxconn > 0 {
				somaxconn = fmt.Sprint(r.Env.Somaxconn)
			}
			return fmt.Sprintf("RLIMIT_NOFILE %d (hard %d), local ports %s, somaxconn %s", r.Env.NoFileSoft, r.Env.NoFileHard, orDash(ports), somaxconn)
		}},
		{"started", func(r *results.Run) string {
			if r.Started.IsZero() {
				return "unknown"
			}
			s := r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
			if !r.Finished.IsZero() {
				s += fmt.Sprintf(" (took %s)", r.Finished.Sub(r.Started).Round(1e9))
			}
			if r.Incomplete {
				s += ", **incomplete**"
			}
			return s
		}},
	}
	if slices.ContainsFunc(ds, func(d dataset) bool { return d.Run.Remote != nil || d.Run.External != nil }) {
		rows = append(rows[:1], append([]struct {
			name string
			f    func(*results.Run) string
		}{{"server", remoteText}}, rows[1:]...)...)
	}
	if len(ds) == 1 {
		b.WriteString("| | |\n|---|---|\n")
	} else {
		b.WriteString("| |")
		for _, d := range ds {
			fmt.Fprintf(b, " %s |", human.MDCell(d.Label))
		}
		b.WriteString("\n|---|")
		for range ds {
			b.WriteString("---|")
		}
		b.WriteString("\n")
	}
	for _, row := range rows {
		fmt.Fprintf(b, "| %s |", row.name)
		for _, d := range ds {
			fmt.Fprintf(b, " %s |", human.MDCell(row.f(d.Run)))
		}
		b.WriteString("\n")
	}
}

// remoteText says who started the run's server (an external or a remote
// one) and what the run's figures are of.
func remoteText(r *results.Run) string {
	if x := externalText(r); x != "" {
		return x
	}
	rem := r.Remote
	if rem == nil {
		return "started for every sample by the run"
	}
	s := fmt.Sprintf("remote, not started by the run: %s at %s (pid %d), sampled over its control port; its host's memory and CPU load not read", rem.Hello.Backend, rem.Addr, rem.Hello.PID)
	switch {
	case rem.Merged:
		s += fmt.Sprintf("; %d generators' shares merged: every point whole", rem.Generators)
	case rem.Generators > 1:
		s += fmt.Sprintf("; this run is generator %d of %d: requests and latencies are its share, server CPU per request is per request the server read", rem.GeneratorIndex, rem.Generators)
	}
	return s
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = human.Thousands(float64(n))
	}
	return strings.Join(s, ", ")
}

// writeSummaryTable writes one row per backend (and run) and fd count.
func writeSummaryTable(b *bytes.Buffer, ds []dataset, active int) {
	multi := len(ds) > 1
	b.WriteString("| backend |")
	if multi {
		b.WriteString(" run |")
	}
	b.WriteString(" fds | status | rate achieved / requested | p50 | p99 | server CPU / req | server CPU util | events / wait | waits / req | errors |\n|---|")
	if multi {
		b.WriteString("---|")
	}
	b.WriteString("---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, be := range backends(ds) {
		for _, d := range ds {
			for _, p := range d.pointsAt(be, active) {
				fmt.Fprintf(b, "| %s |", be)
				if multi {
					fmt.Fprintf(b, " %s |", human.MDCell(d.Label))
				}
				fmt.Fprintf(b, " %s | %s |", human.Thousands(float64(p.FDs)), p.Status)
				if !measured(p) {
					b.WriteString(" — | — | — | — | — | — | — | — |\n")
					continue
				}
				rate := human.Thousands(p.RateAchieved.Median)
				if p.RateRequested > 0 {
					rate += " / " + human.Thousands(p.RateRequested)
				}
				fmt.Fprintf(b, " %s | %s | %s | %s | %s | %s | %s | %d |\n",
					rate, human.Ns(p.P50.Median), human.Ns(p.P99.Median), human.Ns(p.ServerCPUPerReq.Median),
					fmtPct(p.ServerCPUUtil.Median), fmtCount(p.EventsPerWait.Median), fmtCount(p.WaitsPerReq.Median), p.Errors)
			}
		}
	}
}

// pointsAt returns the dataset's points for a backend at an active count,
// by increasing fds.
func (d dataset) pointsAt(backend string, active int) []results.Point {
	var out []results.Point
	for _, p := range d.points {
		if p.Backend == backend && p.Active == active {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FDs < out[j].FDs })
	return out
}

// measured reports whether a point has numbers (not unsupported or failed).
func measured(p results.Point) bool {
	return p.Status != results.StatusUnsupported && p.Status != results.StatusFailed && p.Reps > 0
}

// writeProblems lists every point that was not a clean measurement, with
// its reason: nothing flagged is dropped silently.
func writeProblems(b *bytes.Buffer, ds []dataset) {
	var lines []string
	for _, be := range backends(ds) {
		for _, d := range ds {
			for _, a := range actives(ds) {
				for _, p := range d.pointsAt(be, a) {
					if p.Status == results.StatusOK {
						continue
					}
					l := fmt.Sprintf("%s%s at %s fds, %s%s: **%s**", be, labelSuffix(ds, d), human.Thousands(float64(p.FDs)), human.Plural(p.Active, "active connection"), axesText(p), p.Status)
					if p.Status == results.StatusSaturated && p.RateRequested > 0 {
						l += fmt.Sprintf(" (achieved %s of %s req/s)", human.Thousands(p.RateAchieved.Median), human.Thousands(p.RateRequested))
					}
					if p.Errors > 0 {
						l += fmt.Sprintf(", %d errors", p.Errors)
					}
					if p.Reason != "" {
						l += " — " + human.OneLine(p.Reason)
					}
					lines = append(lines, l)
				}
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("## Points that were not clean measurements\n\n")
	for _, l := range lines {
		fmt.Fprintf(b, "- %s\n", l)
	}
	b.WriteString("\n")
}

// axesText names a point's place on the loops and churn axes, where it
// has one: ", 4 loops, churn".
func axesText(p results.Point) string {
	s := ""
	if p.Loops > 1 {
		s += fmt.Sprintf(", %d loops", p.Loops)
	}
	if p.Churn {
		s += ", churn"
	}
	return s
}

// fmtPct formats a utilisation (1.0 = one core) as a percentage.
func fmtPct(u float64) string { return human.Sig3(u*100) + "%" }

// fmtCount formats a per-call or per-request count; 0 means not counted.
func fmtCount(v float64) string {
	if v <= 0 {
		return "—"
	}
	return human.Sig3(v)
}
