package anthropic

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

const benchTokens = 16

// benchStream is an n-token stream shaped like Anthropic's: message_start,
// content_block_start, ping, n text_delta events, content_block_stop,
// message_delta with usage and message_stop.
func benchStream(n int) [][]byte {
	evs := [][]byte{
		[]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5-20250929\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":19,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n"),
		[]byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"),
		[]byte("event: ping\ndata: {\"type\": \"ping\"}\n\n"),
	}
	for i := range n {
		evs = append(evs, fmt.Appendf(nil, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" tok%d\"}}\n\n", i))
	}
	evs = append(evs,
		[]byte("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"),
		fmt.Appendf(nil, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":%d}}\n\n", n),
		[]byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	return evs
}

func checkBench(b *testing.B, got *llmeter.InvocationResponse, n int) {
	if got.Error != "" || got.NumTokensOutput == nil || *got.NumTokensOutput != n || len(got.ChunkOffsets) != n {
		b.Fatalf("got error %q, %d chunks, output tokens %v; want none, %d, %d", got.Error, len(got.ChunkOffsets),
			got.NumTokensOutput, n, n)
	}
}

// BenchmarkStreamInvoke measures one 16-token streaming call through
// llmeter.Invoke against an in-process httptest server that flushes every
// event. Allocations include the server's.
func BenchmarkStreamInvoke(b *testing.B) {
	srv := replay.EventServer(b, benchStream(benchTokens))
	ep := newTestEndpoint(b, srv.URL, true, NewHTTPClient(1))
	payload := testPayload(b)
	ctx := context.Background()
	replay.PerChunk(b, benchTokens, func() { checkBench(b, llmeter.Invoke(ctx, ep, payload), benchTokens) })
}

// BenchmarkStreamParse is BenchmarkStreamInvoke over an in-memory transport:
// the client side only, for 16- and 256-token streams.
func BenchmarkStreamParse(b *testing.B) {
	for _, n := range []int{benchTokens, 256} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			var body strings.Builder
			for _, ev := range benchStream(n) {
				body.Write(ev)
			}
			ep := newTestEndpoint(b, "http://127.0.0.1:1", true, replay.MemClient("text/event-stream", []byte(body.String())))
			payload := testPayload(b)
			ctx := context.Background()
			replay.PerChunk(b, n, func() { checkBench(b, llmeter.Invoke(ctx, ep, payload), n) })
		})
	}
}

// benchDelta is the data of one text_delta event.
func benchDelta() []byte {
	ev := benchStream(benchTokens)[5]
	i := strings.Index(string(ev), "data: ")
	return ev[i+len("data: ") : len(ev)-2]
}

// BenchmarkEventDecode is the per-event cost of decoding a text_delta with
// encoding/json.
func BenchmarkEventDecode(b *testing.B) {
	data := benchDelta()
	var e streamEvent
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e = streamEvent{Error: e.Error[:0]}
		if err := json.Unmarshal(data, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventFast is BenchmarkEventDecode through the fast path.
func BenchmarkEventFast(b *testing.B) {
	data := benchDelta()
	var f fastEvent
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if !f.decode(data) || string(f.deltaType) != "text_delta" {
			b.Fatal("not decoded")
		}
	}
}
