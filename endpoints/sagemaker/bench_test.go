package sagemaker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"testing"

	"github.com/llmeter-go/llmeter"
)

const benchTokens = 64

// benchLines is a 64-token TGI stream, one "data:" line per token, the last
// one with generated_text and details.
func benchLines() [][]byte {
	lines := make([][]byte, benchTokens)
	full := ""
	for i := range benchTokens {
		full += fmt.Sprintf(" tok%d", i)
	}
	for i := range benchTokens {
		tail := `"generated_text":null,"details":null}`
		if i == benchTokens-1 {
			tail = `"generated_text":"` + full + `","details":{"finish_reason":"length","generated_tokens":64,"seed":null,"input_length":12}}`
		}
		lines[i] = fmt.Appendf(nil, `data:{"index":%d,"token":{"id":%d,"text":" tok%d","logprob":-0.31,"special":false},%s`+"\n\n",
			i, 1000+i, i, tail)
	}
	return lines
}

func checkBench(b *testing.B, got *llmeter.InvocationResponse) {
	if got.Error != "" || got.NumTokensOutput == nil || *got.NumTokensOutput != benchTokens || len(got.ChunkOffsets) != benchTokens {
		b.Fatalf("got error %q, %d chunks, output tokens %s; want none, %d, %d", got.Error, len(got.ChunkOffsets),
			fmtPtr(got.NumTokensOutput), benchTokens, benchTokens)
	}
}

// BenchmarkStreamParse measures one 64-token streaming call through
// llmeter.Invoke, the SDK (SigV4 signing, event stream decoding) and the
// parser, over an in-memory transport replaying a pre-encoded event stream
// (one PayloadPart per token). It reports ns and allocations per chunk.
func BenchmarkStreamParse(b *testing.B) {
	var body []byte
	for _, l := range benchLines() {
		body = append(body, payloadPartFrame(b, l)...)
	}
	ep := newTestEndpoint(b, "http://127.0.0.1:1", true, func(c *Config) {
		c.HTTPClient = &http.Client{Transport: &memTransport{status: http.StatusOK,
			contentType: "application/vnd.amazon.eventstream", body: body}}
	})
	payload := testPayload(b, true)
	ctx := context.Background()
	b.ReportAllocs()
	report := perChunk(b)
	for b.Loop() {
		checkBench(b, llmeter.Invoke(ctx, ep, payload))
	}
	report()
}

// BenchmarkStreamLines is the parser alone: the 64 lines, cut into parts of
// 37 bytes (lines split across parts, several line ends in one part), fed to
// the line splitter and decoder.
func BenchmarkStreamLines(b *testing.B) {
	var data []byte
	for _, l := range benchLines() {
		data = append(data, l...)
	}
	ep := &parserEndpoint{parts: splitAt(data, []byte{37})}
	payload := llmeter.Payload{"inputs": "hi"}
	ctx := context.Background()
	b.ReportAllocs()
	report := perChunk(b)
	for b.Loop() {
		checkBench(b, llmeter.Invoke(ctx, ep, payload))
	}
	report()
}

// perChunk measures allocations from its call to the call of the function
// it returns, which adds ns/chunk and allocs/chunk to the benchmark.
func perChunk(b *testing.B) func() {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	return func() {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		n := float64(b.N) * benchTokens
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/chunk")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/chunk")
	}
}

// BenchmarkLineDecode compares the fast line decoder with encoding/json on
// one token line.
func BenchmarkLineDecode(b *testing.B) {
	line := bytes.TrimSuffix(bytes.TrimPrefix(benchLines()[3], []byte("data:")), []byte("\n\n"))
	b.Run("fast", func(b *testing.B) {
		var f fastLine
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if !json.Valid(line) || !f.decode(line) {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		var tok tgiToken
		var l tgiLine
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			tok.Text = tok.Text[:0]
			l = tgiLine{Token: &tok, Details: l.Details[:0], Error: l.Error[:0]}
			if err := json.Unmarshal(line, &l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
