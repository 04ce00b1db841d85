package pitfalls

import (
	"bytes"
	"flag"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/golden"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/report/claims"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func counter(v Verdict, name string) (float64, bool) {
	for _, c := range v.Counters {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}

func TestDetectors(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		v         Verdict
		fault     bool
		counter   string
		value     float64
		figureHas string
	}{
		{"accept: all served", DetectAcceptLoss(AcceptObs{Offered: 500, Connected: 500, Accepted: 500, Served: 500, Waited: 3 * ms}), false, "never_served", 0, "all 500 connections served (accepted within 3ms)"},
		{"accept: queued ones never served", DetectAcceptLoss(AcceptObs{Offered: 500, Connected: 500, Accepted: 63, Served: 63, Waited: 600 * ms}), true, "never_served", 437, "437 of 500 connections never served (gave up after 600ms)"},
		{"accept: one lost", DetectAcceptLoss(AcceptObs{Offered: 500, Connected: 499, Accepted: 499, Served: 498}), true, "never_served", 1, "1 of 499"},
		{"hangup: every close seen", DetectLostHangup(HangupObs{Clients: 200, Echoed: 200, ServerClosed: 200, ClientSawEOF: 200}), false, "server_conns_open", 0, "all 200 closes seen"},
		{"hangup: leaked", DetectLostHangup(HangupObs{Clients: 200, Echoed: 200, ServerClosed: 12, ServerOpen: 188, Waited: 510 * ms}), true, "server_conns_open", 188, "188 of 200 closes never seen"},
		{"stall: all echoed", DetectStall(StallObs{Conns: 8, BytesPerConn: 1 << 20, BytesSent: 8 << 20, BytesEchoed: 8 << 20}), false, "stalled_conns", 0, "0 of 8"},
		{"stall: stalled", DetectStall(StallObs{Conns: 8, BytesPerConn: 1 << 20, Stalled: 8, BytesSent: 8 << 20, BytesEchoed: 1 << 20}), true, "stalled_conns", 8, "8 of 8 connections stalled (1,048,576 of 8,388,608 echoed)"},
		{"slow: noise is not a fault", DetectBlockedLoop(SlowReaderObs{Base: Latency{30e3, 1.2e6}, Slow: Latency{25e3, 21e6}}), false, "p99_ns_with_slow_reader", 21e6, "p99 1.20 ms → 21.0 ms"},
		{"slow: a p99 spike past the floor is noise", DetectBlockedLoop(SlowReaderObs{Base: Latency{81.2e3, 9.01e6}, Slow: Latency{75.8e3, 148e6}}), false, "p50_ns_with_slow_reader", 75.8e3, "p99 9.01 ms → 148 ms"},
		{"slow: small p50 tripled is not a fault", DetectBlockedLoop(SlowReaderObs{Base: Latency{30e3, 100e3}, Slow: Latency{90e3, 900e3}}), false, "p50_ns_without", 30e3, ""},
		{"slow: blocked loop", DetectBlockedLoop(SlowReaderObs{Base: Latency{30e3, 200e3}, Slow: Latency{400e6, 990e6}}), true, "p50_ns_with_slow_reader", 400e6, "p50 30.0 µs → 400 ms"},
		{"slow: failed requests", DetectBlockedLoop(SlowReaderObs{Base: Latency{30e3, 200e3}, Slow: Latency{30e3, 200e3}, SlowErr: 3}), true, "errors_with_slow_reader", 3, ""},
		{"fdset: select refuses cleanly", DetectUncheckedFD(FDSetObs{FD: 1100, Refused: true, RefuseErr: "select: fd 1100 >= FD_SETSIZE", Rejected: 8, StillOpen: 1012, EchoOK: true}, true), false, "server_conns_rejected", 8, "fd 1100 refused"},
		{"fdset: select accepts the fd", DetectUncheckedFD(FDSetObs{FD: 1100, Rejected: 8, EchoOK: true}, true), true, "typed_error", 0, "not refused"},
		{"fdset: select server stops serving", DetectUncheckedFD(FDSetObs{FD: 1100, Refused: true, Rejected: 8}, true), true, "echo_after_rejections", 0, ""},
		{"fdset: unchecked panics", DetectUncheckedFD(FDSetObs{FD: 1100, Died: true, ExitStatus: 2, PanicText: "panic: runtime error: index out of range [17] with length 16"}, false), true, "panicked", 1, "exit status 2: panic: runtime error"},
		{"fdset: unchecked killed", DetectUncheckedFD(FDSetObs{FD: 1100, Died: true, ExitStatus: -1, Signal: "segmentation fault"}, false), true, "died", 1, "killed by segmentation fault"},
		{"fdset: silent overwrite", DetectUncheckedFD(FDSetObs{FD: 1100, Overwritten: true}, false), true, "memory_past_set_changed", 1, "exited normally; select(2) with nfds 1101 wrote past"},
		{"fdset: nothing happened", DetectUncheckedFD(FDSetObs{FD: 1100}, false), false, "died", 0, "exited normally"},
		{"spin: idle loop", DetectSpin(SpinObs{Conns: 20, WindowNs: 1e9, LoopCPUNs: 1e5}), false, "waits_per_sec", 0, "0 waits/s"},
		{"spin: at the threshold", DetectSpin(SpinObs{Conns: 20, WindowNs: 1e9, Waits: SpinWaitsPerSec}), false, "waits", SpinWaitsPerSec, ""},
		{"spin: spinning", DetectSpin(SpinObs{Conns: 20, WindowNs: 2e9, Waits: 800000, Events: 16e6, LoopCPUNs: 19e8}), true, "loop_cpu_util", 0.95, "400,000 waits/s, loop thread 95% of a CPU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.v.Fault != tt.fault {
				t.Errorf("fault %v; want %v (%s)", tt.v.Fault, tt.fault, tt.v.Figure)
			}
			if got, ok := counter(tt.v, tt.counter); !ok || got != tt.value {
				t.Errorf("counter %s = %v (present %v); want %v", tt.counter, got, ok, tt.value)
			}
			if !strings.Contains(tt.v.Figure, tt.figureHas) {
				t.Errorf("figure %q; want it to contain %q", tt.v.Figure, tt.figureHas)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	fault, clean := Outcome{Verdict: Verdict{Fault: true}}, Outcome{}
	broken := Outcome{Error: "server hello: exited"}
	tests := []struct {
		correct, wrong Outcome
		want           string
	}{
		{clean, fault, StatusReproduced},
		{clean, clean, StatusNotReproduced},
		{fault, fault, StatusInconclusive},
		{fault, clean, StatusInconclusive},
		{broken, fault, StatusError},
		{clean, broken, StatusError},
	}
	for _, tt := range tests {
		if got := Judge(tt.correct, tt.wrong); got != tt.want {
			t.Errorf("Judge(correct fault %v err %q, wrong fault %v err %q) = %q; want %q",
				tt.correct.Fault, tt.correct.Error, tt.wrong.Fault, tt.wrong.Error, got, tt.want)
		}
	}
}

func TestTableClaims(t *testing.T) {
	// Claims 6, 7 and 9 of the claims table are tested by pitfalls 2, 1 and 4.
	want := map[int]string{6: "et-short-read-ignore-hup", 7: "et-accept-once", 9: "sleep-send"}
	for _, p := range table {
		if p.Claim != 0 && want[p.Claim] != p.Name {
			t.Errorf("pitfall %s tests claim %d; want %s to", p.Name, p.Claim, want[p.Claim])
		}
	}
	// The wrong loops are the pitfall backends, each once, in their order.
	var wrong []string
	for _, p := range table {
		if p.wrong != uncheckedProgram {
			wrong = append(wrong, p.wrong)
		}
	}
	if !slices.Equal(wrong, lineup.Pitfalls) {
		t.Errorf("wrong loops %v; want lineup.Pitfalls %v", wrong, lineup.Pitfalls)
	}
	for i, p := range table {
		if p.Number != i+1 || p.Did == "" || p.Explanation == "" || p.Title == "" || p.check == nil {
			t.Errorf("table[%d] (%s): number %d, or an empty description or check", i, p.Name, p.Number)
		}
	}
}

// TestMarkdownGolden renders report.md from fixed files: pitfalls.json is
// a real run (6 of 6 reproduced), statuses.json a synthetic one holding
// every other status.
func TestMarkdownGolden(t *testing.T) {
	for _, name := range []string{"pitfalls", "statuses"} {
		t.Run(name, func(t *testing.T) {
			f, err := Read(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := Markdown(&b, f); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", name+".golden.md"), b.Bytes(), *update)
		})
	}
}

// TestClaimEvidence: the pitfalls that test a claim become its evidence,
// and package claims' verdict follows each status: reproduced holds, not
// reproduced does not, an error or an inconclusive run is not measured.
func TestClaimEvidence(t *testing.T) {
	f, err := Read(filepath.Join("testdata", "pitfalls.json"))
	if err != nil {
		t.Fatal(err)
	}
	var numbers []int
	for _, p := range ClaimEvidence(f) {
		numbers = append(numbers, p.Claim)
		if p.Figure == "" || p.Measured == "" {
			t.Errorf("claim %d: empty figure or measured", p.Claim)
		}
	}
	if !slices.Equal(numbers, []int{7, 6, 9}) {
		t.Errorf("claims %v; want [7 6 9] (the file's order)", numbers)
	}

	verdictOf := map[string]claims.Verdict{StatusReproduced: claims.Holds, StatusNotReproduced: claims.DoesNotHold,
		StatusError: claims.NotMeasured, StatusInconclusive: claims.NotMeasured}
	for st, want := range verdictOf {
		g := &File{Pitfalls: []Result{{Name: "sleep-send", Claim: 9, Status: st, Error: "boom"}}}
		ev := ClaimEvidence(g)
		if len(ev) != 1 {
			t.Fatalf("status %q: %d pitfalls of evidence; want 1", st, len(ev))
		}
		if p := ev[0]; !p.Ran && (!strings.HasPrefix(p.Figure, st+": ") || p.Why != st+": boom") {
			t.Errorf("status %q: figure %q, why %q; want both to name the status", st, p.Figure, p.Why)
		}
		for _, r := range claims.Table(claims.Evidence{Pitfalls: ev}) {
			w := claims.NotMeasured
			if r.N == 9 {
				w = want
			}
			if r.N >= 6 && r.N <= 9 && r.Verdict != w {
				t.Errorf("status %q: claim %d verdict %q; want %q", st, r.N, r.Verdict, w)
			}
		}
	}
}

func TestReadRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	f := &File{Schema: SchemaVersion + 1, Tool: "muxbench"}
	if err := Write(dir, f); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(filepath.Join(dir, JSONFile)); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("Read of schema %d: %v; want an error naming the schema", f.Schema, err)
	}
}
