package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/muxbench/muxbench/internal/golden"
	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
)

var (
	update = flag.Bool("update", false, "rewrite the golden files in testdata")
	keep   = flag.String("keep", "", "also write the synthetic report and charts into `DIR`, to look at them")
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}

func TestMarkdownGolden(t *testing.T) {
	run := reporttest.Run(reporttest.Options{ErrorsAt: map[string]int{"epoll-et": 20001}})
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, Input{Run: run}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.md", buf.Bytes())
}

func TestMarkdownCombinedGolden(t *testing.T) {
	a := reporttest.Run(reporttest.Options{FDs: []int{101, 1001, 10001}, Active: []int{1, 32}, Reps: 3})
	b := reporttest.Run(reporttest.Options{FDs: []int{101, 1001, 10001}, Active: []int{1, 32}, Reps: 3, Seed: 2,
		Scale: map[string]float64{"poll": 1.5}})
	b.Env.Hostname = "bench-2"
	b.Env.Kernel = "6.11.0-9-generic"
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, Input{Run: a}, Input{Run: b}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report-combined.golden.md", buf.Bytes())
	// Unlabelled runs are told apart by what differs: the host here.
	if !strings.Contains(buf.String(), "2 runs overlaid: bench-1, bench-2.") {
		t.Error("combined report does not label the runs by host")
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	run := reporttest.Run(reporttest.Options{ErrorsAt: map[string]int{"epoll-et": 20001}})
	if err := Write(dir, Input{Run: run}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range ChartKinds() {
		want = append(want, k+".png", k+".svg")
	}
	want = append(want, ReportFile)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name()) // also catches leftover temporary files
	}
	if strings.Join(sorted(got), " ") != strings.Join(sorted(want), " ") {
		t.Errorf("files written = %v; want %v", got, want)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, Input{Run: run}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md, buf.Bytes()) {
		t.Error("report.md differs from WriteMarkdown's output")
	}
	// Every chart the report links exists.
	for _, line := range strings.Split(string(md), "\n") {
		for _, f := range links(line) {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("report.md links %s: %v", f, err)
			}
		}
	}
	if *keep != "" {
		if err := Write(*keep, Input{Run: run}); err != nil {
			t.Fatal(err)
		}
	}
}

// links returns the targets of markdown links and images in line.
func links(line string) []string {
	var out []string
	for {
		i := strings.Index(line, "](")
		if i < 0 {
			return out
		}
		line = line[i+2:]
		j := strings.Index(line, ")")
		if j < 0 {
			return out
		}
		out = append(out, line[:j])
		line = line[j:]
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestWriteErrors(t *testing.T) {
	if err := Write(t.TempDir()); err == nil {
		t.Error("Write with no runs: got nil error")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run := reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1})
	if err := Write(filepath.Join(file, "sub"), Input{Run: run}); err == nil {
		t.Error("Write under a regular file: got nil error")
	}
}

// exactRun builds a run whose medians are exactly the given CPU per request
// (ns) and p99 (ns): three repetitions at 0.98, 1 and 1.02 times each value.
// A negative CPU marks the point unsupported.
func exactRun(cpu map[string]map[int]float64, p99 map[string]map[int]float64, waits map[string]float64) *results.Run {
	run := &results.Run{
		Schema: results.SchemaVersion, Tool: "muxbench",
		Started:  time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Scenario: results.Scenario{Name: "exact", Mode: "open", Rate: results.Rates{1000}, Size: 16, Repetitions: 3},
	}
	for _, b := range []string{"select", "poll", "epoll-lt", "epoll-et", "uring-poll", "uring", "gonet", "poll-sharedfd", "select-sharedfd", "epoll-lt-sharedfd"} {
		if _, ok := cpu[b]; !ok {
			continue
		}
		run.Scenario.Backends = append(run.Scenario.Backends, b)
	}
	for rep, f := range []float64{0.98, 1, 1.02} {
		for _, b := range run.Scenario.Backends {
			for _, fds := range sortedKeys(cpu[b]) {
				c := cpu[b][fds]
				s := results.Sample{Backend: b, FDs: fds, Active: 8, Repetition: rep, Mode: "open", Status: results.StatusOK, RateRequested: 1000, RateAchieved: 1000}
				if c < 0 {
					s.Status, s.Reason = results.StatusUnsupported, "fd 1030 >= FD_SETSIZE (1024)"
				} else {
					s.Server.CPUNsPerReq = c * f
					s.Latency.P99 = int64(p99[b][fds] * f)
					s.Latency.P50 = s.Latency.P99 / 3
					s.Server.WaitsPerReq = waits[b] * f
				}
				run.Samples = append(run.Samples, s)
			}
		}
	}
	return run
}

func sortedKeys(m map[int]float64) []int {
	var k []int
	for f := range m {
		k = append(k, f)
	}
	for i := range k {
		for j := i + 1; j < len(k); j++ {
			if k[j] < k[i] {
				k[i], k[j] = k[j], k[i]
			}
		}
	}
	return k
}

func TestObservations(t *testing.T) {
	flat := func(v float64) map[int]float64 { return map[int]float64{100: v, 1000: v, 10000: v} }
	tests := []struct {
		name    string
		cpu     map[string]map[int]float64
		p99     map[string]map[int]float64
		waits   map[string]float64
		want    []string // substrings, each in some observation
		notWant []string // substrings in no observation
		count   int      // exact number of observations, -1 = don't care
	}{
		{
			name: "classic sweep",
			cpu: map[string]map[int]float64{
				"select":   {100: 4000, 1000: 40000, 10000: -1},
				"poll":     {100: 4000, 1000: 38000, 10000: 380000},
				"epoll-lt": flat(4000),
				"epoll-et": flat(3000),
				"gonet":    flat(6000),
			},
			p99: map[string]map[int]float64{
				"select": flat(100e3), "poll": {100: 100e3, 1000: 200e3, 10000: 2.1e6},
				"epoll-lt": flat(85e3), "epoll-et": flat(80e3), "gonet": flat(170e3),
			},
			waits: map[string]float64{"select": 1, "poll": 1, "epoll-lt": 1, "epoll-et": 0.5},
			want: []string{
				"select was unsupported from 10,000 fds up (it ran up to 1,000): fd 1030 >= FD_SETSIZE (1024).",
				"At 10,000 fds, poll spent 95× epoll-lt's CPU per request (380 µs vs 4.00 µs, medians); at 1,000 fds, select spent 10× epoll-lt's CPU per request (40.0 µs vs 4.00 µs, medians).",
				"From 100 to 10,000 fds (100× the fds), server CPU per request grew 95× for poll and 10× for select (up to 1,000 fds); it stayed within 1.5× for epoll-lt (within the spread of repetitions), epoll-et (within the spread of repetitions) and gonet (within the spread of repetitions).",
				"epoll-et used 25% less CPU per request than epoll-lt (0.75× at each of 3 fd counts); wait calls per request 0.50× epoll-lt's.",
				"At 10,000 fds, gonet (Go's own netpoller; its whole process) spent 1.5× epoll-lt's CPU per request (6.00 µs vs 4.00 µs of epoll-lt's loop thread) and its p99 latency was 2.0× epoll-lt's (170 µs vs 85.0 µs).",
			},
			notWant: []string{"Not clean", "p99 latency ranged"}, // no problems; spread cut by the cap of 5
			count:   5,
		},
		{
			name: "epoll only",
			cpu:  map[string]map[int]float64{"epoll-lt": flat(4000), "epoll-et": flat(4100)},
			p99:  map[string]map[int]float64{"epoll-lt": flat(100e3), "epoll-et": flat(300e3)},
			want: []string{
				"stayed within 1.5× for epoll-lt (within the spread of repetitions) and epoll-et (within the spread of repetitions)",
				"epoll-et used the same CPU per request as epoll-lt within the spread of repetitions",
				"At 10,000 fds, p99 latency ranged from 100 µs (epoll-lt) to 300 µs (epoll-et), 3.0× apart.",
			},
			notWant: []string{"select", "poll ", "gonet", "wait calls"},
			count:   3,
		},
		{
			name: "io_uring beside epoll",
			cpu: map[string]map[int]float64{
				"epoll-lt":   flat(4000),
				"uring-poll": {100: 3000, 1000: 3000, 10000: 4000},
				"uring":      {100: 5000, 1000: 5000, 10000: 5000},
			},
			p99:   map[string]map[int]float64{"epoll-lt": flat(100e3), "uring-poll": flat(100e3), "uring": flat(100e3)},
			waits: map[string]float64{"epoll-lt": 1, "uring-poll": 1, "uring": 2},
			want: []string{
				"io_uring against epoll-lt: uring-poll used 17% less CPU per request than epoll-lt (geometric mean over 3 fd counts): less beyond the spread at 100 and 1,000 fds, the same within it at 10,000 fds; 1.00× epoll-lt's wait calls (io_uring_enter) per request; " +
					"uring used 1.2× epoll-lt's CPU per request (geometric mean over 3 fd counts): more at 100, 1,000 and 10,000 fds; 2.00× epoll-lt's wait calls (io_uring_enter) per request.",
			},
			count: -1,
		},
		{
			// poll's shared table costs 1,200 ns more per call at 1,000
			// fds (1.2 ns per fd; the ranges, ±2%, are apart); select's
			// 100 ns (inside the spread); epoll-lt's -sharedfd ran alone.
			name: "shared fd table",
			cpu: map[string]map[int]float64{
				"poll": {100: 4000, 1000: 20000}, "poll-sharedfd": {100: 4200, 1000: 21200},
				"select": {1000: 20000}, "select-sharedfd": {1000: 20100},
				"epoll-lt-sharedfd": {1000: 4000},
			},
			p99:   map[string]map[int]float64{},
			waits: map[string]float64{"poll": 1, "poll-sharedfd": 1, "select": 1, "select-sharedfd": 1, "epoll-lt-sharedfd": 1},
			want: []string{
				"A multi-threaded process (the loop thread in the process's shared fd table) pays 1.2 ns [0.38, 2] per watched fd per call (poll-sharedfd against poll at 1,000 fds: 21.2 µs vs 20.0 µs CPU per wait call, medians); " +
					"no cost beyond the spread of repetitions (select-sharedfd against select at 1,000 fds: 20.1 µs vs 20.0 µs CPU per wait call, medians); interval from the repetitions' min–max, a cost stated only when it excludes 0.",
			},
			notWant: []string{"epoll-lt-sharedfd against"},
			count:   -1,
		},
		{
			name:    "one fd count",
			cpu:     map[string]map[int]float64{"poll": {1000: 8000}, "epoll-lt": {1000: 4000}},
			p99:     map[string]map[int]float64{"poll": {1000: 100e3}, "epoll-lt": {1000: 110e3}},
			want:    []string{"At 1,000 fds, poll spent 2.0× epoll-lt's CPU per request", "p99 latency was within 20% or the spread of repetitions across backends"},
			notWant: []string{"From ", "Edge-"},
			count:   2,
		},
		{
			name:  "nothing measured",
			cpu:   map[string]map[int]float64{"select": {2000: -1}},
			p99:   map[string]map[int]float64{},
			want:  []string{"select was unsupported at every fd count: fd 1030 >= FD_SETSIZE (1024)."},
			count: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := prepare([]Input{{Run: exactRun(tt.cpu, tt.p99, tt.waits)}})
			if err != nil {
				t.Fatal(err)
			}
			obs := observations(ds[0])
			all := strings.Join(obs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("observations lack %q; got:\n%s", w, all)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(all, w) {
					t.Errorf("observations contain %q; got:\n%s", w, all)
				}
			}
			if tt.count >= 0 && len(obs) != tt.count {
				t.Errorf("%d observations; want %d:\n%s", len(obs), tt.count, all)
			}
		})
	}
}

func TestNoObservations(t *testing.T) {
	run := &results.Run{Schema: results.SchemaVersion, Tool: "muxbench", Scenario: results.Scenario{Name: "empty"}}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, Input{Run: run}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "None: too few measured points") {
		t.Errorf("report of an empty run does not say there is nothing to observe:\n%s", buf.String())
	}
}

// TestObservationsOneRepetition: one repetition has no spread, so no
// difference is claimed from it however large the medians' ratio.
func TestObservationsOneRepetition(t *testing.T) {
	run := exactRun(map[string]map[int]float64{"poll": {100: 8000, 1000: 80000}, "epoll-lt": {100: 4000, 1000: 4000}},
		map[string]map[int]float64{"poll": {100: 100e3, 1000: 100e3}, "epoll-lt": {100: 100e3, 1000: 100e3}}, nil)
	var first []results.Sample
	for _, s := range run.Samples {
		if s.Repetition == 0 {
			first = append(first, s)
		}
	}
	run.Samples, run.Scenario.Repetitions = first, 1
	ds, err := prepare([]Input{{Run: run}})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(observations(ds[0]), "\n")
	for _, bad := range []string{"20×", "grew", "less CPU"} {
		if strings.Contains(all, bad) {
			t.Errorf("observations from one repetition claim a difference (%q):\n%s", bad, all)
		}
	}
	if want := "poll spent the same CPU per request as epoll-lt within the spread of repetitions"; !strings.Contains(all, want) {
		t.Errorf("observations lack %q; got:\n%s", want, all)
	}
}
