package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/muxbench/muxbench/internal/wire"
	"github.com/muxbench/muxbench/loadfile"
	"github.com/muxbench/muxbench/loadgen"
)

// loadOut is `muxbench load`'s mergeable output: -out FILE.json, and the
// wall-clock start that lets generators on several hosts measure the same
// window (-start-at).
type loadOut struct {
	path    string
	force   bool
	host    string
	startAt string
	control string // server's control port, HOST:PORT
	token   string
	gens    int // -generators
	index   int // -generator-index

	remote    *wire.Client // -control, connected by connect
	edges     loadfile.ServerEdges
	sampleErr error

	at         time.Time // parsed -start-at, zero = none
	start, end time.Time // the window's wall-clock edges
	late       time.Duration
}

func (o *loadOut) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.path, "out", "", "also write a mergeable result to `FILE.json` (muxbench merge combines several generators' files)")
	fs.BoolVar(&o.force, "force", false, "let -out overwrite an existing file")
	fs.StringVar(&o.host, "host", "", "`name` of this generator in the -out file (default: the host name)")
	fs.StringVar(&o.control, "control", "", "sample the server's counters at this generator's window edges through its control port, `host:port` (serve -control tcp:...; needs -out)")
	fs.StringVar(&o.token, "token", "", "the server's control `token`, from its hello line (with -control)")
	fs.IntVar(&o.gens, "generators", 1, "this generator runs one of `N` equal shares of the point: -conns, -active and -rate are the point's totals")
	fs.IntVar(&o.index, "generator-index", 0, "which share, `I` in 0..N-1 (a Kubernetes indexed Job: $JOB_COMPLETION_INDEX)")
	fs.StringVar(&o.startAt, "start-at", "", "start the measured window at this wall-clock `time` (RFC 3339, e.g. 2026-01-02T15:04:05Z): give every generator the same one; connections then stay open until 1 s after the window's end")
}

// check validates the flags before any work; now is the current time.
func (o *loadOut) check(now time.Time) error {
	if o.startAt != "" {
		t, err := parseStartAt(o.startAt, now)
		if err != nil {
			return err
		}
		o.at = t
	}
	if err := checkShare(o.gens, o.index); err != nil {
		return err
	}
	if (o.control == "") != (o.token == "") {
		return usageErrorf("-control and -token go together: the control port refuses commands without the token from the server's hello line")
	}
	if o.path == "" {
		if o.force || o.host != "" || o.control != "" || o.gens > 1 {
			return usageErrorf("-force, -host, -control and -generators apply to -out only (they make the mergeable file)")
		}
		return nil
	}
	if err := loadfile.CheckWritable(o.path, o.force); err != nil {
		return usageErrorf("-out: %v", err)
	}
	var err error
	o.host, err = hostOr(o.host, "the -out file")
	return err
}

// startLinger is how long after the common window's end (-start-at plus
// -duration) a generator keeps its connections open: more than the
// windows of generators started together differ (milliseconds, with NTP),
// little enough not to slow a sweep.
const startLinger = time.Second

// share turns the point's totals in c into this generator's share.
func (o *loadOut) share(c *loadgen.Config) error {
	share, err := c.Share(o.gens, o.index)
	if err != nil {
		return usageErrorf("%v (lower -generators, or raise -conns or -active)", err)
	}
	*c = share
	return nil
}

// hook sets c's hooks: with -start-at, hold the warm-up until the window
// can start at that time (OnConnected's time shifts nothing in the
// schedule); always, note the window's wall-clock edges.
func (o *loadOut) hook(c *loadgen.Config, stderr io.Writer) {
	if !o.at.IsZero() {
		warmupAt := o.at.Add(-c.Warmup)
		c.OnConnected = func(ctx context.Context) error {
			wait := time.Until(warmupAt)
			if wait < 0 {
				o.late = -wait
				fmt.Fprintf(stderr, "muxbench load: warning: connections open %.3f s after -start-at minus -warmup; the window starts late (give a later -start-at)\n", o.late.Seconds())
				return nil
			}
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("waiting for -start-at: %w", context.Cause(ctx))
			}
		}
	}
	if !o.at.IsZero() {
		// Hold the connections until startLinger after the common
		// window's end: another generator's clock or wake-up may run a
		// little late, and a server it samples at its window's end must
		// still see this generator's connections.
		until := o.at.Add(c.Duration + startLinger)
		c.BeforeClose = func(ctx context.Context) {
			t := time.NewTimer(max(time.Until(until), 0))
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	c.OnWindowStart = func() {
		o.start = time.Now()
		if o.remote != nil {
			o.edges.Start, o.sampleErr = o.remote.Stats()
		}
	}
	c.OnWindowEnd = func() {
		o.end = time.Now()
		if o.remote != nil && o.sampleErr == nil {
			o.edges.End, o.sampleErr = o.remote.Stats()
		}
	}
}

// write writes the -out file, if asked for.
func (o *loadOut) write(c loadgen.Config, res *loadgen.Result) error {
	if o.path == "" {
		return nil
	}
	cfg := loadfile.ConfigOf(c)
	cfg.Generators, cfg.GeneratorIndex = o.gens, o.index
	if !o.at.IsZero() {
		at := o.at.UTC()
		cfg.StartAt = &at
	}
	f := loadfile.New(o.host, cfg, res, o.start, o.end)
	if o.remote != nil && o.sampleErr == nil {
		f.Server = &o.edges
	}
	if err := loadfile.Write(o.path, f, o.force); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	if o.sampleErr != nil {
		return fmt.Errorf("-control %s: sampling the server at the window's edges: %w (%s has no server counters)", o.control, o.sampleErr, o.path)
	}
	return nil
}
