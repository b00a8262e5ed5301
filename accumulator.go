package llmeter

import (
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
)

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
}

func newAccumulator() *accumulator {
	return &accumulator{
		classes: map[string]int{},
		ttlt:    NewSample(false), ttft: NewSample(false), tpot: NewSample(false),
		out: NewSample(true), in: NewSample(true), cached: NewSample(true),
	}
}

func (a *accumulator) add(r *InvocationResponse) {
	a.count++
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
	return st
}
