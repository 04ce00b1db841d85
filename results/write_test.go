package results

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/internal/golden"
)

func TestWriteDirRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "smoke-20260301-120000") // WriteDir creates it
	want := testRun()
	if err := WriteDir(dir, want); err != nil {
		t.Fatalf("WriteDir: %v", err)
	}
	for _, path := range []string{dir, filepath.Join(dir, RunFile)} {
		got, err := ReadRun(path)
		if err != nil {
			t.Fatalf("ReadRun(%s): %v", path, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ReadRun(%s) differs from what was written:\n got %+v\nwant %+v", path, got, want)
		}
	}

	// The directory holds the three files and nothing else: no temporary
	// files left behind, and readable by others.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", e.Name(), info.Mode().Perm())
		}
	}
	if want := []string{BenchFile, RunFile, SummaryFile}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v", names, want)
	}

	// Writing again, as the harness does after every point, replaces the files.
	more := testRun()
	more.Samples = more.Samples[:2]
	more.Incomplete = true
	if err := WriteDir(dir, more); err != nil {
		t.Fatalf("second WriteDir: %v", err)
	}
	got, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Incomplete || len(got.Samples) != 2 {
		t.Errorf("after rewrite: incomplete %v, %d samples; want true, 2", got.Incomplete, len(got.Samples))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("after rewrite the directory holds %d entries, want 3", len(entries))
	}
}

func TestWriteDirFillsIdentity(t *testing.T) {
	dir := t.TempDir()
	run := testRun()
	run.Tool, run.Schema = "", 0
	if err := WriteDir(dir, run); err != nil {
		t.Fatal(err)
	}
	if run.Tool != "" || run.Schema != 0 {
		t.Errorf("WriteDir modified its argument: tool %q schema %d", run.Tool, run.Schema)
	}
	got, err := ReadRun(dir)
	if err != nil {
		t.Fatalf("ReadRun: %v", err)
	}
	if got.Tool != "muxbench" || got.Schema != SchemaVersion {
		t.Errorf("written tool %q schema %d, want muxbench %d", got.Tool, got.Schema, SchemaVersion)
	}
}

func TestWriteDirRejects(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Run)
		wantErr string
	}{
		{"NaN figure", func(r *Run) { r.Samples[4].Server.CPUNsPerReq = math.NaN() },
			"run.samples[4].server.cpu_ns_per_req (NaN) is not a finite number"},
		{"infinite rate", func(r *Run) { r.Scenario.Rate = Rates{math.Inf(1)} },
			"run.scenario.rate[0] (+Inf) is not a finite number"},
		{"foreign tool", func(r *Run) { r.Tool = "wrk" }, `run says tool "wrk", want "muxbench"`},
		{"other schema", func(r *Run) { r.Schema = 99 }, "run says schema 99, this muxbench writes schema 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			run := testRun()
			tt.edit(run)
			err := WriteDir(dir, run)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("WriteDir error = %v, want one containing %q", err, tt.wantErr)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("WriteDir created %s although it failed (stat: %v)", dir, err)
			}
		})
	}
	if err := WriteDir(t.TempDir(), nil); err == nil {
		t.Error("WriteDir(nil run) succeeded, want an error")
	}
	// A directory that cannot be created: its parent is a file.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(filepath.Join(file, "out"), testRun()); err == nil || !strings.Contains(err.Error(), "create directory") {
		t.Errorf("WriteDir under a file: error = %v, want a create directory error", err)
	}
}

// TestGoldenFiles pins the exact text of summary.csv, bench.txt, the human
// table and run.json for testRun.
func TestGoldenFiles(t *testing.T) {
	dir := t.TempDir()
	run := testRun()
	if err := WriteDir(dir, run); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{SummaryFile, BenchFile, RunFile} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", name+".golden"), got, *update)
	}
	var human bytes.Buffer
	if err := Human(&human, Summarize(run.Samples)); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "human.txt.golden"), human.Bytes(), *update)
}

// TestCreateDir: runs started in the same second get distinct directories,
// created exclusively, never one shared.
func TestCreateDir(t *testing.T) {
	base := filepath.Join(t.TempDir(), "results", "quick-20260102-150405")
	var got []string
	for range 3 {
		dir, err := CreateDir(base)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, dir)
	}
	want := []string{base, base + "-2", base + "-3"}
	if !slices.Equal(got, want) {
		t.Errorf("CreateDir three times = %q; want %q", got, want)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir, err := CreateDir(filepath.Join(file, "run")); err == nil {
		t.Errorf("CreateDir under a regular file = %q; want an error", dir)
	}
}
