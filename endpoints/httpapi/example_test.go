package httpapi_test

import (
	"context"
	"fmt"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/httpapi"
	"github.com/llmeter-go/llmeter/sim"
)

// Ollama's chat API, streaming, against the simulator (which speaks it).
func Example() {
	srv, _ := sim.Start(sim.Config{OutputTokens: 4})
	defer srv.Close()

	cfg, err := httpapi.FromPreset("ollama-chat", srv.URL, "llama3.2", true)
	if err != nil {
		panic(err)
	}
	ep, err := httpapi.New(cfg)
	if err != nil {
		panic(err)
	}
	payload, err := httpapi.CreatePayload("ollama-chat", "Why is the sky blue?", 256)
	if err != nil {
		panic(err)
	}
	resp := llmeter.Invoke(context.Background(), ep, payload)
	fmt.Printf("text %q, %d input and %d output tokens, time to first token measured: %v\n",
		resp.Text(), *resp.NumTokensInput, *resp.NumTokensOutput, resp.TimeToFirstToken != nil)
	// Output: text "lorem ipsum dolor sit ", 5 input and 4 output tokens, time to first token measured: true
}

// A service of one's own, answering {"result": {"text": …}, "usage": {…}}.
func ExampleNew() {
	ep, err := httpapi.New(httpapi.Config{
		URL:              "https://llm.internal.example/v1/complete",
		ModelID:          "team-model",
		ModelField:       "model",
		Headers:          map[string]string{"X-Api-Key": "secret"},
		TextPath:         "result.text",
		InputTokensPath:  "usage.input",
		OutputTokensPath: "usage.output",
		InputTextPath:    "input",
	})
	if err != nil {
		panic(err)
	}
	saved := llmeter.EndpointToMap(ep)
	fmt.Println(saved["endpoint_type"], saved["url"], saved["header_names"])
	// Output: HTTPEndpoint https://llm.internal.example/v1/complete [X-Api-Key]
}
