package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muxbench/muxbench/loadfile"
	"github.com/muxbench/muxbench/results"
)

// TestLoadOutMerge: two generators started together with one -start-at
// write -out files; merge makes one results directory of them whose
// counts are the sums, and report renders it.
func TestLoadOutMerge(t *testing.T) {
	srv := startServe(t, "-backend", "epoll-lt", "-addr", "127.0.0.1:0", "-control", "tcp:127.0.0.1:0")
	addr, control, token := srv.hello.Addr, srv.hello.Control, srv.hello.Token
	dir := t.TempDir()
	// Far enough ahead that both generators have connected, whatever the
	// machine's load; a late one would only shorten the overlap.
	at := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	files := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	var wg sync.WaitGroup
	codes, stderrs := make([]int, 2), make([]string, 2)
	for i, f := range files {
		args := []string{"load", "-target", addr, "-conns", "7", "-active", "2", "-rate", "400",
			"-generators", "2", "-generator-index", []string{"0", "1"}[i],
			"-warmup", "50ms", "-duration", "500ms", "-start-at", at, "-out", f, "-host", []string{"gen-a", "gen-b"}[i]}
		if i == 0 { // one generator samples the server at its window's edges
			args = append(args, "-control", control, "-token", token)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, stderrs[i] = loadRunCmd(args...)
		}()
	}
	wg.Wait()
	var sum int64
	for i, f := range files {
		if codes[i] != 0 {
			t.Fatalf("load %d: exit %d; stderr %q", i, codes[i], stderrs[i])
		}
		lf, err := loadfile.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := time.Parse(time.RFC3339Nano, at); lf.Config.StartAt == nil || !lf.Config.StartAt.Equal(want) || lf.Host != []string{"gen-a", "gen-b"}[i] {
			t.Errorf("file %d: start_at %v, host %q; want %s and gen-%c", i, lf.Config.StartAt, lf.Host, at, 'a'+i)
		}
		if wantConns := []int{4, 3}[i]; lf.Config.Conns != wantConns || lf.Config.Active != 1 || lf.Config.Rate != 200 || lf.Config.GeneratorIndex != i {
			t.Errorf("file %d: share %+v; want %d conns, 1 active, 200 req/s, index %d", i, lf.Config, wantConns, i)
		}
		if (lf.Server != nil) != (i == 0) {
			t.Errorf("file %d: server edges %v; want them only in the file of -control", i, lf.Server != nil)
		}
		sum += lf.Result.Requests
	}

	noTokenIn(t, token, files...)

	code, _, stderr := loadRunCmd("load", "-target", addr, "-duration", "100ms", "-out", files[0])
	if code != 2 || !strings.Contains(stderr, "file exists") || !strings.Contains(stderr, "-force") {
		t.Errorf("load -out over an existing file: exit %d, stderr %q; want 2 naming -force", code, stderr)
	}
	code, _, stderr = loadRunCmd("load", "-target", addr, "-duration", "100ms", "-out", filepath.Join(dir, "c.json"), "-control", control, "-token", "0123")
	if code != 2 || !strings.Contains(stderr, "refused: wrong token") {
		t.Errorf("load -control with a wrong token: exit %d, stderr %q; want 2, refused", code, stderr)
	}

	out := filepath.Join(dir, "merged")
	// No -backend: the hello gen-a fetched names it.
	code, stdout, stderr := loadRunCmd(append([]string{"merge"}, append(files, "-out", out)...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d; stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "windows overlap") || !strings.Contains(stdout, "status ok") {
		t.Errorf("merge stdout %q; want how much the windows overlap, and status ok", stdout)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	s := run.Samples[0]
	if s.Requests != sum || s.Active != 2 || s.Idle != 5 || s.RateRequested != 400 || s.Backend != "epoll-lt" {
		t.Errorf("merged sample %s: %d requests, %d active, %d idle, %v req/s; want epoll-lt, %d, 2, 5, 400", s.Backend, s.Requests, s.Active, s.Idle, s.RateRequested, sum)
	}
	if s.Server.ConnsOpen != 7 || s.Server.Accepts != 0 || s.Server.CPUScope != results.CPUScopeLoop {
		t.Errorf("merged server counters %+v; want 7 connections open, no accepts, loop-thread CPU", s.Server)
	}
	if code, _, stderr := loadRunCmd("report", out); code != 0 {
		t.Fatalf("report of the merged run: exit %d; stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "report.md")); err != nil {
		t.Errorf("report wrote no report.md: %v", err)
	}
	if code, stdout, stderr := loadRunCmd("compare", out, out); code != 0 || !strings.Contains(stdout, "epoll-lt") {
		t.Errorf("compare of the merged run with itself: exit %d, stdout %q, stderr %q; want 0 and a table", code, stdout, stderr)
	}
}

func TestMergeUsageErrors(t *testing.T) {
	fixture := filepath.Join("..", "..", "loadfile", "testdata", "gen-a.json")
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["window_start"], m["window_end"] = "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z"
	m["config"].(map[string]any)["generator_index"] = 1
	early, _ := json.Marshal(m)
	dir := t.TempDir()
	earlyFile := filepath.Join(dir, "early.json")
	if err := os.WriteFile(earlyFile, early, 0o644); err != nil {
		t.Fatal(err)
	}
	delete(m, "server")
	noServer, _ := json.Marshal(m)
	earlyFileNoServer := filepath.Join(dir, "noserver.json")
	if err := os.WriteFile(earlyFileNoServer, noServer, 0o644); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no files", []string{"merge", "-out", out, "-backend", "poll"}, "no load result given"},
		{"no out", []string{"merge", "-backend", "poll", fixture}, "-out DIR is required"},
		{"no backend", []string{"merge", "-out", out, earlyFileNoServer}, "give -backend NAME"},
		{"share missing", []string{"merge", "-out", out, fixture}, "generator index 1 of 2 missing"},
		{"unknown backend", []string{"merge", "-out", out, "-backend", "kqueue", fixture}, "-backend"},
		{"out not empty", []string{"merge", "-out", full, "-backend", "poll", fixture}, "exists and is not empty"},
		{"missing file", []string{"merge", "-out", out, "-backend", "poll", filepath.Join(dir, "nope.json")}, "nope.json"},
		{"no overlap", []string{"merge", "-out", out, "-backend", "poll", fixture, earlyFile}, "windows do not overlap"},
		{"a file twice", []string{"merge", "-out", out, fixture, fixture}, "are one result"},
		{"server backend differs", []string{"merge", "-out", out, "-backend", "poll", "-server", filepath.Join("..", "..", "loadfile", "testdata", "server.jsonl"), fixture}, "hello says epoll-lt"},
		{"start-at past", []string{"load", "-target", "127.0.0.1:1", "-start-at", "2020-01-01T00:00:00Z"}, "-start-at 2020-01-01T00:00:00Z is"},
		{"start-at format", []string{"load", "-target", "127.0.0.1:1", "-start-at", "noon"}, "want an RFC 3339 time"},
		{"force without out", []string{"load", "-target", "127.0.0.1:1", "-force"}, "apply to -out only"},
		{"generators without out", []string{"load", "-target", "127.0.0.1:1", "-generators", "2"}, "apply to -out only"},
		{"index out of range", []string{"load", "-target", "127.0.0.1:1", "-generators", "2", "-generator-index", "2", "-out", filepath.Join(dir, "x.json")}, "-generator-index 2: want 0..1"},
		{"control without token", []string{"load", "-target", "127.0.0.1:1", "-control", "127.0.0.1:1", "-out", filepath.Join(dir, "x.json")}, "-control and -token go together"},
		{"share without connections", []string{"load", "-target", "127.0.0.1:1", "-conns", "1", "-generators", "2", "-generator-index", "1", "-out", filepath.Join(dir, "x.json")}, "leave generator 1 none"},
		{"share without active", []string{"load", "-target", "127.0.0.1:1", "-conns", "4", "-active", "1", "-generators", "2", "-generator-index", "1", "-out", filepath.Join(dir, "x.json")}, "none for its share of the rate"},
		{"out in a missing directory", []string{"load", "-target", "127.0.0.1:1", "-out", filepath.Join(dir, "nope", "x.json")}, "-out: cannot write"},
		{"control unreachable", []string{"load", "-target", "127.0.0.1:1", "-control", "127.0.0.1:1", "-token", "t", "-out", filepath.Join(dir, "x.json")}, "-control 127.0.0.1:1: connect to the control port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := loadRunCmd(tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, and %q", code, stdout, stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused merge created %s", out)
	}
}

// TestMergeFailedPoint: a merged point that failed (here the server
// accepted connections inside the window) is written, and merge exits 1.
func TestMergeFailedPoint(t *testing.T) {
	testdata := filepath.Join("..", "..", "loadfile", "testdata")
	data, err := os.ReadFile(filepath.Join(testdata, "server.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var end map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &end); err != nil {
		t.Fatal(err)
	}
	end["accepts"] = end["accepts"].(float64) + 2
	b, _ := json.Marshal(end)
	lines[2] = string(b)
	dir := t.TempDir()
	serverFile := filepath.Join(dir, "server.jsonl")
	if err := os.WriteFile(serverFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged")
	code, stdout, stderr := loadRunCmd("merge", "-out", out, "-server", serverFile, filepath.Join(testdata, "gen-a.json"), filepath.Join(testdata, "gen-b.json"))
	if code != 1 || !strings.Contains(stdout, "status failed") || !strings.Contains(stdout, "1 sample: 1 failed") || !strings.Contains(stderr, "1 of 1 sample failed") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, the point failed and the closing line", code, stdout, stderr)
	}
	if _, err := results.ReadRun(out); err != nil {
		t.Errorf("the failed point's run was not written: %v", err)
	}
}
