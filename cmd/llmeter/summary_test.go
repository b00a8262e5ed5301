package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
)

func TestWriteSummary(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 12, 0, 20, 0, time.UTC)
	st := llmeter.NewStats()
	for _, kv := range []struct {
		k string
		v any
	}{
		{"total_requests", 10}, {"clients", 2}, {"n_requests", 5}, {"total_test_time", 2.5},
		{"model_id", "my-model"}, {"output_path", "runs/r1"}, {"endpoint_name", "openai"}, {"provider", "openai"},
		{"run_name", "r1"}, {"run_description", nil}, {"start_time", start}, {"first_request_time", start},
		{"last_request_time", start.Add(2 * time.Second)}, {"end_time", start.Add(2500 * time.Millisecond)},
		{"failed_requests", 3}, {"failed_requests_rate", 0.3}, {"failed_requests_http_429", 2}, {"failed_requests_timeout", 1},
		{"total_input_tokens", 70}, {"total_output_tokens", 448},
		{"time_to_last_token-average", 0.8123}, {"time_to_last_token-p50", 0.8}, {"time_to_last_token-p90", 1.01}, {"time_to_last_token-p99", 1.2},
		{"time_to_first_token-average", 0.2}, {"time_to_first_token-p50", 0.2}, {"time_to_first_token-p90", 0.25}, {"time_to_first_token-p99", 0.3},
		{"time_per_output_token-average", 0.01}, {"time_per_output_token-p50", 0.01}, {"time_per_output_token-p90", 0.02}, {"time_per_output_token-p99", 0.025},
		{"num_tokens_output-average", 64}, {"num_tokens_output-p50", 64.0}, {"num_tokens_output-p90", 90.5}, {"num_tokens_output-p99", 96.0},
		{"requests_per_minute", 240.0}, {"output_tps", 179.2},
		{"cost_total", 0.25}, {"interrupted", true},
	} {
		st.Set(kv.k, kv.v)
	}
	var buf bytes.Buffer
	writeSummary(&buf, st)
	want := `Run r1 (interrupted)
  folder     runs/r1
  model      my-model (endpoint openai, provider openai)
  requests   10 from 2 clients (5 each)
  test time  2.500s, from 2026-01-01T12:00:20.000000Z to 2026-01-01T12:00:22.500000Z

                                          average          p50         p90         p99
Throughput  requests_per_minute             240.0
            output_tps                179.2 tok/s
TTFT        time_to_first_token            0.200s       0.200s      0.250s      0.300s
TTLT        time_to_last_token             0.812s       0.800s      1.010s      1.200s
TPOT        time_per_output_token          0.010s       0.010s      0.020s      0.025s
            1/time_per_output_token   100.0 tok/s  100.0 tok/s  50.0 tok/s  40.0 tok/s
Tokens      total_input_tokens                 70
            total_output_tokens               448
            num_tokens_output                  64         64.0        90.5        96.0
Errors      failed_requests                     3
            failed_requests_rate            30.0%
            failed_requests_http_429            2
            failed_requests_timeout             1
Cost        cost_total                       0.25
`
	if got := buf.String(); got != want {
		t.Errorf("writeSummary:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteSummaryEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	writeSummary(&buf, llmeter.NewStats())
	if got, want := buf.String(), "Run (no name) (completed)\n  test time  —\n"; got != want {
		t.Errorf("writeSummary of empty stats = %q, want %q", got, want)
	}
}

func TestStatsJSON(t *testing.T) {
	t.Parallel()
	st := llmeter.NewStats()
	st.Set("total_requests", 2)
	st.Set("b", 1.5)
	st.Set("a", nil)
	b, err := statsJSON(st)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n    \"total_requests\": 2,\n    \"b\": 1.5,\n    \"a\": null\n}\n"
	if string(b) != want {
		t.Errorf("statsJSON = %q, want %q", b, want)
	}
	if !json.Valid(b) || !strings.HasSuffix(string(b), "\n") {
		t.Error("not valid JSON ending in a newline")
	}
}
