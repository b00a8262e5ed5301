package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

// benchStream is a 16-token stream shaped like OpenAI's: a role chunk, 16
// content chunks, a finish chunk, a usage chunk and [DONE].
func benchStream() [][]byte {
	const head = `data: {"id":"chatcmpl-AzEu7pHNcyLWrkJdgXKJpM5zVnB5d","object":"chat.completion.chunk","created":1739112035,` +
		`"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_72ed7ab54c","choices":`
	evs := [][]byte{[]byte(head + `[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")}
	for i := range 16 {
		evs = append(evs, fmt.Appendf(nil, head+`[{"index":0,"delta":{"content":" tok%d"},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n", i))
	}
	evs = append(evs,
		[]byte(head+`[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`+"\n\n"),
		[]byte(head+`[],"usage":{"prompt_tokens":19,"completion_tokens":16,"total_tokens":35,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`+"\n\n"),
		[]byte("data: [DONE]\n\n"))
	return evs
}

func checkBench(b *testing.B, got *llmeter.InvocationResponse) {
	if got.Error != "" || got.NumTokensOutput == nil || *got.NumTokensOutput != 16 || len(got.ChunkOffsets) != 16 {
		b.Fatalf("got error %q, %d chunks, output tokens %v; want none, 16, 16", got.Error, len(got.ChunkOffsets), got.NumTokensOutput)
	}
}

// BenchmarkStreamInvoke measures one 16-token streaming call through
// llmeter.Invoke against an in-process httptest server that flushes every
// event. Allocations include the server's.
func BenchmarkStreamInvoke(b *testing.B) {
	srv := replay.EventServer(b, benchStream())
	ep := newTestEndpoint(b, srv.URL+"/v1", true, NewHTTPClient(1))
	payload := testPayload(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		checkBench(b, llmeter.Invoke(ctx, ep, payload))
	}
}

// BenchmarkStreamParse is BenchmarkStreamInvoke over an in-memory transport:
// the client side only.
func BenchmarkStreamParse(b *testing.B) {
	var body strings.Builder
	for _, ev := range benchStream() {
		body.Write(ev)
	}
	ep := newTestEndpoint(b, "http://127.0.0.1:1/v1", true, replay.MemClient("text/event-stream", []byte(body.String())))
	payload := testPayload(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		checkBench(b, llmeter.Invoke(ctx, ep, payload))
	}
}

// BenchmarkChunkDecode is the per-chunk cost of the parser's decode step.
func BenchmarkChunkDecode(b *testing.B) {
	data := benchStream()[3]
	data = data[len("data: ") : len(data)-2]
	var c chunkWithID
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c.chunk = chunk{Error: c.Error[:0]}
		if err := jsonUnmarshalChunk(data, &c.chunk); err != nil {
			b.Fatal(err)
		}
	}
}

func jsonUnmarshalChunk(data []byte, c *chunk) error { return json.Unmarshal(data, c) }

// BenchmarkChunkFast is BenchmarkChunkDecode through the fast path.
func BenchmarkChunkFast(b *testing.B) {
	data := benchStream()[3]
	data = data[len("data: ") : len(data)-2]
	var f fastChunk
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if !f.decode(data) {
			b.Fatal("not decoded")
		}
	}
}
