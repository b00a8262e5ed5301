package llmeter

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// meanCV returns the mean and coefficient of variation of the gaps of a
// schedule.
func meanCV(offsets []time.Duration) (mean, cv float64) {
	var sum, sum2 float64
	n := float64(len(offsets) - 1)
	for i := 1; i < len(offsets); i++ {
		g := (offsets[i] - offsets[i-1]).Seconds()
		sum += g
		sum2 += g * g
	}
	mean = sum / n
	return mean, math.Sqrt(max(sum2/n-mean*mean, 0)) / mean
}

func TestArrivalProcesses(t *testing.T) {
	tests := []struct {
		a           Arrival
		wantCV, tol float64
	}{
		{Arrival{Rate: 200}, 0, 1e-6},
		{Arrival{Rate: 200, Process: ArrivalPoisson, Seed: 1}, 1, 0.05},
		{Arrival{Rate: 200, Process: ArrivalGamma, Burstiness: 1, Seed: 2}, 1, 0.05},
		{Arrival{Rate: 200, Process: ArrivalGamma, Burstiness: 0.25, Seed: 3}, 2, 0.1},
		{Arrival{Rate: 200, Process: ArrivalGamma, Burstiness: 4, Seed: 4}, 0.5, 0.05},
	}
	for _, tc := range tests {
		offs := tc.a.Schedule(100001)
		if offs[0] != 0 {
			t.Errorf("%+v: first arrival at %v, want 0", tc.a, offs[0])
		}
		mean, cv := meanCV(offs)
		if math.Abs(mean-1.0/200)/(1.0/200) > 0.03 {
			t.Errorf("%+v: mean gap %.6f s, want %.6f ±3%%", tc.a, mean, 1.0/200)
		}
		if math.Abs(cv-tc.wantCV) > tc.tol {
			t.Errorf("%+v: gaps' coefficient of variation %.3f, want %.3f ±%.2f", tc.a, cv, tc.wantCV, tc.tol)
		}
		again := tc.a.Schedule(100)
		for i := range again {
			if again[i] != offs[i] {
				t.Fatalf("%+v: the same seed gave another schedule", tc.a)
			}
		}
	}
	// Constant spacing is exact: no drift after many requests.
	if got := (&Arrival{Rate: 3}).Schedule(301)[300]; got != 100*time.Second {
		t.Errorf("constant 3/s: request 300 at %v, want 100s", got)
	}
}

func TestArrivalRamp(t *testing.T) {
	for _, process := range []string{ArrivalConstant, ArrivalPoisson} {
		a := Arrival{Rate: 10, RampTo: 50, RampDuration: 10 * time.Second, Process: process, Seed: 9}
		offs := a.Schedule(2000)
		count := func(from, to time.Duration) int {
			n := 0
			for _, o := range offs {
				if o >= from && o < to {
					n++
				}
			}
			return n
		}
		// The rate is 10 + 4t per second during the ramp: Λ(10 s) = 300
		// arrivals, Λ(1 s) = 12, Λ(10 s) − Λ(9 s) = 48; then 50 per second.
		tol := map[string]float64{ArrivalConstant: 1, ArrivalPoisson: 0.1}[process]
		check := func(what string, got int, want float64) {
			if process == ArrivalConstant && math.Abs(float64(got)-want) > tol ||
				process != ArrivalConstant && math.Abs(float64(got)-want) > tol*want+3*math.Sqrt(want) {
				t.Errorf("%s ramp, %s: %d arrivals, want %.1f", process, what, got, want)
			}
		}
		check("first 10 s", count(0, 10*time.Second), 300)
		check("first second", count(0, time.Second), 12)
		check("last second of the ramp", count(9*time.Second, 10*time.Second), 48)
		check("after the ramp, 10 s", count(10*time.Second, 20*time.Second), 500)
	}
}

func TestArrivalValidate(t *testing.T) {
	for _, a := range []Arrival{
		{}, {Rate: -1}, {Rate: math.Inf(1)}, {Rate: 1, Process: "bursty"}, {Rate: 1, RampTo: 5},
		{Rate: 1, RampDuration: time.Second}, {Rate: 1, MaxInFlight: -1}, {Rate: 1, Burstiness: -2},
	} {
		if err := a.Validate(); err == nil {
			t.Errorf("%+v: got nil error", a)
		}
	}
}

// An open-loop run sends on the schedule, whatever the responses do, and
// records when each request was due.
func TestRunnerOpenLoopConstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := &fakeEndpoint{FirstDelay: 250 * time.Millisecond, TokenDelay: 10 * time.Millisecond}
		dir := t.TempDir()
		r := &Runner{Endpoint: ep, Payloads: []Payload{{"prompt": "a"}, {"prompt": "b"}}, TotalRequests: 50,
			Arrival: &Arrival{Rate: 100}, OutputPath: dir, RunName: "ol"}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if res.TotalRequests != 50 {
			t.Fatalf("sent %d, want 50", res.TotalRequests)
		}
		seen := map[time.Duration]bool{}
		for _, resp := range res.Responses {
			if resp.IntendedOffset == nil {
				t.Fatal("no intended offset")
			}
			if resp.SendOffset != *resp.IntendedOffset {
				t.Errorf("sent at %v, due at %v: on the fake clock the schedule is kept exactly", resp.SendOffset, *resp.IntendedOffset)
			}
			seen[*resp.IntendedOffset] = true
		}
		for k := range 50 {
			if !seen[time.Duration(k)*10*time.Millisecond] {
				t.Errorf("no request due at %v", time.Duration(k)*10*time.Millisecond)
			}
		}
		st := res.Stats()
		for key, want := range map[string]float64{
			"asked_rate": 100, "achieved_rate": 100, "late_requests": 0, "requests_not_sent": 0,
			"schedule_lag-p99": 0, "time_to_first_token_from_schedule-p50": 0.25, "inter_token_latency-p50": 0.01,
		} {
			if got, ok := st.Float(key); !ok || math.Abs(got-want) > 1e-9 {
				t.Errorf("%s = %v (%v), want %v", key, got, ok, want)
			}
		}
		// Peak concurrency: 250 ms + 20 ms per request at 100/s ≈ 27 in flight.
		if res.Clients < 26 || res.Clients > 28 {
			t.Errorf("clients (peak in flight) = %d, want about 27", res.Clients)
		}
		if _, ok := st.Get("server_saturated"); ok {
			t.Errorf("server_saturated set: %v", st.Map()["server_saturated"])
		}
		// The same statistics after a reload from disk.
		loaded, err := LoadResult(filepath.Join(dir, "ol"), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		compareStats(t, "reloaded", loaded.Stats(), st)
	})
}

// A cap on requests in flight: dropped requests are counted; queued ones
// are sent late, and latency from the schedule shows the wait that the
// service time hides (coordinated omission).
func TestRunnerOpenLoopCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := &fakeEndpoint{FirstDelay: 100 * time.Millisecond, TokenDelay: time.Millisecond}
		p := []Payload{{"prompt": "a", "tokens": 1}}
		drop := &Runner{Endpoint: ep, Payloads: p, RunDuration: time.Second, Arrival: &Arrival{Rate: 100, MaxInFlight: 2}}
		res, err := drop.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st := res.Stats()
		notSent, _ := st.Float("requests_not_sent")
		if res.TotalRequests+int(notSent) != 100 || res.TotalRequests > 22 || res.TotalRequests < 18 {
			t.Errorf("cap 2, 100 ms each, 100/s for 1 s: sent %d, not sent %v; want about 20 and 80", res.TotalRequests, notSent)
		}
		if s, _ := st.Get("server_saturated"); s == nil || !strings.Contains(s.(string), "not sent") {
			t.Errorf("server_saturated = %v", s)
		}

		queue := &Runner{Endpoint: ep, Payloads: p, TotalRequests: 60, Arrival: &Arrival{Rate: 100, MaxInFlight: 4, QueueAtCap: true}}
		res, err = queue.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st = res.Stats()
		service, _ := st.Float("time_to_first_token-p99")
		fromSchedule, _ := st.Float("time_to_first_token_from_schedule-p99")
		late, _ := st.Float("late_requests")
		if res.TotalRequests != 60 || service != 0.1 || fromSchedule < 0.8 || late < 50 {
			t.Errorf("queued at cap: %d sent, TTFT p99 %v, from schedule %v, %v late", res.TotalRequests, service, fromSchedule, late)
		}
		if s, _ := st.Get("server_saturated"); s == nil {
			t.Errorf("server_saturated not set: %v", st.Map())
		}
	})
}

func TestRunnerWarmupAndGoodput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := &fakeEndpoint{FirstDelay: 10 * time.Millisecond, TokenDelay: time.Millisecond}
		slo, err := ParseSLO("ttft<50ms")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		r := &Runner{Endpoint: ep, OutputPath: dir, RunName: "w", Clients: 2, NRequests: 6, WarmupRequests: 4,
			GoodputSLOs: []SLO{slo}, Payloads: []Payload{{"prompt": "a"}, {"prompt": "slow", "first_delay_ms": 80}}}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st := res.Stats()
		for key, want := range map[string]float64{"warmup_requests": 4, "goodput_requests": 4, "goodput_rate": 0.5} {
			if got, _ := st.Float(key); got != want {
				t.Errorf("%s = %v, want %v", key, got, want)
			}
		}
		if res.TotalRequests != 8 {
			t.Errorf("total_requests %d, want the 8 measured", res.TotalRequests)
		}
		loaded, err := LoadResult(filepath.Join(dir, "w"), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		compareStats(t, "reloaded", loaded.Stats(), st)
	})
}

func TestParseSLO(t *testing.T) {
	one := 0.95
	tests := []struct {
		in   string
		want SLO
	}{
		{"ttft.p90<500ms", SLO{Metric: MetricTTFT, Percentile: 90, Max: 0.5}},
		{"tpot.p99<0.05", SLO{Metric: MetricTPOT, Percentile: 99, Max: 0.05}},
		{"ttlt<2s", SLO{Metric: MetricTTLT, Max: 2}},
		{"itl.avg<20ms", SLO{Metric: MetricITL, Average: true, Max: 0.02}},
		{"goodput_rate>0.95", SLO{Metric: "goodput_rate", Min: &one}},
	}
	for _, tc := range tests {
		got, err := ParseSLO(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got.Text = "" // compare the canonical form
		if got.String() != tc.want.String() || got.Metric != tc.want.Metric {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"ttft", "ttft<", "ttft.p100<1s", "ttft<fast", "<1"} {
		if _, err := ParseSLO(bad); err == nil {
			t.Errorf("%q: got nil error", bad)
		}
	}
	if (SLO{Metric: MetricTTFT, Max: 1}).PerRequest() != true || (SLO{Metric: MetricTTFT, Percentile: 90}).PerRequest() {
		t.Error("PerRequest")
	}
}

// Every arrival process, run by the Runner on the fake clock: each request
// is sent exactly at its scheduled time, and the run sends exactly the
// schedule's requests within its duration.
func TestRunnerOpenLoopProcesses(t *testing.T) {
	for _, a := range []Arrival{
		{Rate: 50, Process: ArrivalPoisson, Seed: 3},
		{Rate: 50, Process: ArrivalGamma, Burstiness: 0.3, Seed: 4},
		{Rate: 10, RampTo: 100, RampDuration: 2 * time.Second},
		{Rate: 10, RampTo: 100, RampDuration: 2 * time.Second, Process: ArrivalPoisson, Seed: 5},
	} {
		synctest.Test(t, func(t *testing.T) {
			const d = 3 * time.Second
			want := []time.Duration{}
			for _, o := range a.Schedule(100000) {
				if o >= d {
					break
				}
				want = append(want, o)
			}
			ep := &fakeEndpoint{FirstDelay: 20 * time.Millisecond, TokenDelay: time.Millisecond}
			arr := a
			res, err := (&Runner{Endpoint: ep, Payloads: []Payload{{"prompt": "x"}}, RunDuration: d, Arrival: &arr}).Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Duration
			for _, r := range res.Responses {
				if r.SendOffset != *r.IntendedOffset {
					t.Fatalf("%+v: sent at %v, due at %v", a, r.SendOffset, *r.IntendedOffset)
				}
				got = append(got, r.SendOffset)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%+v: sent %d requests, the schedule has %d in %v", a, len(got), len(want), d)
			}
			if a.RampTo > 0 {
				// During the ramp the gaps shrink: the second second holds
				// more sends than the first.
				first, second := 0, 0
				for _, o := range got {
					switch {
					case o < time.Second:
						first++
					case o < 2*time.Second:
						second++
					}
				}
				if second <= first {
					t.Errorf("%+v: %d sends in the first second, %d in the second", a, first, second)
				}
			}
		})
	}
}
