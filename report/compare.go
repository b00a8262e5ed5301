package report

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/bootstrap"
)

// Verdict is the outcome of comparing a metric of two runs.
type Verdict string

// The verdicts, at 95% confidence. Lower latency is faster.
const (
	Faster        Verdict = "faster"
	Slower        Verdict = "slower"
	NoDifference  Verdict = "no significant difference"
	NotEnoughData Verdict = "not enough data"
)

// Minimum samples for a trustworthy percentile (LLMeter's documented rule
// for p99, and its analogue for p90).
const (
	MinSamplesP99 = 500
	MinSamplesP90 = 50
)

// CompareOptions tune Compare. The zero value is usable.
type CompareOptions struct {
	// Metrics compared (lower is better); default time_to_first_token,
	// time_to_last_token, time_per_output_token.
	Metrics []string
	// Percentiles compared; default 50, 90, 99.
	Percentiles []int
	// Resamples of the bootstrap; default 2000.
	Resamples int
	// Seed of the bootstrap; the same seed gives the same intervals.
	Seed uint64
}

// Estimate is a percentile with its 95% bootstrap confidence interval.
type Estimate struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// MetricComparison compares one percentile of one metric between the
// baseline and another run.
type MetricComparison struct {
	Metric     string   `json:"metric"`
	Percentile int      `json:"percentile"`
	Baseline   Estimate `json:"baseline"`
	Candidate  Estimate `json:"candidate"`
	// Diff is candidate − baseline, with its interval.
	Diff    Estimate `json:"diff"`
	Verdict Verdict  `json:"verdict"`
	// NBaseline, NCandidate are the sample sizes; Warning says when one is
	// too small for the percentile.
	NBaseline  int    `json:"n_baseline"`
	NCandidate int    `json:"n_candidate"`
	Warning    string `json:"warning,omitempty"`
}

// RunComparison is a run compared with the baseline.
type RunComparison struct {
	Run     string             `json:"run"`
	Metrics []MetricComparison `json:"metrics"`
}

// Comparison compares runs with the first one, the baseline.
type Comparison struct {
	Baseline string          `json:"baseline"`
	Runs     []RunComparison `json:"runs"`
}

// Compare compares the successful responses of each run with those of the
// first run (the baseline): for each metric and percentile, a percentile
// bootstrap gives 95% confidence intervals of both values and of their
// difference; the verdict is faster or slower when the difference's interval
// excludes 0. Percentiles from too few samples (p99 below 500, p90 below 50)
// carry a warning.
func Compare(opts CompareOptions, runs ...*llmeter.Result) (*Comparison, error) {
	if len(runs) < 2 {
		return nil, fmt.Errorf("report: compare: need at least two runs, got %d", len(runs))
	}
	metrics := opts.Metrics
	if len(metrics) == 0 {
		metrics = []string{llmeter.MetricTTFT, llmeter.MetricTTLT, llmeter.MetricTPOT}
	}
	ps := opts.Percentiles
	if len(ps) == 0 {
		ps = llmeter.DefaultPercentiles
	}
	if err := llmeter.ValidatePercentiles(ps); err != nil {
		return nil, err
	}
	b := opts.Resamples
	if b <= 0 {
		b = 2000
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x6c6c6d65746572))
	names := runNames(runs)
	cmp := &Comparison{Baseline: names[0]}
	// The bootstrap distributions of the baseline, per metric.
	base := map[string][][]float64{}
	for _, m := range metrics {
		base[m] = bootstrap.Percentiles(rng, rounded(values(successful(runs[0].Responses), m)), ps, b)
	}
	for i, r := range runs[1:] {
		rc := RunComparison{Run: names[i+1]}
		for _, m := range metrics {
			bv := rounded(values(successful(runs[0].Responses), m))
			cv := rounded(values(successful(r.Responses), m))
			cand := bootstrap.Percentiles(rng, cv, ps, b)
			for k, p := range ps {
				mc := MetricComparison{Metric: m, Percentile: p, NBaseline: len(bv), NCandidate: len(cv)}
				if len(bv) < 2 || len(cv) < 2 {
					mc.Verdict = NotEnoughData
					rc.Metrics = append(rc.Metrics, mc)
					continue
				}
				mc.Baseline = estimate(sortedPercentile(bv, p), base[m][k])
				mc.Candidate = estimate(sortedPercentile(cv, p), cand[k])
				diffs := make([]float64, b)
				for j := range diffs {
					diffs[j] = cand[k][j] - base[m][k][j]
				}
				mc.Diff = estimate(mc.Candidate.Value-mc.Baseline.Value, diffs)
				switch {
				case mc.Diff.High < 0:
					mc.Verdict = Faster
				case mc.Diff.Low > 0:
					mc.Verdict = Slower
				default:
					mc.Verdict = NoDifference
				}
				n := min(len(bv), len(cv))
				switch {
				case p >= 99 && n < MinSamplesP99:
					mc.Warning = fmt.Sprintf("p%d from %d samples (fewer than %d): unreliable", p, n, MinSamplesP99)
				case p >= 90 && n < MinSamplesP90:
					mc.Warning = fmt.Sprintf("p%d from %d samples (fewer than %d): unreliable", p, n, MinSamplesP90)
				}
				rc.Metrics = append(rc.Metrics, mc)
			}
		}
		cmp.Runs = append(cmp.Runs, rc)
	}
	return cmp, nil
}

// rounded drops float noise (12 significant digits), so that equal
// latencies computed differently compare equal.
func rounded(v []float64) []float64 {
	for i, x := range v {
		v[i] = round(x)
	}
	return v
}

func runNames(runs []*llmeter.Result) []string {
	names := make([]string, len(runs))
	seen := map[string]int{}
	for i, r := range runs {
		n := runName(r)
		if seen[n]++; seen[n] > 1 {
			n += " (" + strconv.Itoa(seen[n]) + ")"
		}
		names[i] = n
	}
	return names
}

func sortedPercentile(v []float64, p int) float64 {
	s := slices.Sorted(slices.Values(v))
	return llmeter.Percentile(s, p)
}

// estimate is value with the 95 % interval of its bootstrap distribution.
func estimate(value float64, dist []float64) Estimate {
	lo, hi := bootstrap.Interval(dist)
	return Estimate{Value: round(value), Low: round(lo), High: round(hi)}
}

// CompareRuns is the report of a comparison: box plots of each metric per
// run, and a table of the percentiles with their intervals and verdicts.
func CompareRuns(cmp *Comparison, runs ...*llmeter.Result) *Report {
	rep := &Report{Title: "LLMeter comparison against " + cmp.Baseline}
	names := runNames(runs)
	var metrics []string
	for _, rc := range cmp.Runs {
		for _, m := range rc.Metrics {
			if !slices.Contains(metrics, m.Metric) {
				metrics = append(metrics, m.Metric)
			}
		}
	}
	for _, m := range metrics {
		c := &Chart{ID: "compare_" + m, Title: label(m) + " by run", Kind: KindBox, XTitle: "Run", YTitle: unitLabel(m),
			Categories: names, Series: []*Series{{Name: label(m)}}}
		for _, r := range runs {
			c.Series[0].Boxes = append(c.Series[0].Boxes, boxStats(values(successful(r.Responses), m)))
		}
		rep.Charts = append(rep.Charts, c)
	}
	t := &Table{ID: "comparison", Title: "Percentiles with 95% bootstrap intervals (baseline " + cmp.Baseline + ")",
		Columns: []string{"Run", "Metric", "Baseline", "Run value", "Difference", "Verdict", "Samples", "Warning"}}
	f := func(e Estimate) string {
		return fmt.Sprintf("%.4g [%.4g, %.4g]", e.Value, e.Low, e.High)
	}
	for _, rc := range cmp.Runs {
		for _, m := range rc.Metrics {
			t.Rows = append(t.Rows, []string{rc.Run, m.Metric + "-p" + strconv.Itoa(m.Percentile), f(m.Baseline), f(m.Candidate),
				f(m.Diff), string(m.Verdict), fmt.Sprintf("%d / %d", m.NBaseline, m.NCandidate), m.Warning})
		}
	}
	rep.Tables = append(rep.Tables, t)
	return rep
}
