package experiment

import (
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/sim"
)

// The simulator serves 8 requests at once, each in 100 ms (TTFT 50 ms, then
// 10 tokens 5 ms apart): about 80 requests per second.
var cap80 = sim.Config{TTFT: 50 * time.Millisecond, ITL: 5 * time.Millisecond, OutputTokens: 11, Capacity: 8}

var longPayload = llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": 100}

func TestCapacitySearchFindsTheSimulatorsCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slo, err := llmeter.ParseSLO("ttft.p90<100ms")
		if err != nil {
			t.Fatal(err)
		}
		var rates []float64
		cs := &CapacitySearch{
			OpenLoop: OpenLoop{
				Endpoint: simEndpoint(t, cap80), Payloads: []llmeter.Payload{longPayload},
				Duration: 5 * time.Second, Warmup: time.Second, OutputPath: t.TempDir(), TestName: "cap",
			},
			SLOs: []llmeter.SLO{slo}, MinRate: 10, MaxRate: 200, Tolerance: 0.03,
			OnProbe: func(_ int, rate float64) { rates = append(rates, rate) },
		}
		res, err := cs.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Bracket() {
			t.Logf("%7.2f req/s: pass %v, %v", p.Rate, p.Pass, p.Values)
		}
		if !res.Converged || res.Fail == nil {
			t.Fatalf("not converged: %+v", res)
		}
		if (res.Fail.Rate-res.Capacity)/res.Capacity > 0.03 {
			t.Errorf("bracket [%v, %v] wider than the tolerance", res.Capacity, res.Fail.Rate)
		}
		if math.Abs(res.Capacity-80)/80 > 0.03 {
			t.Errorf("capacity %v req/s, want 80 within 3%%", res.Capacity)
		}
		if len(rates) > 12 {
			t.Errorf("%d probes: %v", len(rates), rates)
		}
	})
}

// Below the capacity, latency from the schedule and service time agree;
// above it, requests queue in the client (cap 8 in flight), so the latency
// from the schedule grows with the length of the run while the service time
// stays flat, and the run says the server is saturated.
func TestOpenLoopAboveCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := simEndpoint(t, cap80)
		dir := t.TempDir()
		// Each run is saved, and its statistics are read back from stats.json.
		run := func(rate float64, d time.Duration) *llmeter.Stats {
			r := &llmeter.Runner{Endpoint: ep, Payloads: []llmeter.Payload{longPayload}, RunDuration: d,
				Arrival: &llmeter.Arrival{Rate: rate, MaxInFlight: 8, QueueAtCap: true}, OutputPath: dir,
				RunName: fmt.Sprintf("%v-%v", rate, d)}
			res, err := r.Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			saved, err := llmeter.LoadResult(res.OutputPath, llmeter.LoadOptions{SkipResponses: true})
			if err != nil {
				t.Fatal(err)
			}
			return saved.Stats()
		}
		f := func(st *llmeter.Stats, k string) float64 { v, _ := st.Float(k); return v }
		at40 := run(40, 5*time.Second)
		if s, c := f(at40, "time_to_last_token_from_schedule-p99"), f(at40, "time_to_last_token-p99"); s != c || c != 0.1 {
			t.Errorf("40/s: TTLT p99 from schedule %v, service %v; want both 0.1", s, c)
		}
		if _, ok := at40.Get("server_saturated"); ok {
			t.Errorf("40/s: server_saturated: %v", at40.Map()["server_saturated"])
		}
		short, long := run(120, 5*time.Second), run(120, 10*time.Second)
		t.Logf("120/s, 5 s: from schedule p99 %.3f s, service p99 %.3f s; 10 s: %.3f s, %.3f s",
			f(short, "time_to_last_token_from_schedule-p99"), f(short, "time_to_last_token-p99"),
			f(long, "time_to_last_token_from_schedule-p99"), f(long, "time_to_last_token-p99"))
		if f(short, "time_to_last_token-p99") != 0.1 || f(long, "time_to_last_token-p99") != 0.1 {
			t.Error("120/s: the service time should stay 100 ms")
		}
		if s, l := f(short, "time_to_last_token_from_schedule-p99"), f(long, "time_to_last_token_from_schedule-p99"); s < 1 || l < 1.8*s {
			t.Errorf("120/s: TTLT p99 from schedule %v s over 5 s, %v s over 10 s; want it to grow with the run", s, l)
		}
		if v, ok := long.Get("server_saturated"); !ok {
			t.Error("120/s: server_saturated not set")
		} else {
			t.Logf("server_saturated: %v", v)
		}
	})
}

func TestSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Sweep{
			OpenLoop: OpenLoop{Endpoint: simEndpoint(t, cap80), Payloads: []llmeter.Payload{longPayload}, Duration: 2 * time.Second,
				OutputPath: t.TempDir(), TestName: "sw"},
			Rates: []float64{20, 40.5, 160}, StopIf: []Limit{{Stat: "time_to_first_token-p90", Max: 0.2}},
		}
		res, err := s.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rates) != 3 || res.StoppedBy != "" {
			t.Fatalf("rates %v, stopped by %q", res.Rates, res.StoppedBy)
		}
		for _, r := range res.Rates {
			a, _ := res.Results[r].Stats().Float("achieved_rate")
			if math.Abs(a-r)/r > 0.01 {
				t.Errorf("rate %v: achieved %v", r, a)
			}
		}
		if RateLevelName(40.5) != "rate-00040.5" || RateLevelName(160) != "rate-00160" {
			t.Errorf("level names: %s %s", RateLevelName(40.5), RateLevelName(160))
		}
	})
}
