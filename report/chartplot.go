package report

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/muxbench/muxbench/results"
)

// This file holds the gonum/plot plotters of a panel: each series' lines,
// error bars and markers, and the labels of its stop crosses.

// seriesPlotter draws one series: lines between consecutive drawable points
// (broken where a point could not be measured), min–max error bars, the
// markers (hollow when saturated, ringed in red when there were errors) and
// the stop crosses.
type seriesPlotter struct {
	s     Series
	logY  bool
	dodge float64
}

func (sp *seriesPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	st := BackendStyle(sp.s.Backend)
	pts := sortedPoints(sp.s.Points)
	at := func(fds int, y float64) vg.Point {
		return vg.Point{X: trX(float64(fds) * sp.dodge), Y: trY(y)}
	}

	// Lines.
	ls := draw.LineStyle{Color: st.Color, Width: lineWidth, Dashes: dashes(sp.s.Run)}
	var seg []vg.Point
	flush := func() {
		if len(seg) > 1 {
			c.StrokeLines(ls, c.ClipLinesXY(seg)...)
		}
		seg = seg[:0]
	}
	for _, pt := range pts {
		if !pt.drawable(sp.logY) {
			flush()
			continue
		}
		seg = append(seg, at(pt.FDs, pt.Y))
	}
	flush()

	// Error bars: min–max across repetitions.
	bar := draw.LineStyle{Color: st.Color, Width: vg.Points(1)}
	capW := vg.Points(3)
	for _, pt := range pts {
		if !pt.drawable(sp.logY) {
			continue
		}
		lo, hi := pt.Min, pt.Max
		if sp.logY && lo <= 0 {
			lo = p.Y.Min // a zero minimum runs to the bottom of a log axis
		}
		if hi <= lo {
			continue
		}
		x := trX(float64(pt.FDs) * sp.dodge)
		ylo, yhi := trY(lo), trY(hi)
		c.StrokeLines(bar, c.ClipLinesY([]vg.Point{{X: x, Y: ylo}, {X: x, Y: yhi}})...)
		for _, y := range []vg.Length{ylo, yhi} {
			if c.ContainsY(y) {
				c.StrokeLine2(bar, x-capW, y, x+capW, y)
			}
		}
	}

	// Markers.
	for _, pt := range pts {
		if !pt.drawable(sp.logY) {
			continue
		}
		pos := at(pt.FDs, pt.Y)
		if !c.Contains(pos) {
			continue
		}
		hollow := pt.Status == results.StatusSaturated
		c.DrawGlyph(draw.GlyphStyle{Color: st.Color, Radius: markerRadius, Shape: glyph{st.Shape, hollow}}, pos)
		if pt.Status == results.StatusErrors {
			c.DrawGlyph(draw.GlyphStyle{Color: problemColor, Radius: markerRadius * 2, Shape: ringGlyph{}}, pos)
		}
	}

	// Stop crosses, joined to the last point by a dotted line so the eye
	// follows the series to where it ends.
	for _, stp := range sp.s.Stops(sp.logY) {
		pos := at(stp.FDs, stp.Y)
		last := lastDrawableBefore(pts, stp.FDs, sp.logY)
		if last != nil {
			dots := draw.LineStyle{Color: st.Color, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(1.5), vg.Points(2.5)}}
			c.StrokeLines(dots, c.ClipLinesXY([]vg.Point{at(last.FDs, last.Y), pos})...)
		}
		if c.Contains(pos) {
			c.DrawGlyph(draw.GlyphStyle{Color: problemColor, Radius: markerRadius * 1.6, Shape: stopGlyph{}}, pos)
		}
	}
}

func lastDrawableBefore(pts []SeriesPoint, fds int, logY bool) *SeriesPoint {
	for i := len(pts) - 1; i >= 0; i-- {
		if pts[i].FDs < fds && pts[i].drawable(logY) {
			return &pts[i]
		}
	}
	return nil
}

// GlyphBoxes keeps markers near the axes from being clipped.
func (sp *seriesPlotter) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	var out []plot.GlyphBox
	r := markerRadius * 2
	box := vg.Rectangle{Min: vg.Point{X: -r, Y: -r}, Max: vg.Point{X: r, Y: r}}
	for _, pt := range sp.s.Points {
		if pt.drawable(sp.logY) {
			out = append(out, plot.GlyphBox{X: p.X.Norm(float64(pt.FDs) * sp.dodge), Y: p.Y.Norm(pt.Y), Rectangle: box})
		}
	}
	return out
}

// stopLabels writes each stop's label beside its cross, on a white backing
// so lines behind it do not make it unreadable. Series of one backend from
// several runs that stop at the same place share one label, and labels that
// would overlap are stacked.
type stopLabels struct {
	series []Series
	logY   bool
}

func (sl *stopLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := textStyle(boldFont, 9.5, problemColor)
	type group struct {
		stop    Stop
		backend string
		labels  []string
	}
	var groups []*group
	for _, s := range sl.series {
		for _, stp := range s.Stops(sl.logY) {
			var g *group
			for _, h := range groups {
				if h.backend == s.Backend && h.stop.FDs == stp.FDs && h.stop.Label == stp.Label {
					g = h
				}
			}
			if g == nil {
				g = &group{stop: stp, backend: s.Backend}
				groups = append(groups, g)
			}
			g.labels = append(g.labels, s.Label)
		}
	}
	var placed []vg.Rectangle
	for _, g := range groups {
		pos := vg.Point{X: trX(float64(g.stop.FDs)), Y: trY(g.stop.Y)}
		if !c.Contains(pos) {
			continue
		}
		name := g.labels[0]
		if len(g.labels) > 1 {
			name = g.backend
		}
		label := name + ": " + g.stop.Label
		w, h := sty.Width(label), sty.Height(label)
		gap := markerRadius*1.6 + vg.Points(4)
		// Right of the cross if it fits, else left of it.
		x := pos.X + gap
		if x+w > c.Max.X {
			x = pos.X - gap - w
		}
		y := pos.Y + vg.Points(5)
		if y+h > c.Max.Y {
			y = pos.Y - h - vg.Points(5)
		}
		box := vg.Rectangle{Min: vg.Point{X: x - 2, Y: y - 2}, Max: vg.Point{X: x + w + 2, Y: y + h}}
		for moved := true; moved; {
			moved = false
			for _, r := range placed {
				if overlaps(box, r) {
					dy := box.Max.Y - r.Min.Y + 1
					box.Min.Y -= dy
					box.Max.Y -= dy
					y -= dy
					moved = true
				}
			}
		}
		placed = append(placed, box)
		c.SetColor(color.NRGBA{0xff, 0xff, 0xff, 0xdd})
		c.Fill(box.Path())
		c.FillText(sty, vg.Point{X: x, Y: y}, label)
	}
}

func overlaps(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}
