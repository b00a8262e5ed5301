package bedrock_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/bedrock"
	"github.com/llmeter-go/llmeter/prompt"
	"github.com/llmeter-go/llmeter/sim"
)

// A ConverseStream endpoint against the simulator, which speaks the Bedrock
// Runtime API (and does not check SigV4 signatures).
func Example() {
	srv, _ := sim.Start(sim.Config{OutputTokens: 5})
	defer srv.Close()

	ep, err := bedrock.NewConverseEndpoint(bedrock.ConverseConfig{
		ModelID:     "us.amazon.nova-lite-v1:0",
		Region:      "us-east-1",
		EndpointURL: srv.URL,
		Stream:      true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	payload, err := bedrock.CreateConversePayload([]prompt.Item{prompt.Text("Tell me a joke")}, 256, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp := llmeter.Invoke(context.Background(), ep, payload)
	fmt.Printf("%q\n", resp.Text())
	fmt.Println("input tokens:", *resp.NumTokensInput, "output tokens:", *resp.NumTokensOutput)
	fmt.Println("time to first token measured:", resp.TimeToFirstToken != nil, "retries:", *resp.Retries)
	// Output:
	// "lorem ipsum dolor sit amet "
	// input tokens: 4 output tokens: 5
	// time to first token measured: true retries: 0
}
