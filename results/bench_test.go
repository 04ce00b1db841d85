package results

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// TestBenchReadsBack reads bench.txt with x/perf's own reader, as benchstat
// does, and checks every config key, unit and value against the samples.
func TestBenchReadsBack(t *testing.T) {
	run := testRun()
	var buf bytes.Buffer
	if err := WriteBench(&buf, run); err != nil {
		t.Fatal(err)
	}

	var want []*Sample
	for i := range run.Samples {
		if s := &run.Samples[i]; measured(s.Status) && s.Requests > 0 {
			want = append(want, s)
		}
	}
	if len(want) != 10 {
		t.Fatalf("testRun has %d measured samples, the test expects 10", len(want))
	}

	r := benchfmt.NewReader(&buf, "bench.txt")
	var results []*benchfmt.Result
	units := map[string]string{} // tidied unit -> better
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("benchfmt: %v", rec)
		case *benchfmt.UnitMetadata:
			if rec.Key == "better" {
				units[rec.Unit] = rec.Value
			}
		case *benchfmt.Result:
			results = append(results, rec.Clone())
		}
	}
	if err := r.Err(); err != nil {
		t.Fatalf("benchfmt: %v", err)
	}

	// benchfmt tidies "ns" units to seconds; the metadata is keyed by the
	// tidied unit.
	wantUnits := map[string]string{
		"sec/op": "lower", "p50-sec": "lower", "p99-sec": "lower", "p999-sec": "lower",
		"cpu-sec/op": "lower", "cpu-util": "lower", "req/s": "higher", "waits/op": "lower",
	}
	for unit, better := range wantUnits {
		if units[unit] != better {
			t.Errorf("unit %s: better=%q, want %q", unit, units[unit], better)
		}
	}

	if len(results) != len(want) {
		t.Fatalf("read %d results, want one per measured sample: %d", len(results), len(want))
	}
	wantConfig := map[string]string{
		"goos": "linux", "goarch": "amd64", "cpu": "AMD EPYC 7B13", "kernel": "6.8.0-45-generic",
		"go": "go1.26.0", "muxbench-version": "devel", "muxbench-commit": "0123456789abcdef-dirty",
		"scenario": "smoke", "mode": "open", "rate": "500", "size": "64",
	}
	for i, res := range results {
		s := want[i]
		for k, v := range wantConfig {
			if got := res.GetConfig(k); got != v {
				t.Errorf("result %d config %s = %q, want %q", i, k, got, v)
			}
		}
		base, parts := res.Name.Parts()
		wantParts := []string{"/backend=" + s.Backend, "/fds=" + strconv.Itoa(s.FDs), "/active=" + strconv.Itoa(s.Active)}
		if string(base) != "Mux" || len(parts) != 3 || string(parts[0]) != wantParts[0] ||
			string(parts[1]) != wantParts[1] || string(parts[2]) != wantParts[2] {
			t.Errorf("result %d name %s, want Mux%s", i, res.Name, strings.Join(wantParts, ""))
		}
		if res.Iters != int(s.Requests) {
			t.Errorf("result %d iterations %d, want the requests %d", i, res.Iters, s.Requests)
		}
		for _, c := range []struct {
			unit string
			want float64
			tol  float64
		}{
			{"sec/op", float64(s.WindowNs) / float64(s.Requests) * 1e-9, 1e-10},
			{"p50-sec", float64(s.Latency.P50) * 1e-9, 1e-15},
			{"p99-sec", float64(s.Latency.P99) * 1e-9, 1e-15},
			{"p999-sec", float64(s.Latency.P999) * 1e-9, 1e-15},
			{"cpu-sec/op", s.Server.CPUNsPerReq * 1e-9, 1e-10},
			{"cpu-util", s.Server.CPUUtil, 1e-6},
			{"req/s", s.RateAchieved, 0.1},
			{"waits/op", s.Server.WaitsPerReq, 1e-3},
		} {
			got, ok := res.Value(c.unit)
			if !ok || math.Abs(got-c.want) > c.tol {
				t.Errorf("result %d (%s): %s = %v (present %v), want %v", i, res.Name, c.unit, got, ok, c.want)
			}
		}
	}
}

func TestBenchEscapes(t *testing.T) {
	run := testRun()
	run.Env.CPUModel = "  Intel(R)\nXeon  "
	run.Env.Commit = ""
	run.Samples = run.Samples[:1]
	run.Samples[0].Backend = "my backend/v=2"
	var buf bytes.Buffer
	if err := WriteBench(&buf, run); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{
		"cpu: Intel(R) Xeon\n",
		"muxbench-commit: unknown\n",
		"BenchmarkMux/backend=my_backend_v_2/fds=10/active=2 ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("bench.txt lacks %q:\n%s", want, text)
		}
	}
}
