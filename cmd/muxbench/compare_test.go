package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/internal/golden"
	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// execMuxbench runs the CLI in-process and returns its exit status and output.
func execMuxbench(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// writeRun writes run as a results directory dir (relative to the current
// directory) and returns dir.
func writeRun(t *testing.T, dir string, run *results.Run) string {
	t.Helper()
	if err := results.WriteDir(dir, run); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCompareGolden compares two synthetic runs that differ the way real
// ones do: NEW added gonet and a larger fd count, poll got twice as slow,
// select is unsupported past FD_SETSIZE in both.
func TestCompareGolden(t *testing.T) {
	goldenDir, err := filepath.Abs(filepath.Join("testdata", "compare"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // so the runs are named "old" and "new" in the output
	writeRun(t, "old", reporttest.Run(reporttest.Options{
		Backends: []string{"select", "poll", "epoll-lt", "epoll-et"},
		FDs:      []int{101, 1001, 10001},
	}))
	writeRun(t, "new", reporttest.Run(reporttest.Options{
		Backends: []string{"select", "poll", "epoll-lt", "epoll-et", "gonet"},
		FDs:      []int{101, 1001, 10001, 20001},
		Seed:     2,
		Scale:    map[string]float64{"poll": 2},
	}))
	for _, format := range []string{"text", "markdown", "csv", "json"} {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := execMuxbench(t, "compare", "-threshold", "10%", "-format", format, "old", "new")
			if code != 1 {
				t.Errorf("exit status %d; want 1 (poll regressed 2×); stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, "regression(s) beyond -threshold 10%") {
				t.Errorf("stderr = %q; want it to say the gate failed", stderr)
			}
			ext := map[string]string{"text": "txt", "markdown": "md", "csv": "csv", "json": "json"}[format]
			golden.Check(t, filepath.Join(goldenDir, "old-new."+ext), []byte(stdout), *updateGolden)
		})
	}
}

func TestCompareGate(t *testing.T) {
	t.Chdir(t.TempDir())
	base := reporttest.Options{FDs: []int{101, 1001, 10001}} // 5 repetitions
	writeRun(t, "old", reporttest.Run(base))
	rerun := base
	rerun.Seed = 2 // the same code measured again: only noise differs
	writeRun(t, "rerun", reporttest.Run(rerun))
	slow := rerun
	slow.Scale = map[string]float64{"epoll-lt": 2}
	writeRun(t, "slow", reporttest.Run(slow))
	one := reporttest.Options{FDs: []int{101, 1001}, Reps: 1}
	writeRun(t, "one-old", reporttest.Run(one))
	one.Scale = map[string]float64{"epoll-lt": 2}
	writeRun(t, "one-slow", reporttest.Run(one))

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
	}{
		{"noise passes the gate", []string{"-threshold", "10%", "old", "rerun"}, 0, []string{"Gate: PASS"}},
		{"2× slower fails the gate", []string{"-threshold", "10%", "old", "slow"}, 1, []string{"Gate: FAIL (9 beyond 10% or lost)", "REGRESSION", "epoll-lt server CPU per request at 101 fds"}},
		{"bare number is a percentage", []string{"-threshold", "10", "old", "slow"}, 1, []string{"Gate: FAIL"}},
		{"a threshold above the change passes", []string{"-threshold", "150%", "old", "slow"}, 0, []string{"Gate: PASS", "worse"}},
		{"no threshold reports only", []string{"old", "slow"}, 0, []string{"gate: off", "worse"}},
		{"run.json paths work", []string{"-threshold", "10%", "old/run.json", "slow/run.json"}, 1, []string{"Gate: FAIL"}},
		{"one repetition cannot decide", []string{"-threshold", "10%", "one-old", "one-slow"}, 2, []string{"n too small", "Gate: cannot decide: 1 repetition, need >= 4 per side"}},
		{"one repetition, report only", []string{"one-old", "one-slow"}, 0, []string{"n too small", "cannot decide: 1 repetition, need >= 4 per side (report only; a gate would exit 2)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := execMuxbench(t, append([]string{"compare"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit status %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func TestCompareBadInput(t *testing.T) {
	t.Chdir(t.TempDir())
	writeRun(t, "good", reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 2}))
	files := map[string]string{
		"corrupt.json": `{"schema": 1, "tool": "muxbench", "samples": [`,
		"foreign.json": `{"name": "some other tool's output"}`,
		"schema.json":  `{"schema": 99, "tool": "muxbench"}`,
		"empty.json":   ``,
	}
	for name, data := range files {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no arguments", nil, "want OLD and NEW, got 0 argument(s)"},
		{"one argument", []string{"good"}, "want OLD and NEW, got 1 argument(s)"},
		{"three arguments", []string{"good", "good", "good"}, "want OLD and NEW, got 3 argument(s)"},
		{"missing OLD", []string{"missing", "good"}, "read OLD missing"},
		{"missing NEW", []string{"good", "missing"}, "read NEW missing"},
		{"corrupt", []string{"corrupt.json", "good"}, "corrupt run record"},
		{"empty", []string{"good", "empty.json"}, "the file is empty"},
		{"foreign", []string{"foreign.json", "good"}, "not a muxbench run record"},
		{"wrong schema", []string{"schema.json", "good"}, "unsupported schema version"},
		{"bad format", []string{"-format", "xml", "good", "good"}, `-format "xml": want one of text, markdown, csv, json`},
		{"bad alpha", []string{"-alpha", "1.5", "good", "good"}, "-alpha 1.5: want a value between 0 and 1"},
		{"bad threshold", []string{"-threshold", "ten", "good", "good"}, `-threshold "ten": want a percentage such as 10%`},
		{"negative threshold", []string{"-threshold", "-5%", "good", "good"}, "must not be negative"},
		{"flag after arguments", []string{"good", "good", "-threshold", "10%"}, "flag -threshold after the arguments"},
		{"unknown flag", []string{"-bogus", "good", "good"}, "unknown flag -bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := execMuxbench(t, append([]string{"compare"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit status %d; want 2", code)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, tt.wantErr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q; want nothing on bad input", stdout)
			}
		})
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"10%", 0.10, true}, {"10", 0.10, true}, {" 2.5% ", 0.025, true}, {"0%", 0, true},
		{"", 0, false}, {"%", 0, false}, {"ten", 0, false}, {"-1%", 0, false}, {"NaN%", 0, false}, {"Inf", 0, false},
	}
	for _, tt := range tests {
		got, err := parsePercent(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parsePercent(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestCompareUndecided: a gate that compared nothing, or whose repetitions
// are too few for any test to reach alpha, exits 2 and says why; without
// -threshold the same comparison is reported and exits 0.
func TestCompareUndecided(t *testing.T) {
	t.Chdir(t.TempDir())
	base := reporttest.Options{FDs: []int{101, 1001}}
	writeRun(t, "old", reporttest.Run(base))
	empty := reporttest.Run(base)
	empty.Samples = nil
	writeRun(t, "empty", empty)
	other := reporttest.Run(base)
	other.Scenario.Name = "busy-sweep"
	writeRun(t, "other-scenario", other)
	disjoint := base
	disjoint.FDs = []int{501, 2001}
	writeRun(t, "disjoint", reporttest.Run(disjoint))
	saturated := func(seed uint64) *results.Run {
		o := base
		o.Seed = seed
		r := reporttest.Run(o)
		for i := range r.Samples {
			if r.Samples[i].Status == results.StatusOK {
				r.Samples[i].Status = results.StatusSaturated
			}
		}
		return r
	}
	writeRun(t, "sat-old", saturated(1))
	writeRun(t, "sat-new", saturated(2))
	three := base
	three.Reps = 3
	writeRun(t, "three-old", reporttest.Run(three))
	three.Seed, three.Scale = 2, map[string]float64{"epoll-lt": 2}
	writeRun(t, "three-slow", reporttest.Run(three))

	tests := []struct {
		name     string
		old, new string
		want     string // on stdout, and on stderr when gating
	}{
		{"OLD has no samples", "empty", "old", "nothing compared: OLD has no samples"},
		{"NEW has no samples", "old", "empty", "nothing compared: NEW has no samples"},
		{"different scenarios", "old", "other-scenario", "nothing compared: different scenarios (OLD idle-sweep, NEW busy-sweep)"},
		{"no common point", "old", "disjoint", "nothing compared: no point (backend, fds, active, and loops, churn or rate where swept) is in both runs"},
		{"every point skipped", "sat-old", "sat-new", "nothing compared: every point in both runs was skipped"},
		{"three repetitions", "three-old", "three-slow", "cannot decide: 3 repetitions, need >= 4 per side"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := execMuxbench(t, "compare", "-threshold", "10%", tt.old, tt.new)
			if code != 2 {
				t.Errorf("gate: exit status %d; want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.want) || !strings.Contains(stderr, tt.want) {
				t.Errorf("gate: stdout and stderr should both say %q\nstdout:\n%s\nstderr:\n%s", tt.want, stdout, stderr)
			}
			if !strings.Contains(stdout, "Gate: cannot decide") || strings.Contains(stdout, "FAIL") {
				t.Errorf("gate: stdout should say the gate cannot decide, and not FAIL (exit 2 is not a regression):\n%s", stdout)
			}
			code, stdout, stderr = execMuxbench(t, "compare", tt.old, tt.new)
			if code != 0 {
				t.Errorf("report only: exit status %d; want 0\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stdout, tt.want) {
				t.Errorf("report only: stdout lacks %q:\n%s", tt.want, stdout)
			}
		})
	}
}
