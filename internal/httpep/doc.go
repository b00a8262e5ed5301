// Package httpep is the plumbing shared by llmeter's endpoints that speak
// JSON over HTTP with net/http (OpenAI Chat Completions and Responses,
// Anthropic Messages, the generic HTTP endpoint): a client tuned for load
// generation, a validated target (URL and headers, built once), pooled
// request bodies encoded once from the payload, bounded reads of responses,
// the errors every provider reports the same way, and the reading of the
// keys their saved configurations share.
//
// It does not read the clock: timing belongs to llmeter.Invoke.
package httpep
