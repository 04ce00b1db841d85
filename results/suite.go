package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/muxbench/muxbench/internal/atomicfile"
)

// SuiteFile marks a suite's results directory: the parts it holds, each
// in a subdirectory of its own (a sweep's run.json, waitcost's and the
// pitfalls' files), and whether all of them finished.
const SuiteFile = "suite.json"

// Kinds of suite part.
const (
	PartScenario = "scenario" // a sweep: Dir holds run.json
	PartWaitCost = "waitcost" // the multiplexer alone
	PartPitfalls = "pitfalls" // the deliberately wrong loops
)

// Suite is the record of one suite run.
type Suite struct {
	Tool        string      `json:"tool"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Started     time.Time   `json:"started"`
	Finished    time.Time   `json:"finished,omitzero"`
	Incomplete  bool        `json:"incomplete"` // interrupted, or a part failed
	Parts       []SuitePart `json:"parts"`
}

// SuitePart is one part of a suite run.
type SuitePart struct {
	Kind  string `json:"kind"`            // a Part* value
	Name  string `json:"name"`            // scenario name, or the kind
	Dir   string `json:"dir"`             // relative to the suite's directory
	Error string `json:"error,omitempty"` // why it did not finish
}

// WriteSuite writes s as dir's suite.json, atomically.
func WriteSuite(dir string, s *Suite) error {
	c := *s
	c.Tool = toolName
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", SuiteFile, err)
	}
	return atomicfile.Write(filepath.Join(dir, SuiteFile), append(data, '\n'))
}

// ReadSuite reads dir's suite.json; ok is false when dir is not a suite's
// directory (no suite.json).
func ReadSuite(dir string) (s *Suite, ok bool, err error) {
	path := filepath.Join(dir, SuiteFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("read suite: %w", err)
	}
	s = &Suite{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, true, fmt.Errorf("%s: not a muxbench suite record: %v", path, err)
	}
	if s.Tool != toolName {
		return nil, true, fmt.Errorf("%s: tool %q, want %q", path, s.Tool, toolName)
	}
	for _, p := range s.Parts {
		if p.Dir == "" || filepath.IsAbs(p.Dir) || !filepath.IsLocal(p.Dir) {
			return nil, true, fmt.Errorf("%s: part %q has directory %q, want one inside the suite's directory", path, p.Name, p.Dir)
		}
	}
	return s, true, nil
}
