package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/muxbench/muxbench/internal/atomicfile"
)

// Names of the files in a results directory.
const (
	RunFile     = "run.json"    // the full record, a Run
	SummaryFile = "summary.csv" // one row per Point
	BenchFile   = "bench.txt"   // Go benchmark format, one line per measured sample
)

// toolName identifies muxbench's own run.json among other JSON files.
const toolName = "muxbench"

// SummaryColumns is the header of summary.csv. The figures are medians over
// a point's measured repetitions and are empty when it has none (an
// unsupported or failed point); reason says why a point is not ok, and reps
// counts the repetitions summarised. loops (1: one) and churn are the
// point's axes beside fds and active, so that the rows of a claim-herd run
// stay apart; rate_requested is the rate axis's.
var SummaryColumns = []string{
	"backend", "fds", "idle", "active", "loops", "churn", "mode",
	"rate_requested", "rate_achieved",
	"p50_ns", "p99_ns", "p999_ns",
	"server_cpu_ns_per_req", "server_cpu_util", "client_cpu_ns_per_req",
	"waits_per_req", "events_per_wait",
	"errors", "status", "reason", "reps",
}

// WriteDir writes run into dir as run.json (indented), summary.csv and
// bench.txt, creating dir if needed. Each file is replaced atomically (a
// temporary file in dir, fsynced, then renamed over the old one), so a
// harness can call WriteDir after every point and an interrupted run leaves
// complete files of what it finished. A run whose Tool or Schema is unset
// is written as muxbench's current schema; run itself is not modified.
func WriteDir(dir string, run *Run) error {
	if run == nil {
		return errors.New("write results: run is nil")
	}
	r := *run
	switch {
	case r.Tool == "":
		r.Tool = toolName
	case r.Tool != toolName:
		return fmt.Errorf("write results: run says tool %q, want %q", r.Tool, toolName)
	}
	switch {
	case r.Schema == 0:
		r.Schema = SchemaVersion
	case r.Schema != SchemaVersion:
		return fmt.Errorf("write results: run says schema %d, this muxbench writes schema %d", r.Schema, SchemaVersion)
	}
	// JSON has no NaN or infinity; find the field instead of failing with
	// encoding/json's anonymous "unsupported value".
	if path := nonFinite(reflect.ValueOf(r), "run"); path != "" {
		return fmt.Errorf("write results: %s is not a finite number (a derived figure divided by zero? use 0 when there were no requests)", path)
	}

	runJSON, err := json.MarshalIndent(&r, "", "  ")
	if err != nil {
		return fmt.Errorf("write results: encode %s: %w", RunFile, err)
	}
	runJSON = append(runJSON, '\n')
	var summary, bench bytes.Buffer
	if err := WriteSummaryCSV(&summary, Summarize(r.Samples)); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := WriteBench(&bench, &r); err != nil {
		return fmt.Errorf("write results: %w", err)
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write results: create directory: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{SummaryFile, summary.Bytes()},
		{BenchFile, bench.Bytes()},
		{RunFile, runJSON},
	} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	return nil
}

// maxDirSuffix bounds CreateDir's search for a free name: past it, something
// other than runs started together is filling the parent directory.
const maxDirSuffix = 100

// CreateDir creates a new, empty results directory named base, or base-2,
// base-3, ... when that name is taken, and returns the one it created. The
// directory is created exclusively (mkdir fails if it exists), so two runs
// started in the same second never share one. Missing parents are created.
func CreateDir(base string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", fmt.Errorf("create results directory: %w", err)
	}
	for i := 1; i <= maxDirSuffix; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create results directory: %w", err)
		}
	}
	return "", fmt.Errorf("create results directory: %s and %s-2 to -%d all exist (remove old runs or choose a directory with -out)", base, base, maxDirSuffix)
}

// nonFinite returns the JSON path of the first NaN or infinite float in v,
// or "" when there is none.
func nonFinite(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprintf("%s (%v)", path, f)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nonFinite(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name == "" {
				name = t.Field(i).Name
			}
			if p := nonFinite(v.Field(i), path+"."+name); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p := nonFinite(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if p := nonFinite(iter.Value(), fmt.Sprintf("%s[%v]", path, iter.Key())); p != "" {
				return p
			}
		}
	}
	return ""
}

// WriteSummaryCSV writes points as CSV with the SummaryColumns header.
func WriteSummaryCSV(w io.Writer, points []Point) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(SummaryColumns); err != nil {
		return fmt.Errorf("write %s header: %w", SummaryFile, err)
	}
	for _, p := range points {
		// Figures are medians; a point with no measured repetition has
		// none, and an empty cell says so better than a zero would.
		med := func(s Stat) string {
			if p.Reps == 0 {
				return ""
			}
			return formatFloat(s.Median)
		}
		row := []string{
			p.Backend, strconv.Itoa(p.FDs), strconv.Itoa(p.Idle), strconv.Itoa(p.Active),
			strconv.Itoa(max(p.Loops, 1)), strconv.FormatBool(p.Churn), string(p.Mode),
			formatFloat(p.RateRequested), med(p.RateAchieved),
			med(p.P50), med(p.P99), med(p.P999),
			med(p.ServerCPUPerReq), med(p.ServerCPUUtil), med(p.ClientCPUPerReq),
			med(p.WaitsPerReq), med(p.EventsPerWait),
			strconv.FormatInt(p.Errors, 10), p.Status, p.Reason, strconv.Itoa(p.Reps),
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write %s row: %w", SummaryFile, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write %s: %w", SummaryFile, err)
	}
	return nil
}

// formatFloat writes a number with at most 9 significant digits, which
// hides float noise (0.005851500000000001) and is more than any figure
// here is worth, and without an exponent, which every spreadsheet and
// plotting tool reads.
func formatFloat(f float64) string {
	rounded, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 9, 64), 64)
	if err != nil { // cannot happen: FormatFloat output always parses
		rounded = f
	}
	return strconv.FormatFloat(rounded, 'f', -1, 64)
}
