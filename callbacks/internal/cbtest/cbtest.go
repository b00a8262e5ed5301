// Package cbtest holds test helpers shared by the callbacks' tests: a fake
// endpoint that answers at once with fixed token counts.
package cbtest

import (
	"context"

	"github.com/llmeter-go/llmeter"
)

// Endpoint answers every payload with Text and the given usage. It records
// the payloads it was sent on Sent, if not nil.
type Endpoint struct {
	Text         string
	InputTokens  int
	OutputTokens int
	CachedTokens *int
	Sent         chan<- llmeter.Payload
	EndpointType string
	PromptKey    string // payload key ParsePayload returns; default "prompt"
}

func (e *Endpoint) Info() llmeter.EndpointInfo {
	t := e.EndpointType
	if t == "" {
		t = "FakeEndpoint"
	}
	return llmeter.EndpointInfo{EndpointName: "fake", ModelID: "fake-model", Provider: "test", EndpointType: t}
}

func (e *Endpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) { return p, nil }

func (e *Endpoint) Invoke(ctx context.Context, p llmeter.Payload, rec *llmeter.Recorder) error {
	if e.Sent != nil {
		e.Sent <- p
	}
	rec.Text(e.Text)
	rec.SetUsage(llmeter.Usage{InputTokens: llmeter.Ptr(e.InputTokens), OutputTokens: llmeter.Ptr(e.OutputTokens),
		InputCachedTokens: e.CachedTokens})
	return nil
}

func (e *Endpoint) ParsePayload(p llmeter.Payload) (any, error) {
	k := e.PromptKey
	if k == "" {
		k = "prompt"
	}
	return p[k], nil
}
