package experiment

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/sim"
)

func TestRequestsPerClient(t *testing.T) {
	// LLMeter's rule (spec §1.K.92): n = ceil(min_per_run / c) when
	// c·min_per_client < min_per_run, else min_per_client.
	tests := []struct{ clients, perClient, perRun, want int }{
		{1, 1, 10, 10}, {3, 1, 10, 4}, {5, 1, 10, 2}, {10, 1, 10, 1}, {20, 1, 10, 1},
		{4, 3, 10, 3}, {2, 3, 10, 5}, {64, 2, 100, 2}, {7, 1, 100, 15},
	}
	for _, tc := range tests {
		if got := RequestsPerClient(tc.clients, tc.perClient, tc.perRun); got != tc.want {
			t.Errorf("RequestsPerClient(%d, %d, %d) = %d, want %d", tc.clients, tc.perClient, tc.perRun, got, tc.want)
		}
	}
}

// simEndpoint is an endpoint served by the simulator in memory: inside a
// synctest bubble, on the fake clock.
func simEndpoint(t *testing.T, cfg sim.Config) llmeter.Endpoint {
	t.Helper()
	cfg.TimersOnly = true
	client := &http.Client{Transport: sim.Transport(sim.New(cfg))}
	ep, err := openai.NewChatEndpoint(openai.ChatConfig{ModelID: "m", BaseURL: "http://sim/v1", Stream: true, APIKey: "k", HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

var payload = llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hello there"}}, "max_tokens": 8}

// The behaviour a load test exists to reveal: past the server's capacity (8
// requests at once), throughput stops growing and time to first token grows
// with the queue.
func TestLoadTestRevealsCapacity(t *testing.T) { synctest.Test(t, testLoadTestRevealsCapacity) }

func testLoadTestRevealsCapacity(t *testing.T) {
	ep := simEndpoint(t, sim.Config{TTFT: 50 * time.Millisecond, ITL: 5 * time.Millisecond, OutputTokens: 10, Capacity: 8})
	dir := t.TempDir()
	levels := []int{1, 4, 8, 16, 32}
	var seen []int
	lt := &LoadTest{
		Endpoint: ep, Payloads: []llmeter.Payload{payload}, SequenceOfClients: levels,
		MinRequestsPerClient: 2, MinRequestsPerRun: 8, OutputPath: dir, TestName: "cap8",
		OnLevel: func(level, n, clients int) { seen = append(seen, clients) },
	}
	res, err := lt.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != fmt.Sprint(levels) || res.StoppedBy != "" {
		t.Fatalf("levels run: %v, stopped by %q", seen, res.StoppedBy)
	}
	for _, c := range levels {
		if _, err := os.Stat(filepath.Join(dir, "cap8", LevelName(c), llmeter.StatsFile)); err != nil {
			t.Errorf("level %d: %v", c, err)
		}
	}
	// Read the saved statistics back, as a user would.
	loaded, err := LoadLoadTest(filepath.Join(dir, "cap8"), llmeter.LoadOptions{SkipResponses: true})
	if err != nil {
		t.Fatal(err)
	}
	stat := func(c int, key string) float64 {
		v, ok := loaded.Results[c].Stats().Float(key)
		if !ok {
			t.Fatalf("%d clients: no %s", c, key)
		}
		return v
	}
	for _, c := range levels {
		t.Logf("%2d clients: %6.0f requests/min, TTFT p50 %.3f s", c, stat(c, "requests_per_minute"), stat(c, "time_to_first_token-p50"))
	}
	// Throughput grows up to the capacity, then flattens.
	if r1, r8 := stat(1, "requests_per_minute"), stat(8, "requests_per_minute"); r8 < 3*r1 {
		t.Errorf("throughput at 8 clients is %.0f/min, at 1 client %.0f/min: want it to grow with clients up to the capacity", r8, r1)
	}
	if r8, r32 := stat(8, "requests_per_minute"), stat(32, "requests_per_minute"); r32 > 1.5*r8 {
		t.Errorf("throughput at 32 clients is %.0f/min, at 8 %.0f/min: want it flat past the capacity", r32, r8)
	}
	// Time to first token rises past the capacity (the queue).
	if f8, f32 := stat(8, "time_to_first_token-p50"), stat(32, "time_to_first_token-p50"); f32 < 3*f8 {
		t.Errorf("TTFT p50 at 32 clients is %.3f s, at 8 clients %.3f s: want the queue to show", f32, f8)
	}
}

func TestLoadTestStopsAtLimit(t *testing.T) { synctest.Test(t, testLoadTestStopsAtLimit) }

func testLoadTestStopsAtLimit(t *testing.T) {
	ep := simEndpoint(t, sim.Config{ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.Error500}})
	lt := &LoadTest{
		Endpoint: ep, Payloads: []llmeter.Payload{payload}, SequenceOfClients: []int{1, 2, 4},
		MinRequestsPerRun: 2, StopIf: []Limit{{Stat: "failed_requests_rate", Max: 0.5}},
	}
	res, err := lt.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Clients(); len(got) != 1 || got[0] != 1 {
		t.Errorf("levels run: %v, want [1]", got)
	}
	if !strings.Contains(res.StoppedBy, "failed_requests_rate = 1 > 0.5") {
		t.Errorf("StoppedBy = %q", res.StoppedBy)
	}
}

func TestLoadTestCanceled(t *testing.T) { synctest.Test(t, testLoadTestCanceled) }

func testLoadTestCanceled(t *testing.T) {
	ep := simEndpoint(t, sim.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	lt := &LoadTest{
		Endpoint: ep, Payloads: []llmeter.Payload{payload}, SequenceOfClients: []int{1, 2, 4},
		OnLevel: func(level, _, _ int) {
			if level == 2 {
				cancel()
			}
		},
	}
	res, err := lt.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.StoppedBy == "" || res.Results[4] != nil {
		t.Errorf("after cancel: stopped by %q, levels %v", res.StoppedBy, res.Clients())
	}
}

func TestLoadTestValidation(t *testing.T) {
	ep := simEndpoint(t, sim.Config{})
	p := []llmeter.Payload{payload}
	for _, lt := range []*LoadTest{
		{Payloads: p, SequenceOfClients: []int{1}},
		{Endpoint: ep, Payloads: p},
		{Endpoint: ep, Payloads: p, SequenceOfClients: []int{1, 0}},
		{Endpoint: ep, Payloads: p, SequenceOfClients: []int{2, 2}},
		{Endpoint: ep, SequenceOfClients: []int{1}},
	} {
		if _, err := lt.Run(t.Context()); err == nil {
			t.Errorf("%+v: got nil error", lt)
		}
	}
}

// A load test folder in LLMeter's documented layout (spec §2.2), written as
// Python writes it.
func TestLoadLLMeterLoadTest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20260101-1200")
	for _, c := range []int{1, 5} {
		level := filepath.Join(dir, LevelName(c))
		if err := os.MkdirAll(level, 0o755); err != nil {
			t.Fatal(err)
		}
		n := RequestsPerClient(c, 1, 10)
		summary := fmt.Sprintf(`{
    "total_requests": %d,
    "clients": %d,
    "n_requests": %d,
    "total_test_time": 12.7,
    "model_id": "anthropic.claude-3-haiku",
    "output_path": "outputs/load_test/20260101-1200/%s",
    "endpoint_name": "amazon bedrock",
    "provider": "bedrock",
    "run_name": "%s",
    "run_description": null,
    "start_time": "2026-01-01T12:00:00Z",
    "first_request_time": "2026-01-01T12:00:00Z",
    "last_request_time": "2026-01-01T12:00:12Z",
    "end_time": "2026-01-01T12:00:13Z"
}`, c*n, c, n, LevelName(c), LevelName(c))
		var lines strings.Builder
		for i := range c * n {
			fmt.Fprintf(&lines, `{"response_text": "Hi", "input_payload": {"modelId": "m"}, "id": "r%d", "input_prompt": "Hello", "time_to_first_token": 0.%d5, "time_to_last_token": 1.%d, "num_tokens_input": 5, "num_tokens_output": 2, "num_tokens_input_cached": null, "num_tokens_output_reasoning": null, "time_per_output_token": 0.5, "error": null, "retries": 0, "request_time": "2026-01-01T12:00:01Z"}`+"\n", i, c, c)
		}
		os.WriteFile(filepath.Join(level, llmeter.SummaryFile), []byte(summary), 0o644)
		os.WriteFile(filepath.Join(level, llmeter.ResponsesFile), []byte(lines.String()), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "time_to_first_token.html"), []byte("<html></html>"), 0o644)
	res, err := LoadLoadTest(dir, llmeter.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Clients()); got != "[1 5]" || res.TestName != "20260101-1200" {
		t.Fatalf("clients %s, name %q", got, res.TestName)
	}
	if n := len(res.Results[5].Responses); n != 10 {
		t.Errorf("5 clients: %d responses, want 10", n)
	}
	if v, _ := res.Results[5].Stats().Float("time_to_first_token-p50"); v != 0.55 {
		t.Errorf("5 clients: TTFT p50 = %v, want 0.55", v)
	}
	if _, err := LoadLoadTest(t.TempDir(), llmeter.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "no results found") {
		t.Errorf("empty folder: got %v", err)
	}
}

// Configure reaches every Runner of an experiment: here a first-token
// timeout shorter than the server's time to first token fails every request.
func TestConfigureAppliesToEveryLevel(t *testing.T) {
	synctest.Test(t, testConfigureAppliesToEveryLevel)
}

func testConfigureAppliesToEveryLevel(t *testing.T) {
	ep := simEndpoint(t, sim.Config{TTFT: 2 * time.Second, OutputTokens: 3})
	lt := &LoadTest{
		Endpoint: ep, Payloads: []llmeter.Payload{payload}, SequenceOfClients: []int{1, 2},
		MinRequestsPerClient: 1, MinRequestsPerRun: 2,
		Configure: func(r *llmeter.Runner) { r.FirstTokenTimeout = time.Second },
	}
	res, err := lt.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for c, r := range res.Results {
		if n, _ := r.Stats().Get("failed_requests_" + llmeter.ErrorClassTimeoutFirstToken); n != r.TotalRequests || n == 0 {
			t.Errorf("%d clients: %v of %d requests timed out waiting for the first token, want all", c, n, r.TotalRequests)
		}
	}
}
