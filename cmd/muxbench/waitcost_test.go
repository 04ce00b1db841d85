package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/report"
	"github.com/muxbench/muxbench/waitcost"
)

func TestWaitcostUsageErrors(t *testing.T) {
	isolateLocks(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-ready", "0"}, `-ready: ready "0": want a count ≥ 1`},
		{[]string{"-ready", "150%"}, `want a share in (0%, 100%]`},
		{[]string{"-positions", "middle"}, `-positions: "middle" is not a position`},
		{[]string{"-timeout-ms", "5"}, "-timeout-ms 5: want 0 or -1"},
		{[]string{"-fds", "10,x"}, `-fds: "x" is not a whole number`},
		{[]string{"-backends", "gonet"}, "gonet is a whole server, not a poller"},
		{[]string{"-backends", "kqueue"}, `unknown backend "kqueue"`},
		{[]string{"-reps", "0"}, "-reps 0: want at least 1"},
		{[]string{"-max-time", "1ms", "-min-time", "5ms"}, "-max-time 1ms: below -min-time 5ms"},
		{[]string{"-sparse-highest", "5"}, "-sparse-highest 5: below the 10 sparse fds"},
		{[]string{"-cpu", "99"}, "CPU 99 is not online"},
		{[]string{"-force"}, "-force needs -out"},
		{[]string{"-mode", "warm"}, `-mode: "warm" is not one of hot, blocking`},
		{[]string{"-fd-table", "mine"}, `-fd-table: "mine" is not one of private, shared`},
		{[]string{"-peer-cpu", "0"}, "-peer-cpu 0: the same CPU as -cpu"},
		{[]string{"-peer-cpu", "99"}, "-peer-cpu 99: CPU 99 is not online"},
	}
	for _, tt := range tests {
		code, stdout, stderr := execMuxbench(t, append([]string{"waitcost"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("waitcost %v: exit %d, stderr %q, stdout %q; want 2 and %q", tt.args, code, stderr, stdout, tt.want)
		}
	}
}

// TestWaitcostRun runs a sweep small enough to take milliseconds and
// checks what it writes: the record, the charts, the markdown, the fits
// on stdout, progress on stderr.
func TestWaitcostRun(t *testing.T) {
	isolateLocks(t)
	keepAffinity(t) // the command pins every thread of the process to CPU 0
	dir := filepath.Join(t.TempDir(), "wc")
	args := []string{"waitcost", "-quick", "-fds", "10,40,200,600", "-sparse-highest", "100,2000", "-reps", "2",
		"-min-calls", "5", "-min-wakeups", "3", "-min-time", "1ms", "-max-time", "3ms", "-upper-from", "40", "-out", dir}
	code, stdout, stderr := execMuxbench(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	for _, want := range []string{"BACKEND", "select", "poll", "epoll-lt", "wrote " + dir} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "rep 2 sparse N=10 highest fd 2") {
		t.Errorf("stderr lacks the progress of the last layout:\n%s", stderr)
	}
	rec, err := waitcost.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rec.Samples), rec.Config.Samples(); got != want || want == 0 {
		t.Errorf("%d samples; want %d", got, want)
	}
	if rec.Config.Ready[0] != "1" || rec.Config.Repetitions != 2 || rec.Config.MinCalls != 5 {
		t.Errorf("config %+v: -quick's -ready with the flags given on top", rec.Config)
	}
	if !slices.Equal(rec.Config.Modes, waitcost.Modes) || !slices.Equal(rec.Config.Tables, waitcost.Quick.Tables) {
		t.Errorf("modes %v, fd tables %v; want -quick's: both modes, tables %v", rec.Config.Modes, rec.Config.Tables, waitcost.Quick.Tables)
	}
	for _, mode := range rec.Config.Modes {
		for _, table := range rec.Config.Tables {
			if f, ok := rec.FitOf("poll", mode, table); !ok || f.Idle == nil {
				t.Errorf("no per-fd fit for poll, %s, %s fd table: %+v", mode, table, f)
			}
		}
	}
	if f, ok := rec.FitOf("epoll-et", waitcost.ModeBlocking, waitcost.TablePrivate); !ok || f.Idle == nil {
		t.Errorf("no per-fd fit for epoll-et's blocking wake-up: %+v", f)
	}
	for _, name := range []string{"waitcost.svg", "waitcost.png", "waitcost-sparse.svg", report.WaitcostFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, report.WaitcostFile))
	if !strings.Contains(string(md), "select unsupported (hot scan) at sparse to fd 2000") {
		t.Errorf("markdown does not say why select stopped:\n%s", md)
	}
	// -from refits without measuring and rewrites the same fits.
	os.Remove(filepath.Join(dir, report.WaitcostFile))
	code, stdout2, stderr := execMuxbench(t, "waitcost", "-from", dir)
	if code != 0 || !strings.Contains(stdout2, "rewrote "+dir) {
		t.Errorf("-from: exit %d, stdout %q, stderr %q", code, stdout2, stderr)
	}
	if head := strings.SplitN(stdout, "wrote", 2)[0]; !strings.HasPrefix(stdout2, head) {
		t.Errorf("-from fits differ:\n%s\nwant:\n%s", stdout2, head)
	}
	if _, err := os.Stat(filepath.Join(dir, report.WaitcostFile)); err != nil {
		t.Errorf("-from did not rewrite %s: %v", report.WaitcostFile, err)
	}
	if code, _, stderr := execMuxbench(t, "waitcost", "-from", t.TempDir()); code != 2 || !strings.Contains(stderr, "-from: read waitcost record") {
		t.Errorf("-from an empty directory: exit %d, %q; want 2", code, stderr)
	}
	// A second run into the same directory needs -force.
	if code, _, stderr := execMuxbench(t, args...); code != 2 || !strings.Contains(stderr, "-force") {
		t.Errorf("rerun into %s: exit %d, %q; want 2 naming -force", dir, code, stderr)
	}
}
