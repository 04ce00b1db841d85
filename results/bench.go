package results

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// benchUnits are the measurements of each bench.txt line, in order, with
// whether lower or higher is better (written as "Unit" metadata lines so
// benchstat marks improvements the right way round). The ns units are
// shown by benchstat in seconds ("p99-sec"): it normalises any "ns".
var benchUnits = []struct {
	unit   string
	better string
	value  func(s *Sample) string
}{
	// Wall time per completed request: the window over the requests, as
	// testing.B would report for a loop of N requests. In open loop it
	// only mirrors the requested rate (1e9 / req/s); compare the latency
	// and CPU units instead.
	{"ns/op", "lower", func(s *Sample) string { return fixed(float64(s.WindowNs)/float64(s.Requests), 1) }},
	{"p50-ns", "lower", func(s *Sample) string { return strconv.FormatInt(s.Latency.P50, 10) }},
	{"p99-ns", "lower", func(s *Sample) string { return strconv.FormatInt(s.Latency.P99, 10) }},
	{"p999-ns", "lower", func(s *Sample) string { return strconv.FormatInt(s.Latency.P999, 10) }},
	// Server CPU (user+sys) per request, and in cores.
	{"cpu-ns/op", "lower", func(s *Sample) string { return fixed(s.Server.CPUNsPerReq, 1) }},
	{"cpu-util", "lower", func(s *Sample) string { return fixed(s.Server.CPUUtil, 6) }},
	{"req/s", "higher", func(s *Sample) string { return fixed(s.RateAchieved, 1) }},
	// Wait calls per request; left out where the backend has none of its
	// own to count (gonet: the runtime's netpoller).
	{"waits/op", "lower", func(s *Sample) string {
		if s.Server.Waits == 0 {
			return ""
		}
		return fixed(s.Server.WaitsPerReq, 3)
	}},
}

// WriteBench writes the measured samples of run in the Go benchmark format
// (https://go.dev/design/14313-benchmark-format), so benchstat reads it
// unchanged. Config lines come first (goos, goarch, cpu, kernel, go,
// muxbench-version, muxbench-commit, scenario, mode, rate, size), then a
// Unit line per custom unit, then one line per sample:
//
//	BenchmarkMux/backend=epoll-et/fds=1000/active=32 5997 333444.4 ns/op 41023 p50-ns 98111 p99-ns 120000 p999-ns 12345.6 cpu-ns/op 0.0247 cpu-util 1999.0 req/s 0.980 waits/op
//
// where the iteration count is the completed requests and ns/op is the
// measured window divided by them. A scenario that sweeps the rate adds
// /rate=R (the sample's requested req/s) to every name, and a sample of
// several loops, or of a churn load, /loops=N or /churn=true; a scenario
// without those axes keeps the names above. Samples that measured nothing
// (unsupported, failed, or no completed request) are left out; run.json
// and summary.csv keep them with their reason.
//
// Because benchstat groups results into tables by all config lines, runs
// of different muxbench commits compare with
// `benchstat -col muxbench-commit old/bench.txt new/bench.txt`, or by file
// with `-ignore muxbench-commit`.
func WriteBench(w io.Writer, run *Run) error {
	bw := bufio.NewWriter(w)
	commit := run.Env.Commit
	if commit != "" && run.Env.Dirty {
		commit += "-dirty"
	}
	for _, c := range []struct{ key, value string }{
		{"goos", run.Env.OS},
		{"goarch", run.Env.Arch},
		{"cpu", run.Env.CPUModel},
		{"kernel", run.Env.Kernel},
		{"go", run.Env.GoVersion},
		{"muxbench-version", run.Env.Version},
		{"muxbench-commit", commit},
		{"scenario", run.Scenario.Name},
		{"mode", string(run.Scenario.Mode)},
		{"rate", rateConfig(run.Scenario.Rate)},
		{"size", strconv.Itoa(run.Scenario.Size)},
	} {
		fmt.Fprintf(bw, "%s: %s\n", c.key, configValue(c.value))
	}
	for _, u := range benchUnits {
		fmt.Fprintf(bw, "Unit %s better=%s\n", u.unit, u.better)
	}
	for i := range run.Samples {
		s := &run.Samples[i]
		if !measured(s.Status) || s.Requests <= 0 {
			continue
		}
		fmt.Fprintf(bw, "BenchmarkMux/backend=%s/fds=%d/active=%d", nameValue(s.Backend), s.FDs, s.Active)
		if run.Scenario.Rate.Several() {
			fmt.Fprintf(bw, "/rate=%s", formatFloat(s.RateRequested)) // the scenario's axes, where it has them
		}
		if s.Loops > 1 {
			fmt.Fprintf(bw, "/loops=%d", s.Loops)
		}
		if s.Churn {
			bw.WriteString("/churn=true")
		}
		fmt.Fprintf(bw, " %d", s.Requests)
		for _, u := range benchUnits {
			if v := u.value(s); v != "" {
				fmt.Fprintf(bw, " %s %s", v, u.unit)
			}
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", BenchFile, err)
	}
	return nil
}

// rateConfig is the rate config line's value: the one rate, or the rate
// axis's values separated by spaces ("100 1000 10000": each line's name
// says which).
func rateConfig(r Rates) string {
	v := make([]string, len(r.Values()))
	for i, x := range r.Values() {
		v[i] = formatFloat(x)
	}
	return strings.Join(v, " ")
}

// configValue keeps a config value on one line and non-empty, as the
// format requires.
func configValue(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if v == "" {
		return "unknown"
	}
	return v
}

// nameValue keeps a sub-benchmark value from breaking the name: no spaces,
// no '/' (a new name part) and no '=' (a new key).
func nameValue(v string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '/', '=':
			return '_'
		}
		return r
	}, v)
}

func fixed(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }
