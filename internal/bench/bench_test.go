package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter/sim"
)

// Both clients measure the same simulated latency.
func TestClientsAgreeWithSimulator(t *testing.T) {
	srv, _ := sim.Start(sim.Config{TTFT: 30 * time.Millisecond, ITL: 2 * time.Millisecond, OutputTokens: 8})
	defer srv.Close()
	l := Load{BaseURL: srv.URL + "/v1", Clients: 4, Requests: 3, MaxTokens: 8}
	for name, run := range map[string]func(context.Context, Load) (Outcome, error){"llmeter": RunLLMeter, "reference": RunReference} {
		out, err := run(t.Context(), l)
		if err != nil {
			t.Fatal(err)
		}
		if out.Requests != 12 || out.Errors != 0 || len(out.Samples) != 12 {
			t.Fatalf("%s: %d requests, %d errors, %d samples; want 12, 0, 12", name, out.Requests, out.Errors, len(out.Samples))
		}
		for _, s := range out.Samples {
			// Never faster than the simulated schedule.
			if s.TTFT < 30*time.Millisecond || s.TTLT < 44*time.Millisecond || s.TTLT < s.TTFT {
				t.Errorf("%s: TTFT %v, TTLT %v: faster than the simulator's 30 ms / 44 ms", name, s.TTFT, s.TTLT)
			}
		}
		f, _, n := ErrorPercentiles(out.Samples, 30*time.Millisecond, 44*time.Millisecond)
		if n != 12 || f[0] < 0 {
			t.Errorf("%s: error percentiles over %d samples, p50 %v", name, n, f[0])
		}
	}
}

// BenchmarkThroughput drives the zero-delay simulator (in process, so it
// shares the CPU; llmbench throughput runs it in a child process) with
// llmeter and with the reference client; compare their req/s.
func BenchmarkThroughput(b *testing.B) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 16})
	defer srv.Close()
	for _, clients := range []int{64, 256} {
		for name, run := range map[string]func(context.Context, Load) (Outcome, error){"llmeter": RunLLMeter, "reference": RunReference} {
			b.Run(fmt.Sprintf("%s/clients=%d", name, clients), func(b *testing.B) {
				l := Load{BaseURL: srv.URL + "/v1", Clients: clients, Requests: max(1, b.N/clients), MaxTokens: 16}
				out, err := run(context.Background(), l)
				if err != nil {
					b.Fatal(err)
				}
				if out.Errors > 0 {
					b.Fatalf("%d errors", out.Errors)
				}
				b.ReportMetric(out.RPS(), "req/s")
			})
		}
	}
}

// P99Ratio's interval contains the true ratio and excludes a wrong one.
func TestP99Ratio(t *testing.T) {
	var a, b []Sample
	for i := range 1000 {
		d := time.Duration(i%100+1) * time.Millisecond
		a = append(a, Sample{TTFT: 100*time.Millisecond + 2*d, TTLT: 400*time.Millisecond + d})
		b = append(b, Sample{TTFT: 100*time.Millisecond + d, TTLT: 400*time.Millisecond + d})
	}
	a = append(a, Sample{Err: fmt.Errorf("failed")})
	f, l := P99Ratio(a, b, 100*time.Millisecond, 400*time.Millisecond, 500, 1)
	if f[0] != 2 || f[1] > 2 || f[2] < 2 || f[1] < 1.5 {
		t.Errorf("TTFT ratio %v, want 2 within its interval, and 1.5 outside", f)
	}
	if l[0] != 1 || l[1] > 1 || l[2] < 1 || l[2] > 1.5 {
		t.Errorf("TTLT ratio %v, want 1 within its interval, and 1.5 outside", l)
	}
	if f, _ := P99Ratio(nil, b, 0, 0, 10, 1); f != [3]float64{} {
		t.Errorf("no samples: %v, want zeros", f)
	}
}
