package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/experiment"
)

// DefaultDimensions are the per-response fields a run report charts.
var DefaultDimensions = []string{"time_to_first_token", "time_to_last_token", "time_per_output_token",
	"num_tokens_input", "num_tokens_output"}

// maxHistBins bounds the bins of a histogram.
const maxHistBins = 50

// label is LLMeter's axis label of a field: "time_to_first_token" →
// "Time to first token".
func label(dim string) string {
	s := strings.ReplaceAll(dim, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// unitLabel adds the field's unit: "Time to first token (s)".
func unitLabel(dim string) string {
	switch {
	case strings.HasPrefix(dim, "time_"):
		return label(dim) + " (s)"
	case strings.HasPrefix(dim, "num_tokens"):
		return label(dim) + " (tokens)"
	}
	return label(dim)
}

// values returns the numeric values of a field over the responses, without
// nulls and NaNs.
func values(resps []*llmeter.InvocationResponse, dim string) []float64 {
	var out []float64
	for _, r := range resps {
		if v, ok := number(llmeter.ResponseField(r, dim)); ok {
			out = append(out, v)
		}
	}
	return out
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	}
	return 0, false
}

func runName(res *llmeter.Result) string {
	if res.RunName != "" {
		return res.RunName
	}
	return "run"
}

// Run is the report of one run: a box plot and a histogram of each
// dimension over the successful responses (DefaultDimensions if none are given), time per output token vs
// output tokens with marginal histograms, the timeline of requests and the
// statistics table.
func Run(res *llmeter.Result, dims ...string) *Report {
	if len(dims) == 0 {
		dims = DefaultDimensions
	}
	name := runName(res)
	rep := &Report{Title: "LLMeter run " + name}
	if res.ModelID != "" {
		rep.Notes = append(rep.Notes, "Model: "+res.ModelID)
	}
	resps := successful(res.Responses)
	for _, d := range dims {
		v := values(resps, d)
		rep.Charts = append(rep.Charts, &Chart{
			ID: "box_" + d, Title: label(d), Kind: KindBox, XTitle: "Run", YTitle: unitLabel(d),
			Categories: []string{name},
			Series:     []*Series{{Name: name, Boxes: []BoxStats{boxStats(v)}}},
		}, &Chart{
			ID: "histogram_" + d, Title: "Distribution of " + strings.ToLower(label(d)), Kind: KindHistogram,
			XTitle: unitLabel(d), YTitle: "Probability",
			Series: []*Series{{Name: name, Bins: histogram(v, maxHistBins)}},
		})
	}
	rep.Charts = append(rep.Charts, scatterHist(resps, name, "num_tokens_output", "time_per_output_token"), timeline(res, name))
	rep.Tables = append(rep.Tables, statsTable(res))
	return rep
}

// measured leaves out warm-up responses.
func measured(resps []*llmeter.InvocationResponse) []*llmeter.InvocationResponse {
	out := make([]*llmeter.InvocationResponse, 0, len(resps))
	for _, r := range resps {
		if !r.Warmup {
			out = append(out, r)
		}
	}
	return out
}

// successful keeps the measured responses that did not fail: those the
// statistics describe.
func successful(resps []*llmeter.InvocationResponse) []*llmeter.InvocationResponse {
	out := make([]*llmeter.InvocationResponse, 0, len(resps))
	for _, r := range resps {
		if !r.Warmup && !r.Failed() {
			out = append(out, r)
		}
	}
	return out
}

// scatterHist is y vs x for every response with both, with the marginal
// histograms (LLMeter's scatter_histogram_2d).
func scatterHist(resps []*llmeter.InvocationResponse, name, xDim, yDim string) *Chart {
	pts := []Point{}
	var xs, ys []float64
	for _, r := range resps {
		x, okx := number(llmeter.ResponseField(r, xDim))
		y, oky := number(llmeter.ResponseField(r, yDim))
		if okx && oky {
			pts = append(pts, Point{X: round(x), Y: round(y)})
			xs, ys = append(xs, x), append(ys, y)
		}
	}
	sortPoints(pts)
	return &Chart{
		ID: "scatter_" + yDim + "_vs_" + xDim, Title: label(yDim) + " vs " + strings.ToLower(label(xDim)),
		Kind: KindScatter, XTitle: unitLabel(xDim), YTitle: unitLabel(yDim),
		Series: []*Series{
			{Name: name, Points: pts},
			{Name: label(xDim) + " distribution", Role: XHist, Bins: histogram(xs, maxHistBins)},
			{Name: label(yDim) + " distribution", Role: YHist, Bins: histogram(ys, maxHistBins)},
		},
	}
}

func sortPoints(pts []Point) {
	slices.SortStableFunc(pts, func(a, b Point) int {
		if c := cmpFloat(a.X, b.X); c != 0 {
			return c
		}
		return cmpFloat(a.Y, b.Y)
	})
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// timeline is the latency of each request against its send time (from the
// start of the run); failed requests are a separate series, at their time
// to last token if they have one, else at 0.
func timeline(res *llmeter.Result, name string) *Chart {
	ttlt, ttft, failed := []Point{}, []Point{}, []Point{}
	for _, r := range measured(res.Responses) {
		x := round(r.SendOffset.Seconds())
		if r.Failed() {
			y := 0.0
			if r.TimeToLastToken != nil {
				y = *r.TimeToLastToken
			}
			lbl := r.ErrorClass
			if lbl == "" {
				lbl = r.Error
			}
			failed = append(failed, Point{X: x, Y: round(y), Label: lbl})
			continue
		}
		if r.TimeToLastToken != nil {
			ttlt = append(ttlt, Point{X: x, Y: round(*r.TimeToLastToken)})
		}
		if r.TimeToFirstToken != nil {
			ttft = append(ttft, Point{X: x, Y: round(*r.TimeToFirstToken)})
		}
	}
	for _, p := range [][]Point{ttlt, ttft, failed} {
		sortPoints(p)
	}
	return &Chart{
		ID: "timeline", Title: "Requests over time (" + name + ")", Kind: KindScatter,
		XTitle: "Send time from the start of the run (s)", YTitle: "Latency (s)",
		Series: []*Series{
			{Name: "Time to last token", Points: ttlt},
			{Name: "Time to first token", Points: ttft},
			{Name: "Failed", Points: failed, Error: true},
		},
	}
}

// statsTable lists the run's statistics.
func statsTable(res *llmeter.Result) *Table {
	t := &Table{ID: "stats", Title: "Statistics", Columns: []string{"Statistic", "Value"}}
	st := res.Stats()
	for _, k := range st.Keys() {
		v, _ := st.Get(k)
		t.Rows = append(t.Rows, []string{k, formatValue(v)})
	}
	return t
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		return strconv.FormatFloat(x, 'g', 6, 64)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// statOf returns a statistic of a result.
func statOf(res *llmeter.Result, key string) (float64, bool) {
	v, ok := res.Stats().Float(key)
	return v, ok && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// LoadTest is the report of a load test: LLMeter's six charts (error rate,
// requests per minute, input and output tokens per minute vs clients, time
// to first and last token box plots vs clients), output tokens per second
// vs the p90 of time to first token, and a table per level.
func LoadTest(lt *experiment.LoadTestResult) *Report {
	name := lt.TestName
	if name == "" {
		name = "load test"
	}
	rep := &Report{Title: "LLMeter load test " + name}
	if lt.StoppedBy != "" {
		rep.Notes = append(rep.Notes, "Stopped early: "+lt.StoppedBy)
	}
	clients := lt.Clients()
	line := func(id, stat, title, yTitle string, yLog bool) *Chart {
		pts := []Point{}
		for _, c := range clients {
			if v, ok := statOf(lt.Results[c], stat); ok {
				pts = append(pts, Point{X: float64(c), Y: round(v)})
			}
		}
		if yLog && !allPositive(pts) {
			yLog = false
		}
		return &Chart{ID: id, Title: title, Kind: KindLine, XTitle: "Number of clients", YTitle: yTitle,
			XLog: true, YLog: yLog, Series: []*Series{{Name: name, Points: pts}}}
	}
	rep.Charts = append(rep.Charts,
		line("error_rate", "failed_requests_rate", "Error rate vs number of clients", "Error rate", false),
		line("requests_per_minute", "requests_per_minute", "Requests per minute vs number of clients", "Requests per minute", true),
		line("average_input_tokens_clients", "average_input_tokens_per_minute", "Average input tokens per minute vs number of clients", "Input tokens per minute", true),
		line("average_output_tokens_clients", "average_output_tokens_per_minute", "Average output tokens per minute vs number of clients", "Output tokens per minute", true),
	)
	for _, d := range []string{"time_to_first_token", "time_to_last_token"} {
		c := &Chart{ID: d, Title: label(d) + " vs number of clients", Kind: KindBox, XTitle: "Number of clients",
			YTitle: unitLabel(d), YLog: true, Series: []*Series{{Name: name}}}
		for _, n := range clients {
			v := values(successful(lt.Results[n].Responses), d)
			c.Categories = append(c.Categories, strconv.Itoa(n))
			c.Series[0].Boxes = append(c.Series[0].Boxes, boxStats(v))
			if slices.ContainsFunc(v, func(x float64) bool { return x <= 0 }) {
				c.YLog = false
			}
		}
		rep.Charts = append(rep.Charts, c)
	}
	// Throughput against latency: the curve a capacity planner reads.
	curve := &Chart{ID: "output_tps_vs_ttft_p90", Title: "Output tokens per second vs time to first token p90",
		Kind: KindLine, XTitle: "Time to first token p90 (s)", YTitle: "Output tokens per second",
		Series: []*Series{{Name: name}}}
	for _, c := range clients {
		res := lt.Results[c]
		x, okx := statOf(res, "time_to_first_token-p90")
		y, oky := outputTPS(res)
		if okx && oky {
			curve.Series[0].Points = append(curve.Series[0].Points, Point{X: round(x), Y: round(y), Label: clientsLabel(c)})
		}
	}
	rep.Charts = append(rep.Charts, curve)
	rep.Tables = append(rep.Tables, levelsTable("levels", "Levels", "Clients", clients, func(c int) *llmeter.Result { return lt.Results[c] }))
	return rep
}

// outputTPS is the output tokens per second of a run: output_tps (live
// runs), else the average output tokens per minute / 60.
func outputTPS(res *llmeter.Result) (float64, bool) {
	if v, ok := statOf(res, "output_tps"); ok {
		return v, true
	}
	v, ok := statOf(res, "average_output_tokens_per_minute")
	return v / 60, ok
}

func allPositive(pts []Point) bool {
	for _, p := range pts {
		if !(p.Y > 0) {
			return false
		}
	}
	return true
}

// levelsTable is one row of main statistics per level.
func levelsTable[K int | float64](id, title, keyTitle string, keys []K, get func(K) *llmeter.Result) *Table {
	stats := []string{"total_requests", "failed_requests_rate", "requests_per_minute", "average_output_tokens_per_minute",
		"time_to_first_token-p50", "time_to_first_token-p90", "time_to_first_token-p99",
		"time_to_last_token-p50", "time_to_last_token-p90", "time_to_last_token-p99"}
	t := &Table{ID: id, Title: title, Columns: append([]string{keyTitle}, stats...)}
	for _, k := range keys {
		res := get(k)
		row := []string{strconv.FormatFloat(float64(k), 'g', -1, 64)}
		st := res.Stats()
		for _, s := range stats {
			v, _ := st.Get(s)
			row = append(row, formatValue(v))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Heatmap is the report of a latency heatmap: the average time to first and
// to last token over input × output tokens (measured per response), binned
// into at most binsX × binsY cells as LLMeter does (§1.M.107, binning of
// its heatmap helper), except that an axis with no more distinct values than
// bins keeps the exact values. Each cell shows its count.
func Heatmap(h *experiment.HeatmapResult, binsX, binsY int) *Report {
	if binsX < 1 {
		binsX = 10
	}
	if binsY < 1 {
		binsY = 10
	}
	rep := &Report{Title: "LLMeter latency heatmap"}
	var resps []*llmeter.InvocationResponse
	if h.Result != nil {
		resps = measured(h.Result.Responses)
		if h.Result.RunName != "" {
			rep.Title += " " + h.Result.RunName
		}
	}
	var ok []*llmeter.InvocationResponse
	var xs, ys []float64
	for _, r := range resps {
		if r.Failed() || r.NumTokensInput == nil || r.NumTokensOutput == nil {
			continue
		}
		ok = append(ok, r)
		xs, ys = append(xs, float64(*r.NumTokensInput)), append(ys, float64(*r.NumTokensOutput))
	}
	bx, by := newBinning(xs, binsX), newBinning(ys, binsY)
	for _, d := range []string{"time_to_first_token", "time_to_last_token"} {
		type acc struct {
			sum float64
			n   int
		}
		cells := map[[2]int]*acc{}
		for i, r := range ok {
			v, good := number(llmeter.ResponseField(r, d))
			if !good {
				continue
			}
			k := [2]int{bx.index(xs[i]), by.index(ys[i])}
			if cells[k] == nil {
				cells[k] = &acc{}
			}
			cells[k].sum += v
			cells[k].n++
		}
		s := &Series{Name: "average " + strings.ToLower(label(d))}
		for y := range by.labels {
			for x := range bx.labels {
				if a := cells[[2]int{x, y}]; a != nil {
					s.Cells = append(s.Cells, Cell{X: x, Y: y, Value: round(a.sum / float64(a.n)), Count: a.n})
				}
			}
		}
		rep.Charts = append(rep.Charts, &Chart{
			ID: "heatmap_" + d, Title: "LLMeter: average " + strings.ToLower(label(d)), Kind: KindHeatmap,
			XTitle: "Input tokens", YTitle: "Output tokens", ValueTitle: "average (s)",
			Categories: bx.labels, YCategories: by.labels, Series: []*Series{s},
		})
	}
	if failed := len(resps) - len(ok); failed > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d responses failed or had no token counts and are not in the heatmaps.", failed, len(resps)))
	}
	return rep
}

// binning maps values to bins: exact values when there are no more
// distinct values than bins, else LLMeter's _cut (§1.M.109): width
// max(1, ceil((max−min)/bins)), boundaries min + i·width.
type binning struct {
	exact  []float64 // sorted distinct values, when exact
	min    float64
	width  float64
	n      int
	labels []string
}

func newBinning(vs []float64, bins int) *binning {
	distinct := slices.Compact(slices.Sorted(slices.Values(vs)))
	if len(distinct) <= bins {
		b := &binning{exact: distinct}
		for _, v := range distinct {
			b.labels = append(b.labels, strconv.FormatFloat(v, 'g', -1, 64))
		}
		return b
	}
	lo, hi := distinct[0], distinct[len(distinct)-1]
	b := &binning{min: lo, n: bins, width: math.Max(1, math.Ceil((hi-lo)/float64(bins)))}
	for i := range bins {
		a, z := lo+float64(i)*b.width, lo+float64(i+1)*b.width
		if i == bins-1 && z <= hi {
			z = hi + 1
		}
		b.labels = append(b.labels, fmt.Sprintf("[%g, %g)", a, z))
	}
	return b
}

func (b *binning) index(v float64) int {
	if b.exact != nil {
		i, _ := slices.BinarySearch(b.exact, v)
		return i
	}
	return min(b.n-1, max(0, int(math.Floor((v-b.min)/b.width))))
}

// latencyStats are the statistics an open-loop chart draws against the rate.
var latencyStats = []struct{ key, name string }{
	{"time_to_first_token-p50", "TTFT p50"}, {"time_to_first_token-p90", "TTFT p90"}, {"time_to_first_token-p99", "TTFT p99"},
	{"time_to_last_token-p50", "TTLT p50"}, {"time_to_last_token-p90", "TTLT p90"}, {"time_to_last_token-p99", "TTLT p99"},
}

// Sweep is the report of an open-loop sweep: latency percentiles vs offered
// rate (as measured, and from the intended send time when the runs recorded
// it), achieved vs offered rate, and one chart per objective (its value vs
// the offered rate, with the objective as a line).
func Sweep(s *experiment.SweepResult, slos ...llmeter.SLO) *Report {
	name := s.TestName
	if name == "" {
		name = "sweep"
	}
	rep := &Report{Title: "LLMeter open-loop sweep " + name}
	if s.StoppedBy != "" {
		rep.Notes = append(rep.Notes, "Stopped early: "+s.StoppedBy)
	}
	rates := slices.Sorted(slices.Values(s.Rates))
	latency := func(id, title, suffix string, metrics ...string) *Chart {
		c := &Chart{ID: id, Title: title, Kind: KindLine, XTitle: "Offered rate (requests/s)", YTitle: "Latency (s)"}
		for _, ls := range latencyStats {
			key := strings.Replace(ls.key, "-", suffix+"-", 1)
			ser := &Series{Name: ls.name + strings.ReplaceAll(suffix, "_", " "), Points: []Point{}}
			for _, r := range rates {
				if v, ok := statOf(s.Results[r], key); ok {
					ser.Points = append(ser.Points, Point{X: r, Y: round(v)})
				}
			}
			c.Series = append(c.Series, ser)
		}
		for _, o := range slos {
			if o.Min == nil && slices.Contains(metrics, o.Metric) && (o.Percentile > 0 || o.Average) {
				c.Lines = append(c.Lines, RefLine{Axis: "y", Value: o.Max, Label: "SLO " + o.String()})
			}
		}
		return c
	}
	lat := latency("latency_vs_rate", "Latency vs offered rate", "", llmeter.MetricTTFT, llmeter.MetricTTLT)
	rep.Charts = append(rep.Charts, lat)
	// From the intended send time: what a user arriving on schedule waits,
	// client-side queueing included (no coordinated omission).
	if sched := latency("latency_from_schedule_vs_rate", "Latency from the schedule vs offered rate", "_from_schedule",
		llmeter.MetricTTFTSchedule, llmeter.MetricTTLTSchedule); sched.Series[0].Len() > 0 {
		rep.Charts = append(rep.Charts, sched)
	}
	thr := &Chart{ID: "achieved_vs_offered", Title: "Achieved vs offered rate", Kind: KindLine,
		XTitle: "Offered rate (requests/s)", YTitle: "Requests per second",
		Series: []*Series{{Name: "Achieved", Points: []Point{}}, {Name: "Offered", Points: []Point{}}}}
	for _, r := range rates {
		if v, ok := statOf(s.Results[r], "requests_per_minute"); ok {
			thr.Series[0].Points = append(thr.Series[0].Points, Point{X: r, Y: round(v / 60)})
		}
		thr.Series[1].Points = append(thr.Series[1].Points, Point{X: r, Y: r})
	}
	rep.Charts = append(rep.Charts, thr)
	for i, o := range slos {
		c := sloChart(i, o)
		ser := &Series{Name: o.String(), Points: []Point{}}
		for _, r := range rates {
			if v, found, _ := o.Check(s.Results[r]); found {
				ser.Points = append(ser.Points, Point{X: r, Y: round(v)})
			}
		}
		c.Series = []*Series{ser}
		rep.Charts = append(rep.Charts, c)
	}
	rep.Tables = append(rep.Tables, levelsTable("levels", "Levels", "Offered rate (requests/s)", rates, func(r float64) *llmeter.Result { return s.Results[r] }))
	return rep
}

func sloChart(i int, o llmeter.SLO) *Chart {
	v := o.Max
	if o.Min != nil {
		v = *o.Min
	}
	yt := o.StatKey()
	if strings.HasPrefix(o.Metric, "time_") || o.Metric == llmeter.MetricITL || o.Metric == llmeter.MetricScheduleLag {
		yt += " (s)"
	}
	return &Chart{ID: fmt.Sprintf("slo_%d", i+1), Title: "Objective " + o.String() + " vs offered rate", Kind: KindLine,
		XTitle: "Offered rate (requests/s)", YTitle: yt, Lines: []RefLine{{Axis: "y", Value: v, Label: "SLO " + o.String()}}}
}

// Capacity is the report of a capacity search: per objective, its value at
// each probe vs the offered rate (passing and failing probes apart), the
// objective as a horizontal line and the capacity found as a vertical one.
func Capacity(c *experiment.CapacityResult) *Report {
	name := c.TestName
	if name == "" {
		name = "capacity search"
	}
	rep := &Report{Title: "LLMeter capacity search " + name}
	switch {
	case c.Capacity == 0:
		rep.Notes = append(rep.Notes, "No probe met every objective.")
	case c.Fail == nil:
		rep.Notes = append(rep.Notes, fmt.Sprintf("Capacity: at least %g requests/s (the highest rate tried passed).", c.Capacity))
	default:
		rep.Notes = append(rep.Notes, fmt.Sprintf("Capacity: %g requests/s (fails at %g requests/s).", c.Capacity, c.Fail.Rate))
	}
	if c.StoppedBy != "" {
		rep.Notes = append(rep.Notes, "Stopped early: "+c.StoppedBy)
	}
	probes := c.Bracket()
	var keys []string
	for _, p := range probes {
		for k := range p.Values {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	for i, k := range keys {
		o, err := llmeter.ParseSLO(k)
		if err != nil {
			continue
		}
		ch := sloChart(i, o)
		pass, fail := &Series{Name: "Met", Points: []Point{}}, &Series{Name: "Missed", Points: []Point{}, Error: true}
		for _, p := range probes {
			v, ok := p.Values[k]
			if !ok {
				continue
			}
			pt := Point{X: p.Rate, Y: round(v)}
			if slices.Contains(p.Failed, k) {
				fail.Points = append(fail.Points, pt)
			} else {
				pass.Points = append(pass.Points, pt)
			}
		}
		ch.Kind = KindScatter
		ch.Series = []*Series{pass, fail}
		if c.Capacity > 0 {
			ch.Lines = append(ch.Lines, RefLine{Axis: "x", Value: c.Capacity, Label: fmt.Sprintf("capacity %g/s", c.Capacity)})
		}
		rep.Charts = append(rep.Charts, ch)
	}
	rates := make([]float64, len(probes))
	for i, p := range probes {
		rates[i] = p.Rate
	}
	byRate := func(r float64) *llmeter.Result {
		for _, p := range probes {
			if p.Rate == r {
				return p.Result
			}
		}
		return &llmeter.Result{}
	}
	rep.Tables = append(rep.Tables, levelsTable("probes", "Probes", "Offered rate (requests/s)", rates, byRate))
	return rep
}

// clientsLabel names a level of a load test: "1 client", "8 clients".
func clientsLabel(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}
