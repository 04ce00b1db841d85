package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/report/reporttest"
)

// chartFiles lists the files a report over one active-connection count writes.
func chartFiles() []string {
	out := []string{report.ReportFile}
	for _, k := range report.ChartKinds() {
		out = append(out, k+".svg", k+".png")
	}
	return out
}

func TestReportCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	small := reporttest.Options{FDs: []int{101, 1001, 2001}, Reps: 2}
	writeRun(t, "a", reporttest.Run(small))
	small.Seed = 2
	writeRun(t, "b", reporttest.Run(small))

	t.Run("one directory, in place", func(t *testing.T) {
		code, _, stderr := execMuxbench(t, "report", "a")
		if code != 0 {
			t.Fatalf("exit status %d; stderr: %s", code, stderr)
		}
		for _, f := range chartFiles() {
			if _, err := os.Stat(filepath.Join("a", f)); err != nil {
				t.Errorf("report a did not write %s: %v", f, err)
			}
		}
		md, err := os.ReadFile(filepath.Join("a", report.ReportFile))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(md), "select was unsupported from 2,001 fds up") {
			t.Errorf("report.md lacks the FD_SETSIZE observation:\n%s", md)
		}
	})

	t.Run("run.json path writes next to it", func(t *testing.T) {
		if err := os.Remove(filepath.Join("b", report.ReportFile)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if code, _, stderr := execMuxbench(t, "report", filepath.Join("b", "run.json")); code != 0 {
			t.Fatalf("exit status %d; stderr: %s", code, stderr)
		}
		if _, err := os.Stat(filepath.Join("b", report.ReportFile)); err != nil {
			t.Error(err)
		}
	})

	t.Run("several runs overlay into -out", func(t *testing.T) {
		code, _, stderr := execMuxbench(t, "report", "-out", "both", "a", "b")
		if code != 0 {
			t.Fatalf("exit status %d; stderr: %s", code, stderr)
		}
		md, err := os.ReadFile(filepath.Join("both", report.ReportFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"2 runs overlaid: a, b.", "| poll | a | 101 |", "| poll | b | 101 |"} {
			if !strings.Contains(string(md), want) {
				t.Errorf("combined report.md lacks %q", want)
			}
		}
		svg, err := os.ReadFile(filepath.Join("both", "cpu.svg"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"poll (a)", "poll (b)", "epoll-lt (a)"} {
			if !strings.Contains(string(svg), want) {
				t.Errorf("combined cpu.svg lacks series %q", want)
			}
		}
	})

	t.Run("labels", func(t *testing.T) {
		code, _, stderr := execMuxbench(t, "report", "-out", "labelled", "-labels", "before,after", "a", "b")
		if code != 0 {
			t.Fatalf("exit status %d; stderr: %s", code, stderr)
		}
		md, err := os.ReadFile(filepath.Join("labelled", report.ReportFile))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(md), "2 runs overlaid: before, after.") {
			t.Errorf("report.md does not use the -labels names")
		}
	})
}

func TestReportBadInput(t *testing.T) {
	t.Chdir(t.TempDir())
	writeRun(t, "a", reporttest.Run(reporttest.Options{FDs: []int{101}, Reps: 1}))
	if err := os.WriteFile("corrupt.json", []byte("{\n  \"tool\": \"muxbench\",\n  \"schema\": 1,\n  \"samples\": [}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no run", nil, "no run given"},
		{"several runs without -out", []string{"a", "a"}, "-out is required when combining 2 runs"},
		{"label count", []string{"-out", "x", "-labels", "one", "a", "a"}, "-labels has 1 names for 2 runs"},
		{"missing", []string{"missing"}, "read missing"},
		{"corrupt", []string{"corrupt.json"}, "corrupt run record: line 4"},
		{"flag after arguments", []string{"a", "-out", "x"}, "flag -out after the arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := execMuxbench(t, append([]string{"report"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit status %d; want 2", code)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, tt.wantErr)
			}
		})
	}
	if _, err := os.Stat("x"); err == nil {
		t.Error("a rejected report command still created its -out directory")
	}
}

// TestReportOutRefuses: report -out never writes over another run's report
// or a previous report without -force; a run's own directory is in place.
func TestReportOutRefuses(t *testing.T) {
	t.Chdir(t.TempDir())
	small := reporttest.Options{FDs: []int{101, 1001}, Reps: 1}
	writeRun(t, "a", reporttest.Run(small))
	writeRun(t, "b", reporttest.Run(small))
	if code, _, stderr := execMuxbench(t, "report", "b"); code != 0 {
		t.Fatalf("report b: exit %d; stderr %s", code, stderr)
	}
	bReport, _ := os.ReadFile(filepath.Join("b", report.ReportFile))

	code, _, stderr := execMuxbench(t, "report", "-out", "b", "a")
	if code != 2 || !strings.Contains(stderr, "-out b is not empty") || !strings.Contains(stderr, "-force") {
		t.Errorf("report -out b a: exit %d, stderr %q; want 2, naming b and -force", code, stderr)
	}
	if now, _ := os.ReadFile(filepath.Join("b", report.ReportFile)); string(now) != string(bReport) {
		t.Error("the refused report changed b's report.md")
	}
	if code, _, stderr := execMuxbench(t, "report", "-out", "a", "a"); code != 0 {
		t.Errorf("report -out a a (in place): exit %d, stderr %q; want 0", code, stderr)
	}
	if code, _, stderr := execMuxbench(t, "report", "-out", "both", "a", "b"); code != 0 {
		t.Fatalf("report -out both a b: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := execMuxbench(t, "report", "-out", "both", "a", "b"); code != 2 || !strings.Contains(stderr, "-out both is not empty") {
		t.Errorf("report -out both again: exit %d, stderr %q; want 2", code, stderr)
	}
	stale := filepath.Join("both", "stale-active32.svg")
	os.WriteFile(stale, []byte("old"), 0o644)
	os.WriteFile(filepath.Join("both", "notes.txt"), []byte("mine"), 0o644)
	if code, _, stderr := execMuxbench(t, "report", "-force", "-out", "both", "a", "b"); code != 0 {
		t.Fatalf("report -force -out both: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("-force left the previous report's chart")
	}
	if _, err := os.Stat(filepath.Join("both", "notes.txt")); err != nil {
		t.Errorf("-force removed a file report did not write: %v", err)
	}
	if code, _, stderr := execMuxbench(t, "report", "-force", "a"); code != 2 || !strings.Contains(stderr, "-force needs -out") {
		t.Errorf("report -force without -out: exit %d, stderr %q; want 2", code, stderr)
	}
}

// TestReportRefusesBadFigures: a run.json with a figure no measurement
// gives is refused before any chart is written, naming the field.
func TestReportRefusesBadFigures(t *testing.T) {
	t.Chdir(t.TempDir())
	run := reporttest.Run(reporttest.Options{FDs: []int{101, 1001}, Reps: 1})
	run.Samples[1].Server.CPUNsPerReq = -5
	writeRun(t, "bad", run)
	code, _, stderr := execMuxbench(t, "report", "bad")
	if code != 2 || !strings.Contains(stderr, "server.cpu_ns_per_req is -5, want 0 or more") {
		t.Errorf("report of a negative CPU figure: exit %d, stderr %q; want 2 naming the field", code, stderr)
	}
	if svgs, _ := filepath.Glob(filepath.Join("bad", "*.svg")); len(svgs) > 0 {
		t.Errorf("report wrote %v before refusing the run", svgs)
	}
}
