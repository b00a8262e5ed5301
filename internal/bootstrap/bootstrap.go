// Package bootstrap estimates the sampling distribution of percentiles by
// resampling, for the intervals of `llmeter compare` and of the benchmarks.
package bootstrap

import (
	"math/rand/v2"
	"slices"

	"github.com/llmeter-go/llmeter"
)

// Percentiles returns, per percentile of ps, that percentile (LLMeter's
// method) of each of b resamples of v, drawn with rng; nil slices when v has
// fewer than 2 values.
func Percentiles(rng *rand.Rand, v []float64, ps []int, b int) [][]float64 {
	out := make([][]float64, len(ps))
	if len(v) < 2 {
		return out
	}
	for k := range out {
		out[k] = make([]float64, b)
	}
	s := make([]float64, len(v))
	for j := range b {
		for i := range s {
			s[i] = v[rng.IntN(len(v))]
		}
		slices.Sort(s)
		for k, p := range ps {
			out[k][j] = llmeter.Percentile(s, p)
		}
	}
	return out
}

// Interval returns the 2.5th and 97.5th percentiles of a bootstrap
// distribution (nearest rank): its 95 % interval.
func Interval(dist []float64) (low, high float64) {
	s := slices.Sorted(slices.Values(dist))
	q := func(f float64) float64 {
		i := min(len(s)-1, max(0, int(f*float64(len(s)-1)+0.5)))
		return s[i]
	}
	return q(0.025), q(0.975)
}
