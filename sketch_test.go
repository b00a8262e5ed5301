package llmeter

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A bounded sample is exact up to its bound, then estimates every
// percentile within 0.5% (1% allowed here for the interpolation) in a
// bounded number of buckets; count and mean stay exact.
func TestBoundedSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	exact, bounded := NewSample(false), NewSample(false)
	bounded.Bound(1000)
	for i := range 200_000 {
		x := 0.2 * math.Exp(0.6*rng.NormFloat64())
		if i%1000 == 0 {
			x = 0 // a few zeros
		}
		exact.Add(x)
		bounded.Add(x)
		if i == 999 {
			for _, p := range []int{1, 50, 90, 99} {
				if a, b := exact.Percentile(p), bounded.Percentile(p); a != b {
					t.Fatalf("p%d within the bound: %v, exact %v", p, b, a)
				}
			}
			if bounded.Approximate() {
				t.Fatal("approximate within its bound")
			}
		}
	}
	if !bounded.Approximate() || bounded.Len() != exact.Len() {
		t.Fatalf("approximate %v, len %d (exact %d)", bounded.Approximate(), bounded.Len(), exact.Len())
	}
	if bounded.Mean() != exact.Mean() {
		t.Errorf("mean %v, exact %v", bounded.Mean(), exact.Mean())
	}
	for _, p := range []int{1, 10, 25, 50, 75, 90, 95, 99} {
		a, b := exact.Percentile(p), bounded.Percentile(p)
		if math.Abs(b-a) > 0.01*math.Abs(a) {
			t.Errorf("p%d: %v, exact %v (%.2f%% off)", p, b, a, 100*(b-a)/a)
		}
	}
	if n := len(bounded.sk.counts); n > 3000 {
		t.Errorf("%d buckets", n)
	}
	if bounded.Max() != exact.Max() {
		t.Errorf("max %v, exact %v", bounded.Max(), exact.Max())
	}
}

// A Runner with BoundedStats says its percentiles are estimates once a
// metric outgrew DefaultBound, and they stay close to the exact ones
// recomputed from responses.jsonl.
func TestRunnerBoundedStats(t *testing.T) {
	dir := t.TempDir()
	r := &Runner{Endpoint: &fakeEndpoint{}, Payloads: []Payload{{"prompt": "p"}}, Clients: 4, TotalRequests: DefaultBound + 2000,
		LowMemory: true, BoundedStats: true, OutputPath: dir, RunName: "b"}
	res, err := r.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	live := res.Stats()
	if v, _ := live.Get("approximate_percentiles"); v != true {
		t.Fatalf("approximate_percentiles = %v", v)
	}
	loaded, err := LoadResult(res.OutputPath, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exact := loaded.Stats()
	if _, ok := exact.Get("approximate_percentiles"); ok {
		t.Error("the recomputed (exact) stats say they are approximate")
	}
	for _, k := range []string{"time_to_last_token-p50", "time_to_last_token-p90", "time_to_first_token-p99"} {
		a, _ := exact.Float(k)
		b, _ := live.Float(k)
		if math.Abs(b-a) > 0.01*math.Abs(a) {
			t.Errorf("%s: live %v, exact %v", k, b, a)
		}
	}
}
