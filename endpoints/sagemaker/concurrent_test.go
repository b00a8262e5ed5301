package sagemaker

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
	"github.com/llmeter-go/llmeter/sim"
)

// Concurrent streams on one client (the SDK's shared event-stream codec
// has per-message state).
func TestConcurrentStreams(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 8})
	defer srv.Close()
	ep, err := NewEndpoint(Config{EndpointName: "e", Region: "us-east-1", EndpointURL: srv.URL, Stream: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := CreateStreamPayload([]prompt.Item{prompt.Text("hello there")}, 8, nil, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if got := llmeter.Invoke(context.Background(), ep, p); got.Error != "" || *got.NumTokensOutput != 8 {
					t.Errorf("error %q, tokens %v", got.Error, got.NumTokensOutput)
					return
				}
			}
		})
	}
	wg.Wait()
}
