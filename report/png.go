package report

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/llmeter-go/llmeter"
)

// Image size of exported charts.
var (
	ImageWidth  = 8 * vg.Inch
	ImageHeight = 5 * vg.Inch
)

var (
	palette = []color.RGBA{{0x54, 0x70, 0xc6, 255}, {0x91, 0xcc, 0x75, 255}, {0xfa, 0xc8, 0x58, 255}, {0x73, 0xc0, 0xde, 255},
		{0x3b, 0xa2, 0x72, 255}, {0xfc, 0x84, 0x52, 255}, {0x9a, 0x60, 0xb4, 255}, {0xea, 0x7c, 0xcc, 255}}
	errorColor = color.RGBA{0xd6, 0x27, 0x28, 255}
	oryel      = []color.RGBA{{0xec, 0xda, 0x9a, 255}, {0xef, 0xc4, 0x7e, 255}, {0xf3, 0xad, 0x6a, 255}, {0xf7, 0x94, 0x5d, 255},
		{0xf9, 0x7b, 0x57, 255}, {0xf6, 0x63, 0x56, 255}, {0xee, 0x4d, 0x5a, 255}}
)

// WritePNGs writes every chart as dir/<id>.png (creating dir) and returns
// the files written.
func (r *Report) WritePNGs(dir string) ([]string, error) { return r.writeImages(dir, "png") }

// WriteSVGs writes every chart as dir/<id>.svg.
func (r *Report) WriteSVGs(dir string) ([]string, error) { return r.writeImages(dir, "svg") }

func (r *Report) writeImages(dir, format string) ([]string, error) {
	if !llmeter.IsURL(dir) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	var files []string
	var b bytes.Buffer
	for _, c := range r.Charts {
		path := llmeter.JoinPath(dir, c.ID+"."+format)
		b.Reset()
		if err := c.WriteImage(&b, format); err != nil {
			return files, err
		}
		if err := llmeter.WriteFile(context.Background(), path, b.Bytes()); err != nil {
			return files, fmt.Errorf("report: %w", err)
		}
		files = append(files, path)
	}
	return files, nil
}

// WriteImage draws the chart as a "png" or "svg" image of ImageWidth ×
// ImageHeight.
func (c *Chart) WriteImage(w io.Writer, format string) error {
	var cw vg.CanvasWriterTo
	switch format {
	case "png":
		cw = vgimg.PngCanvas{Canvas: vgimg.New(ImageWidth, ImageHeight)}
	case "svg":
		cw = vgsvg.New(ImageWidth, ImageHeight)
	default:
		return fmt.Errorf("report: unknown image format %q", format)
	}
	dc := draw.New(cw)
	if err := c.draw(dc); err != nil {
		return fmt.Errorf("report: chart %s: %w", c.ID, err)
	}
	if _, err := cw.WriteTo(w); err != nil {
		return fmt.Errorf("report: chart %s: %w", c.ID, err)
	}
	return nil
}

func newPlot(c *Chart) *plot.Plot {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.XTitle
	p.Y.Label.Text = c.YTitle
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	if c.XLog {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
	}
	if c.YLog {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	return p
}

// logTicks marks 1, 2 and 5 times the powers of ten (labelled) and the
// other integers times them (unlabelled).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	if !(lo > 0) || !(hi >= lo) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		p := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * p
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', 4, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

func seriesColor(s *Series, i int) color.Color {
	if s.Error {
		return errorColor
	}
	return palette[i%len(palette)]
}

func (c *Chart) draw(dc draw.Canvas) error {
	n := 0
	for _, s := range c.Series {
		n += s.Len()
	}
	if n == 0 {
		p := plot.New()
		p.Title.Text = c.Title + " (no data)"
		p.X.Label.Text, p.Y.Label.Text = c.XTitle, c.YTitle
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		p.Draw(dc)
		return nil
	}
	p := newPlot(c)
	var xHist, yHist *Series
	main := 0
	for _, s := range c.Series {
		if s.Role == "" {
			main++
		}
	}
	legend := main > 1 // a single series is named by the title
	switch c.Kind {
	case KindLine, KindScatter:
		for i, s := range c.Series {
			switch s.Role {
			case XHist:
				xHist = s
				continue
			case YHist:
				yHist = s
				continue
			}
			if len(s.Points) == 0 {
				continue
			}
			xys := make(plotter.XYs, len(s.Points))
			var labels []string
			for k, pt := range s.Points {
				xys[k] = plotter.XY{X: pt.X, Y: pt.Y}
				labels = append(labels, pt.Label)
			}
			col := seriesColor(s, i)
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return err
			}
			sc.GlyphStyle.Color = col
			sc.GlyphStyle.Radius = vg.Points(2.5)
			sc.GlyphStyle.Shape = draw.CircleGlyph{}
			if s.Error {
				sc.GlyphStyle.Shape = draw.CrossGlyph{}
				sc.GlyphStyle.Radius = vg.Points(3.5)
			}
			if c.Kind == KindLine {
				ln, err := plotter.NewLine(xys)
				if err != nil {
					return err
				}
				ln.Color = col
				ln.Width = vg.Points(1.5)
				ln.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
				p.Add(ln)
			}
			p.Add(sc)
			if legend {
				p.Legend.Add(s.Name, sc)
			}
			if labels[0] != "" {
				if lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels}); err == nil {
					lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(4)}
					p.Add(lb)
				}
			}
		}
	case KindBox:
		p.NominalX(c.Categories...)
		for i, s := range c.Series {
			b := &boxes{stats: s.Boxes, color: seriesColor(s, i), offset: float64(i) - float64(len(c.Series)-1)/2, n: len(c.Series)}
			p.Add(b)
			if legend {
				p.Legend.Add(s.Name, b)
			}
		}
	case KindHistogram:
		for i, s := range c.Series {
			h := histPlotter(s, seriesColor(s, i))
			if h == nil {
				continue
			}
			p.Add(h)
			if legend {
				p.Legend.Add(s.Name, h)
			}
		}
	case KindHeatmap:
		p.NominalX(c.Categories...)
		p.NominalY(c.YCategories...)
		for _, s := range c.Series {
			p.Add(&cells{cells: s.Cells, nx: len(c.Categories), ny: len(c.YCategories)})
		}
	default:
		return fmt.Errorf("unknown kind %q", c.Kind)
	}
	for _, l := range c.Lines {
		p.Add(&refLine{RefLine: l})
	}
	// A log axis needs positive bounds.
	if c.XLog && !(p.X.Min > 0) {
		p.X.Scale, p.X.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
	}
	if c.YLog && !(p.Y.Min > 0) {
		p.Y.Scale, p.Y.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
	}
	// One value on a log axis: widen it there (gonum would pad it by ±1).
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		if _, log := ax.Scale.(plot.LogScale); log && ax.Min == ax.Max {
			ax.Min, ax.Max = ax.Min/2, ax.Max*2
		}
	}
	if c.Kind == KindHeatmap {
		// The colour bar takes the right edge; the cells the rest.
		w := dc.Max.X - dc.Min.X
		p.Draw(draw.Crop(dc, 0, -0.14*w, 0, 0))
		bar := draw.Crop(dc, 0.88*w, 0, 0, 0)
		colorBar(bar, p, c)
		return nil
	}
	if xHist == nil && yHist == nil {
		p.Draw(dc)
		return nil
	}
	// Marginal histograms: above and to the right of the data area, whose
	// axes span [0, 1.1 max] (LLMeter's scatter_histogram_2d).
	p.X.Min, p.Y.Min = math.Min(0, p.X.Min), math.Min(0, p.Y.Min)
	p.X.Max, p.Y.Max = 1.1*p.X.Max, 1.1*p.Y.Max
	// The title goes above the top histogram, not between it and the data.
	tsty := p.Title.TextStyle
	tsty.XAlign, tsty.YAlign = draw.XCenter, draw.YTop
	dc.FillText(tsty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y}, p.Title.Text)
	p.Title.Text = ""
	dc = draw.Crop(dc, 0, 0, 0, -tsty.Height(c.Title)-vg.Points(4))
	w, h := dc.Max.X-dc.Min.X, dc.Max.Y-dc.Min.Y
	mc := draw.Crop(dc, 0, -0.2*w, 0, -0.2*h)
	p.Draw(mc)
	da := p.DataCanvas(mc)
	if xHist != nil {
		hp := plot.New()
		hp.HideAxes()
		if hh := histPlotter(xHist, palette[1]); hh != nil {
			hp.Add(hh)
		}
		hp.X.Min, hp.X.Max = p.X.Min, p.X.Max
		c := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: da.Min.X, Y: mc.Max.Y + vg.Points(4)},
			Max: vg.Point{X: da.Max.X, Y: dc.Max.Y - vg.Points(4)}}}
		hp.Draw(c)
	}
	if yHist != nil {
		hp := plot.New()
		hp.HideAxes()
		if hh := histPlotter(yHist, palette[2]); hh != nil {
			hh.Horizontal = true
			hp.Add(hh)
		}
		hp.Y.Min, hp.Y.Max = p.Y.Min, p.Y.Max
		c := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: mc.Max.X + vg.Points(4), Y: da.Min.Y},
			Max: vg.Point{X: dc.Max.X - vg.Points(4), Y: da.Max.Y}}}
		hp.Draw(c)
	}
	return nil
}

// bins draws histogram bins (vertical bars, or horizontal ones).
type bins struct {
	bins       []Bin
	color      color.Color
	Horizontal bool
}

func histPlotter(s *Series, col color.Color) *bins {
	if len(s.Bins) == 0 {
		return nil
	}
	return &bins{bins: s.Bins, color: col}
}

func (b *bins) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	for _, bn := range b.bins {
		var r vg.Rectangle
		if b.Horizontal {
			r = vg.Rectangle{Min: vg.Point{X: trX(0), Y: trY(bn.Lo)}, Max: vg.Point{X: trX(bn.Fraction), Y: trY(bn.Hi)}}
		} else {
			r = vg.Rectangle{Min: vg.Point{X: trX(bn.Lo), Y: trY(0)}, Max: vg.Point{X: trX(bn.Hi), Y: trY(bn.Fraction)}}
		}
		pts := []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
		c.FillPolygon(b.color, c.ClipPolygonXY(pts))
		c.StrokeLines(draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}, c.ClipLinesXY(append(pts, pts[0]))...)
	}
}

func (b *bins) DataRange() (xmin, xmax, ymin, ymax float64) {
	lo, hi, top := b.bins[0].Lo, b.bins[len(b.bins)-1].Hi, 0.0
	for _, bn := range b.bins {
		top = math.Max(top, bn.Fraction)
	}
	if b.Horizontal {
		return 0, top, lo, hi
	}
	return lo, hi, 0, top
}

func (b *bins) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(b.color, pts)
}

// boxes draws precomputed box plots at x = 0, 1, … (shifted by offset when
// several series share the categories).
type boxes struct {
	stats  []BoxStats
	color  color.Color
	offset float64
	n      int
}

func (b *boxes) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	half := 0.3 / float64(b.n)
	ls := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
	for i, s := range b.stats {
		if s.N == 0 {
			continue
		}
		x := float64(i) + b.offset*0.7/float64(b.n)
		x0, x1, xm := trX(x-half), trX(x+half), trX(x)
		box := []vg.Point{{X: x0, Y: trY(s.Q1)}, {X: x1, Y: trY(s.Q1)}, {X: x1, Y: trY(s.Q3)}, {X: x0, Y: trY(s.Q3)}}
		c.FillPolygon(b.color, c.ClipPolygonXY(box))
		c.StrokeLines(ls, c.ClipLinesXY(append(box, box[0]))...)
		c.StrokeLines(draw.LineStyle{Color: color.Black, Width: vg.Points(2)}, c.ClipLinesXY([]vg.Point{{X: x0, Y: trY(s.Median)}, {X: x1, Y: trY(s.Median)}})...)
		c.StrokeLines(ls, c.ClipLinesXY([]vg.Point{{X: xm, Y: trY(s.Q3)}, {X: xm, Y: trY(s.Max)}})...)
		c.StrokeLines(ls, c.ClipLinesXY([]vg.Point{{X: xm, Y: trY(s.Q1)}, {X: xm, Y: trY(s.Min)}})...)
		w0, w1 := trX(x-half/2), trX(x+half/2)
		c.StrokeLines(ls, c.ClipLinesXY([]vg.Point{{X: w0, Y: trY(s.Max)}, {X: w1, Y: trY(s.Max)}})...)
		c.StrokeLines(ls, c.ClipLinesXY([]vg.Point{{X: w0, Y: trY(s.Min)}, {X: w1, Y: trY(s.Min)}})...)
		gs := draw.GlyphStyle{Color: b.color, Radius: vg.Points(2), Shape: draw.RingGlyph{}}
		for _, o := range s.Outliers {
			pt := vg.Point{X: xm, Y: trY(o)}
			if c.Contains(pt) {
				c.DrawGlyph(gs, pt)
			}
		}
	}
}

func (b *boxes) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for _, s := range b.stats {
		if s.N == 0 {
			continue
		}
		ymin, ymax = math.Min(ymin, s.Min), math.Max(ymax, s.Max)
		for _, o := range s.Outliers {
			ymin, ymax = math.Min(ymin, o), math.Max(ymax, o)
		}
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 0, 1
	}
	return -0.5, float64(len(b.stats)) - 0.5, ymin, ymax
}

func (b *boxes) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(b.color, pts)
}

// cells draws heatmap cells at category indices, coloured on the oryel
// scale, with their value and count.
type cells struct {
	cells  []Cell
	nx, ny int
}

func (h *cells) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, cl := range h.cells {
		lo, hi = math.Min(lo, cl.Value), math.Max(hi, cl.Value)
	}
	sty := plt.X.Tick.Label
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	for _, cl := range h.cells {
		x, y := float64(cl.X), float64(cl.Y)
		pts := []vg.Point{{X: trX(x - 0.5), Y: trY(y - 0.5)}, {X: trX(x + 0.5), Y: trY(y - 0.5)}, {X: trX(x + 0.5), Y: trY(y + 0.5)}, {X: trX(x - 0.5), Y: trY(y + 0.5)}}
		f := 0.0
		if hi > lo {
			f = (cl.Value - lo) / (hi - lo)
		}
		c.FillPolygon(scaleColor(f), pts)
		c.StrokeLines(draw.LineStyle{Color: color.White, Width: vg.Points(1)}, append(pts, pts[0]))
		c.FillText(sty, vg.Point{X: trX(x), Y: trY(y) + vg.Points(5)}, fmt.Sprintf("%.3g s", cl.Value))
		c.FillText(sty, vg.Point{X: trX(x), Y: trY(y) - vg.Points(5)}, fmt.Sprintf("n=%d", cl.Count))
	}
}

func (h *cells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(h.nx) - 0.5, -0.5, float64(h.ny) - 0.5
}

// colorBar draws the scale of a heatmap's cells in c: a vertical gradient
// from the lowest to the highest cell value, both labelled, under the
// chart's value title.
func colorBar(c draw.Canvas, p *plot.Plot, ch *Chart) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ch.Series {
		for _, cl := range s.Cells {
			lo, hi = math.Min(lo, cl.Value), math.Max(hi, cl.Value)
		}
	}
	if math.IsInf(lo, 1) {
		return
	}
	sty := p.X.Tick.Label
	top, bottom := c.Max.Y-0.3*(c.Max.Y-c.Min.Y), c.Min.Y+0.3*(c.Max.Y-c.Min.Y)
	x0 := c.Min.X + vg.Points(6)
	x1 := x0 + vg.Points(14)
	const steps = 64
	for i := range steps {
		y0 := bottom + (top-bottom)*vg.Length(i)/steps
		y1 := bottom + (top-bottom)*vg.Length(i+1)/steps
		c.FillPolygon(scaleColor(float64(i)/(steps-1)), []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
	}
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	c.FillText(sty, vg.Point{X: x1 + vg.Points(4), Y: top}, fmt.Sprintf("%.3g", hi))
	c.FillText(sty, vg.Point{X: x1 + vg.Points(4), Y: bottom}, fmt.Sprintf("%.3g", lo))
	sty.YAlign = draw.YBottom
	c.FillText(sty, vg.Point{X: x0, Y: top + vg.Points(8)}, ch.ValueTitle)
}

func scaleColor(f float64) color.Color {
	f = math.Min(1, math.Max(0, f)) * float64(len(oryel)-1)
	i := min(int(f), len(oryel)-2)
	t := f - float64(i)
	a, b := oryel[i], oryel[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + t*(float64(y)-float64(x)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

// refLine draws a dashed red reference line with its label.
type refLine struct{ RefLine }

func (l *refLine) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	ls := draw.LineStyle{Color: errorColor, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	sty := plt.X.Tick.Label
	sty.Color = errorColor
	if l.Axis == "x" {
		x := trX(l.Value)
		c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
		sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
		c.FillText(sty, vg.Point{X: x + vg.Points(3), Y: c.Max.Y - vg.Points(3)}, l.Label)
		return
	}
	y := trY(l.Value)
	c.StrokeLine2(ls, c.Min.X, y, c.Max.X, y)
	sty.XAlign, sty.YAlign = draw.XRight, draw.YBottom
	c.FillText(sty, vg.Point{X: c.Max.X - vg.Points(3), Y: y + vg.Points(2)}, l.Label)
}

func (l *refLine) DataRange() (xmin, xmax, ymin, ymax float64) {
	if l.Axis == "x" {
		return l.Value, l.Value, math.Inf(1), math.Inf(-1)
	}
	return math.Inf(1), math.Inf(-1), l.Value, l.Value
}
