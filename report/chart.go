package report

import (
	"math"
	"slices"
	"strconv"

	"github.com/llmeter-go/llmeter"
)

// Kind is the kind of a chart.
type Kind string

// The kinds of charts.
const (
	// KindLine: Series of Points joined by lines (with markers).
	KindLine Kind = "line"
	// KindScatter: Series of Points; a series with Role XHist or YHist is a
	// marginal histogram of the points (above and to the right).
	KindScatter Kind = "scatter"
	// KindBox: each Series has one Box per category; the categories are
	// Chart.Categories.
	KindBox Kind = "box"
	// KindHistogram: each Series has Bins.
	KindHistogram Kind = "histogram"
	// KindHeatmap: one Series of Cells over Chart.Categories (x) and
	// Chart.YCategories (y).
	KindHeatmap Kind = "heatmap"
)

// Chart is one chart, as both the HTML page and the images draw it.
type Chart struct {
	ID     string `json:"id"` // unique in a report; the image file name
	Title  string `json:"title"`
	Kind   Kind   `json:"kind"`
	XTitle string `json:"x_title"`
	YTitle string `json:"y_title"`
	XLog   bool   `json:"x_log,omitempty"`
	YLog   bool   `json:"y_log,omitempty"`
	// Categories are the x categories of Box and Heatmap charts;
	// YCategories the y categories of a Heatmap.
	Categories  []string `json:"categories,omitempty"`
	YCategories []string `json:"y_categories,omitempty"`
	// ValueTitle names a heatmap's cell values (the colour bar).
	ValueTitle string    `json:"value_title,omitempty"`
	Series     []*Series `json:"series"`
	// Lines are reference lines, such as an objective.
	Lines []RefLine `json:"lines,omitempty"`
}

// Role says how a series of a scatter chart is drawn.
type Role string

// The roles of a series beside the main points.
const (
	XHist Role = "x_hist" // histogram of the x values, above the chart
	YHist Role = "y_hist" // histogram of the y values, on the right
)

// Series is one named series: Points (Line, Scatter), Boxes (Box), Bins
// (Histogram) or Cells (Heatmap).
type Series struct {
	Name   string     `json:"name"`
	Role   Role       `json:"role,omitempty"`
	Points []Point    `json:"points,omitempty"`
	Boxes  []BoxStats `json:"boxes,omitempty"`
	Bins   []Bin      `json:"bins,omitempty"`
	Cells  []Cell     `json:"cells,omitempty"`
	// Error marks a series of failed requests (drawn as crosses, in red).
	Error bool `json:"error,omitempty"`
}

// Len is the number of data items of the series: what the chart draws.
func (s *Series) Len() int { return len(s.Points) + len(s.Boxes) + len(s.Bins) + len(s.Cells) }

// Point is a point of a line or scatter series; Label, if set, is shown
// beside it (e.g. the client count of a throughput–latency curve).
type Point struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Label string  `json:"label,omitempty"`
}

// BoxStats summarises the values of one category: quartiles (LLMeter's
// percentile method), whiskers at the furthest values within 1.5 IQR of the
// box, and the values beyond them.
type BoxStats struct {
	N        int       `json:"n"`
	Min      float64   `json:"min"` // lower whisker
	Q1       float64   `json:"q1"`
	Median   float64   `json:"median"`
	Q3       float64   `json:"q3"`
	Max      float64   `json:"max"` // upper whisker
	Outliers []float64 `json:"outliers,omitempty"`
}

// Bin is one histogram bin [Lo, Hi) (the last one closed): Count values,
// Fraction of all the series' values.
type Bin struct {
	Lo       float64 `json:"lo"`
	Hi       float64 `json:"hi"`
	Count    int     `json:"count"`
	Fraction float64 `json:"fraction"`
}

// Cell is one heatmap cell: X and Y index Chart.Categories and
// Chart.YCategories; Value is the average over Count values.
type Cell struct {
	X     int     `json:"x"`
	Y     int     `json:"y"`
	Value float64 `json:"value"`
	Count int     `json:"count"`
}

// RefLine is a horizontal (Axis "y") or vertical (Axis "x") line at Value.
type RefLine struct {
	Axis  string  `json:"axis"`
	Value float64 `json:"value"`
	Label string  `json:"label"`
}

// Table is a table of the report (the statistics of a run).
type Table struct {
	ID      string     `json:"id"`
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Report is what a page shows: charts and tables, in order.
type Report struct {
	Title  string   `json:"title"`
	Notes  []string `json:"notes,omitempty"`
	Charts []*Chart `json:"charts"`
	Tables []*Table `json:"tables,omitempty"`
}

// Tall reports whether the chart needs more height than most: heatmaps,
// the timeline and scatter charts with marginal histograms.
func (c *Chart) Tall() bool {
	if c.Kind == KindHeatmap || c.ID == "timeline" {
		return true
	}
	for _, s := range c.Series {
		if s.Role != "" {
			return true
		}
	}
	return false
}

// Chart returns the chart with the ID, or nil.
func (r *Report) Chart(id string) *Chart {
	for _, c := range r.Charts {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// boxStats summarises values (any order; NaNs must be removed).
func boxStats(values []float64) BoxStats {
	v := make([]float64, len(values))
	for i, x := range values {
		v[i] = round(x) // float noise is no spread
	}
	slices.Sort(v)
	if len(v) == 0 {
		return BoxStats{}
	}
	b := BoxStats{N: len(v), Q1: round(llmeter.Percentile(v, 25)), Median: round(llmeter.Percentile(v, 50)), Q3: round(llmeter.Percentile(v, 75))}
	// With few values the extrapolating percentiles can fall outside the
	// data; keep the box inside it.
	b.Q1 = max(b.Q1, v[0])
	b.Q3 = min(b.Q3, v[len(v)-1])
	iqr := b.Q3 - b.Q1
	lo, hi := b.Q1-1.5*iqr, b.Q3+1.5*iqr
	b.Min, b.Max = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if x < lo || x > hi {
			b.Outliers = append(b.Outliers, x)
			continue
		}
		b.Min, b.Max = min(b.Min, x), max(b.Max, x)
	}
	return b
}

// histogram bins values: unit bins for integers with few distinct values,
// otherwise about √n (at most maxBins) bins of a round width.
func histogram(values []float64, maxBins int) []Bin {
	if len(values) == 0 {
		return nil
	}
	// Values equal but for float noise (e.g. a constant time per output
	// token) fall in one bin.
	values = slices.Clone(values)
	for i, x := range values {
		values[i] = round(x)
	}
	lo, hi := slices.Min(values), slices.Max(values)
	integers := true
	for _, x := range values {
		if x != math.Trunc(x) {
			integers = false
			break
		}
	}
	var width float64
	switch {
	case integers && hi-lo < float64(maxBins):
		width = 1
	case hi == lo:
		width = niceWidth(math.Abs(lo) / 50)
		if lo == 0 || integers {
			width = 1
		}
	default:
		n := min(maxBins, max(5, int(math.Ceil(math.Sqrt(float64(len(values)))))))
		width = niceWidth((hi - lo) / float64(n))
		if integers {
			width = math.Max(1, math.Ceil(width))
		}
	}
	start := math.Floor(lo/width) * width
	switch {
	case integers && width == 1:
		start = lo - 0.5 // bins centred on the integers
	case hi == lo:
		start = lo - width/2
	}
	nb := int(math.Floor((hi-start)/width)) + 1
	bins := make([]Bin, nb)
	for i := range bins {
		bins[i].Lo = round(start + float64(i)*width)
		bins[i].Hi = round(start + float64(i+1)*width)
	}
	for _, x := range values {
		i := min(nb-1, max(0, int(math.Floor((x-start)/width))))
		bins[i].Count++
	}
	for i := range bins {
		bins[i].Fraction = round(float64(bins[i].Count) / float64(len(values)))
	}
	return bins
}

// niceWidth rounds w up to 1, 2, 2.5 or 5 times a power of ten.
func niceWidth(w float64) float64 {
	if !(w > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(w)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if w <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// round keeps 12 significant digits, so that golden files do not depend on
// the last bits of float arithmetic.
func round(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
	return f
}
