package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

// benchSizes are the stream lengths benchmarked: the difference between
// them gives the marginal cost of a chunk, without the per-call cost (SDK
// middleware stack, SigV4 signing, goroutines) that ns/chunk amortizes.
var benchSizes = []int{16, 64}

// benchConverseStream is a ConverseStream of n text deltas, encoded once.
func benchConverseStream(tb testing.TB, n int) []byte {
	tr := transcript{Events: []transcriptEvent{{Event: "messageStart", Payload: json.RawMessage(`{"p":"abcdefghij","role":"assistant"}`)}}}
	for i := range n {
		tr.Events = append(tr.Events, transcriptEvent{Event: "contentBlockDelta",
			Payload: fmt.Appendf(nil, `{"contentBlockIndex":0,"delta":{"text":" tok%d"},"p":"abcdefghijklmnop"}`, i)})
	}
	tr.Events = append(tr.Events,
		transcriptEvent{Event: "contentBlockStop", Payload: json.RawMessage(`{"contentBlockIndex":0,"p":"abcdefghijklm"}`)},
		transcriptEvent{Event: "messageStop", Payload: json.RawMessage(`{"p":"abcdefg","stopReason":"end_turn"}`)},
		transcriptEvent{Event: "metadata", Payload: fmt.Appendf(nil,
			`{"metrics":{"latencyMs":394},"p":"abcdef","usage":{"inputTokens":19,"outputTokens":%d,"totalTokens":%d}}`, n, 19+n)})
	return tr.wire(tb)
}

// benchInvokeStream is an InvokeModelWithResponseStream of n OpenAI-like
// chunks and a final chunk with the invocation metrics, encoded once.
func benchInvokeStream(tb testing.TB, n int) []byte {
	const head = `{"id":"chatcmpl-2b7e9f1a","object":"chat.completion.chunk","created":1754000000,"model":"openai.gpt-oss-20b-1:0","choices":`
	var tr transcript
	for i := range n {
		tr.Events = append(tr.Events, transcriptEvent{Event: "chunk",
			Bytes: fmt.Appendf(nil, head+`[{"index":0,"delta":{"content":" tok%d"},"finish_reason":null}]}`, i)})
	}
	tr.Events = append(tr.Events, transcriptEvent{Event: "chunk", Bytes: fmt.Appendf(nil, head+
		`[{"index":0,"delta":{},"finish_reason":"stop"}],"amazon-bedrock-invocationMetrics":{"inputTokenCount":19,"outputTokenCount":%d,"invocationLatency":531,"firstByteLatency":212}}`, n)})
	return tr.wire(tb)
}

// runStreamBench runs one n-chunk streaming call per iteration over an
// in-memory transport (the client side only: SDK, signing, event-stream
// decoding, parsing) and reports the cost per streamed chunk.
func runStreamBench(b *testing.B, ep llmeter.Endpoint, payload llmeter.Payload, benchChunks int) {
	ctx := context.Background()
	check := func(got *llmeter.InvocationResponse) {
		if got.Error != "" || got.NumTokensOutput == nil || *got.NumTokensOutput != benchChunks || len(got.ChunkOffsets) != benchChunks {
			b.Fatalf("got error %q, %d chunks, output tokens %v; want none, %d, %d", got.Error, len(got.ChunkOffsets),
				fmtPtr(got.NumTokensOutput), benchChunks, benchChunks)
		}
	}
	check(llmeter.Invoke(ctx, ep, payload)) // warm up (credentials, pools)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		check(llmeter.Invoke(ctx, ep, payload))
		n++
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	chunks := float64(n * benchChunks)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/chunks, "ns/chunk")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/chunks, "allocs/chunk")
}

func benchClient(body []byte) *http.Client {
	return &http.Client{Transport: &memTransport{responses: []memResponse{{status: http.StatusOK,
		header: http.Header{"Content-Type": {eventStreamType}, "X-Amzn-Requestid": {"bench-request"}}, body: body}}}}
}

// BenchmarkStreamConverse measures ConverseStream parsing per chunk.
func BenchmarkStreamConverse(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ep := newConverse(b, "http://bedrock.test", true, false, 1, benchClient(benchConverseStream(b, n)))
			p, err := CreateConversePayload([]prompt.Item{prompt.Text("hi")}, n, nil)
			if err != nil {
				b.Fatal(err)
			}
			runStreamBench(b, ep, p, n)
		})
	}
}

// BenchmarkStreamInvoke measures InvokeModelWithResponseStream parsing per
// chunk (JSON decoding and the default JMESPaths on every chunk).
func BenchmarkStreamInvoke(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ep := newInvoke(b, "http://bedrock.test", InvokeConfig{Stream: true, HTTPClient: benchClient(benchInvokeStream(b, n))})
			p, err := CreateInvokePayload([]string{"hi"}, n, nil)
			if err != nil {
				b.Fatal(err)
			}
			runStreamBench(b, ep, p, n)
		})
	}
}

// BenchmarkEventStreamDecode is the SDK-independent floor: decoding the
// frames of the ConverseStream benchmark with the eventstream decoder alone.
func BenchmarkEventStreamDecode(b *testing.B) {
	body := benchConverseStream(b, 16)
	dec := eventstream.NewDecoder()
	var buf []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := bytes.NewReader(body)
		for r.Len() > 0 {
			if _, err := dec.Decode(r, buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
