package llmeter

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
)

// Values asserted by LLMeter's own tests (spec §1.H.75).
func TestPercentileLLMeterValues(t *testing.T) {
	tests := []struct {
		data []float64
		p    int
		want float64
	}{
		{[]float64{1, 2, 3, 4, 5}, 99, 5.94},
		{[]float64{1, 2, 3, 4, 5}, 90, 5.4},
		{[]float64{1, 2, 3, 4, 5}, 50, 3},
		{[]float64{1, 2}, 99, 2.97},
		{[]float64{1, 2}, 1, 0.03},
		{[]float64{1, 2}, 50, 1.5},
		{[]float64{0, 1}, 83, 1.49},
		{[]float64{7}, 99, 7},
		{[]float64{7}, 1, 7},
		{[]float64{1, 2, 3, 4}, 50, 2.5},
		{[]float64{1, 2, 3, 4}, 25, 1.25},
		{[]float64{1, 2, 3, 4}, 75, 3.75},
	}
	for _, tt := range tests {
		if got := Percentile(tt.data, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %d) = %v, want %v", tt.data, tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile(nil) = %v, want NaN", got)
	}
}

// TestPercentileBitIdenticalToPython checks 400 random samples against the
// values CPython 3.11's statistics module gives (testdata/percentiles.json,
// made by testdata/gen_percentiles.py): every percentile and the mean must
// be equal to the last bit.
func TestPercentileBitIdenticalToPython(t *testing.T) {
	raw, err := os.ReadFile("testdata/percentiles.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Data        []float64          `json:"data"`
			Mean        float64            `json:"mean"`
			Percentiles map[string]float64 `json:"percentiles"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 100 {
		t.Fatalf("only %d reference cases", len(ref.Cases))
	}
	for i, c := range ref.Cases {
		s := NewSample(false)
		for _, v := range c.Data {
			s.Add(v)
		}
		if got := s.Mean(); got != c.Mean {
			t.Errorf("case %d: mean = %.17g, want %.17g", i, got, c.Mean)
		}
		for ps, want := range c.Percentiles {
			p, _ := strconv.Atoi(ps)
			if got := Percentile(s.Sorted(), p); got != want {
				t.Errorf("case %d (n=%d): p%d = %.17g, want %.17g", i, len(c.Data), p, got, want)
			}
		}
	}
}

func TestSampleMeanIntegers(t *testing.T) {
	s := NewSample(true)
	for _, v := range []float64{3, 3, 3} {
		s.Add(v)
	}
	if got, ok := s.Mean().(int); !ok || got != 3 {
		t.Errorf("Mean of ints 3,3,3 = %#v, want int 3", s.Mean())
	}
	s.Add(4)
	if got, ok := s.Mean().(float64); !ok || got != 3.25 {
		t.Errorf("Mean of 3,3,3,4 = %#v, want float64 3.25", s.Mean())
	}
}

func TestSampleSortedLazilyMerged(t *testing.T) {
	s := NewSample(false)
	for _, v := range []float64{5, 1, 3} {
		s.Add(v)
	}
	_ = s.Sorted()
	for _, v := range []float64{4, 0, 2, math.NaN()} {
		s.Add(v)
	}
	got := s.Sorted()
	want := []float64{0, 1, 2, 3, 4, 5}
	if len(got) != len(want) {
		t.Fatalf("Sorted = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Sorted = %v, want %v", got, want)
		}
	}
}

func TestSummaryStats(t *testing.T) {
	st := SummaryStats([]float64{1, 2, 3, 4, 5})
	if got := st.Keys(); len(got) != 4 || got[0] != "average" || got[1] != "p50" || got[2] != "p90" || got[3] != "p99" {
		t.Errorf("keys = %v, want [average p50 p90 p99]", got)
	}
	if v, _ := st.Float("p99"); v != 5.94 {
		t.Errorf("p99 = %v, want 5.94", v)
	}
	if got := SummaryStats(nil); got.Len() != 0 {
		t.Errorf("empty input gave %d keys, want none", got.Len())
	}
	if got := SummaryStats([]float64{math.NaN()}); got.Len() != 0 {
		t.Errorf("NaN-only input gave %d keys, want none", got.Len())
	}
}

func TestValidatePercentiles(t *testing.T) {
	if err := ValidatePercentiles([]int{1, 50, 99}); err != nil {
		t.Errorf("valid percentiles: %v", err)
	}
	for _, p := range []int{0, 100, -5} {
		if ValidatePercentiles([]int{p}) == nil {
			t.Errorf("percentile %d accepted, want an error", p)
		}
	}
}

func BenchmarkSampleAddAndSummary(b *testing.B) {
	s := NewSample(false)
	st := NewStats()
	for i := 0; b.Loop(); i++ {
		s.Add(float64(i%1000) * 0.001)
		if i%10000 == 0 {
			s.Summary(st, "x", DefaultPercentiles)
		}
	}
}

// A counted sample gives the same statistics, bit for bit, as one that keeps
// every value, in memory bounded by its distinct values.
func TestCountedSampleMatchesExact(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 101, 5000} {
		exact, counted := NewSample(false), newCountedSample()
		counted.Bound(10) // does not apply to a counted sample
		for i := range n {
			v := float64((i*7919)%(n/3+1)) / 1e6 // whole microseconds, many repeats
			exact.Add(v)
			counted.Add(v)
			if i == n/2 { // a read in between must not spoil later adds
				_ = counted.Percentile(90)
			}
		}
		counted.Add(math.NaN())
		if exact.Len() != counted.Len() || counted.Approximate() {
			t.Fatalf("n=%d: Len %d vs %d, approximate %v", n, exact.Len(), counted.Len(), counted.Approximate())
		}
		for p := 1; p <= 99; p++ {
			if e, c := exact.Percentile(p), counted.Percentile(p); e != c {
				t.Errorf("n=%d p%d: counted %v, exact %v", n, p, c, e)
			}
		}
		if exact.Mean() != counted.Mean() || exact.Max() != counted.Max() {
			t.Errorf("n=%d: mean %v vs %v, max %v vs %v", n, counted.Mean(), exact.Mean(), counted.Max(), exact.Max())
		}
		if e, c := exact.Sorted(), counted.Sorted(); !slices.Equal(e, c) {
			t.Errorf("n=%d: Sorted differs", n)
		}
		if len(counted.counts) > n/3+1 {
			t.Errorf("n=%d: %d distinct values kept", n, len(counted.counts))
		}
	}
	if v := newCountedSample().Max(); !math.IsNaN(v) {
		t.Errorf("empty Max %v, want NaN", v)
	}
}
