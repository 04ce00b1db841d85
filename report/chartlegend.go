package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// This file builds the legend (one entry per series, then a key to the
// markers in use) and the axis ticks, labelled readably over any span.

// legendEntry is one line of the chart's legend.
type legendEntry struct {
	text  string
	thumb plot.Thumbnailer
}

// legend lists every series (line style, colour, marker), then a key to
// the special markers that actually occur in this chart.
func (c *Chart) legendEntries() []legendEntry {
	var out []legendEntry
	seen := map[string]bool{}
	var saturated, errored, stopped bool
	for _, pan := range c.Panels {
		for _, s := range pan.Series {
			for _, pt := range s.Points {
				switch pt.Status {
				case results.StatusSaturated:
					saturated = true
				case results.StatusErrors:
					errored = true
				case results.StatusUnsupported, results.StatusFailed:
					stopped = true
				}
			}
			if seen[s.Label] {
				continue
			}
			seen[s.Label] = true
			text := s.Label
			if s.Scope != "" {
				text += ": " + s.Scope
			}
			if note := c.missingNote(s.Label); note != "" {
				text += " (" + note + ")"
			}
			out = append(out, legendEntry{text, seriesThumb{s}})
		}
	}
	if saturated || errored || stopped {
		out = append(out, legendEntry{"", nil})
	}
	grey := color.RGBA{0x44, 0x44, 0x44, 0xff}
	if saturated {
		out = append(out, legendEntry{fmt.Sprintf("saturated: rate missed or CPU ≥ %.0f%%", results.SaturatedCPU*100), glyphThumb{draw.GlyphStyle{Color: grey, Radius: markerRadius, Shape: glyph{ShapeCircle, true}}}})
	}
	if errored {
		out = append(out, legendEntry{"errors (see report)", glyphThumb{draw.GlyphStyle{Color: problemColor, Radius: markerRadius * 2, Shape: ringGlyph{}}}})
	}
	if stopped {
		out = append(out, legendEntry{"unsupported from here on", glyphThumb{draw.GlyphStyle{Color: problemColor, Radius: markerRadius * 1.6, Shape: stopGlyph{}}}})
	}
	return out
}

const legendThumbWidth = 26

func legendTextStyle() text.Style { return textStyle(sansFont, 10.5, textColor) }

func (c *Chart) legendWidth() vg.Length {
	sty := legendTextStyle()
	var w vg.Length
	for _, e := range c.legendEntries() {
		w = max(w, sty.Width(e.text))
	}
	return w + vg.Points(legendThumbWidth) + sty.Width(" ") + vg.Points(6)
}

func (c *Chart) legend() plot.Legend {
	lg := plot.NewLegend()
	lg.TextStyle = legendTextStyle()
	lg.Top, lg.Left = true, true
	lg.ThumbnailWidth = vg.Points(legendThumbWidth)
	lg.Padding = vg.Points(3)
	for _, e := range c.legendEntries() {
		if e.thumb == nil {
			lg.Add(e.text)
			continue
		}
		lg.Add(e.text, e.thumb)
	}
	return lg
}

// seriesThumb draws a series' line style with its marker in the legend.
type seriesThumb struct{ s Series }

func (t seriesThumb) Thumbnail(c *draw.Canvas) {
	st := BackendStyle(t.s.Backend)
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle{Color: st.Color, Width: lineWidth, Dashes: dashes(t.s.Run)}, c.Min.X, y, c.Max.X, y)
	c.DrawGlyph(draw.GlyphStyle{Color: st.Color, Radius: markerRadius, Shape: glyph{st.Shape, false}}, c.Center())
}

type glyphThumb struct{ g draw.GlyphStyle }

func (t glyphThumb) Thumbnail(c *draw.Canvas) { c.DrawGlyph(t.g, c.Center()) }

// logTicks labels a log axis readably whatever its span: decades only over
// wide ranges, 1-2-5 over a few decades, more within one decade, so there
// are always labelled ticks inside the range. Values print compactly
// (1k, 10k) because fd counts and latencies span several decades.
type logTicks struct{ micros bool }

func (lt logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return nil
	}
	span := math.Log10(hi / lo)
	var labelled []int
	switch {
	case span > 3.5:
		labelled = []int{1}
	case span > 1.2:
		labelled = []int{1, 2, 5}
	default:
		labelled = []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		dec := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * dec
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			for _, l := range labelled {
				if l == m {
					t.Label = tickLabel(v, lt.micros)
				}
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// linearTicks labels a linear axis every 1, 2 or 5 times a power of ten,
// so that there are five to ten labels.
type linearTicks struct{ micros bool }

func (lt linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi*(1+1e-9); i++ {
		v := i * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: tickLabel(v, lt.micros)})
	}
	return ticks
}

func tickLabel(v float64, micros bool) string {
	if !micros {
		return compactNumber(v)
	}
	ns := v * 1e3
	if ns == 0 {
		return "0"
	}
	// Ticks are round values, so they print as few digits as they have
	// ("2 ms", not "2.00 ms"), in the unit a table would use.
	scale, unit := human.NsUnit(ns)
	return trimFloat(ns/scale) + " " + unit
}

// compactNumber formats an axis value: 0.5, 20, 500, 1k, 20k, 1M.
func compactNumber(v float64) string {
	switch {
	case v >= 1e6:
		return trimFloat(v/1e6) + "M"
	case v >= 1e3:
		return trimFloat(v/1e3) + "k"
	default:
		return trimFloat(v)
	}
}

func trimFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', 3, 64)
}
