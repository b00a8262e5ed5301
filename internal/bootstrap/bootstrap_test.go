package bootstrap

import (
	"math/rand/v2"
	"testing"
)

// The interval of the median of 0..999 holds the true median and is
// narrower than the data.
func TestPercentilesInterval(t *testing.T) {
	v := make([]float64, 1000)
	for i := range v {
		v[i] = float64(i)
	}
	d := Percentiles(rand.New(rand.NewPCG(1, 2)), v, []int{50, 99}, 500)
	lo, hi := Interval(d[0])
	if lo > 499.5 || hi < 499.5 || lo < 400 || hi > 600 {
		t.Errorf("median interval [%v, %v]", lo, hi)
	}
	if d := Percentiles(nil, []float64{1}, []int{50}, 10); d[0] != nil {
		t.Errorf("one value: %v, want no distribution", d)
	}
}
