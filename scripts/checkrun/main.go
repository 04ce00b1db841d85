// Command checkrun verifies a muxbench results directory the way CI needs
// (for a suite's directory: the suite finished, every part did, claims.json
// holds a row with a rule for every claim, and each sweep part passes the
// checks below):
// every backend of the scenario is present at every point (every fds,
// active, loops, churn and rate value), once per repetition, no sample has
// integrity errors or failed, every measured window saw no accept and every
// connection open, select is unsupported exactly where its
// FD_SETSIZE says it must be, and every file parses (run.json through
// package results, bench.txt through golang.org/x/perf/benchfmt).
//
//	go run ./scripts/checkrun DIR
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/checkrun RESULTS_DIR")
		os.Exit(2)
	}
	problems, err := checkAny(os.Args[1], os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "checkrun: %v\n", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "checkrun: %s\n", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

// checkAny checks a suite's directory or a single run's.
func checkAny(dir string, out io.Writer) ([]string, error) {
	rec, isSuite, err := results.ReadSuite(dir)
	if err != nil {
		return nil, err
	}
	if !isSuite {
		return check(dir, out)
	}
	var problems []string
	if rec.Incomplete || rec.Finished.IsZero() {
		problems = append(problems, "suite is marked incomplete or did not finish")
	}
	for _, p := range rec.Parts {
		if p.Error != "" {
			problems = append(problems, fmt.Sprintf("part %s did not finish: %s", p.Name, p.Error))
			continue
		}
		if p.Kind == results.PartScenario {
			ps, err := check(filepath.Join(dir, p.Dir), out)
			if err != nil {
				return nil, err
			}
			for _, q := range ps {
				problems = append(problems, p.Name+": "+q)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "claims.json"))
	if err != nil {
		return nil, err
	}
	var rows []struct {
		N       int    `json:"n"`
		Verdict string `json:"verdict"`
		Rule    string `json:"rule"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("claims.json: %w", err)
	}
	if len(rows) != 12 {
		problems = append(problems, fmt.Sprintf("claims.json has %d rows; want 12", len(rows)))
	}
	for _, r := range rows {
		if r.Verdict == "" || r.Rule == "" {
			problems = append(problems, fmt.Sprintf("claim %d: verdict %q with rule %q", r.N, r.Verdict, r.Rule))
		}
		fmt.Fprintf(out, "checkrun: claim %d: %s\n", r.N, r.Verdict)
	}
	return problems, nil
}

// check returns the problems found in dir; err is for a directory that
// cannot be read at all.
func check(dir string, out io.Writer) ([]string, error) {
	run, err := results.ReadRun(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if run.Incomplete {
		bad("run is marked incomplete")
	}
	type key struct {
		backend string
		fds     int
	}
	seen := map[key]results.Sample{}
	reps := map[point]int{}
	for _, s := range run.Samples {
		seen[key{s.Backend, s.FDs}] = s
		reps[point{s.Backend, s.FDs, s.Active, max(s.Loops, 1), run.Scenario.Churned(s), s.RateRequested}]++
		switch s.Status {
		case results.StatusErrors, results.StatusFailed:
			bad("%s at %d fds: %s: %s", s.Backend, s.FDs, s.Status, s.Reason)
		}
		if s.Status == results.StatusOK && s.Requests == 0 {
			bad("%s at %d fds: status ok with no requests", s.Backend, s.FDs)
		}
		// The population proof, checked from the record on its own: a
		// measured window saw no accept and every connection open, and an
		// event-loop server watched exactly the point's fds.
		if measured := s.Status == results.StatusOK || s.Status == results.StatusSaturated; measured && run.Scenario.Churned(s) {
			// Churn accepts in the window by design; an active slot has 0
			// to 2 connections open at an edge (as the harness checks).
			conns, active := int64(s.FDs-results.ServerOwnFDs), int64(s.Active)
			if open := s.Server.ConnsOpen; open > conns+active || open < conns-active || s.Server.Accepts == 0 {
				bad("%s at %d fds: churn with %d accepts in the window, %d connections open at its end (want %d idle plus 0 to %d churning)", s.Backend, s.FDs, s.Server.Accepts, open, conns-active, 2*active)
			}
		} else if measured {
			conns := int64(s.FDs - results.ServerOwnFDs)
			if s.Server.Accepts != 0 || s.Server.ConnsOpen != conns {
				bad("%s at %d fds: %d accepts in the window, %d of %d connections open at its end", s.Backend, s.FDs, s.Server.Accepts, s.Server.ConnsOpen, conns)
			}
			if want := results.WatchedFDs(s.FDs, pollersOf(s.Backend, s.Loops)); s.Server.CPUScope == results.CPUScopeLoop && s.Watched != want {
				bad("%s at %d fds: the server watched %d fds; want %d", s.Backend, s.FDs, s.Watched, want)
			}
		}
	}
	for _, b := range run.Scenario.Backends {
		for _, fds := range run.Scenario.FDs {
			s, ok := seen[key{b, fds}]
			if !ok {
				bad("%s at %d fds: missing", b, fds)
				continue
			}
			// select holds fds below FD_SETSIZE (its MaxFD), and the server
			// needs a dozen of its own: just below that either status is right.
			unsupported := s.Status == results.StatusUnsupported
			maxFD := maxFDOf(b)
			switch {
			case maxFD > 0 && fds > maxFD && !unsupported:
				bad("%s at %d fds: status %s; want unsupported (past its fd limit, %d)", b, fds, s.Status, maxFD)
			case unsupported && s.Active > fds-results.ServerOwnFDs:
				// the point cannot hold its active connections: right for every backend
			case unsupported && unusableHere(b):
				// io_uring disabled, blocked or too old on this machine: the
				// reason is in the record
			case (maxFD == 0 || fds+ownFDsSlack <= maxFD) && unsupported:
				bad("%s at %d fds: unsupported (%s); want it measured", b, fds, s.Reason)
			}
		}
	}
	for _, p := range points(run.Scenario) {
		if n := reps[p]; n != run.Scenario.Repetitions {
			bad("%s: %d samples; want %d, one per repetition", p, n, run.Scenario.Repetitions)
		}
	}
	n, err := checkBench(filepath.Join(dir, "bench.txt"))
	if err != nil {
		bad("bench.txt: %v", err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "summary.csv"))
	if err != nil || !strings.HasPrefix(string(csv), "backend,fds,idle,active,") {
		bad("summary.csv: missing or without its header (%v)", err)
	}
	fmt.Fprintf(out, "checkrun: %s: %d samples, %d benchmark results, %d problems\n", dir, len(run.Samples), n, len(problems))
	return problems, nil
}

// checkBench parses bench.txt and returns how many results it holds.
func checkBench(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := benchfmt.NewReader(f, path)
	n := 0
	var errs []error
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			n++
		case *benchfmt.SyntaxError:
			errs = append(errs, rec)
		}
	}
	if err := r.Err(); err != nil {
		errs = append(errs, err)
	}
	if n == 0 {
		errs = append(errs, errors.New("no benchmark results"))
	}
	return n, errors.Join(errs...)
}

// ownFDsSlack is how far below a backend's fd limit a point must stay to
// be measured for sure: the server's own fds (a dozen) and room to spare.
const ownFDsSlack = 24

// maxFDOf is the backend's own fd limit (lineup.Backend.MaxFD), 0 for
// none or an unknown backend.
// pollersOf is how many pollers the backend's server runs at loops loops.
func pollersOf(name string, loops int) int {
	b, err := lineup.Lookup(name)
	if err != nil {
		return 1
	}
	return b.Sharing.Pollers(loops)
}

func maxFDOf(name string) int {
	b, err := lineup.Lookup(name)
	if err != nil {
		return 0
	}
	return b.MaxFD
}

// unusableHere reports whether the backend's own support check fails on
// this machine (io_uring), which makes unsupported the right status.
func unusableHere(name string) bool {
	b, err := lineup.Lookup(name)
	return err == nil && b.Check != nil && b.Check() != nil
}

// point is one point of a scenario: a backend at every axis the scenario
// has (fds, active, loops, churn, rate), as a sample records it.
type point struct {
	backend     string
	fds, active int
	loops       int
	churn       bool
	rate        float64 // 0 in closed loop
}

func (p point) String() string {
	return fmt.Sprintf("%s at %d fds, %d active, %d loops, churn %v, rate %g", p.backend, p.fds, p.active, p.loops, p.churn, p.rate)
}

// points lists every point of sc, from its axes as the scenario states
// them: each must have a sample per repetition.
func points(sc results.Scenario) []point {
	var out []point
	for _, b := range sc.Backends {
		for _, fds := range sc.FDs {
			for _, active := range sc.Active {
				for _, loops := range sc.LoopCounts() {
					for _, churn := range sc.Churn.Values() {
						for _, rate := range sc.Rate.Values() {
							out = append(out, point{b, fds, active, loops, churn, rate})
						}
					}
				}
			}
		}
	}
	return out
}
