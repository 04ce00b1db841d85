package scenarios

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/golden"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestBadFiles checks the error for each bad file in testdata against its
// golden file: every line must start with FILE:LINE and say what to do.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 7 {
		t.Fatalf("found %d bad files in testdata, want at least 7", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(file, data)
			if err == nil {
				t.Fatalf("Parse(%s) succeeded, want an error", file)
			}
			got := err.Error() + "\n"
			lineRE := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:[1-9][0-9]*: \S`)
			for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if !lineRE.MatchString(line) {
					t.Errorf("error line %q does not start with %s:LINE:", line, file)
				}
				if !strings.Contains(line, "(") {
					t.Errorf("error line %q does not say how to fix it", line)
				}
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.File != file {
				t.Errorf("errors.As(err, *Error) = %v, %+v; want an *Error for %s", errors.As(err, &perr), perr, file)
			}
			golden.Check(t, strings.TrimSuffix(file, ".yaml")+".golden", []byte(got), *update)
		})
	}
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want results.Scenario
	}{
		{
			name: "minimal file takes every default",
			file: "dir/my-sweep.yaml",
			src:  "fds: [10, 100]\n",
			want: results.Scenario{
				Name: "my-sweep", Backends: []string{"select", "poll", "epoll-lt", "epoll-et", "uring-poll", "uring", "gonet"},
				FDs: []int{10, 100}, Active: []int{1}, Mode: "open", Rate: results.Rates{2000}, Size: 64,
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Echo,
				ServerCPUs: "0", ClientCPUs: "1",
			},
		},
		{
			name: "empty values take defaults too",
			file: "x.yaml",
			src:  "name: x\nwarmup:\nactive:\nfds: [3]\n",
			want: results.Scenario{
				Name: "x", Backends: []string{"select", "poll", "epoll-lt", "epoll-et", "uring-poll", "uring", "gonet"},
				FDs: []int{3}, Active: []int{1}, Mode: "open", Rate: results.Rates{2000}, Size: 64,
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Echo,
				ServerCPUs: "0", ClientCPUs: "1",
			},
		},
		{
			name: "every field set, closed loop",
			file: "full.yml",
			src: `name: full
description: all fields
backends: [epoll-et, gonet]
fds:
  - 40
  - 400
active: [8, 16]
mode: closed
size: 1024
keepalive: 1m30s
warmup: 0
duration: 1500ms
repetitions: 5
proto: sockperf
server_cpus: 0-1
client_cpus: 2,3
`,
			want: results.Scenario{
				Name: "full", Description: "all fields", Backends: []string{"epoll-et", "gonet"},
				FDs: []int{40, 400}, Active: []int{8, 16}, Mode: "closed", Rate: nil, Size: 1024,
				KeepAlive: results.Duration(90 * time.Second), Warmup: 0, Duration: results.Duration(1500 * time.Millisecond), Repetitions: 5, Proto: traffic.Sockperf,
				ServerCPUs: "0-1", ClientCPUs: "2,3",
			},
		},
		{
			name: "loops and churn as axes",
			file: "herd.yaml",
			src:  "name: herd\nbackends: [epoll-reuseport, epoll-shared-epoll]\nfds: [10]\nloops: [2, 4, 8]\nchurn: [false, true]\n",
			want: results.Scenario{
				Name: "herd", Backends: []string{"epoll-reuseport", "epoll-shared-epoll"},
				FDs: []int{10}, Active: []int{1}, Mode: "open", Rate: results.Rates{2000}, Size: 64,
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Echo,
				ServerCPUs: "0", ClientCPUs: "1", Loops: []int{2, 4, 8}, Churn: results.Churn{false, true},
			},
		},
		{
			name: "one loop and no churn, written out, are the defaults",
			file: "one.yaml",
			src:  "name: one\nbackends: [epoll-lt]\nfds: [10]\nloops: 1\nchurn: false\n",
			want: results.Scenario{
				Name: "one", Backends: []string{"epoll-lt"},
				FDs: []int{10}, Active: []int{1}, Mode: "open", Rate: results.Rates{2000}, Size: 64,
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Echo,
				ServerCPUs: "0", ClientCPUs: "1",
			},
		},
		{
			name: "churn as one value",
			file: "c.yaml",
			src:  "name: c\nbackends: [epoll-lt]\nfds: [10]\nchurn: true\nloops: [1]\n",
			want: results.Scenario{
				Name: "c", Backends: []string{"epoll-lt"},
				FDs: []int{10}, Active: []int{1}, Mode: "open", Rate: results.Rates{2000}, Size: 64,
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Echo,
				ServerCPUs: "0", ClientCPUs: "1", Churn: results.Churn{true},
			},
		},
		{
			name: "the rate as an axis",
			file: "r.yaml",
			src:  "name: r\nbackends: [poll]\nfds: [10]\nrate: [100, 1000, 2.5e4]\n",
			want: results.Scenario{
				Name: "r", Backends: []string{"poll"},
				FDs: []int{10}, Active: []int{1}, Mode: "open", Rate: results.Rates{100, 1000, 25000}, Size: 64,
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Echo,
				ServerCPUs: "0", ClientCPUs: "1",
			},
		},
		{
			name: "a list of one rate is that rate",
			file: "r1.yaml",
			src:  "name: r1\nbackends: [poll]\nfds: [10]\nrate: [1500]\nloops: 1\nchurn: [true]\n",
			want: results.Scenario{
				Name: "r1", Backends: []string{"poll"},
				FDs: []int{10}, Active: []int{1}, Mode: "open", Rate: results.Rates{1500}, Size: 64,
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Echo,
				ServerCPUs: "0", ClientCPUs: "1", Churn: results.Churn{true},
			},
		},
		{
			name: "http: the default path, no size",
			file: "h.yaml",
			src:  "fds: [10]\nproto: http\n",
			want: results.Scenario{
				Name: "h", Backends: []string{"select", "poll", "epoll-lt", "epoll-et", "uring-poll", "uring", "gonet"},
				FDs: []int{10}, Active: []int{1}, Mode: "open", Rate: results.Rates{2000}, Size: 0, Path: "/",
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.HTTP,
				ServerCPUs: "0", ClientCPUs: "1",
			},
		},
		{
			name: "line: the request line and the reply's prefix",
			file: "l.yaml",
			src:  "fds: [10]\nproto: line\nline: version\nexpect: \"VERSION \"\nkeepalive: 1s\n",
			want: results.Scenario{
				Name: "l", Backends: []string{"select", "poll", "epoll-lt", "epoll-et", "uring-poll", "uring", "gonet"},
				FDs: []int{10}, Active: []int{1}, Mode: "open", Rate: results.Rates{2000}, Size: 0, Line: "version", Expect: "VERSION ",
				KeepAlive: results.Duration(time.Second), Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Line,
				ServerCPUs: "0", ClientCPUs: "1",
			},
		},
		{
			name: "unpinned, fractional rate, anchors and tags",
			file: "u.yaml",
			src:  "name: u\nfds: &sweep [4, 5]\nrate: 2.5e3\nserver_cpus: ''\nclient_cpus: !!str 1\nactive: 2\n",
			want: results.Scenario{
				Name: "u", Backends: []string{"select", "poll", "epoll-lt", "epoll-et", "uring-poll", "uring", "gonet"},
				FDs: []int{4, 5}, Active: []int{2}, Mode: "open", Rate: results.Rates{2500}, Size: 64,
				KeepAlive: 0, Warmup: results.Duration(time.Second), Duration: results.Duration(3 * time.Second), Repetitions: 3, Proto: traffic.Echo,
				ServerCPUs: "", ClientCPUs: "1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.file, []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestSuites: every suite's scenarios load, and a quick suite measures
// what its full form does, claim for claim.
func TestSuites(t *testing.T) {
	for _, info := range Suites() {
		su, scs, ok, err := LoadSuite(info.Name)
		if !ok || err != nil || len(scs) != len(su.Scenarios) {
			t.Errorf("LoadSuite(%q) = %d scenarios, ok %v, %v; want %d", info.Name, len(scs), ok, err, len(su.Scenarios))
		}
		for i, sc := range scs {
			if sc.Name != su.Scenarios[i] {
				t.Errorf("%s: scenario %d is %q; want %q", info.Name, i, sc.Name, su.Scenarios[i])
			}
		}
	}
	full, fullScs, _, _ := LoadSuite("claims")
	_, quickScs, _, _ := LoadSuite("claims-quick")
	if len(fullScs) != len(quickScs) || len(fullScs) != len(full.Scenarios) {
		t.Fatalf("claims has %d scenarios, claims-quick %d; want the same", len(fullScs), len(quickScs))
	}
	for i := range fullScs {
		f, q := fullScs[i], quickScs[i]
		subset := !slices.ContainsFunc(q.Backends, func(b string) bool { return !slices.Contains(f.Backends, b) })
		if !subset || f.Mode != q.Mode || f.Size != q.Size || f.ServerSendBuffer != q.ServerSendBuffer || !slices.Equal(f.Churn, q.Churn) {
			t.Errorf("%s and %s differ in what they measure (quick's backends must be among the full one's; mode, size, sndbuf, churn the same)", f.Name, q.Name)
		}
	}
	if _, _, ok, err := LoadSuite("quick"); ok || err != nil {
		t.Errorf("LoadSuite(quick) = ok %v, %v; want not a suite", ok, err)
	}
}

func TestBuiltins(t *testing.T) {
	list := List()
	var names []string
	for _, info := range list {
		names = append(names, info.Name)
	}
	// claim-herd is a claim scenario of its own (several loops; not one
	// of the notes' claims): it runs the sharing variants only. rate-sweep
	// (in the claims suites) sweeps the rate for poll and epoll-lt only.
	herd := []string{"claim-herd", "claim-herd-quick"}
	// fd-table compares backends with their -sharedfd variants only.
	oneComparison := append([]string{"fd-table"}, herd...)
	want := append([]string{"idle-sweep", "quick", "smoke"}, oneComparison...)
	for _, su := range suites {
		want = append(want, su.Scenarios...)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("List() names = %v, want %v (sorted)", names, want)
	}
	if !slices.Contains(names, Default) {
		t.Errorf("Default %q is not a built-in", Default)
	}
	for _, info := range list {
		s, err := Load(info.Name)
		if err != nil {
			t.Errorf("Load(%q): %v", info.Name, err)
			continue
		}
		if s.Name != info.Name {
			t.Errorf("built-in file %s.yaml has name %q, want the file's name", info.Name, s.Name)
		}
		if s.Description == "" || s.Description != info.Description {
			t.Errorf("%s: description %q, List says %q; want the same, non-empty", info.Name, s.Description, info.Description)
		}
		// Every built-in sweep runs every default backend (variants may be
		// added); a claim scenario runs the backends its claim compares.
		inSuite := slices.ContainsFunc(suites, func(su Suite) bool { return slices.Contains(su.Scenarios, info.Name) }) || slices.Contains(oneComparison, info.Name)
		for _, b := range KnownBackends() {
			if inSuite {
				break
			}
			if !slices.Contains(s.Backends, b) {
				t.Errorf("%s: backends %v lack %s; want all of %v", info.Name, s.Backends, b, KnownBackends())
			}
		}
	}

	quick, _ := Load("quick")
	// Budget check on the configuration, not a timing: the measured time
	// alone must leave room for connects and server starts within 2 minutes.
	if d := measuredTime(t, quick); d > 90*time.Second {
		t.Errorf("quick measures for %v in total, want at most 90s so the run fits in 2 minutes", d)
	}
	// A first look shows medians with a spread: at least 3 repetitions.
	if quick.FDs[0] != 10 || quick.FDs[len(quick.FDs)-1] != 10000 || quick.Repetitions < 3 {
		t.Errorf("quick sweeps %v with %d repetitions, want 10..10000 with at least 3", quick.FDs, quick.Repetitions)
	}

	// claims-quick runs in CI: its sweeps' measured time must leave room
	// for connecting, server starts, waitcost and the pitfalls in ~3 min
	// (rate-sweep-quick is about 22 s of it).
	_, quickClaims, _, _ := LoadSuite("claims-quick")
	var claimsTime time.Duration
	for _, sc := range quickClaims {
		claimsTime += measuredTime(t, sc)
	}
	if claimsTime > 100*time.Second {
		t.Errorf("claims-quick's scenarios measure for %v in total, want at most 100s", claimsTime)
	}

	// claim-herd-quick is to run in about a minute: its measured time
	// must leave room for a server start and the connects per sample.
	herdQuick, _ := Load("claim-herd-quick")
	if d := measuredTime(t, herdQuick); d > 45*time.Second {
		t.Errorf("claim-herd-quick measures for %v, want at most 45s so the run takes about a minute", d)
	}
	full, _ := Load("claim-herd")
	if !slices.Equal(full.Loops, []int{2, 4, 8}) || !slices.Equal(full.Churn, results.Churn{false, true}) ||
		!slices.Equal(full.Backends, lineup.Sharing()) || full.ServerCPUs != "0" {
		t.Errorf("claim-herd: loops %v, churn %v, backends %v on CPUs %q; want 2, 4, 8 loops of every sharing mode, with and without churn, on CPU 0",
			full.Loops, full.Churn, full.Backends, full.ServerCPUs)
	}
	if !slices.Equal(herdQuick.Loops, full.Loops) || !slices.Equal(herdQuick.Churn, full.Churn) || !slices.Equal(herdQuick.Backends, full.Backends) {
		t.Errorf("claim-herd-quick measures other points than claim-herd")
	}

	// rate-sweep: poll and epoll-lt at 1,000 and 10,000 fds (the per-fd
	// slope's two ends), one active, rates from 100 or less to 10,000 or
	// more, in about 9 minutes with the connects and server starts; the
	// quick form in under one.
	rates, _ := Load("rate-sweep")
	ratesQuick, _ := Load("rate-sweep-quick")
	for _, sc := range []results.Scenario{rates, ratesQuick} {
		if !slices.Equal(sc.Backends, []string{"poll", "epoll-lt"}) || !slices.Equal(sc.FDs, []int{1000, 10000}) ||
			!slices.Equal(sc.Active, []int{1}) || !sc.Rate.Several() || sc.Rate[0] > 100 || sc.Rate[len(sc.Rate)-1] < 10000 {
			t.Errorf("%s: backends %v, fds %v, active %v, rates %v; want poll and epoll-lt at 1,000 and 10,000 fds, 1 active, rates from 100 or less to 10,000 or more",
				sc.Name, sc.Backends, sc.FDs, sc.Active, sc.Rate)
		}
	}
	if d := measuredTime(t, rates); d > 8*time.Minute || rates.Repetitions < 5 {
		t.Errorf("rate-sweep measures for %v with %d repetitions; want at most 8 minutes (about 11 with connects and server starts) and 5 or more", d, rates.Repetitions)
	}
	if d := measuredTime(t, ratesQuick); d > 45*time.Second {
		t.Errorf("rate-sweep-quick measures for %v; want at most 45s so the run takes about two minutes", d)
	}

	sweep, _ := Load("idle-sweep")
	if got := sweep.FDs[len(sweep.FDs)-1]; got != 19960 {
		t.Errorf("idle-sweep reaches %d fds, want 19960", got)
	}
	if !slices.Equal(sweep.Active, []int{1, 32}) || sweep.Repetitions != 3 {
		t.Errorf("idle-sweep active %v repetitions %d, want [1 32] and 3", sweep.Active, sweep.Repetitions)
	}

	smoke, _ := Load("smoke")
	if d := measuredTime(t, smoke); d > 15*time.Second {
		t.Errorf("smoke measures for %v, want seconds (at most 15s)", d)
	}
	if !slices.ContainsFunc(smoke.FDs, func(n int) bool { return n > 1024 }) {
		t.Errorf("smoke fds %v: want one above FD_SETSIZE (1024) so select is unsupported there", smoke.FDs)
	}
}

// measuredTime is warm-up plus window over every point, backend and
// repetition of s.
func measuredTime(t *testing.T, s results.Scenario) time.Duration {
	t.Helper()
	warmup, window := s.Warmup.D(), s.Duration.D()
	points := 0
	for _, fds := range s.FDs {
		for _, active := range s.Active {
			if fds >= active+1 { // the others are recorded as unsupported, not run
				points++
			}
		}
	}
	points *= len(s.LoopCounts()) * len(s.Churn.Values()) * len(s.Rate.Values())
	return time.Duration(points*len(s.Backends)*s.Repetitions) * (warmup + window)
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(user, []byte("fds: [10, 20]\nbackends: [poll]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("fds: [10, 20]\nrate: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A bare name that is a file in the working directory.
	t.Chdir(dir)
	if err := os.WriteFile("localfile", []byte("name: local\nfds: [5]\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		arg      string
		wantName string
		wantErr  string
	}{
		{arg: "quick", wantName: "quick"},
		{arg: user, wantName: "mine"},
		{arg: "localfile", wantName: "local"},
		{arg: bad, wantErr: bad + ":2: rate: 0 req/s"},
		{arg: "nope", wantErr: `load scenario "nope": not a built-in scenario (claim-active-ratio, claim-active-ratio-quick`},
		{arg: filepath.Join(dir, "missing.yaml"), wantErr: "no such file"},
		{arg: "quick.yaml", wantErr: "no such file"}, // an extension means a path, not the built-in
	}
	for _, tt := range tests {
		s, err := Load(tt.arg)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load(%q) error = %v, want one containing %q", tt.arg, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("Load(%q): %v", tt.arg, err)
		case s.Name != tt.wantName:
			t.Errorf("Load(%q).Name = %q, want %q", tt.arg, s.Name, tt.wantName)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"duraton", "duration", 1},
		{"warmpu", "warmup", 2},
		{"rate", "size", 3},
		{"abc", "", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics, that every error line names the
// file and a line, and that a scenario it accepts survives a round trip:
// written back out with every field set, it parses to the same scenario.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"*.yaml", "testdata/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("fds: [10]\nactive: 2\nmode: closed\n"))
	f.Add([]byte("fds: [10, 100]\nkeepalive: 0\nrate: .inf\n"))
	f.Add([]byte("fds: [10]\nproto: line\nline: version\nexpect: \"VERSION \"\n"))
	f.Add([]byte("fds: [10]\nproto: http\npath: /a?b=c\n"))
	lineRE := regexp.MustCompile(`^fuzz\.yaml:[1-9][0-9]*: `)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !lineRE.MatchString(line) {
					t.Fatalf("error line %q does not start with fuzz.yaml:LINE:", line)
				}
			}
			return
		}
		again, err := Parse("fuzz.yaml", roundTrip(t, s))
		if err != nil {
			t.Fatalf("scenario %+v does not parse again: %v", s, err)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip changed the scenario:\n got %+v\nwant %+v", again, s)
		}
	})
}

// roundTrip writes s back as a scenario file. JSON is YAML, and
// encoding/json is independent of the YAML library under test.
func roundTrip(t *testing.T, s results.Scenario) []byte {
	m := map[string]any{
		"name": s.Name, "description": s.Description, "backends": s.Backends,
		"fds": s.FDs, "active": s.Active, "mode": s.Mode, "size": s.Size,
		"keepalive": s.KeepAlive, "warmup": s.Warmup, "duration": s.Duration,
		"repetitions": s.Repetitions, "proto": s.Proto,
		"server_cpus": s.ServerCPUs, "client_cpus": s.ClientCPUs,
		"server_sndbuf": s.ServerSendBuffer, "churn": s.Churn, "loops": s.Loops,
	}
	if s.Mode == "open" {
		m["rate"] = s.Rate
	}
	if !s.Proto.Echoes() {
		delete(m, "size") // the request/reply protocols take none
	}
	for k, v := range map[string]string{"path": s.Path, "line": s.Line, "expect": s.Expect} {
		if v != "" {
			m[k] = v
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestReadmeExample keeps the example in README.md valid.
func TestReadmeExample(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```yaml example")
	}
	s, err := Parse("README.md example", []byte(example))
	if err != nil {
		t.Fatalf("README.md example: %v", err)
	}
	if s.Name != "et-vs-lt" || s.Mode != "closed" || s.Rate != nil {
		t.Errorf("README.md example parsed as %+v", s)
	}
}
