package suite

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/report/reporttest"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/scenarios"
)

// fakeSweep writes a synthetic run for every scenario but one named
// "broken", which fails without samples.
func fakeSweep(_ context.Context, sc results.Scenario, dir string) (*results.Run, error) {
	if sc.Name == "broken" {
		return nil, errors.New("no server")
	}
	run := reporttest.Run(reporttest.Options{Backends: []string{"epoll-lt"}, FDs: []int{101}, Reps: 1})
	return run, results.WriteDir(dir, run)
}

// TestRunRecordsFailedPart: a part that fails is recorded with its error,
// the suite is marked incomplete, the rest still run, and the claims table
// and report are written from what finished.
func TestRunRecordsFailedPart(t *testing.T) {
	dir := t.TempDir()
	out, err := Run(context.Background(), Options{
		Suite:     scenarios.Suite{Name: "s", Description: "two parts", Pitfalls: true},
		Scenarios: []results.Scenario{{Name: "broken"}, {Name: "fine"}},
		Dir:       dir, Sweep: fakeSweep, Stderr: io.Discard,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.Failed != 2 || !out.Record.Incomplete || len(out.Record.Parts) != 3 {
		t.Fatalf("failed %d, incomplete %v, %d parts; want 2 (broken, and pitfalls with no step), true, 3", out.Failed, out.Record.Incomplete, len(out.Record.Parts))
	}
	if p := out.Record.Parts[0]; p.Error != "no server" {
		t.Errorf("part %s error %q; want no server", p.Name, p.Error)
	}
	if p := out.Record.Parts[2]; !strings.Contains(p.Error, "no pitfalls command") {
		t.Errorf("part %s error %q; want no pitfalls command", p.Name, p.Error)
	}
	if len(out.Samples) == 0 || len(out.Rows) == 0 {
		t.Errorf("%d samples, %d claim rows; want the fine part's samples and the table", len(out.Samples), len(out.Rows))
	}
	for _, name := range []string{ClaimsFile, "report.md", results.SuiteFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRunInterrupted: a context ended during a part stops the suite after
// it, with ErrInterrupted and the part recorded.
func TestRunInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	sweep := func(ctx context.Context, sc results.Scenario, dir string) (*results.Run, error) {
		cancel()
		return fakeSweep(ctx, sc, dir)
	}
	_, err := Run(ctx, Options{
		Suite:     scenarios.Suite{Name: "s"},
		Scenarios: []results.Scenario{{Name: "a"}, {Name: "b"}},
		Dir:       dir, Sweep: sweep, Stderr: io.Discard,
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run: %v; want ErrInterrupted", err)
	}
	rec, ok, err := results.ReadSuite(dir)
	if !ok || err != nil || len(rec.Parts) != 1 || rec.Parts[0].Name != "a" {
		t.Fatalf("suite.json: %+v, %v, %v; want part a only", rec, ok, err)
	}
}
