package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/loadfile"
	"github.com/muxbench/muxbench/results"
)

// startRemote starts `muxbench serve -control tcp:127.0.0.1:0` as a
// server the harness did not start would be, killed in t.Cleanup.
func startRemote(t *testing.T, backend string) wire.Hello {
	t.Helper()
	srv, err := StartChild([]string{muxbenchBin, "serve", "-backend", backend, "-addr", "127.0.0.1:0", "-control", "tcp:127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)
	return srv.Hello()
}

// dialRemote connects a Remote for generator index of n to the server.
func dialRemote(t *testing.T, h wire.Hello, n, index int, at time.Time) *Remote {
	t.Helper()
	c, err := wire.Dial(h.Control, h.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Remote{Addr: h.Addr, Client: c, Hello: h, Generators: n, Index: index, StartAt: at, Setup: time.Second, Host: "gen"}
}

func remoteScenario(backend string) results.Scenario {
	return results.Scenario{
		Name: "tiny-remote", Backends: []string{backend}, FDs: []int{12, 52}, Active: []int{2}, Mode: traffic.Open, Rate: 400, Size: 64,
		Warmup: results.Duration(100 * time.Millisecond), Duration: results.Duration(300 * time.Millisecond), Repetitions: 1, Proto: traffic.Echo,
	}
}

// TestRemoteRun: a sweep of a server the harness did not start proves
// each point's population over the control port as it does a child's,
// writes a load file per sample, records no token, and leaves the server
// running with every connection closed.
func TestRemoteRun(t *testing.T) {
	keepAffinity(t)
	h := startRemote(t, "epoll-lt")
	dir := t.TempDir()
	sc := remoteScenario("epoll-lt")
	run, err := Run(context.Background(), Options{Scenario: sc, OutDir: dir, Remote: dialRemote(t, h, 1, 0, time.Time{})})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range run.Samples {
		if s.Status != results.StatusOK || s.Requests == 0 || s.Server.ConnsOpen != int64(s.FDs-results.ServerOwnFDs) || s.Watched != int64(s.FDs) {
			t.Errorf("sample %d at %d fds: %s (%s), %d requests, %d open, %d watched; want ok with the point's connections", i, s.FDs, s.Status, s.Reason, s.Requests, s.Server.ConnsOpen, s.Watched)
		}
		if s.Memory != nil || s.Server.CPUSetBusy != 0 {
			t.Errorf("sample %d: memory %+v, CPU set busy %v: read off this machine for a remote server", i, s.Memory, s.Server.CPUSetBusy)
		}
		if _, err := loadfile.Read(LoadFile(dir, i)); err != nil {
			t.Errorf("sample %d's load file: %v", i, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, results.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), h.Token) {
		t.Error("run.json holds the server's control token")
	}
	if run.Remote == nil || run.Remote.Hello.PID != h.PID {
		t.Errorf("run.Remote %+v; want the server's hello", run.Remote)
	}
	c, err := wire.Dial(h.Control, h.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Stats()
	if err != nil || r.ConnsOpen != 0 {
		t.Errorf("after the run: stats %+v, %v; want the server running with no connection open", r, err)
	}
}

// TestRemoteShared: two generators given the same start time measure the
// same windows of one server, each its share; their load files merge into
// whole points whose requests are the shares' sum.
func TestRemoteShared(t *testing.T) {
	if testing.Short() {
		t.Skip("two generators, about 7 s")
	}
	h := startRemote(t, "epoll-lt")
	keepAffinity(t)
	sc := remoteScenario("epoll-lt")
	at := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	in := make([]loadfile.RunInput, 2)
	errs := make([]error, 2)
	for i := range 2 {
		dir := t.TempDir()
		r := dialRemote(t, h, 2, i, at)
		wg.Go(func() {
			run, err := Run(context.Background(), Options{Scenario: sc, OutDir: dir, Remote: r})
			errs[i] = err
			in[i] = loadfile.RunInput{Name: dir, Run: run, Loads: map[int]*loadfile.File{}}
			for k := range Jobs(sc) {
				if f, err := loadfile.Read(LoadFile(dir, k)); err == nil {
					in[i].Loads[k] = f
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("generator %d: %v", i, err)
		}
	}
	slots := (&Remote{StartAt: at, Setup: time.Second, Hello: h}).Schedule(sc)
	for i, x := range in {
		for k, s := range x.Run.Samples {
			if s.Status != results.StatusOK || s.Server.ConnsOpen != int64(s.FDs-results.ServerOwnFDs) {
				t.Errorf("generator %d sample %d: %s (%s), server had %d open; want ok with the whole point open", i, k, s.Status, s.Reason, s.Server.ConnsOpen)
			}
			if f := x.Loads[k]; f == nil || f.WindowStart.Before(slots[k].WarmupAt) || f.WindowEnd.After(slots[k].Hold) {
				t.Errorf("generator %d sample %d: window outside its slot %+v", i, k, slots[k])
			}
		}
	}
	merged, err := loadfile.MergeRuns(in, loadfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, s := range merged.Samples {
		sum := in[0].Run.Samples[k].Requests + in[1].Run.Samples[k].Requests
		if s.Status != results.StatusOK || s.Requests != sum || s.Active != 2 || s.FDs != sc.FDs[k] {
			t.Errorf("merged sample %d: %s (%s), %d requests (shares: %d), %d active, %d fds; want ok, the sum, 2, %d", k, s.Status, s.Reason, s.Requests, sum, s.Active, s.FDs, sc.FDs[k])
		}
	}
}

// TestSchedule: slots follow each other from the start time; a point the
// server's hello rules out gets an empty slot, alike on every generator.
func TestSchedule(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	sc := remoteScenario("select")
	sc.FDs = []int{12, 2000, 52}
	r := &Remote{StartAt: at, Hello: wire.Hello{MaxFD: 1024, OpenFDs: 10}}
	slots := r.Schedule(sc)
	if len(slots) != 3 || !slots[0].Start.Equal(at) {
		t.Fatalf("slots %+v; want 3 from %v", slots, at)
	}
	for k, s := range slots {
		if k > 0 && !s.Start.Equal(slots[k-1].End) {
			t.Errorf("slot %d starts at %v, not at the last one's end %v", k, s.Start, slots[k-1].End)
		}
		if s.WarmupAt.Before(s.Start) || s.Hold.Before(s.WarmupAt) || s.End.Before(s.Hold) {
			t.Errorf("slot %d out of order: %+v", k, s)
		}
	}
	if s := slots[1]; !s.End.Equal(s.Start) {
		t.Errorf("slot at 2000 fds (past select's 1024) lasts %v; want empty", s.End.Sub(s.Start))
	}
	if got, want := slots[0].WarmupAt.Sub(slots[0].Start), SetupTime(10); got != want {
		t.Errorf("setup %v; want SetupTime's %v", got, want)
	}
	if got := slots[0].Hold.Sub(slots[0].WarmupAt); got != 100*time.Millisecond+300*time.Millisecond+slotLinger {
		t.Errorf("warm-up to hold %v; want warm-up + duration + linger", got)
	}
}

// TestRemoteLoopsMustMatch: a scenario swept against a remote server runs
// the loops that server runs (serve -loops), or it is refused before any
// connection: the harness cannot restart it with others.
func TestRemoteLoopsMustMatch(t *testing.T) {
	h := wire.Hello{Backend: "epoll-shared-listener", Loops: 4}
	sc := results.Scenario{Name: "x", Backends: []string{h.Backend}, FDs: []int{10}, Active: []int{1}, Repetitions: 1, ClientCPUs: ""}
	for _, tc := range []struct {
		loops []int
		want  string
	}{
		{nil, "the remote server runs 4 loops; the scenario's loops must be just that, not [1]"},
		{[]int{2, 4}, "not [2 4]"},
	} {
		sc.Loops = tc.loops
		_, err := Run(context.Background(), Options{Scenario: sc, Remote: &Remote{Hello: h}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loops %v against a server of 4: %v; want an error containing %q", tc.loops, err, tc.want)
		}
	}
}
