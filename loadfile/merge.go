package loadfile

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// Input is one file to merge and the name it is known by (its path).
type Input struct {
	Name string
	File *File
}

// Options are what a merge needs to know besides the generators' files.
type Options struct {
	// Backend is the server's backend (from its hello line): the
	// generators cannot know it.
	Backend string
	// Server, if set, is the server's own view of the window: its hello
	// and its stats at the window's edges. Without it the merged sample
	// has no server counters and no server CPU.
	Server *ServerEdges
	// BusyPoll is true when the backend's loop spins (epoll-busy): its
	// CPU is full by design, so only the achieved rate tells saturation.
	BusyPoll bool
}

// Overlap is how much of their windows the generators measured together.
type Overlap struct {
	Start, End time.Time     // the common part: the latest start, the earliest end
	Common     time.Duration // End - Start
	Longest    time.Duration // the longest single window
}

// String says by how much the windows overlap, e.g. "4.998 s of 5.000 s (99.96%)".
func (o Overlap) String() string {
	return fmt.Sprintf("%.3f s of %.3f s (%.2f%%)", o.Common.Seconds(), o.Longest.Seconds(), 100*o.Common.Seconds()/o.Longest.Seconds())
}

// ErrNoOverlap is returned (wrapped) by Merge when the generators'
// windows have no time in common: they measured different things.
var ErrNoOverlap = errors.New("the generators' windows do not overlap")

// ErrMixed is returned (wrapped) by Merge when the files' configs cannot
// be one point; the message names the field.
var ErrMixed = errors.New("the generators' configs cannot be one point")

// ErrDuplicate is returned (wrapped) by Merge when one generator's result
// is given twice (the same file, or a copy): its requests would count
// twice.
var ErrDuplicate = errors.New("the same generator's result is given twice")

// Merge combines the results of generators that drove one server at the
// same time into a run of one sample: connections, rates, requests,
// errors and client CPU add up; latency percentiles come from the merged
// histograms (lossless). It refuses files whose windows do not overlap,
// configs that differ where one point needs them equal (mode, proto, size,
// keep-alive, duration, timeout, pipeline, target), and one generator's
// result given twice.
func Merge(in []Input, opts Options) (*results.Run, Overlap, error) {
	if len(in) == 0 {
		return nil, Overlap{}, errors.New("merge: no load results given")
	}
	if err := sameConfig(in); err != nil {
		return nil, Overlap{}, err
	}
	if err := distinct(in); err != nil {
		return nil, Overlap{}, err
	}
	if err := shares(in); err != nil {
		return nil, Overlap{}, err
	}
	sampledBy := ""
	if opts.Server == nil {
		for _, x := range in {
			if x.File.Server != nil {
				opts.Server, sampledBy = x.File.Server, x.Name
				break
			}
		}
	}
	if opts.Backend == "" && opts.Server != nil {
		opts.Backend = opts.Server.Hello.Backend
	}
	if opts.Backend == "" {
		return nil, Overlap{}, errors.New("merge: the server's backend is unknown: no file carries the server's hello (load -control) and none was given")
	}
	ov, err := overlap(in)
	if err != nil {
		return nil, ov, err
	}
	first := in[0].File
	c := first.Config
	s := results.Sample{Backend: opts.Backend, Mode: c.Mode, Size: c.Size}
	var lat, svc []*hdrhistogram.Histogram
	var hosts []string
	var clientCPU, unanswered int64
	var saturated bool
	errs := map[string]int64{}
	for _, x := range in {
		r := &x.File.Result
		s.Idle += r.Idle
		s.Active += r.Active
		s.RateRequested += r.RateRequested
		s.RateAchieved += r.RateAchieved
		s.Requests += r.Requests
		s.WindowNs = max(s.WindowNs, r.WindowNs)
		unanswered += r.Unanswered
		clientCPU += r.ClientCPUNs
		saturated = saturated || r.Saturated
		s.Client.ConnectSeconds = max(s.Client.ConnectSeconds, r.ConnectSeconds)
		s.Client.SetupSeconds = max(s.Client.SetupSeconds, r.PopulateSeconds)
		for k, v := range r.Errors {
			if v > 0 {
				errs[k] += v
			}
		}
		lat = append(lat, r.Corrected)
		svc = append(svc, r.Uncorrected)
		hosts = append(hosts, fmt.Sprintf("%s (%s: %d conns, %d active)", x.File.Host, x.Name, r.Conns, r.Active))
	}
	s.FDs = s.Idle + s.Active + results.ServerOwnFDs
	merged, err := loadgen.MergeHistograms(lat...)
	if err != nil {
		return nil, ov, fmt.Errorf("merge latency histograms: %w", err)
	}
	mergedSvc, err := loadgen.MergeHistograms(svc...)
	if err != nil {
		return nil, ov, fmt.Errorf("merge service latency histograms: %w", err)
	}
	s.Latency = results.Latency(loadgen.Summarize(merged))
	s.ServiceLatency = results.Latency(loadgen.Summarize(mergedSvc))
	if s.Histogram, err = loadgen.EncodeHistogram(merged); err != nil {
		return nil, ov, err
	}
	if unanswered > 0 {
		errs[results.ErrKindUnanswered] = unanswered
	}
	s.Client.CPUNs = clientCPU
	if s.Requests > 0 {
		s.Client.CPUNsPerReq = float64(clientCPU) / float64(s.Requests)
	}
	fault := ""
	if opts.Server != nil {
		fault = opts.Server.fill(&s, errs, s.Idle+s.Active)
	}
	if len(errs) > 0 {
		s.Errors = errs
	}
	setStatus(&s, saturated, fault, opts.BusyPoll)

	desc := fmt.Sprintf("%d load generators merged by muxbench merge, windows overlapping %v: %s", len(in), ov, strings.Join(hosts, "; "))
	if sampledBy != "" {
		desc += "; server counters sampled at " + sampledBy + "'s window edges"
	}
	run := &results.Run{
		Started: ov.Start, Finished: ov.End,
		Env: serverEnv(opts),
		Scenario: results.Scenario{
			Name:        "merged",
			Description: desc,
			Backends:    []string{opts.Backend}, FDs: []int{s.FDs}, Active: []int{s.Active},
			Mode: c.Mode, Rate: s.RateRequested, Size: c.Size, KeepAlive: c.KeepAlive, Warmup: c.Warmup,
			Duration: c.Duration, Repetitions: 1, Proto: c.Proto, Path: c.Path, Line: c.Line, Expect: c.Expect,
		},
		Samples: []results.Sample{s},
	}
	return run, ov, nil
}

// setStatus sets s's status as the harness would for one window.
func setStatus(s *results.Sample, saturated bool, fault string, busyPoll bool) {
	switch {
	case fault != "":
		s.Status, s.Reason = results.StatusFailed, fault
	case len(s.Errors) > 0:
		s.Status = results.StatusErrors
		s.Reason = "errors: " + (&loadgen.Result{Errors: s.Errors}).ErrorString()
	case saturated || s.RateAchieved < traffic.SaturatedBelow*s.RateRequested:
		s.Status = results.StatusSaturated
		s.Reason = fmt.Sprintf("achieved %.0f of %.0f req/s requested (< %.0f%% on at least one generator)", s.RateAchieved, s.RateRequested, traffic.SaturatedBelow*100)
	case s.Mode == traffic.Open && !busyPoll && s.Server.CPUUtil >= results.SaturatedCPU:
		s.Status = results.StatusSaturated
		s.Reason = fmt.Sprintf("server %s %.0f%% busy: CPU per request is capped at 1/rate", s.Server.CPUScope, s.Server.CPUUtil*100)
	default:
		s.Status = results.StatusOK
	}
}

// sameConfig refuses files whose configs cannot be one point, naming the
// first field that differs and the two files.
func sameConfig(in []Input) error {
	fields := []struct {
		name string
		get  func(*File) string
	}{
		{"target", func(f *File) string { return f.Config.Target }},
		{"mode", func(f *File) string { return string(f.Config.Mode) }},
		{"proto", func(f *File) string { return string(f.Config.Proto) }},
		{"size", func(f *File) string { return fmt.Sprint(f.Config.Size) }},
		{"path", func(f *File) string { return f.Config.Path }},
		{"line", func(f *File) string { return f.Config.Line }},
		{"expect", func(f *File) string { return f.Config.Expect }},
		{"keepalive", func(f *File) string { return f.Config.KeepAlive.String() }},
		{"duration", func(f *File) string { return f.Config.Duration.String() }},
		{"timeout", func(f *File) string { return f.Config.Timeout.String() }},
		{"pipeline", func(f *File) string { return fmt.Sprint(f.Config.Pipeline) }},
	}
	for _, fl := range fields {
		want := fl.get(in[0].File)
		for _, x := range in[1:] {
			if got := fl.get(x.File); got != want {
				return fmt.Errorf("%w: config.%s is %q in %s but %q in %s (run every generator with the same -%s)",
					ErrMixed, fl.name, want, in[0].Name, got, x.Name, fl.name)
			}
		}
	}
	return nil
}

// shares refuses a set of generator shares (load -generators N) that is
// not exactly one of each index 0..N-1 of one N.
// distinct refuses two inputs that are one generator's result: the same
// host, the same window to the nanosecond and the same latency histogram
// (a file given twice, or a copy of it). Two generators never share all
// three.
func distinct(in []Input) error {
	type identity struct {
		host       string
		start, end int64
		histogram  string
	}
	seen := map[identity]string{}
	for _, x := range in {
		f := x.File
		id := identity{f.Host, f.WindowStart.UnixNano(), f.WindowEnd.UnixNano(), f.Result.Histogram}
		if other, ok := seen[id]; ok {
			return fmt.Errorf("%w: %s and %s are one result (host %s, window %s to %s, the same latency histogram): give each generator's file once",
				ErrDuplicate, other, x.Name, f.Host, f.WindowStart.Format(time.RFC3339Nano), f.WindowEnd.Format(time.RFC3339Nano))
		}
		seen[id] = x.Name
	}
	return nil
}

func shares(in []Input) error {
	n := in[0].File.Config.Generators
	seen := map[int]string{}
	for _, x := range in {
		c := x.File.Config
		if c.Generators != n {
			return fmt.Errorf("%w: config.generators is %d in %s but %d in %s (every share of one point gives the same -generators)", ErrMixed, n, in[0].Name, c.Generators, x.Name)
		}
		if n == 1 {
			continue // whole points from separate commands: nothing to pair up
		}
		if other, ok := seen[c.GeneratorIndex]; ok {
			return fmt.Errorf("%w: %s and %s are both generator %d of %d (give each -generator-index once)", ErrMixed, other, x.Name, c.GeneratorIndex, n)
		}
		seen[c.GeneratorIndex] = x.Name
	}
	if n > 1 && len(seen) != n {
		var missing []string
		for i := range n {
			if _, ok := seen[i]; !ok {
				missing = append(missing, fmt.Sprint(i))
			}
		}
		return fmt.Errorf("%w: generator index %s of %d missing: the point is not complete", ErrMixed, strings.Join(missing, ", "), n)
	}
	return nil
}

// overlap returns the windows' common part, or ErrNoOverlap naming the
// two files furthest apart.
func overlap(in []Input) (Overlap, error) {
	ov := Overlap{Start: in[0].File.WindowStart, End: in[0].File.WindowEnd}
	late, early := in[0], in[0]
	for _, x := range in {
		f := x.File
		if f.WindowStart.After(ov.Start) {
			ov.Start, late = f.WindowStart, x
		}
		if f.WindowEnd.Before(ov.End) {
			ov.End, early = f.WindowEnd, x
		}
		ov.Longest = max(ov.Longest, f.WindowEnd.Sub(f.WindowStart))
	}
	ov.Common = ov.End.Sub(ov.Start)
	if ov.Common <= 0 {
		return ov, fmt.Errorf("%w: %s's window ends at %s, %.3f s before %s's starts at %s (start the generators together: the same -start-at)",
			ErrNoOverlap, early.Name, early.File.WindowEnd.Format(time.RFC3339Nano), -ov.Common.Seconds(),
			late.Name, late.File.WindowStart.Format(time.RFC3339Nano))
	}
	return ov, nil
}
