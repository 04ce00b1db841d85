package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"time"
)

// Errors ReadRun wraps, so callers can tell a damaged file from a file that
// is not a muxbench run at all.
var (
	// ErrCorrupt means the file is not valid JSON, or its fields have the
	// wrong types: it was truncated or edited.
	ErrCorrupt = errors.New("corrupt run record")
	// ErrForeign means the file is JSON but not a muxbench run record.
	ErrForeign = errors.New("not a muxbench run record")
	// ErrSchema means the record is muxbench's but of another schema version.
	ErrSchema = errors.New("unsupported schema version")
)

// ReadRun reads a run record. path is a results directory (its run.json is
// read) or the path of a run.json file. Errors name the file and say what
// is wrong; they wrap ErrCorrupt, ErrForeign or ErrSchema where those apply.
func ReadRun(path string) (*Run, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	if info.IsDir() {
		path = filepath.Join(path, RunFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	return ParseRun(path, data)
}

// ParseRun decodes the run record in data; name is the file it came from,
// for error messages. It checks, in this order, that data is JSON, that it
// is a muxbench record (tool "muxbench"), that its schema version is
// SchemaVersion, that every field has its type and every sample a known
// status, and that no sample's figure is one no measurement gives
// (checkFigures), so what reads a run never draws or compares nonsense.
func ParseRun(name string, data []byte) (*Run, error) {
	// Identify the file before decoding all of it, so that a foreign file
	// is called foreign rather than reported for its first odd field.
	var head struct {
		Tool   *string          `json:"tool"`
		Schema *json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "" {
			return nil, fmt.Errorf("%s: %w: the top level is a JSON %s, want an object", name, ErrForeign, typeErr.Value)
		}
		if errors.As(err, &typeErr) && typeErr.Field == "tool" {
			return nil, fmt.Errorf("%s: %w: \"tool\" is a JSON %s, want \"muxbench\"", name, ErrForeign, typeErr.Value)
		}
		return nil, fmt.Errorf("%s: %w: %s", name, ErrCorrupt, describeJSONError(data, err))
	}
	switch {
	case head.Tool == nil:
		return nil, fmt.Errorf("%s: %w: it has no \"tool\" field (is this a results directory's run.json?)", name, ErrForeign)
	case *head.Tool != toolName:
		return nil, fmt.Errorf("%s: %w: its \"tool\" is %q", name, ErrForeign, *head.Tool)
	case head.Schema == nil:
		return nil, fmt.Errorf("%s: %w: it has no \"schema\" field (this muxbench reads schema %d)", name, ErrSchema, SchemaVersion)
	}
	var schema int
	if err := json.Unmarshal(*head.Schema, &schema); err != nil {
		return nil, fmt.Errorf("%s: %w: \"schema\" is %s, want the number %d", name, ErrSchema, *head.Schema, SchemaVersion)
	}
	if schema != SchemaVersion {
		return nil, fmt.Errorf("%s: %w: the file is schema %d, this muxbench reads schema %d (use the muxbench version that wrote it, or re-run)",
			name, ErrSchema, schema, SchemaVersion)
	}

	var run Run
	if err := json.Unmarshal(data, &run); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, ErrCorrupt, describeJSONError(data, err))
	}
	for i, s := range run.Samples {
		if _, ok := statusRank[s.Status]; !ok {
			return nil, fmt.Errorf("%s: %w: samples[%d] has unknown status %q", name, ErrCorrupt, i, s.Status)
		}
	}
	for i, s := range run.Samples {
		if err := checkFigures(s); err != nil {
			return nil, fmt.Errorf("%s: %w: samples[%d] (%s at %d fds): %v", name, ErrCorrupt, i, s.Backend, s.FDs, err)
		}
	}
	return &run, nil
}

// maxFigure bounds every figure of a sample: 1e15 ns is 11.6 days, more
// than any window (a scenario's is at most 10 minutes) times any number of
// CPUs, and far more than any rate, count or ratio muxbench measures. A
// larger value is a damaged file, and charts would not survive it (axis
// arithmetic near the largest float64 overflows).
const maxFigure = 1e15

// checkFigures refuses a sample whose figures cannot have been measured:
// an fd count below 1, or, in a measured sample (ok, saturated, errors:
// the ones charted and compared), a negative count, rate, latency or CPU
// figure, or one beyond maxFigure. (An unsupported point may record a
// negative idle count: more active connections than its fds hold.) The
// error names the field as run.json spells it.
func checkFigures(s Sample) error {
	if s.FDs < 1 {
		return fmt.Errorf("fds is %d, want 1 or more", s.FDs)
	}
	if !measured(s.Status) {
		return nil
	}
	for _, f := range []struct {
		field string
		v     float64
	}{
		{"idle", float64(s.Idle)}, {"active", float64(s.Active)}, {"rep", float64(s.Repetition)},
		{"window_ns", float64(s.WindowNs)}, {"rate_requested", s.RateRequested}, {"rate_achieved", s.RateAchieved},
		{"requests", float64(s.Requests)},
		{"latency_ns.p50", float64(s.Latency.P50)}, {"latency_ns.p90", float64(s.Latency.P90)},
		{"latency_ns.p99", float64(s.Latency.P99)}, {"latency_ns.p999", float64(s.Latency.P999)},
		{"latency_ns.p9999", float64(s.Latency.P9999)}, {"latency_ns.max", float64(s.Latency.Max)},
		{"latency_ns.mean", s.Latency.Mean},
		{"service_latency_ns.p50", float64(s.ServiceLatency.P50)}, {"service_latency_ns.p99", float64(s.ServiceLatency.P99)},
		{"service_latency_ns.max", float64(s.ServiceLatency.Max)},
		{"server.user_ns", float64(s.Server.UserNs)}, {"server.sys_ns", float64(s.Server.SysNs)},
		{"server.loop_cpu_ns", float64(s.Server.LoopCPUNs)}, {"server.loop_cpu_ns_per_req", s.Server.LoopCPUNsPerReq},
		{"server.cpu_ns_per_req", s.Server.CPUNsPerReq}, {"server.cpu_util", s.Server.CPUUtil},
		{"server.process_cpu_ns_per_req", s.Server.ProcessCPUNsPerReq}, {"server.process_cpu_util", s.Server.ProcessCPUUtil},
		{"server.cpuset_busy", s.Server.CPUSetBusy}, {"server.waits_per_req", s.Server.WaitsPerReq},
		{"server.events_per_wait", s.Server.EventsPerWait}, {"server.syscalls_per_req", s.Server.SyscallsPerReq},
		{"client.cpu_ns", float64(s.Client.CPUNs)}, {"client.cpu_ns_per_req", s.Client.CPUNsPerReq},
		{"client.connect_seconds", s.Client.ConnectSeconds}, {"client.setup_seconds", s.Client.SetupSeconds},
	} {
		switch {
		case f.v < 0:
			return fmt.Errorf("%s is %v, want 0 or more", f.field, f.v)
		case f.v > maxFigure:
			return fmt.Errorf("%s is %v, more than any measurement (at most %g)", f.field, f.v, float64(maxFigure))
		}
	}
	return nil
}

// describeJSONError says where in data a decoding error is, by line.
func describeJSONError(data []byte, err error) string {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return "the file is empty"
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("line %d: invalid JSON: %v", lineAt(data, syntaxErr.Offset), syntaxErr)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("line %d: field %s is a JSON %s, want %s", lineAt(data, typeErr.Offset), typeErr.Field, typeErr.Value, jsonKind(typeErr.Type))
	}
	return err.Error()
}

// jsonKind names what JSON value decodes into a Go type, so a message speaks
// of the file ("an array") rather than of this package's types.
func jsonKind(t reflect.Type) string {
	switch {
	case t == nil:
		return "another value"
	case t == reflect.TypeFor[time.Time]():
		return "a time string like \"2026-01-02T15:04:05Z\""
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another value"
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}
