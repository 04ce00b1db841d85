package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/harness/suite"
	"github.com/muxbench/muxbench/report/claims"
	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
)

// writeSuiteDir lays out a finished suite of one sweep (epoll-lt against
// epoll-et, synthetic) and one part that did not finish.
func writeSuiteDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	part := filepath.Join(dir, "claim-mod-cost")
	if err := results.WriteDir(part, reporttest.Run(reporttest.Options{
		Backends: []string{"epoll-lt", "epoll-et"}, FDs: []int{1001}, Reps: 5,
		Scale: map[string]float64{"epoll-et": 0.5},
	})); err != nil {
		t.Fatal(err)
	}
	rec := &results.Suite{Name: "claims-quick", Description: "test suite", Started: time.Unix(0, 0).UTC(),
		Parts: []results.SuitePart{
			{Kind: results.PartScenario, Name: "claim-mod-cost", Dir: "claim-mod-cost"},
			{Kind: results.PartPitfalls, Name: "pitfalls", Dir: "pitfalls", Error: "killed"},
		}, Incomplete: true}
	if err := results.WriteSuite(dir, rec); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReportSuite: `muxbench report` on a suite's directory computes the
// claims table from its parts: the sweep decides claim 5, the part that
// did not finish leaves its claims not measured, and the report says so.
func TestReportSuite(t *testing.T) {
	dir := writeSuiteDir(t)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", dir}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("report exited %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, suite.ClaimsFile))
	if err != nil {
		t.Fatal(err)
	}
	var rows []claims.Row
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(claims.Claims) {
		t.Fatalf("%d rows; want %d", len(rows), len(claims.Claims))
	}
	if rows[4].Verdict != claims.Holds || rows[6].Verdict != claims.NotMeasured {
		t.Errorf("claim 5 %q, claim 7 %q; want %q (ET at half LT's CPU, 5 reps) and %q", rows[4].Verdict, rows[6].Verdict, claims.Holds, claims.NotMeasured)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Claims", "**Incomplete:**", "[report](claim-mod-cost/report.md)", "pitfalls `pitfalls`: did not finish: killed"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if code := run([]string{"report", "-out", t.TempDir(), dir}, nil, &stdout, &stderr); code != 2 {
		t.Errorf("report -out on a suite exited %d; want 2", code)
	}
}

// TestPrepareOutDirSuite: -force over a previous suite removes the parts
// its record lists and its own files, and nothing else.
func TestPrepareOutDirSuite(t *testing.T) {
	dir := writeSuiteDir(t)
	keep := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareOutDir(dir, true); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"claim-mod-cost", results.SuiteFile} {
		if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("%s survived -force", gone)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("-force removed a file muxbench did not write: %v", err)
	}
}

// TestReadSuiteRefusesEscape: a suite record naming a part outside its
// directory is refused, so -force can never remove it.
func TestReadSuiteRefusesEscape(t *testing.T) {
	dir := t.TempDir()
	rec := &results.Suite{Name: "x", Parts: []results.SuitePart{{Kind: results.PartScenario, Name: "x", Dir: "../elsewhere"}}}
	if err := results.WriteSuite(dir, rec); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := results.ReadSuite(dir); !ok || err == nil {
		t.Errorf("ReadSuite with ../elsewhere = ok %v, %v; want an error", ok, err)
	}
}
