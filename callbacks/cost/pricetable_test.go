package cost

import (
	"path/filepath"
	"testing"

	"github.com/llmeter-go/llmeter"
)

func TestPriceTable(t *testing.T) {
	for _, file := range []string{"prices.yaml", "prices.json"} {
		t.Run(file, func(t *testing.T) {
			pt, err := LoadPriceTable(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			// Bedrock cross-region profile → the model's price.
			m, err := pt.CostModel("us.anthropic.claude-3-5-haiku-20241022-v1:0", false)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.RequestDims) != 3 || len(m.RunDims) != 0 {
				t.Errorf("dims: %v %v", m.RequestDims, m.RunDims)
			}
			// Anthropic-style counts: 1000 input (not including) + 2000
			// cached, 100 output: 1000×0.8 + 2000×0.08 + 100×4 per million.
			r := &llmeter.InvocationResponse{NumTokensInput: llmeter.Ptr(1000), NumTokensInputCached: llmeter.Ptr(2000), NumTokensOutput: llmeter.Ptr(100)}
			c, err := m.RequestCost(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := *c.Total(); !near(got, (800+160+400)/1e6) {
				t.Errorf("total = %v", got)
			}
			// OpenAI-style counts: the 3000 input include the 2000 cached.
			m, err = pt.CostModel("gpt-4o-mini", true)
			if err != nil {
				t.Fatal(err)
			}
			r = &llmeter.InvocationResponse{NumTokensInput: llmeter.Ptr(3000), NumTokensInputCached: llmeter.Ptr(2000), NumTokensOutput: llmeter.Ptr(100)}
			c, _ = m.RequestCost(r)
			if got := *c.Total(); !near(got, (1000*0.15+2000*0.075+100*0.6)/1e6) {
				t.Errorf("total = %v", got)
			}
			if _, err := pt.CostModel("unknown-model", false); err == nil {
				t.Error("unknown model priced")
			}
		})
	}
	if _, err := LoadPriceTable(filepath.Join("testdata", "prices_bad.yaml")); err == nil {
		t.Error("an unknown field loaded")
	}
}

func TestInputIncludesCached(t *testing.T) {
	for typ, want := range map[string]bool{
		"OpenAICompletionStreamEndpoint": true, "OpenAIResponseEndpoint": true,
		"AnthropicMessages": false, "BedrockConverseStream": false,
	} {
		if got := InputIncludesCached(typ); got != want {
			t.Errorf("%s: got %v, want %v", typ, got, want)
		}
	}
}
