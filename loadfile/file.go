// Package loadfile is the result file of one load generator (`muxbench load
// -out FILE.json`) and the merge of several such files — generators on
// several hosts driving one server — into one results.Run that `muxbench
// report` and `muxbench compare` read like any run.
//
// A file holds what a merge needs and nothing it would have to guess: the
// generator's config, its host, the measured window's wall-clock start and
// end (to check that the generators measured the same time), its counters,
// and both latency histograms in HdrHistogram's lossless encoding, so the
// merged percentiles are those of every request, not an average of
// percentiles.
package loadfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/muxbench/muxbench/internal/atomicfile"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// Kind identifies a generator result among muxbench's JSON files (a
// results directory's run.json has no kind).
const Kind = "load-result"

// SchemaVersion is the layout of the file this package writes; Parse
// refuses others.
const SchemaVersion = 1

const toolName = "muxbench"

// File is one generator's result for one measured window.
type File struct {
	Tool   string `json:"tool"`   // "muxbench"
	Kind   string `json:"kind"`   // Kind
	Schema int    `json:"schema"` // SchemaVersion
	// Host names the generator: its host name unless the user gave
	// another (network namespaces share one host name).
	Host string `json:"host"`
	// WindowStart and WindowEnd are the measured window's edges on the
	// generator's wall clock (UTC). Across hosts they are only as
	// comparable as the hosts' clocks (NTP: a few ms).
	WindowStart time.Time      `json:"window_start"`
	WindowEnd   time.Time      `json:"window_end"`
	Config      Config         `json:"config"`
	Result      loadgen.Result `json:"result"`
	// Server is the server's hello and its stats at this generator's
	// window edges, sampled over its control port (load -control); absent
	// when not asked for.
	Server *ServerEdges `json:"server,omitempty"`
}

// Config is the generator's configuration as run, durations as Go duration
// strings.
type Config struct {
	Target      string           `json:"target"`
	Conns       int              `json:"conns"`
	Active      int              `json:"active"`
	Mode        traffic.Mode     `json:"mode"`
	Rate        float64          `json:"rate"` // requests/s over this generator's active connections; 0 in closed loop
	Size        int              `json:"size"`
	Proto       traffic.Proto    `json:"proto"`
	Path        string           `json:"path,omitempty"`   // proto http: the path GET
	Line        string           `json:"line,omitempty"`   // proto line: the request line
	Expect      string           `json:"expect,omitempty"` // proto line: the reply's required prefix
	KeepAlive   results.Duration `json:"keepalive"`
	Warmup      results.Duration `json:"warmup"`
	Duration    results.Duration `json:"duration"`
	Timeout     results.Duration `json:"timeout"`
	Pipeline    int              `json:"pipeline"`
	ConnectRate float64          `json:"connect_rate"`
	SourceIPs   []string         `json:"source_ips,omitempty"`
	// Generators and GeneratorIndex say which share of one point this
	// generator ran (load -generators N -generator-index I): Conns,
	// Active and Rate are already its share. 1 and 0 for a whole point.
	Generators     int `json:"generators"`
	GeneratorIndex int `json:"generator_index"`
	// StartAt is the wall-clock time the window was asked to start at
	// (load -start-at); absent when it started when the connections were
	// open.
	StartAt *time.Time `json:"start_at,omitempty"`
}

// ConfigOf returns c as a file records it; c's defaults must be filled in
// (loadgen.Run's Result says what ran).
func ConfigOf(c loadgen.Config) Config {
	out := Config{
		Target: c.Target, Conns: c.Conns, Active: c.Active, Mode: c.Mode, Rate: c.Rate,
		Size: c.Size, Proto: c.Proto, KeepAlive: results.Duration(c.KeepAlive), Warmup: results.Duration(c.Warmup),
		Duration: results.Duration(c.Duration), Timeout: results.Duration(c.Timeout), Pipeline: c.Pipeline,
		ConnectRate: c.ConnectRate, Generators: 1, Path: c.Path, Line: c.Line, Expect: c.Expect,
	}
	for _, ip := range c.SourceIPs {
		out.SourceIPs = append(out.SourceIPs, ip.String())
	}
	return out
}

// New returns the file for res, measured by a generator named host with
// config c between start and end.
func New(host string, c Config, res *loadgen.Result, start, end time.Time) *File {
	return &File{
		Tool: toolName, Kind: Kind, Schema: SchemaVersion, Host: host,
		WindowStart: start.UTC(), WindowEnd: end.UTC(), Config: c, Result: *res,
	}
}

// Marshal encodes f as indented JSON with a final newline.
func (f *File) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode load result: %w", err)
	}
	return append(b, '\n'), nil
}

// ErrExists is returned (wrapped) by Write and CheckWritable when the file
// exists and overwriting was not asked for.
var ErrExists = errors.New("file exists")

// CheckWritable checks that Write can write path, so a caller can refuse
// before a run rather than after it: ErrExists (wrapped, with the fix)
// when path exists and force is false; an error when path is a directory,
// or its directory is missing or this process may not create files there
// (tried with a temporary file, removed at once).
func CheckWritable(path string, force bool) error {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s is a directory: give a file name, e.g. %s", path, filepath.Join(path, "load.json"))
	case err == nil && !force:
		return fmt.Errorf("%s: %w (remove it, choose another -out, or give -force to overwrite)", path, ErrExists)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("check %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".muxbench-check-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (create the directory, or choose another -out)", path, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// Write writes f to path: replaced atomically with force, otherwise only
// created, never overwriting a file that appeared meanwhile.
func Write(path string, f *File, force bool) error {
	data, err := f.Marshal()
	if err != nil {
		return err
	}
	if force {
		return atomicfile.Write(path, data)
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w (remove it, choose another -out, or give -force to overwrite)", path, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("write load result: %w", err)
	}
	if _, err := out.Write(data); err != nil {
		out.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(path)
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// Read reads and parses the file at path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read load result: %w", err)
	}
	return Parse(path, data)
}

// ErrNotLoadResult is returned (wrapped) by Parse for JSON that is not a
// generator result file: another muxbench file, or foreign.
var ErrNotLoadResult = errors.New("not a muxbench load result (muxbench load -out FILE.json writes one)")

// Parse decodes and checks a file; name is where it came from, for error
// messages. Besides the JSON it checks what a merge relies on: the
// identity fields, a window that ends after it starts, counts that are
// not negative, and histograms that decode and hold exactly Requests
// values. Histograms are decoded into Result.Corrected and Uncorrected.
func Parse(name string, data []byte) (*File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: invalid load result: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: invalid load result: more than one JSON value", name)
	}
	switch {
	case f.Tool != toolName || f.Kind != Kind:
		return nil, fmt.Errorf("%s: %w: tool %q, kind %q", name, ErrNotLoadResult, f.Tool, f.Kind)
	case f.Schema != SchemaVersion:
		return nil, fmt.Errorf("%s: load result schema %d, this muxbench reads schema %d (use the muxbench that wrote it)", name, f.Schema, SchemaVersion)
	case f.WindowStart.IsZero() || !f.WindowEnd.After(f.WindowStart):
		return nil, fmt.Errorf("%s: window %s to %s does not end after it starts", name, f.WindowStart.Format(time.RFC3339Nano), f.WindowEnd.Format(time.RFC3339Nano))
	}
	if f.Config.Generators < 1 || f.Config.GeneratorIndex < 0 || f.Config.GeneratorIndex >= f.Config.Generators {
		return nil, fmt.Errorf("%s: generator %d of %d: want 0 <= config.generator_index < config.generators", name, f.Config.GeneratorIndex, f.Config.Generators)
	}
	if e := f.Server; e != nil && e.End.MonoNs <= e.Start.MonoNs {
		return nil, fmt.Errorf("%s: server.end's clock (%d) is not after server.start's (%d)", name, e.End.MonoNs, e.Start.MonoNs)
	}
	r := &f.Result
	for _, c := range []struct {
		field string
		v     int64
	}{
		{"result.requests", r.Requests}, {"result.unanswered", r.Unanswered}, {"result.conns", int64(r.Conns)},
		{"result.active", int64(r.Active)}, {"result.idle", int64(r.Idle)}, {"result.window_ns", r.WindowNs},
		{"result.client_cpu_ns", r.ClientCPUNs}, {"result.lost", r.Lost}, {"result.size", int64(r.Size)},
	} {
		if c.v < 0 {
			return nil, fmt.Errorf("%s: %s is %d, want 0 or more", name, c.field, c.v)
		}
	}
	for k, v := range r.Errors {
		if v < 0 {
			return nil, fmt.Errorf("%s: result.errors[%s] is %d, want 0 or more", name, k, v)
		}
	}
	if r.Active > r.Conns || r.Idle != r.Conns-r.Active {
		return nil, fmt.Errorf("%s: result has %d connections, %d active and %d idle; want active+idle = conns", name, r.Conns, r.Active, r.Idle)
	}
	for _, h := range []struct{ field, enc string }{{"result.histogram", r.Histogram}, {"result.service_histogram", r.ServiceHistogram}} {
		if err := checkGeometry(h.field, h.enc); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := r.DecodeHistograms(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if n := r.Corrected.TotalCount(); n != r.Requests {
		return nil, fmt.Errorf("%s: the latency histogram holds %d values for %d requests; the file was edited or truncated", name, n, r.Requests)
	}
	if n := r.Uncorrected.TotalCount(); n != r.Requests {
		return nil, fmt.Errorf("%s: the service latency histogram holds %d values for %d requests; the file was edited or truncated", name, n, r.Requests)
	}
	return &f, nil
}
