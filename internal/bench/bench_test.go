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
