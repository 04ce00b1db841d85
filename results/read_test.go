package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRunErrors(t *testing.T) {
	good, err := json.Marshal(testRun())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		contents string
		wantIs   error
		wantMsg  string
	}{
		{"truncated", string(good[:len(good)/2]), ErrCorrupt, "corrupt run record: line 1: invalid JSON: unexpected end of JSON input"},
		{"empty", "", ErrCorrupt, "corrupt run record: the file is empty"},
		{"garbage on line 3", "{\n\"tool\": \"muxbench\",\n oops\n}", ErrCorrupt, "corrupt run record: line 3: invalid JSON"},
		{"foreign JSON", `{"name": "left-pad", "version": "1.3.0"}`, ErrForeign, `not a muxbench run record: it has no "tool" field`},
		{"other tool", `{"tool": "wrk2", "schema": 2}`, ErrForeign, `not a muxbench run record: its "tool" is "wrk2"`},
		{"tool not a string", `{"tool": 7}`, ErrForeign, `not a muxbench run record: "tool" is a JSON number`},
		{"top-level array", `[1, 2, 3]`, ErrForeign, "not a muxbench run record: the top level is a JSON array, want an object"},
		{"newer schema", `{"tool": "muxbench", "schema": 3, "samples": "whatever"}`, ErrSchema,
			"unsupported schema version: the file is schema 3, this muxbench reads schema 2"},
		{"older schema", `{"tool": "muxbench", "schema": 1, "samples": []}`, ErrSchema,
			"unsupported schema version: the file is schema 1, this muxbench reads schema 2"},
		{"no schema", `{"tool": "muxbench"}`, ErrSchema, `unsupported schema version: it has no "schema" field`},
		{"schema not a number", `{"tool": "muxbench", "schema": "1"}`, ErrSchema, `"schema" is "1", want the number 2`},
		{"wrong field type", "{\"tool\": \"muxbench\", \"schema\": 2,\n\"samples\": [{\"fds\": \"many\"}]}", ErrCorrupt,
			"corrupt run record: line 2: field samples.fds is a JSON string, want a whole number"},
		{"samples not an array", "{\"tool\": \"muxbench\", \"schema\": 2,\n\"samples\": {}}", ErrCorrupt,
			"corrupt run record: line 2: field samples is a JSON object, want an array"},
		{"unknown status", `{"tool": "muxbench", "schema": 2, "samples": [{"status": "ok"}, {"status": "great"}]}`, ErrCorrupt,
			`samples[1] has unknown status "great"`},
		{"no fds", `{"tool": "muxbench", "schema": 2, "samples": [{"status": "ok", "backend": "poll", "fds": 0}]}`, ErrCorrupt,
			"samples[0] (poll at 0 fds): fds is 0, want 1 or more"},
		{"negative CPU", `{"tool": "muxbench", "schema": 2, "samples": [{"status": "ok", "backend": "poll", "fds": 12, "server": {"cpu_ns_per_req": -5}}]}`, ErrCorrupt,
			"samples[0] (poll at 12 fds): server.cpu_ns_per_req is -5, want 0 or more"},
		{"negative rate", `{"tool": "muxbench", "schema": 2, "samples": [{"status": "ok", "backend": "poll", "fds": 12, "rate_achieved": -1}]}`, ErrCorrupt,
			"rate_achieved is -1, want 0 or more"},
		{"huge rate", `{"tool": "muxbench", "schema": 2, "samples": [{"status": "ok", "backend": "poll", "fds": 12, "rate_requested": 1e308}]}`, ErrCorrupt,
			"rate_requested is 1e+308, more than any measurement"},
		{"huge latency", `{"tool": "muxbench", "schema": 2, "samples": [{"status": "ok", "backend": "poll", "fds": 12, "latency_ns": {"p99": 9000000000000000000}}]}`, ErrCorrupt,
			"latency_ns.p99 is 9e+18, more than any measurement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.json")
			if err := os.WriteFile(path, []byte(tt.contents), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadRun(path)
			if err == nil {
				t.Fatalf("ReadRun succeeded, want an error")
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q does not wrap %v", err, tt.wantIs)
			}
			if !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want %q followed by one containing %q", err, path+": ", tt.wantMsg)
			}
		})
	}

	// A directory without run.json, and a path that does not exist.
	dir := t.TempDir()
	if _, err := ReadRun(dir); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, RunFile)) {
		t.Errorf("ReadRun(empty dir) error = %v, want not-exist naming %s", err, filepath.Join(dir, RunFile))
	}
	if _, err := ReadRun(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadRun(missing) error = %v, want not-exist", err)
	}
}

// FuzzParseRun checks that ParseRun never panics on arbitrary bytes, and
// that whatever it accepts it writes back in a form it reads to the same
// record (encoding is idempotent after one round).
func FuzzParseRun(f *testing.F) {
	good, err := json.Marshal(testRun())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"tool": "muxbench", "schema": 2}`))
	f.Add([]byte(`{"tool": "muxbench", "schema": 2, "samples": [{"status": "ok", "errors": {"x": 1}}]}`))
	f.Add([]byte(`{"tool": "muxbench", "schema": 2}`))
	f.Add([]byte(`{"name": "x"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"tool": "muxbench", "schema": 2, "started": "2026-03-01T12:00:00+01:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := ParseRun("fuzz.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrForeign) && !errors.Is(err, ErrSchema) {
				t.Fatalf("error %q wraps none of ErrCorrupt, ErrForeign, ErrSchema", err)
			}
			return
		}
		once, err := json.Marshal(run)
		if err != nil {
			t.Fatalf("re-encode accepted record: %v", err)
		}
		again, err := ParseRun("fuzz.json", once)
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v\n%s", err, once)
		}
		twice, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("round trip changed the record:\n%s\n%s", once, twice)
		}
	})
}
