package pitfalls

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// muxbenchBin is the muxbench binary built once for these tests: the
// servers under test are `muxbench serve` children, as in a real run.
var muxbenchBin string

func TestMain(m *testing.M) {
	// Pitfall 5's child is this test binary re-executed with ChildEnv set.
	if IsChild() {
		if err := RunChild(os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "muxbench-pitfalls-test")
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	muxbenchBin = filepath.Join(dir, "muxbench")
	build := exec.Command("go", "build", "-o", muxbenchBin, "github.com/muxbench/muxbench/cmd/muxbench")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.Stderr.WriteString("build muxbench for the pitfalls tests: " + err.Error() + "\n")
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testOptions() Options {
	return Options{ServeCommand: []string{muxbenchBin, "serve"}, ChildCommand: []string{os.Args[0]}}
}

// checkTimeout bounds one check of one loop in these tests.
const checkTimeout = 30 * time.Second

// TestDetectorsAgainstLoops runs every pitfall's check against its correct
// loop, which must show no fault, and its wrong loop, which must show the
// fault, with the counter that proves it.
func TestDetectorsAgainstLoops(t *testing.T) {
	// The counter that proves each verdict: positive for the wrong loop
	// (or its alternative, where the detector's rule has two branches);
	// for the correct loop zero where zeroOK (a fault count), else
	// positive too (select's typed error).
	proof := map[string]struct {
		correct, wrong, wrongAlt string
		zeroOK                   bool
	}{
		"et-accept-once":           {"never_served", "never_served", "", true},
		"et-short-read-ignore-hup": {"server_conns_open", "server_conns_open", "", true},
		"et-read-once":             {"stalled_conns", "stalled_conns", "", true},
		// Blocked long enough (a loaded machine), the normal clients get
		// no answer in the window at all: no p50, only errors.
		"sleep-send":        {"errors_with_slow_reader", "p50_ns_with_slow_reader", "errors_with_slow_reader", true},
		"select-fd-setsize": {"typed_error", "died", "", false},
		"lt-keep-epollout":  {"waits_per_sec", "waits_per_sec", "", true},
	}
	for _, p := range table {
		t.Run(p.Name, func(t *testing.T) {
			pr, ok := proof[p.Name]
			if !ok {
				t.Fatalf("no proving counter named for pitfall %s", p.Name)
			}
			for _, side := range []struct {
				backend, counter string
				fault, zero      bool
			}{{p.correct, pr.correct, false, pr.zeroOK}, {p.wrong, pr.wrong, true, false}} {
				ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
				v, err := p.check(ctx, testOptions(), side.backend)
				cancel()
				if err != nil {
					t.Errorf("%s: %v", side.backend, err)
					continue
				}
				if v.Fault != side.fault {
					t.Errorf("%s: fault %v; want %v (%s)", side.backend, v.Fault, side.fault, v.Figure)
				}
				got, ok := counter(v, side.counter)
				if alt, altOK := counter(v, pr.wrongAlt); side.fault && ok && got <= 0 && altOK && alt > 0 {
					side.counter, got = pr.wrongAlt, alt
				}
				switch {
				case !ok:
					t.Errorf("%s: verdict lacks counter %s: %+v", side.backend, side.counter, v.Counters)
				case side.zero && got != 0:
					t.Errorf("%s: %s = %v; want 0", side.backend, side.counter, got)
				case !side.zero && got <= 0:
					t.Errorf("%s: %s = %v; want > 0", side.backend, side.counter, got)
				}
				t.Logf("%s: %s (%s = %v)", side.backend, v.Figure, side.counter, got)
			}
		})
	}
}

func TestRunOnlyAndUnknown(t *testing.T) {
	if _, err := Run(context.Background(), Options{Only: []string{"no-such"}}); err == nil {
		t.Error("Run with an unknown pitfall name: nil error")
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	o := testOptions()
	o.Only = []string{"select-fd-setsize"}
	f, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pitfalls) != 1 || f.Pitfalls[0].Status != StatusReproduced || !f.Pitfalls[0].Reproduced {
		t.Fatalf("pitfalls %+v; want select-fd-setsize alone, reproduced", f.Pitfalls)
	}
	dir := t.TempDir()
	if err := Write(dir, f); err != nil {
		t.Fatal(err)
	}
	back, err := Read(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Pitfalls[0].Wrong.Figure; got != f.Pitfalls[0].Wrong.Figure {
		t.Errorf("read back figure %q; want %q", got, f.Pitfalls[0].Wrong.Figure)
	}
	if _, err := os.Stat(filepath.Join(dir, ReportFile)); err != nil {
		t.Errorf("report.md: %v", err)
	}
}
