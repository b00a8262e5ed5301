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

// respBenchStream is an n-token Responses API stream shaped like OpenAI's:
// response.created, response.in_progress, the output item and content part,
// n text deltas (with logprobs and obfuscation), the three closing events
// and response.completed.
func respBenchStream(n int) (body []byte, events int) {
	const rid, mid = "resp_67ccfcdd16748190a91872c75d38539e09e4d4aac714747c", "msg_67ccfcddc1a08190a28fc7dbb8b9ccb909e4d4aac714747c"
	respObj := func(status, output, usage string) string {
		return `{"id":"` + rid + `","object":"response","created_at":1741487325,"status":"` + status + `","background":false,` +
			`"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4o-mini-2024-07-18",` +
			`"output":[` + output + `],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},` +
			`"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},` +
			`"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":` + usage +
			`,"user":null,"metadata":{}}`
	}
	var sb strings.Builder
	seq := 0
	ev := func(typ, fields string) {
		fmt.Fprintf(&sb, "event: %s\ndata: {\"type\":%q,\"sequence_number\":%d,%s}\n\n", typ, typ, seq, fields)
		seq++
	}
	ref := `"item_id":"` + mid + `","output_index":0,"content_index":0,`
	ev("response.created", `"response":`+respObj("in_progress", "", "null"))
	ev("response.in_progress", `"response":`+respObj("in_progress", "", "null"))
	ev("response.output_item.added", `"output_index":0,"item":{"id":"`+mid+`","type":"message","status":"in_progress","content":[],"role":"assistant"}`)
	ev("response.content_part.added", ref+`"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`)
	var text strings.Builder
	for i := range n {
		tok := fmt.Sprintf(" tok%d", i)
		text.WriteString(tok)
		ev("response.output_text.delta", ref+`"delta":"`+tok+`","logprobs":[],"obfuscation":"kP3x9q"`)
	}
	part := `{"type":"output_text","annotations":[],"logprobs":[],"text":"` + text.String() + `"}`
	item := `{"id":"` + mid + `","type":"message","status":"completed","content":[` + part + `],"role":"assistant"}`
	ev("response.output_text.done", ref+`"text":"`+text.String()+`","logprobs":[]`)
	ev("response.content_part.done", ref+`"part":`+part)
	ev("response.output_item.done", `"output_index":0,"item":`+item)
	ev("response.completed", `"response":`+respObj("completed", item, fmt.Sprintf(
		`{"input_tokens":19,"input_tokens_details":{"cached_tokens":0},"output_tokens":%d,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":%d}`,
		n, 19+n)))
	return []byte(sb.String()), seq
}

// BenchmarkStreamResponsesParse measures one streaming Responses API call
// through llmeter.Invoke over an in-memory transport (the client side
// only), and reports the cost per streamed event ("chunk"): with 16 tokens
// the per-call overhead (request, Invoke's record) weighs in; with 256 the
// per-event cost of the parser dominates.
func BenchmarkStreamResponsesParse(b *testing.B) {
	for _, n := range []int{16, 256} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			body, events := respBenchStream(n)
			ep := newTestResponsesEndpoint(b, "http://127.0.0.1:1/v1", true, false, replay.MemClient("text/event-stream", body))
			payload := testResponsesPayload(b)
			ctx := context.Background()
			replay.PerChunk(b, events, func() {
				got := llmeter.Invoke(ctx, ep, payload)
				if got.Error != "" || got.NumTokensOutput == nil || *got.NumTokensOutput != n || len(got.ChunkOffsets) != n {
					b.Fatalf("got error %q, %d chunks, output tokens %v; want none, %d, %d", got.Error,
						len(got.ChunkOffsets), got.NumTokensOutput, n, n)
				}
			})
		})
	}
}

// respBenchDelta is one text delta event's data.
var respBenchDelta = []byte(`{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_67ccfcddc1a08190a28fc7dbb8b9ccb909e4d4aac714747c",` +
	`"output_index":0,"content_index":0,"delta":" tok3","logprobs":[],"obfuscation":"kP3x9q"}`)

// BenchmarkResponsesEventFast is the per-event cost of the fast path on a
// text delta.
func BenchmarkResponsesEventFast(b *testing.B) {
	var f fastEvent
	b.ReportAllocs()
	b.SetBytes(int64(len(respBenchDelta)))
	for b.Loop() {
		if !f.decode(respBenchDelta) || string(f.delta) != " tok3" {
			b.Fatal("not decoded")
		}
	}
}

// BenchmarkResponsesEventJSON is the same through encoding/json, for
// comparison.
func BenchmarkResponsesEventJSON(b *testing.B) {
	var e respEvent
	b.ReportAllocs()
	b.SetBytes(int64(len(respBenchDelta)))
	for b.Loop() {
		e = respEvent{Response: e.Response[:0], Code: e.Code[:0], Message: e.Message[:0], Error: e.Error[:0]}
		if err := json.Unmarshal(respBenchDelta, &e); err != nil || e.Delta != " tok3" {
			b.Fatal(err)
		}
	}
}
