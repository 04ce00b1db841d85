package harness

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/muxbench/muxbench/results"
)

// LineProgress writes one plain line per sample: for CI logs and pipes.
type LineProgress struct {
	W     io.Writer
	total int
	start time.Time
	est   time.Duration
}

// Plan prints what will run.
func (p *LineProgress) Plan(total int, estimate time.Duration) {
	p.total, p.start, p.est = total, time.Now(), estimate
	fmt.Fprintf(p.W, "running %d samples, about %v\n", total, estimate.Round(time.Second))
}

// Start prints nothing: Done prints the whole line.
func (p *LineProgress) Start(int, Job) {}

// Done prints the sample's headline figures.
func (p *LineProgress) Done(i int, j Job, s results.Sample) {
	fmt.Fprintf(p.W, "[%d/%d] %s\n", i+1, p.total, sampleLine(j, s))
}

// sampleLine is the one-line description of a finished sample.
func sampleLine(j Job, s results.Sample) string {
	head := fmt.Sprintf("%-8s fds=%-6d active=%-3d rep=%d", j.Backend, j.FDs, j.Active, j.Rep+1)
	switch s.Status {
	case results.StatusUnsupported, results.StatusFailed:
		return fmt.Sprintf("%s %s: %s", head, s.Status, s.Reason)
	}
	line := fmt.Sprintf("%s p50=%v p99=%v server=%.1fµs/req util=%.0f%% rate=%.0f/s %s",
		head, time.Duration(s.Latency.P50).Round(100*time.Nanosecond), time.Duration(s.Latency.P99).Round(time.Microsecond),
		s.Server.CPUNsPerReq/1e3, s.Server.CPUUtil*100, s.RateAchieved, s.Status)
	if s.Status != results.StatusOK && s.Reason != "" {
		line += " (" + s.Reason + ")"
	}
	return line
}

// BarProgress draws a progress bar with an ETA on a terminal, and prints
// samples that are not ok above it.
type BarProgress struct {
	W   io.Writer
	bar *progressbar.ProgressBar
}

// Plan creates the bar.
func (p *BarProgress) Plan(total int, estimate time.Duration) {
	fmt.Fprintf(p.W, "running %d samples, about %v\n", total, estimate.Round(time.Second))
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.W),
		progressbar.OptionSetDescription("starting"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
	)
}

// Start names the sample being taken.
func (p *BarProgress) Start(_ int, j Job) {
	p.bar.Describe(fmt.Sprintf("%-8s fds=%-6d active=%d rep=%d", j.Backend, j.FDs, j.Active, j.Rep+1))
}

// Done advances the bar.
func (p *BarProgress) Done(_ int, j Job, s results.Sample) {
	if s.Status != results.StatusOK {
		p.bar.Clear()
		fmt.Fprintln(p.W, sampleLine(j, s))
	}
	p.bar.Add(1)
}
