package report

import (
	"hash/fnv"
	"image/color"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/backends/poll"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/backends/uringpoll"
	"github.com/muxbench/muxbench/lineup"
)

// Style is how one backend is drawn: the same colour and marker shape in
// every chart, so a reader learns it once.
type Style struct {
	Color color.RGBA
	Shape Shape
}

// Shape is a marker shape. Every shape has a filled form (a normal point)
// and a hollow form (a saturated point), see glyph.
type Shape int

// Marker shapes, in the order unknown backends are given them.
const (
	ShapeCircle Shape = iota
	ShapeSquare
	ShapeTriangle
	ShapeDiamond
	ShapeTriangleDown
	numShapes
)

// Colours from the Okabe–Ito palette: distinguishable with the common
// colour-vision deficiencies and in greyscale print. Pure red is kept out of
// it because red marks problems (errors, stopped lines).
var palette = []color.RGBA{
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0x55, 0x55, 0x55, 0xff}, // grey
}

// knownStyles fixes the look of the backends muxbench ships, so a chart of
// a subset of them still uses the same colours.
var knownStyles = map[string]Style{
	fdselect.Name: {palette[4], ShapeTriangle},
	poll.Name:     {palette[0], ShapeSquare},
	epoll.NameLT:  {palette[3], ShapeCircle},
	epoll.NameET:  {palette[2], ShapeDiamond},
	lineup.GoNet:  {palette[5], ShapeTriangleDown},
	// io_uring, both kinds: Okabe–Ito's black (kept out of the palette, so
	// hashed styles of other names do not change), one shape each.
	uringpoll.Name: {black, ShapeDiamond},
	lineup.Uring:   {black, ShapeSquare},
	// Variants: the colour family of what they vary, another shape.
	epoll.NameETDrain: {palette[1], ShapeSquare},
	poll.NameAccept1:  {palette[6], ShapeDiamond},
	// Sharing variants (several loops): charted among themselves, one
	// colour each.
	epoll.NameReuseport:      {palette[2], ShapeSquare},
	epoll.NameSharedListener: {palette[4], ShapeTriangle},
	epoll.NameExclusive:      {palette[3], ShapeDiamond},
	epoll.NameSharedEpoll:    {palette[5], ShapeCircle},
	// The shared fd table's variants: charted beside their backend.
	poll.NameShared:     {palette[0], ShapeCircle},
	fdselect.NameShared: {palette[4], ShapeSquare},
	epoll.NameLTShared:  {palette[3], ShapeSquare},
	epoll.NameETShared:  {palette[2], ShapeTriangle},
}

// BackendStyle returns the colour and marker for a backend name. Names
// muxbench does not ship (a variant, an external server's label) get a
// style derived from a hash of the name, so the choice is still the same
// in every chart and every run, and never one of the shipped backends'
// (the next style on from the hash's when it is), so a server beside
// them is not mistaken for one.
func BackendStyle(backend string) Style {
	if s, ok := knownStyles[backend]; ok {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(backend))
	v := h.Sum32()
	for {
		s := Style{palette[int(v%uint32(len(palette)))], Shape((v / uint32(len(palette))) % uint32(numShapes))}
		if !knownStyle(s) {
			return s
		}
		v++
	}
}

// Colours and sizes shared by the chart parts.
var (
	problemColor = color.RGBA{0xCC, 0x00, 0x00, 0xff} // errors ring, stop marker
	textColor    = color.RGBA{0x22, 0x22, 0x22, 0xff}
	noteColor    = color.RGBA{0x55, 0x55, 0x55, 0xff}
	gridColor    = color.RGBA{0xE3, 0xE3, 0xE3, 0xff}
	white        = color.RGBA{0xff, 0xff, 0xff, 0xff}
	black        = color.RGBA{0x00, 0x00, 0x00, 0xff}

	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	boldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}

	markerRadius = vg.Points(3.6)
	lineWidth    = vg.Points(1.6)
)

// runDashes gives each overlaid run its own line pattern, while the colour
// and marker keep naming the backend.
var runDashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
}

func dashes(run int) []vg.Length {
	if run < 0 {
		run = 0
	}
	return runDashes[run%len(runDashes)]
}

// glyph draws a marker of shape s centred on pt: filled, or hollow (outline
// in the colour over a white fill, so the line behind it does not show
// through and the point reads as "different", not as missing).
type glyph struct {
	shape  Shape
	hollow bool
}

var _ draw.GlyphDrawer = glyph{}

func (g glyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	var poly []vg.Point
	switch g.shape {
	case ShapeSquare:
		r *= 0.9
		poly = []vg.Point{{X: pt.X - r, Y: pt.Y - r}, {X: pt.X + r, Y: pt.Y - r}, {X: pt.X + r, Y: pt.Y + r}, {X: pt.X - r, Y: pt.Y + r}}
	case ShapeTriangle:
		r *= 1.2
		poly = []vg.Point{{X: pt.X, Y: pt.Y + r}, {X: pt.X + r*0.866, Y: pt.Y - r*0.5}, {X: pt.X - r*0.866, Y: pt.Y - r*0.5}}
	case ShapeTriangleDown:
		r *= 1.2
		poly = []vg.Point{{X: pt.X, Y: pt.Y - r}, {X: pt.X - r*0.866, Y: pt.Y + r*0.5}, {X: pt.X + r*0.866, Y: pt.Y + r*0.5}}
	case ShapeDiamond:
		r *= 1.2
		poly = []vg.Point{{X: pt.X, Y: pt.Y + r}, {X: pt.X + r, Y: pt.Y}, {X: pt.X, Y: pt.Y - r}, {X: pt.X - r, Y: pt.Y}}
	default: // circle
		var p vg.Path
		p.Move(vg.Point{X: pt.X + r, Y: pt.Y})
		p.Arc(pt, r, 0, 2*3.141592653589793)
		p.Close()
		g.paint(c, sty, p)
		return
	}
	var p vg.Path
	p.Move(poly[0])
	for _, q := range poly[1:] {
		p.Line(q)
	}
	p.Close()
	g.paint(c, sty, p)
}

func (g glyph) paint(c *draw.Canvas, sty draw.GlyphStyle, p vg.Path) {
	c.Push()
	defer c.Pop()
	if g.hollow {
		c.SetColor(white)
		c.Fill(p)
		c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(1.4)})
		c.Stroke(p)
		return
	}
	c.SetColor(sty.Color)
	c.Fill(p)
}

// ringGlyph is the red ring drawn around a point whose samples had errors.
type ringGlyph struct{}

func (ringGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.Push()
	defer c.Pop()
	var p vg.Path
	p.Move(vg.Point{X: pt.X + sty.Radius, Y: pt.Y})
	p.Arc(pt, sty.Radius, 0, 2*3.141592653589793)
	p.Close()
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(1.6)})
	c.Stroke(p)
}

// stopGlyph is the bold cross that ends a line where a backend stopped
// being measurable (unsupported or failed), so the end is not a silent gap.
type stopGlyph struct{}

func (stopGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.Push()
	defer c.Pop()
	r := sty.Radius
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(2.4)})
	var p vg.Path
	p.Move(vg.Point{X: pt.X - r, Y: pt.Y - r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y + r})
	p.Move(vg.Point{X: pt.X - r, Y: pt.Y + r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y - r})
	c.Stroke(p)
}
