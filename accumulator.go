package llmeter

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Metric names tracked per response, in the order their stats are written.
const (
	MetricTTLT         = "time_to_last_token"
	MetricTTFT         = "time_to_first_token"
	MetricTPOT         = "time_per_output_token"
	MetricOutputTokens = "num_tokens_output"
	MetricInputTokens  = "num_tokens_input"
	MetricCachedTokens = "num_tokens_input_cached"

	// MetricITL is the gap between consecutive chunks of visible text,
	// pooled over requests (vLLM's and SGLang's "ITL", AIPerf's "ICL"); per
	// token when every chunk carries one token.
	MetricITL = "inter_token_latency"
	// Open-loop runs: latency measured from the intended send time (so it
	// includes the client's own delay, the coordinated-omission fix), and
	// that delay itself.
	MetricTTFTSchedule = "time_to_first_token_from_schedule"
	MetricTTLTSchedule = "time_to_last_token_from_schedule"
	MetricScheduleLag  = "schedule_lag"
)

// LateThreshold is how late after its intended time a request must be sent
// to count in late_requests.
const LateThreshold = time.Millisecond

// Metrics lists the per-response metrics summarized in the stats.
var Metrics = []string{MetricTTLT, MetricTTFT, MetricTPOT, MetricOutputTokens, MetricInputTokens, MetricCachedTokens}

// accumulator is the one definition of a run's statistics. The Runner feeds
// it live, and a loaded Result feeds it from responses.jsonl, so the numbers
// are the same either way (LLMeter's defect D5 fixed).
//
// Latency and token metrics are taken from successful responses only: a
// failed request's partial timings are in responses.jsonl but do not skew
// the percentiles.
type accumulator struct {
	count, failed    int
	classes          map[string]int
	callbackErrors   int
	firstSend        time.Time
	lastSend         time.Time
	haveSend         bool
	totalIn          int
	totalOut         int
	totalCached      int
	totalReasoning   int
	ttlt, ttft, tpot *Sample
	out, in, cached  *Sample

	itl                      *Sample
	ttftSched, ttltSched     *Sample
	lag                      *Sample
	late, openLoop           int
	warmup                   int
	slos                     []SLO // per-request objectives: goodput
	good                     int
	firstOffset, lastArrival time.Duration // the measured window (offsets from the run's start)
	haveWindow               bool

	// every send, warm-up included: for the achieved rate
	sent                            int
	firstSendOffset, lastSendOffset time.Duration
	haveSendOffsets                 bool
	// open loop: (send offset, TTFT) of successful responses, for the
	// latency trend
	trend []trendPoint
}

type trendPoint struct{ at, latency float32 }

func newAccumulator() *accumulator {
	return &accumulator{
		classes: map[string]int{},
		ttlt:    NewSample(false), ttft: NewSample(false), tpot: NewSample(false),
		out: NewSample(true), in: NewSample(true), cached: NewSample(true),
		itl: newCountedSample(), ttftSched: NewSample(false), ttltSched: NewSample(false), lag: NewSample(false),
	}
}

func (a *accumulator) add(r *InvocationResponse) {
	if r.SendOffset > 0 || r.IntendedOffset != nil {
		a.sent++
		if !a.haveSendOffsets || r.SendOffset < a.firstSendOffset {
			a.firstSendOffset = r.SendOffset
		}
		a.lastSendOffset = max(a.lastSendOffset, r.SendOffset)
		a.haveSendOffsets = true
	}
	if r.Warmup {
		a.warmup++
		return
	}
	a.count++
	if lag, ok := scheduleLag(r); ok {
		a.openLoop++
		a.lag.Add(lag.Seconds())
		if lag > LateThreshold {
			a.late++
		}
	}
	if r.SendOffset > 0 || r.IntendedOffset != nil {
		end := r.SendOffset
		if r.TimeToLastToken != nil {
			end += time.Duration(*r.TimeToLastToken * float64(time.Second))
		}
		if !a.haveWindow || r.SendOffset < a.firstOffset {
			a.firstOffset = r.SendOffset
		}
		a.lastArrival = max(a.lastArrival, end)
		a.haveWindow = true
	}
	if r.RequestTime != nil {
		t := *r.RequestTime
		if !a.haveSend || t.Before(a.firstSend) {
			a.firstSend = t
		}
		if !a.haveSend || t.After(a.lastSend) {
			a.lastSend = t
		}
		a.haveSend = true
	}
	if r.Failed() {
		a.failed++
		class := r.ErrorClass
		if class == "" {
			class = ErrorClassOther
		}
		a.classes[class]++
		return
	}
	addF := func(s *Sample, v *float64) {
		if v != nil {
			s.Add(*v)
		}
	}
	addI := func(s *Sample, total *int, v *int) {
		if v != nil {
			s.Add(float64(*v))
			*total += *v
		}
	}
	addF(a.ttlt, r.TimeToLastToken)
	addF(a.ttft, r.TimeToFirstToken)
	addF(a.tpot, r.TimePerOutputToken)
	addI(a.out, &a.totalOut, r.NumTokensOutput)
	addI(a.in, &a.totalIn, r.NumTokensInput)
	addI(a.cached, &a.totalCached, r.NumTokensInputCached)
	if r.NumTokensOutputReasoning != nil {
		a.totalReasoning += *r.NumTokensOutputReasoning
	}
	// Chunk gaps at the microsecond resolution chunk_offsets_us saves them
	// in: the live statistics equal those of the reloaded run, and the
	// counted sample stays as small as the number of distinct gaps.
	var prev time.Duration
	for i, d := range r.ChunkOffsets {
		d = d.Truncate(time.Microsecond)
		if i > 0 {
			a.itl.Add((d - prev).Seconds())
		}
		prev = d
	}
	if v, ok := responseMetric(r, MetricTTFTSchedule); ok {
		a.ttftSched.Add(v)
		// The trend is of the service time: a server that falls behind
		// makes it grow, a late client does not.
		if r.TimeToFirstToken != nil {
			a.trend = append(a.trend, trendPoint{float32(r.SendOffset.Seconds()), float32(*r.TimeToFirstToken)})
		}
	}
	if v, ok := responseMetric(r, MetricTTLTSchedule); ok {
		a.ttltSched.Add(v)
	}
	if len(a.slos) > 0 && meetsAll(r, a.slos) {
		a.good++
	}
}

// meetsAll reports whether a successful response meets every per-request
// objective (a metric it lacks fails the objective).
func meetsAll(r *InvocationResponse, slos []SLO) bool {
	for _, o := range slos {
		v, ok := responseMetric(r, o.Metric)
		if !ok || !o.meets(v) {
			return false
		}
	}
	return true
}

// stats returns the statistics: the summary fields first (head), then the
// counts, rates and per-metric summaries. elapsed is the test time the
// rates are based on (total_test_time, or the time so far for a live view);
// zero or negative leaves the rates out.
func (a *accumulator) stats(head *Stats, elapsed float64) *Stats {
	st := head.Clone()
	st.Set("failed_requests", a.failed)
	rate := 0.0
	if a.count > 0 {
		rate = float64(a.failed) / float64(a.count)
	}
	st.Set("failed_requests_rate", rate)
	for _, c := range ErrorClasses {
		if n := a.classes[c]; n > 0 {
			st.Set("failed_requests_"+c, n)
		}
	}
	st.Set("total_input_tokens", a.totalIn)
	st.Set("total_output_tokens", a.totalOut)
	st.Set("total_cached_input_tokens", a.totalCached)
	st.Set("total_reasoning_output_tokens", a.totalReasoning)
	a.ttlt.Summary(st, MetricTTLT, DefaultPercentiles)
	a.ttft.Summary(st, MetricTTFT, DefaultPercentiles)
	a.tpot.Summary(st, MetricTPOT, DefaultPercentiles)
	a.out.Summary(st, MetricOutputTokens, DefaultPercentiles)
	a.in.Summary(st, MetricInputTokens, DefaultPercentiles)
	a.cached.Summary(st, MetricCachedTokens, DefaultPercentiles)
	if elapsed > 0 {
		st.Set("requests_per_minute", float64(a.count)*60/elapsed)
		st.Set("average_input_tokens_per_minute", float64(a.totalIn)*60/elapsed)
		st.Set("average_output_tokens_per_minute", float64(a.totalOut)*60/elapsed)
		st.Set("output_tps", float64(a.totalOut)/elapsed)
	}
	if w := a.lastSend.Sub(a.firstSend).Seconds(); a.count > 1 && w > 0 {
		// LLMeter's live-display rate, over the send window; ours in
		// requests_per_minute is over the whole test time.
		st.Set("send_window_requests_per_minute", float64(a.count)*60/w)
	}
	if a.callbackErrors > 0 {
		st.Set("callback_errors", a.callbackErrors)
	}
	a.itl.Summary(st, MetricITL, DefaultPercentiles)
	if a.approximate() {
		// Runner.BoundedStats: some percentiles are estimates (within 0.5%).
		st.Set("approximate_percentiles", true)
	}
	if a.openLoop > 0 {
		a.ttftSched.Summary(st, MetricTTFTSchedule, DefaultPercentiles)
		a.ttltSched.Summary(st, MetricTTLTSchedule, DefaultPercentiles)
		a.lag.Summary(st, MetricScheduleLag, DefaultPercentiles)
		if a.lag.Len() > 0 {
			st.Set(MetricScheduleLag+"-max", a.lag.Max())
		} else {
			st.Set(MetricScheduleLag+"-max", 0.0)
		}
		st.Set("late_requests", a.late)
	}
	if a.warmup > 0 {
		st.Set("warmup_requests", a.warmup)
		if w := (a.lastArrival - a.firstOffset).Seconds(); a.haveWindow && w > 0 {
			// Throughput over the measured (post-warm-up) window only.
			st.Set("steady_requests_per_minute", float64(a.count)*60/w)
			st.Set("steady_output_tps", float64(a.totalOut)/w)
		}
	}
	if len(a.slos) > 0 {
		names := make([]string, len(a.slos))
		for i, o := range a.slos {
			names[i] = o.String()
		}
		st.Set("goodput_slos", strings.Join(names, ", "))
		st.Set("goodput_requests", a.good)
		rate := 0.0
		if a.count > 0 {
			rate = float64(a.good) / float64(a.count)
		}
		st.Set("goodput_rate", rate)
		if elapsed > 0 {
			st.Set("goodput_requests_per_minute", float64(a.good)*60/elapsed)
		}
	}
	return st
}

// growing reports whether the time to first token grew during an open-loop
// run: the median of the last third of the requests (by send time) is more
// than twice that of the first third, and 50 ms more.
func (a *accumulator) growing() bool {
	if len(a.trend) < 30 {
		return false
	}
	pts := slices.Clone(a.trend)
	slices.SortFunc(pts, func(p, q trendPoint) int { return cmp.Compare(p.at, q.at) })
	median := func(ps []trendPoint) float64 {
		v := make([]float64, len(ps))
		for i, p := range ps {
			v[i] = float64(p.latency)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	third := len(pts) / 3
	first, last := median(pts[:third]), median(pts[len(pts)-third:])
	return last > 2*first && last-first > 0.05
}

// samples lists every sample of the accumulator.
func (a *accumulator) samples() []*Sample {
	return []*Sample{a.ttlt, a.ttft, a.tpot, a.out, a.in, a.cached, a.itl, a.ttftSched, a.ttltSched, a.lag}
}

// bound keeps at most n exact values per metric (see Sample.Bound).
func (a *accumulator) bound(n int) {
	for _, s := range a.samples() {
		s.Bound(n)
	}
}

// approximate reports whether a percentile is an estimate.
func (a *accumulator) approximate() bool {
	for _, s := range a.samples() {
		if s.Approximate() {
			return true
		}
	}
	return false
}
