package loadfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/muxbench/muxbench/results"
)

// Merging shared runs: N copies of `muxbench run -server -generators N`
// each wrote a results directory of its share of every point, and a load
// file per measured sample. MergeRuns combines them sample by sample with
// Merge, so every point is again one sample of the whole load.

// RunInput is one generator's results directory of a shared remote run.
type RunInput struct {
	Name  string       // its path, for messages
	Run   *results.Run // its run.json
	Loads map[int]*File
}

// MergeRuns combines the generators' shares of one remote run. It refuses
// directories that are not shares of the same run (same server, scenario,
// schedule and N, each index once) and churn scenarios, whose window
// checks a merge cannot redo. A point's merged status is the worst of its
// shares' own (each judged at its window's edges) and of Merge's.
func MergeRuns(in []RunInput, opts Options) (*results.Run, error) {
	if len(in) == 0 {
		return nil, errors.New("merge: no results directory given")
	}
	if err := sameRun(in); err != nil {
		return nil, err
	}
	first := in[0].Run
	if first.Scenario.Churn.Any() {
		return nil, fmt.Errorf("%w: scenario %s is a churn scenario: its window checks allow the accepts churn makes, which a merge of load files cannot tell from a fault", ErrMixed, first.Scenario.Name)
	}
	opts.Backend = first.Remote.Hello.Backend
	n := len(first.Samples)
	incomplete := false
	for _, x := range in {
		n = min(n, len(x.Run.Samples))
		incomplete = incomplete || x.Run.Incomplete
	}
	for _, x := range in {
		incomplete = incomplete || len(x.Run.Samples) != n
	}
	out := &results.Run{
		Schema: results.SchemaVersion, Tool: toolName,
		Started: first.Started, Finished: first.Finished, Incomplete: incomplete,
		Scenario: first.Scenario, Env: serverEnv(Options{Server: &ServerEdges{Hello: first.Remote.Hello}}),
	}
	rem := *first.Remote
	rem.GeneratorIndex, rem.Merged = 0, true
	rem.Hello.Token = "" // a run.json of an older muxbench may hold it: never record it again
	out.Remote = &rem
	var names []string
	for _, x := range in {
		names = append(names, fmt.Sprintf("%s (generator %d)", x.Name, x.Run.Remote.GeneratorIndex))
		if x.Run.Started.Before(out.Started) {
			out.Started = x.Run.Started
		}
		if x.Run.Finished.After(out.Finished) {
			out.Finished = x.Run.Finished
		}
	}
	out.Scenario.Description += fmt.Sprintf(" — %d generators' shares merged by muxbench merge: %s", len(in), strings.Join(names, "; "))
	for k := range n {
		s, err := mergeSample(in, k, opts)
		if err != nil {
			return nil, err
		}
		out.Samples = append(out.Samples, s)
	}
	return out, nil
}

// mergeSample merges sample k of every share.
func mergeSample(in []RunInput, k int, opts Options) (results.Sample, error) {
	base := in[0].Run.Samples[k]
	var files []Input
	var missing []string
	for _, x := range in {
		s := x.Run.Samples[k]
		if s.Backend != base.Backend || s.FDs != base.FDs || s.Active != base.Active || s.Repetition != base.Repetition {
			return base, fmt.Errorf("%w: sample %d is %s at %d fds, %d active, repetition %d in %s but %s at %d fds, %d active, repetition %d in %s",
				ErrMixed, k, base.Backend, base.FDs, base.Active, base.Repetition+1, in[0].Name, s.Backend, s.FDs, s.Active, s.Repetition+1, x.Name)
		}
		if f := x.Loads[k]; f != nil {
			files = append(files, Input{Name: fmt.Sprintf("%s sample %d", x.Name, k), File: f})
		} else {
			missing = append(missing, fmt.Sprintf("generator %d: %s: %s", x.Run.Remote.GeneratorIndex, s.Status, s.Reason))
		}
	}
	if len(missing) > 0 {
		// A share without a measurement: the point was not measured whole.
		s := base
		s.Requests, s.Latency, s.ServiceLatency, s.Histogram = 0, results.Latency{}, results.Latency{}, ""
		s.Status, s.Reason = worstStatus(in, k), strings.Join(missing, "; ")
		if s.Status != results.StatusUnsupported {
			s.Status = results.StatusFailed
		}
		return s, nil
	}
	run, _, err := Merge(files, opts)
	if errors.Is(err, ErrNoOverlap) { // one generator was late: this point only
		s := base
		s.Status, s.Reason = results.StatusFailed, err.Error()
		return s, nil
	}
	if err != nil {
		return base, fmt.Errorf("sample %d (%s at %d fds, %d active): %w", k, base.Backend, base.FDs, base.Active, err)
	}
	s := run.Samples[0]
	s.Repetition = base.Repetition
	if s.FDs != base.FDs {
		return base, fmt.Errorf("sample %d: the shares' connections add up to %d fds, not the point's %d: not every share is here", k, s.FDs, base.FDs)
	}
	// A share's own verdict, from its window's edges with the harness's
	// rules, outranks the merge's when worse.
	for _, x := range in {
		own := x.Run.Samples[k]
		if results.Worse(own.Status, s.Status) {
			s.Status, s.Reason = own.Status, fmt.Sprintf("generator %d: %s", x.Run.Remote.GeneratorIndex, own.Reason)
		}
	}
	return s, nil
}

// worstStatus is sample k's status across shares: unsupported only if
// every share says so.
func worstStatus(in []RunInput, k int) string {
	for _, x := range in {
		if x.Run.Samples[k].Status != results.StatusUnsupported {
			return results.StatusFailed
		}
	}
	return results.StatusUnsupported
}

// sameRun refuses directories that are not shares of one remote run,
// naming what differs.
func sameRun(in []RunInput) error {
	for _, x := range in {
		if x.Run.Remote == nil || x.Run.Remote.Merged {
			return fmt.Errorf("%w: %s is not a generator's share of a remote run (muxbench run -server ... -generators N)", ErrMixed, x.Name)
		}
	}
	a := in[0]
	ra := a.Run.Remote
	seen := map[int]string{}
	for _, x := range in {
		r := x.Run.Remote
		switch {
		case r.Hello.PID != ra.Hello.PID || r.Hello.Addr != ra.Hello.Addr || r.Addr != ra.Addr:
			return fmt.Errorf("%w: %s drove the server at %s (pid %d), %s the one at %s (pid %d)", ErrMixed, a.Name, ra.Addr, ra.Hello.PID, x.Name, r.Addr, r.Hello.PID)
		case r.Generators != ra.Generators:
			return fmt.Errorf("%w: %s is a share of %d generators, %s of %d", ErrMixed, a.Name, ra.Generators, x.Name, r.Generators)
		case !sameTime(r.StartAt, ra.StartAt):
			return fmt.Errorf("%w: %s and %s were given different -start-at times: their samples are not the same windows", ErrMixed, a.Name, x.Name)
		}
		if other, ok := seen[r.GeneratorIndex]; ok {
			return fmt.Errorf("%w: %s and %s are both generator %d of %d (give each -generator-index once)", ErrMixed, other, x.Name, r.GeneratorIndex, r.Generators)
		}
		seen[r.GeneratorIndex] = x.Name
		sa, _ := json.Marshal(a.Run.Scenario)
		sx, _ := json.Marshal(x.Run.Scenario)
		if !bytes.Equal(sa, sx) {
			return fmt.Errorf("%w: %s and %s ran different scenarios (%s, %s): give every generator the same scenario", ErrMixed, a.Name, x.Name, a.Run.Scenario.Name, x.Run.Scenario.Name)
		}
	}
	if len(seen) != ra.Generators {
		var missing []string
		for i := range ra.Generators {
			if _, ok := seen[i]; !ok {
				missing = append(missing, fmt.Sprint(i))
			}
		}
		return fmt.Errorf("%w: generator %s of %d missing: the points are not complete", ErrMixed, strings.Join(missing, ", "), ra.Generators)
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
