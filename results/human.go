package results

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/muxbench/muxbench/internal/human"
)

// Human writes points as the short table printed at the end of a run: one
// aligned row per point with median latency, server CPU, achieved rate,
// errors and status. A point that measured nothing shows "-" for its
// figures, and any point that is not ok shows its reason after the status.
func Human(w io.Writer, points []Point) error {
	header := []string{"backend", "fds", "active", "p50", "p99", "cpu µs/req", "cpu %", "req/s", "errors", "status"}
	rightAligned := []bool{false, true, true, true, true, true, true, true, true, false}
	// The loops and churn axes get columns only in runs that have them,
	// after active: loops, the load, and the wake-ups they are about.
	axes := slices.ContainsFunc(points, func(p Point) bool { return p.Loops > 1 || p.Churn })
	if axes {
		header = slices.Insert(header, 3, "loops", "load", "wake-ups/req", "wasted/req")
		rightAligned = slices.Insert(rightAligned, 3, true, false, true, true)
	}
	// The rate gets a column, after active, where the points differ by it.
	rates := slices.ContainsFunc(points, func(p Point) bool { return p.RateRequested != points[0].RateRequested })
	if rates {
		header = slices.Insert(header, 3, "rate")
		rightAligned = slices.Insert(rightAligned, 3, true)
	}
	rows := [][]string{header}
	for _, p := range points {
		row := []string{p.Backend, strconv.Itoa(p.FDs), strconv.Itoa(p.Active)}
		if rates {
			row = append(row, formatFloat(p.RateRequested))
		}
		if axes {
			load := "keep-alive"
			if p.Churn {
				load = "churn"
			}
			wakeups, wasted := "-", "-"
			if p.Reps > 0 && p.WakeupsPerReq.Median > 0 {
				wakeups = strconv.FormatFloat(p.WakeupsPerReq.Median, 'f', 2, 64)
				wasted = strconv.FormatFloat(p.WastedWakeupsPerReq.Median, 'f', 2, 64)
			}
			row = append(row, strconv.Itoa(max(p.Loops, 1)), load, wakeups, wasted)
		}
		if p.Reps > 0 {
			row = append(row,
				human.NsCompact(p.P50.Median),
				human.NsCompact(p.P99.Median),
				strconv.FormatFloat(p.ServerCPUPerReq.Median/1e3, 'f', 2, 64),
				strconv.FormatFloat(p.ServerCPUUtil.Median*100, 'f', 1, 64),
				strconv.FormatFloat(p.RateAchieved.Median, 'f', 0, 64),
			)
		} else {
			row = append(row, "-", "-", "-", "-", "-")
		}
		status := p.Status
		if p.Reason != "" {
			status += ": " + p.Reason
		}
		rows = append(rows, append(row, strconv.FormatInt(p.Errors, 10), status))
	}

	widths := make([]int, len(header))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			switch {
			case i == len(row)-1: // last column: no trailing spaces
				b.WriteString(cell)
			case rightAligned[i]:
				b.WriteString(pad + cell + "  ")
			default:
				b.WriteString(cell + pad + "  ")
			}
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write summary table: %w", err)
	}
	return nil
}
