package cost_test

import (
	"context"
	"fmt"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/callbacks/cost"
)

func ExampleCostModel() {
	m, err := cost.New(map[string]cost.RequestDimension{
		"InputTokens":  &cost.InputTokens{PricePerMillion: 3},
		"OutputTokens": &cost.OutputTokens{PricePerMillion: 15},
	}, map[string]cost.RunDimension{
		"Endpoint": &cost.EndpointTime{PricePerHour: 36, GranularitySecs: 60},
	})
	if err != nil {
		panic(err)
	}
	// As a callback: m.BeforeRun, m.AfterInvoke on every response, m.AfterRun.
	ctx := context.Background()
	m.BeforeRun(ctx, &llmeter.Runner{})
	r := &llmeter.InvocationResponse{NumTokensInput: llmeter.Ptr(1200), NumTokensOutput: llmeter.Ptr(300)}
	m.AfterInvoke(ctx, r)
	fmt.Printf("request: %.4f\n", r.Extra["cost_total"])

	res := &llmeter.Result{Responses: []*llmeter.InvocationResponse{r}, TotalTestTime: llmeter.Ptr(75.0)}
	m.AfterRun(ctx, res)
	st := res.Stats()
	for _, k := range []string{"cost_Endpoint", "cost_total", "cost_total_per_million_output_tokens"} {
		v, _ := st.Float(k)
		fmt.Printf("%s: %.4f\n", k, v)
	}
	// Output:
	// request: 0.0081
	// cost_Endpoint: 1.2000
	// cost_total: 1.2081
	// cost_total_per_million_output_tokens: 4027.0000
}
