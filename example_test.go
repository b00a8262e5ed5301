package llmeter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/sim"
)

// A 2-client, 4-request load test against the in-process simulator.
func Example() {
	srv, _ := sim.Start(sim.Config{TTFT: 20 * time.Millisecond, ITL: 2 * time.Millisecond, OutputTokens: 8})
	defer srv.Close()

	ep, err := openai.NewChatEndpoint(openai.ChatConfig{ModelID: "sim-model", BaseURL: srv.URL + "/v1", Stream: true})
	if err != nil {
		panic(err)
	}
	payload, _ := openai.CreatePayload([]string{"Tell me a story"}, 8, nil)
	runner := &llmeter.Runner{
		Endpoint:  ep,
		Clients:   2,
		NRequests: 4,
		Payloads:  []llmeter.Payload{payload},
	}
	result, err := runner.Run(context.Background())
	if err != nil {
		panic(err)
	}
	stats := result.Stats()
	for _, key := range []string{"total_requests", "failed_requests", "num_tokens_input-average", "num_tokens_output-average"} {
		v, _ := stats.Get(key)
		fmt.Printf("%s: %v\n", key, v)
	}
	ttft, _ := stats.Float("time_to_first_token-p50")
	fmt.Println("TTFT p50 at least the simulated 20 ms:", ttft >= 0.020)
	// Output:
	// total_requests: 8
	// failed_requests: 0
	// num_tokens_input-average: 4
	// num_tokens_output-average: 8
	// TTFT p50 at least the simulated 20 ms: true
}
