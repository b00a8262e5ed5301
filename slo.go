package llmeter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SLO is a service-level objective on one metric. Per request (Percentile
// 0), a request meets it when its value is below Max: that makes goodput.
// On a run (Percentile > 0, or Average), the run meets it when the
// percentile (or the average) of the metric is below Max: that drives
// capacity searches and pass/fail thresholds.
type SLO struct {
	// Metric is a per-response metric: time_to_first_token,
	// time_to_last_token, time_per_output_token, inter_token_latency, the
	// _from_schedule variants, or any key of the run's statistics (with
	// Percentile 0 and Average false on a run, the key itself is compared).
	Metric     string
	Percentile int  // e.g. 90 for p90; 0 for a per-request threshold
	Average    bool // compare the average instead of a percentile
	Max        float64
	// Min makes the objective a lower bound instead (e.g. goodput_rate>0.95):
	// the value must be at least Min.
	Min *float64
	// Text is how the objective was written (ParseSLO), for messages.
	Text string
}

// Aliases of metric names accepted by ParseSLO, as other tools and users
// write them.
var sloAliases = map[string]string{
	"ttft": MetricTTFT, "ttlt": MetricTTLT, "e2e": MetricTTLT, "e2el": MetricTTLT, "latency": MetricTTLT,
	"tpot": MetricTPOT, "itl": MetricITL,
	"ttft_from_schedule": MetricTTFTSchedule, "ttlt_from_schedule": MetricTTLTSchedule,
	"lag": MetricScheduleLag,
}

// ParseSLO reads an objective such as "ttft.p90<500ms", "tpot.p99<0.05",
// "ttlt<2s" (per request), "ttft.avg<300ms", "failed_requests_rate<0.01" or
// "goodput_rate>0.95". Times take Go duration units (ms, s) or plain
// seconds.
func ParseSLO(s string) (SLO, error) {
	slo := SLO{Text: strings.TrimSpace(s)}
	op := strings.IndexAny(s, "<>")
	if op <= 0 || op == len(s)-1 {
		return slo, fmt.Errorf("llmeter: SLO %q: want METRIC[.pN|.avg]<VALUE or >VALUE, e.g. ttft.p90<500ms", s)
	}
	name, value := strings.TrimSpace(s[:op]), strings.TrimSpace(strings.TrimPrefix(s[op+1:], "="))
	if name == "" {
		return slo, fmt.Errorf("llmeter: SLO %q: no metric before %q", s, s[op:op+1])
	}
	if i := strings.LastIndex(name, "."); i > 0 {
		agg := name[i+1:]
		switch {
		case agg == "avg" || agg == "average" || agg == "mean":
			slo.Average = true
			name = name[:i]
		case len(agg) > 1 && agg[0] == 'p':
			p, err := strconv.Atoi(agg[1:])
			if err != nil || p < 1 || p > 99 {
				return slo, fmt.Errorf("llmeter: SLO %q: percentile %q must be p1 to p99", s, agg)
			}
			slo.Percentile = p
			name = name[:i]
		}
	}
	if full, ok := sloAliases[strings.ToLower(name)]; ok {
		name = full
	}
	slo.Metric = name
	var v float64
	if d, err := time.ParseDuration(value); err == nil {
		v = d.Seconds()
	} else if f, err := strconv.ParseFloat(value, 64); err == nil && !math.IsNaN(f) {
		v = f
	} else {
		return slo, fmt.Errorf("llmeter: SLO %q: %q is not a number or a duration", s, value)
	}
	if s[op] == '>' {
		slo.Min = &v
	} else {
		slo.Max = v
	}
	return slo, nil
}

// String writes the objective as it was written, or in ParseSLO's syntax.
func (o SLO) String() string {
	if o.Text != "" {
		return o.Text
	}
	name := o.Metric
	switch {
	case o.Average:
		name += ".avg"
	case o.Percentile > 0:
		name += ".p" + strconv.Itoa(o.Percentile)
	}
	if o.Min != nil {
		return name + ">" + strconv.FormatFloat(*o.Min, 'g', -1, 64)
	}
	return name + "<" + strconv.FormatFloat(o.Max, 'g', -1, 64)
}

// PerRequest reports whether the objective applies to single requests.
func (o SLO) PerRequest() bool { return o.Percentile == 0 && !o.Average && isResponseMetric(o.Metric) }

// StatKey is the key of the run statistic the objective compares.
func (o SLO) StatKey() string {
	switch {
	case o.Average:
		return o.Metric + "-average"
	case o.Percentile > 0:
		return o.Metric + "-p" + strconv.Itoa(o.Percentile)
	}
	return o.Metric
}

// Check compares a run's statistics with the objective: the value found,
// whether it was found, and whether it meets the objective. A percentile
// that is not among the stats' is computed from res's responses when they
// are in memory.
func (o SLO) Check(res *Result) (value float64, found, ok bool) {
	st := res.Stats()
	v, found := st.Float(o.StatKey())
	if !found && o.Percentile > 0 && res.Responses != nil {
		var vals []float64
		for _, r := range res.Responses {
			if x, has := responseMetric(r, o.Metric); has && !r.Failed() && !r.Warmup {
				vals = append(vals, x)
			}
		}
		if len(vals) > 0 {
			s := NewSample(false)
			for _, x := range vals {
				s.Add(x)
			}
			v, found = Percentile(s.Sorted(), o.Percentile), true
		}
	}
	if !found {
		return 0, false, false
	}
	return v, true, o.meets(v)
}

func (o SLO) meets(v float64) bool {
	if o.Min != nil {
		return v >= *o.Min
	}
	return v < o.Max
}

func isResponseMetric(m string) bool {
	switch m {
	case MetricTTFT, MetricTTLT, MetricTPOT, MetricITL, MetricTTFTSchedule, MetricTTLTSchedule, MetricScheduleLag:
		return true
	}
	return false
}

// responseMetric returns a per-response metric of r. For
// inter_token_latency it is the largest gap between chunks (a request meets
// an ITL objective when every gap does).
func responseMetric(r *InvocationResponse, m string) (float64, bool) {
	get := func(p *float64) (float64, bool) {
		if p == nil {
			return 0, false
		}
		return *p, true
	}
	switch m {
	case MetricTTFT:
		return get(r.TimeToFirstToken)
	case MetricTTLT:
		return get(r.TimeToLastToken)
	case MetricTPOT:
		return get(r.TimePerOutputToken)
	case MetricITL:
		worst, any := 0.0, false
		for i := 1; i < len(r.ChunkOffsets); i++ {
			worst, any = max(worst, (r.ChunkOffsets[i]-r.ChunkOffsets[i-1]).Seconds()), true
		}
		return worst, any
	case MetricTTFTSchedule, MetricTTLTSchedule, MetricScheduleLag:
		lag, ok := scheduleLag(r)
		if !ok {
			return 0, false
		}
		switch m {
		case MetricTTFTSchedule:
			v, ok := get(r.TimeToFirstToken)
			return v + lag.Seconds(), ok
		case MetricTTLTSchedule:
			v, ok := get(r.TimeToLastToken)
			return v + lag.Seconds(), ok
		}
		return lag.Seconds(), true
	}
	return 0, false
}

// scheduleLag is how late an open-loop request was sent.
func scheduleLag(r *InvocationResponse) (time.Duration, bool) {
	if r.IntendedOffset == nil {
		return 0, false
	}
	return max(r.SendOffset-*r.IntendedOffset, 0), true
}
