package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/muxbench/muxbench/results"
)

// Chart is one figure, fully prepared: one or more panels side by side that
// share the fd axis, a legend beside them, a title and a footnote. It holds
// numbers to draw, not samples: whatever built it (see Charts) already
// computed every median and spread, and Render only draws.
type Chart struct {
	Name     string   // file name without extension, e.g. "latency" or "cpu-active32"
	Kind     string   // "latency", "cpu", "util" or "events"
	Title    string   // what is plotted, e.g. "idle-sweep: server CPU per request vs fds"
	Subtitle string   // the conditions: active connections, rate, message size
	XLabel   string   // shared x axis title, with units
	Panels   []Panel  // drawn left to right
	Footnote []string // caption (what points and error bars are) and environment, one line each
}

// Panel is one set of axes in a Chart.
type Panel struct {
	Title  string // e.g. "p99 (tail)"; may be empty for single-panel charts
	YLabel string // y axis title, with units
	LogY   bool   // log scale; points with Y <= 0 cannot be drawn and are left out
	// Micros says the y values are microseconds, so tick labels read as
	// durations (500 µs, 2 ms) whatever the range.
	Micros bool
	Series []Series
}

// Series is one line: one backend of one run across fd counts.
type Series struct {
	Label   string // legend text, e.g. "poll" or "poll (old)"
	Backend string // picks the colour and marker (BackendStyle)
	Run     int    // index of the run among overlaid runs; picks the line dash
	Points  []SeriesPoint
}

// SeriesPoint is a backend at one fd count: the median with its spread, and
// the point's status so that saturated, erroneous and unmeasurable points
// are drawn as what they are.
type SeriesPoint struct {
	FDs    int
	Y      float64 // median across repetitions; NaN when not counted
	Min    float64 // smallest repetition
	Max    float64 // largest repetition
	Status string  // a results.Status* value
	Reason string  // why unsupported/failed/errors
}

// Measured reports whether the point has numbers: unsupported and failed
// points have none and end the line with a stop marker instead.
func (p SeriesPoint) Measured() bool {
	return p.Status != results.StatusUnsupported && p.Status != results.StatusFailed
}

// drawable reports whether p can be placed on an axis.
func (p SeriesPoint) drawable(logY bool) bool {
	return p.Measured() && !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0) && (!logY || p.Y > 0)
}

// Stop is where a series stops being measurable: drawn as a red cross at
// the first unmeasurable fd count, at the height of the last drawn point,
// with Label beside it.
type Stop struct {
	FDs   int
	Y     float64
	Label string
}

// Stops returns the stop markers of s on a log or linear y axis: one for each run of unmeasurable
// points that follows (or, at the start, precedes) a drawable point. A series
// with nothing drawable has no stops; its legend entry says why instead.
func (s Series) Stops(logY bool) []Stop {
	pts := sortedPoints(s.Points)
	var stops []Stop
	for i := 0; i < len(pts); i++ {
		if pts[i].Measured() {
			continue
		}
		if i > 0 && !pts[i-1].Measured() {
			continue // same run of unmeasurable points
		}
		y, ok := 0.0, false
		for j := i - 1; j >= 0 && !ok; j-- {
			if pts[j].drawable(logY) {
				y, ok = pts[j].Y, true
			}
		}
		for j := i + 1; j < len(pts) && !ok; j++ {
			if pts[j].drawable(logY) {
				y, ok = pts[j].Y, true
			}
		}
		if !ok {
			continue
		}
		stops = append(stops, Stop{FDs: pts[i].FDs, Y: y, Label: shortReason(pts[i].Status, pts[i].Reason)})
	}
	return stops
}

// limitNames are the limits whose name is the clearest short label for a
// stopped line ("select: FD_SETSIZE"); the full reason is in report.md.
var limitNames = []string{"FD_SETSIZE", "RLIMIT_NOFILE", "ip_local_port_range", "somaxconn"}

// shortReason turns a status and reason into a label short enough to sit
// beside a marker: the limit's name if the reason names one, else the
// reason's first clause.
func shortReason(status, reason string) string {
	for _, n := range limitNames {
		if strings.Contains(reason, n) {
			return n
		}
	}
	r := reason
	if i := strings.IndexAny(r, ":;,("); i > 0 {
		r = r[:i]
	}
	r = strings.TrimSpace(r)
	if len([]rune(r)) > 28 {
		r = strings.TrimSpace(string([]rune(r)[:27])) + "…"
	}
	if r == "" {
		return status
	}
	return status + ": " + r
}

func sortedPoints(pts []SeriesPoint) []SeriesPoint {
	out := append([]SeriesPoint(nil), pts...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].FDs < out[j].FDs })
	return out
}

// Chart geometry. The legend sits in its own column right of the panels so
// it can never cover a line.
const (
	chartHeight = 5.2 * vg.Inch
	panelWidth  = 6.6 * vg.Inch
	pngDPI      = 144
)

// Size returns the size the chart is rendered at: wider with more panels.
func (c *Chart) Size() (w, h vg.Length) {
	n := len(c.Panels)
	if n < 1 {
		n = 1
	}
	legend := c.legendWidth()
	return vg.Length(n)*panelWidth + legend + vg.Points(20), chartHeight
}

// Formats lists the formats Render writes.
var Formats = []string{"svg", "png"}

// Render draws the chart as "svg" or "png" to w.
func (c *Chart) Render(w io.Writer, format string) (err error) {
	if len(c.Panels) == 0 {
		return fmt.Errorf("render chart %q: no panels", c.Name)
	}
	width, height := c.Size()
	var cv vg.CanvasWriterTo
	switch format {
	case "svg":
		cv = vgsvg.New(width, height)
	case "png":
		cv = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(pngDPI))}
	default:
		return fmt.Errorf("render chart %q: unknown format %q (want svg or png)", c.Name, format)
	}
	// gonum/plot panics on some inputs (e.g. a non-positive value on a log
	// axis). The data is checked before drawing, so this is a backstop that
	// turns a missed case into an error rather than a crashed report.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("render chart %q: %v", c.Name, r)
		}
	}()
	if err := c.draw(draw.New(cv)); err != nil {
		return err
	}
	if _, err := cv.WriteTo(w); err != nil {
		return fmt.Errorf("write chart %q as %s: %w", c.Name, format, err)
	}
	return nil
}

func textStyle(f font.Font, size vg.Length, clr color.Color) text.Style {
	return text.Style{Color: clr, Font: font.From(f, size), Handler: plot.DefaultTextHandler}
}

// restyle sets a text style's font and colour, keeping its alignment.
func restyle(sty *text.Style, f font.Font, size vg.Length) {
	sty.Font = font.From(f, size)
	sty.Color = textColor
}

func (c *Chart) draw(dc draw.Canvas) error {
	dc.SetColor(white)
	dc.Fill(dc.Rectangle.Path())

	const margin = 10
	area := draw.Crop(dc, vg.Points(margin), -vg.Points(margin), vg.Points(margin), -vg.Points(margin))

	// Title block.
	titleSty := textStyle(boldFont, 14, textColor)
	subSty := textStyle(sansFont, 11, textColor)
	top := area.Max.Y
	titleSty.YAlign = draw.YTop
	subSty.YAlign = draw.YTop
	area.FillText(titleSty, vg.Point{X: area.Min.X, Y: top}, c.Title)
	top -= titleSty.Height(c.Title) + vg.Points(3)
	if c.Subtitle != "" {
		area.FillText(subSty, vg.Point{X: area.Min.X, Y: top}, c.Subtitle)
		top -= subSty.Height(c.Subtitle)
	}
	top -= vg.Points(14)

	// Footnote block.
	footSty := textStyle(sansFont, 8.5, noteColor)
	bottom := area.Min.Y
	var foot []string
	for _, l := range c.Footnote {
		foot = append(foot, wrap(footSty, l, area.Max.X-area.Min.X)...)
	}
	for i := len(foot) - 1; i >= 0; i-- {
		area.FillText(footSty, vg.Point{X: area.Min.X, Y: bottom}, foot[i])
		bottom += footSty.Height(foot[i]) + vg.Points(1)
	}
	bottom += vg.Points(4)

	// Legend column, then the panels in what is left.
	lw := c.legendWidth()
	body := area
	body.Min.Y, body.Max.Y = bottom, top
	legendArea := body
	legendArea.Min.X = body.Max.X - lw
	panelsArea := body
	panelsArea.Max.X = legendArea.Min.X - vg.Points(10)

	// Axis titles are drawn here, not by gonum/plot: it reserves room for
	// them at the arithmetic midpoint of the axis, which on a log axis lies
	// near its end, and so squeezes the data area.
	axisSty := textStyle(sansFont, 11, textColor)
	xLabelH := axisSty.Height(c.XLabel)
	panelsArea.Min.Y += xLabelH + vg.Points(4)
	yRoom := axisSty.Height("M") + vg.Points(6)

	plots := make([]*plot.Plot, len(c.Panels))
	for i := range c.Panels {
		p, err := c.panelPlot(i)
		if err != nil {
			return err
		}
		plots[i] = p
	}
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadLeft: yRoom, PadX: yRoom + vg.Points(18)}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, panelsArea)
	var dataMinX, dataMaxX, dataMaxY vg.Length
	for i, p := range plots {
		cv := canvases[0][i]
		p.Draw(cv)
		data := p.DataCanvas(cv)
		if i == 0 {
			dataMinX = data.Min.X
		}
		dataMaxX = data.Max.X
		dataMaxY = data.Max.Y
		ySty := axisSty
		ySty.Rotation = math.Pi / 2
		ySty.XAlign, ySty.YAlign = draw.XCenter, draw.YBottom
		area.FillText(ySty, vg.Point{X: cv.Min.X - vg.Points(4), Y: (data.Min.Y + data.Max.Y) / 2}, c.Panels[i].YLabel)
	}
	xSty := axisSty
	xSty.XAlign, xSty.YAlign = draw.XCenter, draw.YBottom
	area.FillText(xSty, vg.Point{X: (dataMinX + dataMaxX) / 2, Y: panelsArea.Min.Y - xLabelH - vg.Points(2)}, c.XLabel)

	lg := c.legend()
	legendArea.Max.Y = dataMaxY // level with the top of the data area
	lg.Draw(legendArea)
	return nil
}

// wrap breaks a footnote line at its " · " separators (or, failing that,
// spaces) so that each piece fits width.
func wrap(sty text.Style, line string, width vg.Length) []string {
	if sty.Width(line) <= width {
		return []string{line}
	}
	sep := " · "
	if !strings.Contains(line, sep) {
		sep = " "
	}
	words := strings.Split(line, sep)
	var out []string
	cur := words[0]
	for _, w := range words[1:] {
		if sty.Width(cur+sep+w) > width {
			out = append(out, cur)
			cur = "    " + w
			continue
		}
		cur += sep + w
	}
	return append(out, cur)
}

// xRange is the fd axis range of the whole chart, shared by all panels so
// that they line up: every point's fd count, measured or not (a stop marker
// sits at the first unmeasured one).
func (c *Chart) xRange() (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range c.Panels {
		for _, s := range p.Series {
			for _, pt := range s.Points {
				if pt.FDs > 0 {
					lo = math.Min(lo, float64(pt.FDs))
					hi = math.Max(hi, float64(pt.FDs))
				}
			}
		}
	}
	return lo, hi, lo <= hi
}

// yRange is the range of one panel's drawable medians, spreads and stops.
func (p *Panel) yRange() (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	add := func(v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || (p.LogY && v <= 0) {
			return
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if !pt.drawable(p.LogY) {
				continue
			}
			add(pt.Y)
			add(pt.Min)
			add(pt.Max)
		}
	}
	return lo, hi, lo <= hi
}

func (c *Chart) panelPlot(i int) (*plot.Plot, error) {
	pan := &c.Panels[i]
	p := plot.New()
	p.BackgroundColor = color.Transparent
	p.Title.Text = pan.Title
	// Change fonts and colours only: plot.New set the alignments each
	// text needs.
	restyle(&p.Title.TextStyle, boldFont, 11.5)
	p.Title.Padding = vg.Points(6)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		restyle(&ax.Label.TextStyle, sansFont, 11)
		restyle(&ax.Tick.Label, sansFont, 10)
		ax.Padding = vg.Points(4)
	}
	p.Legend = plot.NewLegend() // the chart draws one legend for all panels

	xlo, xhi, ok := c.xRange()
	if !ok {
		return nil, fmt.Errorf("chart %q: no fd counts to plot", c.Name)
	}
	// Log axis padded by a sixth of a decade so end markers are not clipped.
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.X.Min, p.X.Max = xlo/math.Pow(10, 1.0/6), xhi*math.Pow(10, 1.0/6)

	ylo, yhi, ok := pan.yRange()
	if !ok {
		// Nothing drawable (e.g. every backend unsupported): keep a valid axis.
		ylo, yhi = 1, 10
		if !pan.LogY {
			ylo = 0
		}
	}
	if pan.LogY {
		if ylo == yhi {
			ylo, yhi = ylo/2, yhi*2
		}
		pad := math.Max(math.Log10(yhi/ylo)*0.06, 0.05)
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{micros: pan.Micros}
		p.Y.Min, p.Y.Max = ylo/math.Pow(10, pad), yhi*math.Pow(10, pad)
	} else {
		if ylo > 0 {
			ylo = 0 // utilisation and counts read best from zero
		}
		if yhi <= ylo {
			yhi = ylo + 1
		}
		p.Y.Tick.Marker = linearTicks{micros: pan.Micros}
		p.Y.Min, p.Y.Max = ylo, yhi+(yhi-ylo)*0.08
	}

	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridColor, gridColor
	grid.Vertical.Width, grid.Horizontal.Width = vg.Points(0.6), vg.Points(0.6)
	p.Add(grid)

	n := len(pan.Series)
	for k, s := range pan.Series {
		// Dodge series sideways by a hair (in log space) so error bars of
		// different backends at the same fd count do not sit on each other.
		step := 0.012 // decades
		if n > 1 {
			step = math.Min(step, 0.05/float64(n-1))
		}
		dodge := math.Pow(10, (float64(k)-float64(n-1)/2)*step)
		p.Add(&seriesPlotter{s: s, logY: pan.LogY, dodge: dodge})
	}
	// Stop labels last so no line is drawn over them.
	p.Add(&stopLabels{series: pan.Series, logY: pan.LogY})
	// plot.Add widened the axes to the data; restore the padded ranges.
	p.X.Min, p.X.Max = xlo/math.Pow(10, 1.0/6), xhi*math.Pow(10, 1.0/6)
	if pan.LogY {
		pad := math.Max(math.Log10(yhi/ylo)*0.06, 0.05)
		p.Y.Min, p.Y.Max = ylo/math.Pow(10, pad), yhi*math.Pow(10, pad)
	} else {
		p.Y.Min, p.Y.Max = ylo, yhi+(yhi-ylo)*0.08
	}
	return p, nil
}

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

// missingNote explains a series that has no drawable point in some panel,
// so it is not silently absent: "unsupported", or "no data" when the metric
// was not measured (e.g. gonet has no wait-call counters).
func (c *Chart) missingNote(label string) string {
	for _, pan := range c.Panels {
		for _, s := range pan.Series {
			if s.Label != label {
				continue
			}
			drawable, unmeasured := false, ""
			for _, pt := range s.Points {
				if pt.drawable(pan.LogY) {
					drawable = true
				} else if !pt.Measured() && unmeasured == "" {
					unmeasured = shortReason(pt.Status, pt.Reason)
					if !strings.HasPrefix(unmeasured, pt.Status) {
						unmeasured = pt.Status + ": " + unmeasured
					}
				}
			}
			if drawable {
				continue
			}
			if unmeasured != "" {
				return unmeasured
			}
			return "no data"
		}
	}
	return ""
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
	switch {
	case ns == 0:
		return "0"
	case ns < 1e3:
		return trimFloat(ns) + " ns"
	case ns < 1e6:
		return trimFloat(ns/1e3) + " µs"
	case ns < 1e9:
		return trimFloat(ns/1e6) + " ms"
	}
	return trimFloat(ns/1e9) + " s"
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
