package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// This file lays out and renders a Chart with gonum/plot: the page (title,
// panels, legend column, footnote) and each panel's axes.

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
