package llmeter

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
)

// DefaultPercentiles are the percentiles LLMeter reports.
var DefaultPercentiles = []int{50, 90, 99}

// Percentile returns the p-th percentile (1 ≤ p ≤ 99) of sorted, exactly as
// LLMeter computes it: the median for p = 50, otherwise Python's
// statistics.quantiles(method="exclusive") (Hyndman–Fan type 6) with the
// extrapolating clamp, evaluated with integer arithmetic and a single float
// division so that the result is bit-identical to Python's.
func Percentile(sorted []float64, p int) float64 {
	return percentileAt(len(sorted), func(i int) float64 { return sorted[i] }, p)
}

// percentileAt is Percentile over n values in ascending order, the i-th
// given by at(i).
func percentileAt(n int, at func(int) float64, p int) float64 {
	switch {
	case n == 0:
		return math.NaN()
	case n == 1:
		return at(0)
	case p == 50:
		if n%2 == 1 {
			return at(n / 2)
		}
		return (at(n/2-1) + at(n/2)) / 2
	}
	// statistics.quantiles(data, n=B, method="exclusive")[i-1] where p = i*100/B.
	var base int
	switch {
	case p%25 == 0:
		base = 4
	case p%10 == 0:
		base = 10
	default:
		base = 100
	}
	i := p * base / 100
	m := n + 1
	j := i * m / base
	j = min(max(j, 1), n-1)
	delta := i*m - j*base
	// Explicit conversions keep the compiler from fusing multiply-adds, which
	// would change the last bit on some architectures.
	lo := float64(at(j-1) * float64(base-delta))
	hi := float64(at(j) * float64(delta))
	return float64(lo+hi) / float64(base)
}

// ValidatePercentiles checks that every percentile is a whole number 1–99.
func ValidatePercentiles(ps []int) error {
	for _, p := range ps {
		if p < 1 || p > 99 {
			return fmt.Errorf("llmeter: percentile %d is not between 1 and 99", p)
		}
	}
	return nil
}

// exactSum keeps the exact sum of float64 values as non-overlapping partials
// (Shewchuk's algorithm, as Python's math.fsum), so that the mean can be
// rounded once, as Python's statistics.mean does.
type exactSum struct{ partials []float64 }

func (s *exactSum) add(x float64) {
	i := 0
	for _, y := range s.partials {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		lo := y - (hi - x)
		if lo != 0 {
			s.partials[i] = lo
			i++
		}
		x = hi
	}
	s.partials = append(s.partials[:i], x)
}

// rat returns the exact sum.
func (s *exactSum) rat() *big.Rat {
	r := new(big.Rat)
	var t big.Rat
	for _, p := range s.partials {
		r.Add(r, t.SetFloat64(p))
	}
	return r
}

// Sample is a growing set of values of one metric: the exact sum and the
// values, kept sorted lazily (appended values are merged in on demand), so
// that adding is O(1) and a summary costs one sort of what arrived since the
// last one.
type Sample struct {
	sorted  []float64
	pending []float64
	sum     exactSum
	ints    bool // every value is an integer: the mean prints as one when whole
	bound   int  // 0: exact; else the values kept before folding into sk
	sk      *logSketch
	n       int // values folded into sk

	// A counted sample keeps each distinct value once, with its count:
	// exact, in memory bounded by the number of distinct values (see
	// newCountedSample).
	counts map[float64]int
	nc     int       // values counted
	keys   []float64 // distinct values in ascending order, nil when stale
	cum    []int     // cum[k]: values ≤ keys[k]
}

// newCountedSample returns a sample for values of a coarse resolution (chunk
// gaps in whole microseconds): each distinct value is kept once with its
// count, so that millions of values cost only as much memory as their
// distinct values, and percentiles stay exact. Bound does not apply to it.
func newCountedSample() *Sample { return &Sample{counts: map[float64]int{}} }

// countedAt returns the i-th smallest value of a counted sample.
func (s *Sample) countedAt(i int) float64 {
	if s.keys == nil {
		s.keys = make([]float64, 0, len(s.counts))
		for v := range s.counts {
			s.keys = append(s.keys, v)
		}
		slices.Sort(s.keys)
		s.cum = make([]int, len(s.keys))
		total := 0
		for k, v := range s.keys {
			total += s.counts[v]
			s.cum[k] = total
		}
	}
	k, _ := slices.BinarySearch(s.cum, i+1) // the first k with cum[k] > i
	return s.keys[k]
}

// Bound makes the sample keep at most n values exactly; past n they are
// folded into logarithmic buckets 1% wide, and percentiles are estimated
// within 0.5% in bounded memory (see DefaultBound). Mean and sum stay exact.
func (s *Sample) Bound(n int) { s.bound = n }

// NewSample returns an empty sample; integer samples report an integral mean
// as an int, as Python's statistics.mean does for ints.
func NewSample(integers bool) *Sample { return &Sample{ints: integers} }

// Add adds a value; NaN is ignored.
func (s *Sample) Add(x float64) {
	if math.IsNaN(x) {
		return
	}
	s.sum.add(x)
	if s.counts != nil {
		s.counts[x]++
		s.nc++
		s.keys = nil
		return
	}
	if s.sk != nil {
		s.sk.add(x)
		s.n++
		return
	}
	s.pending = append(s.pending, x)
	if s.bound > 0 && len(s.sorted)+len(s.pending) > s.bound {
		s.sk = newLogSketch()
		for _, v := range append(s.sorted, s.pending...) {
			s.sk.add(v)
		}
		s.n = len(s.sorted) + len(s.pending)
		s.sorted, s.pending = nil, nil
	}
}

// Len is the number of values.
func (s *Sample) Len() int { return len(s.sorted) + len(s.pending) + s.n + s.nc }

// Approximate reports whether the sample outgrew its bound: its percentiles
// are then estimates.
func (s *Sample) Approximate() bool { return s.sk != nil }

// Percentile returns percentile p (LLMeter's method), estimated when the
// sample is approximate; NaN when it is empty.
func (s *Sample) Percentile(p int) float64 {
	if s.sk != nil {
		return s.sk.percentile(p)
	}
	if s.counts != nil {
		return percentileAt(s.nc, s.countedAt, p)
	}
	return Percentile(s.Sorted(), p)
}

// Max returns the largest value (NaN when empty).
func (s *Sample) Max() float64 {
	if s.sk != nil {
		return s.sk.max
	}
	if s.counts != nil {
		if s.nc == 0 {
			return math.NaN()
		}
		return s.countedAt(s.nc - 1)
	}
	if v := s.Sorted(); len(v) > 0 {
		return v[len(v)-1]
	}
	return math.NaN()
}

// Sorted returns the values in ascending order (shared; do not modify); nil
// once an approximate sample dropped them. A counted sample spells its values
// out in a new slice.
func (s *Sample) Sorted() []float64 {
	if s.counts != nil {
		v := make([]float64, s.nc)
		for i := range v {
			v[i] = s.countedAt(i)
		}
		return v
	}
	if len(s.pending) == 0 {
		return s.sorted
	}
	slices.Sort(s.pending)
	if len(s.sorted) == 0 {
		s.sorted, s.pending = s.pending, s.sorted[:0]
		return s.sorted
	}
	merged := make([]float64, 0, len(s.sorted)+len(s.pending))
	a, b := s.sorted, s.pending
	for len(a) > 0 && len(b) > 0 {
		if b[0] < a[0] {
			merged = append(merged, b[0])
			b = b[1:]
		} else {
			merged = append(merged, a[0])
			a = a[1:]
		}
	}
	merged = append(append(merged, a...), b...)
	s.sorted, s.pending = merged, s.pending[:0]
	return s.sorted
}

// Mean returns the arithmetic mean, exactly rounded once, as an int when the
// sample holds integers and the mean is whole, else a float64; nil if empty.
func (s *Sample) Mean() any {
	n := s.Len()
	if n == 0 {
		return nil
	}
	q := s.sum.rat()
	q.Quo(q, new(big.Rat).SetInt64(int64(n)))
	if s.ints && q.IsInt() && q.Num().IsInt64() {
		return int(q.Num().Int64())
	}
	f, _ := q.Float64()
	return f
}

// Sum returns the sum as a float64 (exact, rounded once).
func (s *Sample) Sum() float64 {
	f, _ := s.sum.rat().Float64()
	return f
}

// Summary appends "<name>-average" and "<name>-p<N>" for every percentile to
// st; an empty sample adds nothing (LLMeter's summary_stats_from_list).
func (s *Sample) Summary(st *Stats, name string, percentiles []int) {
	if s.Len() == 0 {
		return
	}
	st.Set(name+"-average", s.Mean())
	for _, p := range percentiles {
		st.Set(name+"-p"+strconv.Itoa(p), s.Percentile(p))
	}
}

// SummaryStats is LLMeter's summary_stats_from_list: average and the given
// percentiles of values (NaNs dropped), or an empty Stats.
func SummaryStats(values []float64, percentiles ...int) *Stats {
	if len(percentiles) == 0 {
		percentiles = DefaultPercentiles
	}
	s := NewSample(false)
	for _, v := range values {
		s.Add(v)
	}
	st := NewStats()
	s.Summary(st, "", percentiles)
	// strip the leading "-" of the keys
	out := NewStats()
	for _, k := range st.Keys() {
		v, _ := st.Get(k)
		out.Set(k[1:], v)
	}
	return out
}

// Stats is a flat, ordered map of statistics, written to stats.json in its
// key order. Values are numbers, strings, bools, times or nil.
type Stats struct {
	keys []string
	vals map[string]any
}

// NewStats returns an empty Stats.
func NewStats() *Stats { return &Stats{vals: map[string]any{}} }

// Set sets key to v, keeping the key's position if it exists.
func (s *Stats) Set(key string, v any) {
	if _, ok := s.vals[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.vals[key] = v
}

// Get returns the value of key.
func (s *Stats) Get(key string) (any, bool) {
	v, ok := s.vals[key]
	return v, ok
}

// Float returns the value of key as a float64, if it is a number.
func (s *Stats) Float(key string) (float64, bool) {
	return toFloat(s.vals[key])
}

// Delete removes key.
func (s *Stats) Delete(key string) {
	if _, ok := s.vals[key]; !ok {
		return
	}
	delete(s.vals, key)
	s.keys = slices.DeleteFunc(s.keys, func(k string) bool { return k == key })
}

// Keys returns the keys in order.
func (s *Stats) Keys() []string { return slices.Clone(s.keys) }

// Len is the number of keys.
func (s *Stats) Len() int { return len(s.keys) }

// Clone returns a copy.
func (s *Stats) Clone() *Stats {
	c := &Stats{keys: slices.Clone(s.keys), vals: make(map[string]any, len(s.vals))}
	for k, v := range s.vals {
		c.vals[k] = v
	}
	return c
}

// Map returns the stats as a plain map.
func (s *Stats) Map() map[string]any {
	m := make(map[string]any, len(s.vals))
	for k, v := range s.vals {
		m[k] = v
	}
	return m
}

// MarshalJSON writes the stats as a JSON object in key order.
func (s *Stats) MarshalJSON() ([]byte, error) { return s.appendJSON(nil) }

func (s *Stats) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	var err error
	for i, k := range s.keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendString(b, k)
		b = append(b, ": "...)
		v := s.vals[k]
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			v = nil
		}
		if b, err = appendValue(b, v, true); err != nil {
			return nil, fmt.Errorf("stat %s: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case interface{ Float64() (float64, error) }:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
