package llmeter

import (
	"math"
	"slices"
)

// Bounded samples. A Sample given a limit (Sample.Bound) keeps its values
// exactly up to the limit, then folds them into a logSketch: counts in
// logarithmic buckets 1% wide, so that memory stays bounded (a few KB per
// metric) however long the run, and every percentile is within 0.5% of a
// value of the sample near the exact rank. Mean, count and sum stay exact.

// DefaultBound is the number of exact values a bounded sample keeps.
const DefaultBound = 10000

// sketchGamma is the ratio of a bucket's upper to lower bound; a value is
// reported as its bucket's midpoint 2·lo·γ/(1+γ), within (γ−1)/(γ+1) < 0.5%.
const sketchGamma = 1.01

var lnGamma = math.Log(sketchGamma)

type logSketch struct {
	counts   map[int]uint64 // bucket index → values in it (positive values)
	nonPos   []float64      // values ≤ 0 (rare: kept exactly, up to a bound)
	nonPosN  uint64
	n        uint64
	min, max float64
}

func newLogSketch() *logSketch {
	return &logSketch{counts: map[int]uint64{}, min: math.Inf(1), max: math.Inf(-1)}
}

func (k *logSketch) add(x float64) {
	k.n++
	k.min, k.max = math.Min(k.min, x), math.Max(k.max, x)
	if x <= 0 {
		k.nonPosN++
		if len(k.nonPos) < DefaultBound {
			k.nonPos = append(k.nonPos, x)
		}
		return
	}
	k.counts[int(math.Floor(math.Log(x)/lnGamma))]++
}

// rank returns an estimate of the k-th smallest value (1-based).
func (k *logSketch) rank(r uint64) float64 {
	switch {
	case r <= 1:
		return k.min
	case r >= k.n:
		return k.max
	}
	if r <= k.nonPosN {
		slices.Sort(k.nonPos)
		i := int(float64(r-1) * float64(len(k.nonPos)) / float64(k.nonPosN))
		return k.nonPos[min(i, len(k.nonPos)-1)]
	}
	seen := k.nonPosN
	keys := make([]int, 0, len(k.counts))
	for b := range k.counts {
		keys = append(keys, b)
	}
	slices.Sort(keys)
	for _, b := range keys {
		seen += k.counts[b]
		if seen >= r {
			lo := math.Exp(float64(b) * lnGamma)
			v := 2 * lo * sketchGamma / (1 + sketchGamma)
			return math.Min(math.Max(v, k.min), k.max)
		}
	}
	return k.max
}

// percentile follows Percentile (LLMeter's "exclusive" quantiles) on the
// estimated order statistics.
func (k *logSketch) percentile(p int) float64 {
	h := float64(k.n+1) * float64(p) / 100
	j := math.Floor(h)
	lo := k.rank(uint64(math.Max(j, 1)))
	hi := k.rank(uint64(math.Max(j+1, 1)))
	return lo + (h-j)*(hi-lo)
}
