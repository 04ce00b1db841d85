package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

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

	at         time.Time // parsed -start-at, zero = none
	start, end time.Time // the window's wall-clock edges
	late       time.Duration
}

func (o *loadOut) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.path, "out", "", "also write a mergeable result to `FILE.json` (muxbench merge combines several generators' files)")
	fs.BoolVar(&o.force, "force", false, "let -out overwrite an existing file")
	fs.StringVar(&o.host, "host", "", "`name` of this generator in the -out file (default: the host name)")
	fs.StringVar(&o.startAt, "start-at", "", "start the measured window at this wall-clock `time` (RFC 3339, e.g. 2026-01-02T15:04:05Z): give every generator the same one")
}

// check validates the flags before any work; now is the current time.
func (o *loadOut) check(now time.Time) error {
	if o.startAt != "" {
		t, err := time.Parse(time.RFC3339Nano, o.startAt)
		if err != nil {
			return usageErrorf("-start-at %q: want an RFC 3339 time like 2026-01-02T15:04:05Z (date -u -d +20sec +%%Y-%%m-%%dT%%H:%%M:%%SZ)", o.startAt)
		}
		if !t.After(now) {
			return usageErrorf("-start-at %s is %.1f s in the past (now %s): give a time ahead of every generator's start", o.startAt, now.Sub(t).Seconds(), now.UTC().Format(time.RFC3339))
		}
		o.at = t
	}
	if o.path == "" {
		if o.force || o.host != "" {
			return usageErrorf("-force and -host apply to -out only")
		}
		return nil
	}
	if err := loadfile.CheckWritable(o.path, o.force); err != nil {
		return usageErrorf("-out: %v", err)
	}
	if o.host == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("-out: host name for the result file: %w (give -host NAME)", err)
		}
		o.host = h
	}
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
	c.OnWindowStart = func() { o.start = time.Now() }
	c.OnWindowEnd = func() { o.end = time.Now() }
}

// write writes the -out file, if asked for.
func (o *loadOut) write(c loadgen.Config, res *loadgen.Result) error {
	if o.path == "" {
		return nil
	}
	cfg := loadfile.ConfigOf(c)
	if !o.at.IsZero() {
		at := o.at.UTC()
		cfg.StartAt = &at
	}
	if err := loadfile.Write(o.path, loadfile.New(o.host, cfg, res, o.start, o.end), o.force); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	return nil
}
