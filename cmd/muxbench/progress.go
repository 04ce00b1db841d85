package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// The run command's two ways of showing progress on stderr: a bar on a
// terminal, plain lines elsewhere (CI logs, pipes). The harness only
// reports; what the reports look like is the CLI's business.
var (
	_ harness.Progress      = (*lineProgress)(nil)
	_ harness.Progress      = (*barProgress)(nil)
	_ harness.PhaseReporter = (*barProgress)(nil)
)

// planLine is the first line of either display.
func planLine(total int, estimate time.Duration) string {
	return fmt.Sprintf("running %d samples, about %v", total, estimate.Round(time.Second))
}

// lineProgress writes one plain line per sample.
type lineProgress struct {
	w     io.Writer
	total int
}

// Plan prints what will run.
func (p *lineProgress) Plan(total int, estimate time.Duration) {
	p.total = total
	fmt.Fprintln(p.w, planLine(total, estimate))
}

// Start prints nothing: Done prints the whole line.
func (p *lineProgress) Start(int, harness.Job) {}

// Done prints the sample's headline figures.
func (p *lineProgress) Done(i int, j harness.Job, s results.Sample) {
	fmt.Fprintf(p.w, "[%d/%d] %s\n", i+1, p.total, sampleLine(j, s))
}

// jobText names a sample: backend, fds, active connections, repetition.
func jobText(j harness.Job) string {
	return fmt.Sprintf("%-8s fds=%-6d active=%-3d rep=%d", j.Backend, j.FDs, j.Active, j.Rep+1)
}

// sampleLine is the one-line description of a finished sample.
func sampleLine(j harness.Job, s results.Sample) string {
	head := jobText(j)
	switch s.Status {
	case results.StatusUnsupported, results.StatusFailed:
		return fmt.Sprintf("%s %s: %s", head, s.Status, s.Reason)
	}
	line := fmt.Sprintf("%s p50=%s p99=%s server=%.1fµs/req util=%.0f%% rate=%.0f/s %s",
		head, human.NsCompact(float64(s.Latency.P50)), human.NsCompact(float64(s.Latency.P99)),
		s.Server.CPUNsPerReq/1e3, s.Server.CPUUtil*100, s.RateAchieved, s.Status)
	if s.Status != results.StatusOK && s.Reason != "" {
		line += " (" + s.Reason + ")"
	}
	return line
}

// barProgress draws a progress bar with an ETA on a terminal, and prints
// samples that are not ok above it. Its description names the sample being
// taken and, while the harness populates the server with connections
// (which takes long at 100k fds), how many it has accepted.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
	job string // jobText of the sample being taken
}

// Plan creates the bar.
func (p *barProgress) Plan(total int, estimate time.Duration) {
	fmt.Fprintln(p.w, planLine(total, estimate))
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("starting"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
	)
}

// Start names the sample being taken.
func (p *barProgress) Start(_ int, j harness.Job) {
	p.job = jobText(j)
	p.bar.Describe(p.job)
}

// Phase shows a long phase of the current sample, such as "accepted 4000/10001".
func (p *barProgress) Phase(name string, done, total int) {
	p.bar.Describe(fmt.Sprintf("%s %s %d/%d", p.job, name, done, total))
}

// Done advances the bar.
func (p *barProgress) Done(_ int, j harness.Job, s results.Sample) {
	if s.Status != results.StatusOK {
		p.bar.Clear()
		fmt.Fprintln(p.w, sampleLine(j, s))
	}
	p.bar.Add(1)
}
