package waitcost

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/results"
)

// File is the name of the record in a results directory, beside run.json
// when both are written.
const File = "waitcost.json"

// SchemaVersion is the version of Record's JSON; it changes when a field
// changes meaning. 2 added the mode (hot scan, blocking wake-up) and the
// fd table to the config, samples, points and fits; Read upgrades a
// version 1 record, which was all hot scans in the shared table.
const SchemaVersion = 2

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
	// Shared is, per mode and backend, what the shared fd table costs
	// over the private one per watched fd; only when both were measured.
	Shared []SharedCost `json:"shared_table_cost,omitempty"`
}

// Limit is what the open-file limit left for watched fds when the sweep
// started.
type Limit struct {
	NoFileSoft uint64 `json:"nofile_soft"`
	OpenFDs    int    `json:"open_fds"`  // already open before the first layout
	Available  int    `json:"available"` // fds left for watching
}

// Complete fills Points, Fits and Shared from Samples: one Fit per mode,
// fd table and backend, in that order, and with both tables one
// SharedCost per mode and backend that has one.
func (r *Record) Complete() {
	r.Points = Summarize(r.Samples, r.Config.Backends)
	r.Fits, r.Shared = r.Fits[:0], r.Shared[:0]
	for _, mode := range r.Config.Modes {
		for _, table := range r.Config.Tables {
			for _, b := range r.Config.Backends {
				r.Fits = append(r.Fits, FitBackend(r.Points, b, mode, table, r.Config.UpperFrom))
			}
		}
		if !r.Has(mode, TablePrivate) || !r.Has(mode, TableShared) {
			continue
		}
		for _, b := range r.Config.Backends {
			if c, err := FitShared(r.Points, b, mode); err == nil {
				r.Shared = append(r.Shared, c)
			}
		}
	}
}

// SharedOf returns backend's SharedCost in mode, or false.
func (r *Record) SharedOf(backend, mode string) (SharedCost, bool) {
	for _, c := range r.Shared {
		if c.Backend == backend && c.Mode == mode {
			return c, true
		}
	}
	return SharedCost{}, false
}

// FitOf returns the fits of backend in mode and table, or false when the
// record has none.
func (r *Record) FitOf(backend, mode, table string) (Fit, bool) {
	for _, f := range r.Fits {
		if f.Backend == backend && f.Mode == mode && f.Table == table {
			return f, true
		}
	}
	return Fit{}, false
}

// Has reports whether the sweep measured mode in table.
func (r *Record) Has(mode, table string) bool {
	return slices.Contains(r.Config.Modes, mode) && slices.Contains(r.Config.Tables, table)
}

// MainTable is the fd table a figure is quoted in when one table is
// wanted: the private one when the sweep measured it (the multiplexer's
// own cost, without what a multi-threaded process adds), else the shared.
func (r *Record) MainTable() string {
	if slices.Contains(r.Config.Tables, TablePrivate) {
		return TablePrivate
	}
	return TableShared
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
	switch r.Schema {
	case SchemaVersion:
	case 1:
		r.upgrade1()
	default:
		return nil, fmt.Errorf("read waitcost record %s: schema %d, this muxbench reads %d and 1 (rerun muxbench waitcost)", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// upgrade1 reads a version 1 record as version 2: before modes and fd
// tables every sample was a hot scan from a Go thread of the shared table.
func (r *Record) upgrade1() {
	r.Schema = SchemaVersion
	r.Config.Modes, r.Config.Tables = []string{ModeHot}, []string{TableShared}
	for i := range r.Samples {
		r.Samples[i].Mode, r.Samples[i].Table = ModeHot, TableShared
	}
	for i := range r.Points {
		r.Points[i].Mode, r.Points[i].Table = ModeHot, TableShared
	}
	for i := range r.Fits {
		r.Fits[i].Mode, r.Fits[i].Table = ModeHot, TableShared
	}
}
