package loadfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/muxbench/muxbench/internal/golden"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The fixtures are real: two `muxbench load -out` files of generators that
// drove one epoll-lt server on loopback with the same -start-at, as the two
// shares of one point (-conns 10 -active 2 -rate 3000 -generators 2);
// gen-a sampled the server at its window's edges (load -control), and
// server.jsonl is those three lines (hello, start, end) as a script would
// have collected them.

func readFixture(t *testing.T, name string) *File {
	t.Helper()
	f, err := Read(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func fixtures(t *testing.T) []Input {
	t.Helper()
	return []Input{{"gen-a.json", readFixture(t, "gen-a.json")}, {"gen-b.json", readFixture(t, "gen-b.json")}}
}

func serverFixture(t *testing.T) *ServerEdges {
	t.Helper()
	data, err := os.ReadFile("testdata/server.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseServer("server.jsonl", data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestParseServerDropsToken: serve's hello line carries the control
// token (server.jsonl's does); what a merge records of it must not.
func TestParseServerDropsToken(t *testing.T) {
	if h := serverFixture(t).Hello; h.Token != "" || h.Control == "" {
		t.Errorf("parsed hello %+v; want its control address and no token", h)
	}
}

// TestMergeGolden: the merged run of the fixtures, as run.json holds it.
func TestMergeGolden(t *testing.T) {
	run, ov, err := Merge(fixtures(t), Options{Server: serverFixture(t), Backend: "epoll-lt"})
	if err != nil {
		t.Fatal(err)
	}
	if ov.Common <= 0 || ov.Common > ov.Longest {
		t.Errorf("overlap %+v; want a positive common part no longer than the longest window", ov)
	}
	dir := t.TempDir()
	if err := results.WriteDir(dir, run); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, results.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/merged.golden.json", got, *update)
	back, err := results.ReadRun(dir)
	if err != nil {
		t.Fatalf("the merged directory does not read back as a run: %v", err)
	}
	if len(back.Samples) != 1 || back.Samples[0].Status != results.StatusOK {
		t.Errorf("merged samples %+v; want one ok sample", back.Samples)
	}
}

// TestMergeSums: counts add up and the merged histogram holds every value
// of both generators' (lossless), so its percentiles are the whole
// population's.
func TestMergeSums(t *testing.T) {
	in := fixtures(t)
	in[0].File.Server = nil // no server counters: the generators' alone
	a, b := &in[0].File.Result, &in[1].File.Result
	run, _, err := Merge(in, Options{Backend: "epoll-lt"})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Samples[0]
	if s.Requests != a.Requests+b.Requests || s.Active != a.Active+b.Active || s.Idle != a.Idle+b.Idle ||
		s.FDs != a.Conns+b.Conns+results.ServerOwnFDs || s.RateRequested != a.RateRequested+b.RateRequested {
		t.Errorf("merged %d requests, %d active, %d idle, %d fds, %v req/s; want the sums of %+v and %+v",
			s.Requests, s.Active, s.Idle, s.FDs, s.RateRequested, a, b)
	}
	h, err := loadgen.DecodeHistogram(s.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != a.Corrected.TotalCount()+b.Corrected.TotalCount() || s.Latency.Count != s.Requests {
		t.Errorf("merged histogram holds %d values, summary %d; want %d", h.TotalCount(), s.Latency.Count, s.Requests)
	}
	if want := max(a.Corrected.Max(), b.Corrected.Max()); h.Max() != want {
		t.Errorf("merged max %d; want %d", h.Max(), want)
	}
	// Every bar of both histograms is in the merged one, value for value.
	want := map[int64]int64{}
	for _, src := range []*Input{&in[0], &in[1]} {
		for _, bar := range src.File.Result.Corrected.Distribution() {
			want[bar.From] += bar.Count
		}
	}
	for _, bar := range h.Distribution() {
		if bar.Count != want[bar.From] {
			t.Fatalf("merged bucket at %d holds %d; want %d", bar.From, bar.Count, want[bar.From])
		}
	}
	if s.Server.CPUScope != "" || s.Server.Reads != 0 {
		t.Errorf("without -server the merged sample has server figures %+v; want none", s.Server)
	}
}

func TestMergeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(b *File)
		is     error
		want   string
	}{
		{"disjoint windows", func(b *File) {
			b.WindowStart, b.WindowEnd = b.WindowStart.Add(3*time.Second), b.WindowEnd.Add(3*time.Second)
		}, ErrNoOverlap, "gen-a.json's window ends at"},
		{"windows touching", func(b *File) {
			d := b.WindowEnd.Sub(b.WindowStart)
			b.WindowStart = readFixtureEnd(t)
			b.WindowEnd = b.WindowStart.Add(d)
		}, ErrNoOverlap, "0.000 s before gen-b.json's starts"},
		{"mode", func(b *File) { b.Config.Mode = traffic.Closed }, ErrMixed, `config.mode is "open" in gen-a.json but "closed" in gen-b.json`},
		{"size", func(b *File) { b.Config.Size = 128 }, ErrMixed, "config.size"},
		{"duration", func(b *File) { b.Config.Duration = results.Duration(2 * time.Second) }, ErrMixed, "config.duration"},
		{"target", func(b *File) { b.Config.Target = "10.0.0.1:7000" }, ErrMixed, "config.target"},
		{"proto", func(b *File) { b.Config.Proto = "sockperf" }, ErrMixed, "config.proto"},
		{"same share twice", func(b *File) { b.Config.GeneratorIndex = 0 }, ErrMixed, "gen-a.json and gen-b.json are both generator 0 of 2"},
		{"share count differs", func(b *File) { b.Config.Generators = 3 }, ErrMixed, "config.generators is 2 in gen-a.json but 3 in gen-b.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fixtures(t)
			tc.change(in[1].File)
			_, _, err := Merge(in, Options{Backend: "epoll-lt"})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Merge: %v; want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
	if _, _, err := Merge(nil, Options{Backend: "poll"}); err == nil {
		t.Error("Merge of nothing: nil error; want one")
	}
}

// TestMergeDuplicate: one generator's result given twice — the same file,
// or a byte copy under another name — is refused, whether the point was
// shared (-generators) or every generator ran it whole; two different
// generators' results of one window are not.
func TestMergeDuplicate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "gen-a.json"))
	if err != nil {
		t.Fatal(err)
	}
	whole := func(name string) Input { // a whole point's file, from the fixture's bytes
		f, err := Parse(name, data)
		if err != nil {
			t.Fatal(err)
		}
		f.Config.Generators, f.Config.GeneratorIndex = 1, 0
		return Input{name, f}
	}
	for _, tc := range []struct {
		name string
		in   []Input
		want string
	}{
		{"one file twice", []Input{whole("gen-a.json"), whole("gen-a.json")}, "gen-a.json and gen-a.json are one result"},
		{"a byte copy", []Input{whole("gen-a.json"), whole("copy.json")}, "gen-a.json and copy.json are one result (host gen-a"},
		{"a share twice", []Input{{"gen-a.json", readFixture(t, "gen-a.json")}, {"copy.json", readFixture(t, "gen-a.json")}}, "gen-a.json and copy.json are one result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Merge(tc.in, Options{Backend: "epoll-lt"})
			if !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Merge: %v; want %v containing %q", err, ErrDuplicate, tc.want)
			}
		})
	}
	other := whole("gen-b.json")
	other.File.Host = "gen-b" // same window and histogram, another generator
	if _, _, err := Merge([]Input{whole("gen-a.json"), other}, Options{Backend: "epoll-lt"}); err != nil {
		t.Errorf("two generators' results of one window: %v; want them merged", err)
	}
}

// TestMergeShares: of N shares every index must be there once.
func TestMergeShares(t *testing.T) {
	_, _, err := Merge(fixtures(t)[:1], Options{})
	if !errors.Is(err, ErrMixed) || !strings.Contains(err.Error(), "generator index 1 of 2 missing") {
		t.Errorf("one share of two: %v; want index 1 missing", err)
	}
}

// TestMergeServerFromFile: a file of load -control carries the server's
// counters at its window edges; merge uses them and the hello's backend.
func TestMergeServerFromFile(t *testing.T) {
	run, _, err := Merge(fixtures(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Samples[0]
	if s.Backend != "epoll-lt" || s.Server.CPUScope != results.CPUScopeLoop || s.Server.Reads == 0 || s.Status != results.StatusOK {
		t.Errorf("sample %s, server %+v, status %s; want epoll-lt with loop-thread CPU and counters, ok", s.Backend, s.Server, s.Status)
	}
	if !strings.Contains(run.Scenario.Description, "sampled at gen-a.json's window edges") {
		t.Errorf("description %q; want it to say who sampled the server", run.Scenario.Description)
	}
	in := fixtures(t)
	in[0].File.Server = nil
	if _, _, err := Merge(in, Options{}); err == nil || !strings.Contains(err.Error(), "backend is unknown") {
		t.Errorf("no backend anywhere: %v; want the backend unknown", err)
	}
}

func readFixtureEnd(t *testing.T) time.Time { return readFixture(t, "gen-a.json").WindowEnd }

// TestMergeServerFault: server reports that were not both taken with every
// connection open make the point failed, not plotted.
func TestMergeServerFault(t *testing.T) {
	e := serverFixture(t)
	e.End.ConnsOpen -= 3
	e.End.Accepts += 2
	// (the fixture's open-connection count is 10: both shares)
	run, _, err := Merge(fixtures(t), Options{Server: e, Backend: "epoll-lt"})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Samples[0]
	if s.Status != results.StatusFailed || !strings.Contains(s.Reason, "2 accepts") || !strings.Contains(s.Reason, "7 of the generators' 10 connections open at the server's last report") {
		t.Errorf("status %s, reason %q; want failed naming the accepts and the connections", s.Status, s.Reason)
	}
}

func TestParseRefuses(t *testing.T) {
	good, err := os.ReadFile("testdata/gen-a.json")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	res := func(m map[string]any) map[string]any { return m["result"].(map[string]any) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "invalid load result"},
		{"not JSON", []byte("requests: 5"), "invalid load result"},
		{"two values", append(append([]byte{}, good...), good...), "more than one JSON value"},
		{"a run.json", []byte(`{"tool":"muxbench","schema":2,"samples":[]}`), "not a muxbench load result"},
		{"foreign", []byte(`{"tool":"wrk"}`), "not a muxbench load result"},
		{"schema", edit(func(m map[string]any) { m["schema"] = 9 }), "schema 9, this muxbench reads schema 1"},
		{"window backwards", edit(func(m map[string]any) { m["window_end"] = m["window_start"] }), "does not end after it starts"},
		{"negative requests", edit(func(m map[string]any) { res(m)["requests"] = -1 }), "result.requests is -1"},
		{"negative error", edit(func(m map[string]any) { res(m)["errors"] = map[string]any{"reset": -2} }), "result.errors[reset] is -2"},
		{"requests edited", edit(func(m map[string]any) { res(m)["requests"] = res(m)["requests"].(float64) + 1 }), "the latency histogram holds"},
		{"histogram damaged", edit(func(m map[string]any) { res(m)["histogram"] = "HISTFAAAA" }), "result.histogram: "},
		{"other geometry", edit(func(m map[string]any) { res(m)["histogram"] = wideHistogram(t) }), "histogram of 1..3600000000000 at 5 digits"},
		{"idle wrong", edit(func(m map[string]any) { res(m)["idle"] = 0 }), "want active+idle = conns"},
		{"index out of range", edit(func(m map[string]any) { m["config"].(map[string]any)["generator_index"] = 2 }), "generator 2 of 2"},
		{"server clock backwards", edit(func(m map[string]any) {
			srv := m["server"].(map[string]any)
			srv["end"] = srv["start"]
		}), "server.end's clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.json", tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "f.json: ") {
				t.Errorf("Parse: %v; want an error naming f.json containing %q", err, tc.want)
			}
		})
	}
}

func TestParseServerRefuses(t *testing.T) {
	good, err := os.ReadFile("testdata/server.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(good)), "\n")
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "empty"},
		{"no hello", lines[1] + "\n" + lines[1] + "\n" + lines[2], "the first line must be the hello"},
		{"one report", lines[0] + "\n" + lines[1], "1 stats reports; want two"},
		{"refused", lines[0] + "\n" + `{"error":"refused: wrong token"}`, "x.jsonl:2: the server answered with an error: refused"},
		{"out of order", lines[0] + "\n" + lines[2] + "\n" + lines[1], "is not after the first's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseServer("x.jsonl", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseServer: %v; want %q", err, tc.want)
			}
		})
	}
}

// TestWrite: a new file is written and reads back as it was; an existing
// one is refused unless forced.
func TestWrite(t *testing.T) {
	f := readFixture(t, "gen-b.json")
	path := filepath.Join(t.TempDir(), "out.json")
	if err := CheckWritable(path, false); err != nil {
		t.Fatalf("CheckWritable of a new path: %v", err)
	}
	if err := Write(path, f, false); err != nil {
		t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.Marshal()
	if got, _ := back.Marshal(); !bytes.Equal(got, want) {
		t.Errorf("read back:\n%s\nwant:\n%s", got, want)
	}
	if err := CheckWritable(path, false); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "-force") {
		t.Errorf("CheckWritable of an existing file: %v; want ErrExists naming -force", err)
	}
	if err := Write(path, f, false); !errors.Is(err, ErrExists) {
		t.Errorf("Write over an existing file: %v; want ErrExists", err)
	}
	if err := Write(path, f, true); err != nil {
		t.Errorf("Write with force: %v", err)
	}
}

// TestCheckWritable: what would make Write fail after a run is found
// before it: a missing directory, a directory given as the file, and (for
// a user other than root) a directory that may not be written.
func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path string
		force      bool
		want       string
	}{
		{"missing directory", filepath.Join(dir, "nope", "x.json"), false, "create the directory"},
		{"a directory", dir, true, "is a directory"},
		{"under a file", filepath.Join(dir, "file", "x.json"), false, "not a directory"},
	} {
		os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
		if err := CheckWritable(tc.path, tc.force); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CheckWritable(%s) = %v; want an error containing %q", tc.name, tc.path, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("CheckWritable left files behind: %v", entries)
	}
}

// FuzzParse: Parse never panics, and a file it accepts encodes to a file
// it accepts again with the same content.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"gen-a.json", "gen-b.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"tool":"muxbench","kind":"load-result","schema":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		b, err := file.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse("again", b)
		if err != nil {
			t.Fatalf("re-encoded file refused: %v", err)
		}
		if b2, _ := again.Marshal(); !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed the file:\n%s\n%s", b, b2)
		}
	})
}

// wideHistogram is an encoded histogram of another geometry than loadgen's.
func wideHistogram(t *testing.T) string {
	t.Helper()
	s, err := loadgen.EncodeHistogram(hdrhistogram.New(1, 3600e9, 5))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
