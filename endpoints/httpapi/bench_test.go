package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

// ollamaBody is an Ollama /api/generate stream of n tokens, shaped like the
// official example.
func ollamaBody(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","response":" tok%d","done":false}`+"\n", i)
	}
	fmt.Fprintf(&b, `{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","response":"","done":true,"done_reason":"stop",`+
		`"total_duration":10706818083,"load_duration":6338219291,"prompt_eval_count":26,"prompt_eval_duration":130079000,`+
		`"eval_count":%d,"eval_duration":4232710000}`+"\n", n)
	return b.Bytes()
}

// tgiBody is a TGI /generate_stream stream of n tokens.
func tgiBody(n int) []byte {
	var b bytes.Buffer
	for i := range n - 1 {
		fmt.Fprintf(&b, `data:{"index":%d,"token":{"id":%d,"text":" tok%d","logprob":-0.39028463,"special":false},`+
			`"generated_text":null,"details":null}`+"\n\n", i+1, 1000+i, i)
	}
	fmt.Fprintf(&b, `data:{"index":%d,"token":{"id":2,"text":" tok%d","logprob":-3.5762787e-7,"special":false},`+
		`"generated_text":"…","details":{"finish_reason":"length","generated_tokens":%d,"seed":null,"input_length":6}}`+"\n\n",
		n, n-1, n)
	return b.Bytes()
}

// benchStream invokes a streaming endpoint over an in-memory transport and
// reports the cost per streamed chunk (the whole call, request included,
// divided by the number of chunks).
func benchStream(b *testing.B, cfg Config, contentType string, body []byte, chunks int) {
	cfg.HTTPClient = replay.MemClient(contentType, body)
	ep, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	payload := llmeter.Payload{"prompt": "Why is the sky blue?", "inputs": "Why is the sky blue?"}
	ctx := context.Background()
	check := func(got *llmeter.InvocationResponse) {
		if got.Error != "" || got.NumTokensOutput == nil || *got.NumTokensOutput != chunks || len(got.ChunkOffsets) != chunks {
			b.Fatalf("got error %q, %d chunks, output tokens %v; want none, %d, %d", got.Error, len(got.ChunkOffsets),
				replay.FmtPtr(got.NumTokensOutput), chunks, chunks)
		}
	}
	check(llmeter.Invoke(ctx, ep, payload)) // warm the pools
	replay.PerChunk(b, chunks, func() { check(llmeter.Invoke(ctx, ep, payload)) })
}

func presetConfig(b *testing.B, name string) Config {
	cfg, err := FromPreset(name, "http://127.0.0.1:1", "llama3.2", true)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkStreamNDJSON measures an Ollama stream (ollama-generate preset,
// fast event path) and the same through encoding/json (paths that are not
// plain field chains).
func BenchmarkStreamNDJSON(b *testing.B) {
	for _, chunks := range []int{16, 256} {
		body := ollamaBody(chunks)
		b.Run(fmt.Sprintf("fast/chunks=%d", chunks), func(b *testing.B) {
			benchStream(b, presetConfig(b, "ollama-generate"), "application/x-ndjson", body, chunks)
		})
		b.Run(fmt.Sprintf("decode/chunks=%d", chunks), func(b *testing.B) {
			benchStream(b, slowTwin(presetConfig(b, "ollama-generate")), "application/x-ndjson", body, chunks)
		})
	}
}

// BenchmarkStreamSSE measures a TGI stream (tgi preset).
func BenchmarkStreamSSE(b *testing.B) {
	for _, chunks := range []int{16, 256} {
		body := tgiBody(chunks)
		b.Run(fmt.Sprintf("fast/chunks=%d", chunks), func(b *testing.B) {
			benchStream(b, presetConfig(b, "tgi"), "text/event-stream", body, chunks)
		})
		b.Run(fmt.Sprintf("decode/chunks=%d", chunks), func(b *testing.B) {
			benchStream(b, slowTwin(presetConfig(b, "tgi")), "text/event-stream", body, chunks)
		})
	}
}

// BenchmarkFastEvent is the per-event cost of the fast path alone.
func BenchmarkFastEvent(b *testing.B) {
	cfg := presetConfig(b, "ollama-generate")
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.TrimSpace(bytes.SplitAfter(ollamaBody(1), []byte("\n"))[0])
	var f fastEvent
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if !f.decode(e.paths.fast, data, false) {
			b.Fatal("declined")
		}
	}
}
