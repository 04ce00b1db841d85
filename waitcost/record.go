package waitcost

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/results"
)

// File is the name of the record in a results directory, beside run.json
// when both are written.
const File = "waitcost.json"

// SchemaVersion is the version of Record's JSON; it changes when a field
// changes meaning.
const SchemaVersion = 1

// Record is everything a waitcost sweep produced: where it ran, what it
// was asked, every sample, the points summarized from them and each
// backend's fits. The report and the Claims table read it; nothing in it
// is re-measured.
type Record struct {
	Schema  int                 `json:"schema"`
	Env     results.Environment `json:"environment"`
	Config  Config              `json:"config"`
	Limit   Limit               `json:"limit"`
	Samples []Sample            `json:"samples"`
	Points  []Point             `json:"points"`
	Fits    []Fit               `json:"fits"`
}

// Limit is what the open-file limit left for watched fds when the sweep
// started.
type Limit struct {
	NoFileSoft uint64 `json:"nofile_soft"`
	OpenFDs    int    `json:"open_fds"`  // already open before the first layout
	Available  int    `json:"available"` // fds left for watching
}

// Complete fills Points and Fits from Samples.
func (r *Record) Complete() {
	r.Points = Summarize(r.Samples, r.Config.Backends)
	r.Fits = r.Fits[:0]
	for _, b := range r.Config.Backends {
		r.Fits = append(r.Fits, FitBackend(r.Points, b, r.Config.UpperFrom))
	}
}

// FitOf returns the fits of backend, or false when the record has none.
func (r *Record) FitOf(backend string) (Fit, bool) {
	for _, f := range r.Fits {
		if f.Backend == backend {
			return f, true
		}
	}
	return Fit{}, false
}

// Write stores the record as dir/File, atomically.
func (r *Record) Write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", File, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, File), append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", File, err)
	}
	return nil
}

// Read loads dir/File.
func Read(dir string) (*Record, error) {
	path := filepath.Join(dir, File)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read waitcost record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read waitcost record %s: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("read waitcost record %s: schema %d, this muxbench reads %d (rerun muxbench waitcost)", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}
