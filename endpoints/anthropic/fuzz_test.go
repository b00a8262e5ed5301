package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/internal/replay"
)

// FuzzStream feeds arbitrary bytes as the SSE body of a streaming response
// through llmeter.Invoke (over an in-memory transport), with thinking
// counting for the time to first token or not, and checks the response's
// invariants. llmeter.Invoke turns a panic into an error of class "other",
// which no parse path produces otherwise.
func FuzzStream(f *testing.F) {
	for _, file := range replay.Files(f, "stream_*.txt") {
		f.Add(file.Data, false)
		f.Add(file.Data, true)
	}
	f.Add([]byte("event: message_stop\ndata: {}\n\n"), false)
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\ndata: {\"type\":\"message_stop\"}\n\n"), false)
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"t\"}}\n\nevent: message_stop\ndata:\n\n"), true)
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"error\":\"boom\"}\n\n"), false)
	f.Add([]byte("event: error\ndata: not json\n\n"), false)
	f.Add([]byte("data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":null,\"input_tokens\":3}}\n\n"), false)
	f.Add([]byte("\xef\xbb\xbfevent: ping\r\rdata: 1\r\r"), false)

	payload := llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": 8}

	f.Fuzz(func(t *testing.T, body []byte, reasoning bool) {
		// Each call gets its own transport: the fuzzer runs in parallel.
		ep, err := NewMessagesEndpoint(Config{ModelID: testModel, BaseURL: "http://127.0.0.1:1", Stream: true,
			ReasoningCountsForTTFT: reasoning,
			HTTPClient:             replay.MemClient("text/event-stream", body)})
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, payload)

		replay.CheckInvariants(t, got, "anthropic: ", true)
		if got.Error == "" && !bytes.Contains(body, []byte("message_stop")) {
			t.Errorf("no error for a body without message_stop")
		}
		hasText := got.ResponseText != nil
		if hasText && got.TimeToFirstToken == nil {
			t.Errorf("text without a time to first token")
		}
		if !reasoning && (got.TimeToFirstToken != nil) != hasText {
			t.Errorf("visible tokens only: TTFT set %v, text set %v: want both or none", got.TimeToFirstToken != nil, hasText)
		}
		if n := len(got.ChunkOffsets); n > 0 && got.TimeToFirstToken != nil && *got.TimeToFirstToken > got.ChunkOffsets[0].Seconds() {
			t.Errorf("TTFT %v after the first text chunk %v", *got.TimeToFirstToken, got.ChunkOffsets[0].Seconds())
		}
		if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken &&
			len(got.ChunkOffsets) > 0 {
			t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
		}
		if got.NumTokensOutputReasoning != nil {
			t.Errorf("NumTokensOutputReasoning: got %d, want nil", *got.NumTokensOutputReasoning)
		}
	})
}

// FuzzMessage does the same for non-streaming JSON bodies.
func FuzzMessage(f *testing.F) {
	replay.FuzzBody(f, "*.json", []string{
		`{"type":"message","content":[{"type":"text","text":"a"},{"type":"text"},{"type":"text","text":null}]}`,
		`{"content":7}`,
		`{"type":"error"}`,
	}, "anthropic: ", llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": 8},
		func(c *http.Client) (llmeter.Endpoint, error) {
			return NewMessagesEndpoint(Config{ModelID: testModel, BaseURL: "http://127.0.0.1:1", HTTPClient: c})
		})
}

// checkFastEvent decodes data with the fast path and, when it accepts it,
// with encoding/json, and reports any difference.
func checkFastEvent(t *testing.T, data []byte) (handled bool) {
	t.Helper()
	var f fastEvent
	if !f.decode(data) {
		return false
	}
	var e streamEvent
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json: %v", data, err)
	}
	if e.Type != string(f.typ) {
		t.Errorf("%q: type: got %q, want %q", data, f.typ, e.Type)
	}
	if e.Delta.Type != string(f.deltaType) {
		t.Errorf("%q: delta.type: got %q, want %q", data, f.deltaType, e.Delta.Type)
	}
	if e.Delta.Text != string(f.text) {
		t.Errorf("%q: delta.text: got %q, want %q", data, f.text, e.Delta.Text)
	}
	if e.Message != nil || e.Usage != nil || httpep.HasValue(e.Error) {
		t.Errorf("%q: fast path accepted an event with message %v, usage %v or error %s", data, e.Message, e.Usage, e.Error)
	}
	return true
}

// fastEventSeeds are events meant to trip the fast path.
var fastEventSeeds = []string{
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`,
	`{"type":"content_block_delta","delta":{"type":"text_delta","text":"line\nbreak \"quoted\" \\ \/ \b\f\r\t"}}`,
	`{"type":"content_block_delta","delta":{"text":"\u00e9\u4e2d\ud83d\ude00 \ud83d \ude00x \ud83d\u0041 \ud83d\n"}}`,
	`{"type":"content_block_delta","delta":{"type":"text_delta","text":"raw é 中 😀"}}`,
	"{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"bad \xff utf8 \xe4\xb8\"}}",
	`{"type":"content_block_delta","delta":{"type":"thinking_delta","thinking":"hmm"}}`,
	`{"type":"content_block_delta","delta":{"type":"signature_delta","signature":"EqQB"}}`,
	`{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`,
	`{"Type":"ping"}`, `{"type":"a","TYPE":"b"}`, `{"type":"a","type":"b"}`, `{"delta":{"Text":"x"}}`,
	`{"delta":{"text":"a","text":"b"}}`, `{"delta":{"type":"a","type":"b"}}`, `{"delta":{},"delta":{}}`,
	`{"\u0074ype":"x"}`, "{\"\u212aey\":1,\"type\":\"k\"}", "{\"mesſage\":{}}", "{\"uſage\":null,\"type\":\"s\"}",
	`{"type":null,"delta":null,"message":null,"usage":null,"error":null}`, `{"delta":{"type":null,"text":null}}`,
	`{"type":5}`, `{"delta":{"text":5}}`, `{"delta":"x"}`, `{"delta":[1]}`, `{"message":{"id":"m"}}`,
	`{"usage":{"output_tokens":1}}`, `{"error":{"type":"overloaded_error","message":"Overloaded"}}`, `{"error":"m"}`,
	` { "type" : "content_block_delta" , "index" : 1 , "delta" : { "type" : "text_delta" , "text" : "sp" , "x" : [ {"a":[1,{"b":"}"}]} ] } } `,
	`{"x":{"text":"no"},"y":["delta",{"text":"no"}],"delta":{"text":"yes"}}`,
	`{"z":-1.5e+10,"t":true,"f":false,"n":null,"s":"\"}","type":"ping"}`,
	`[]`, `null`, `"x"`, `1`, `{}`, `{"type":"a"`, `{"type":"a"} x`, ``,
}

func TestFastEvent(t *testing.T) {
	// Every event of the testdata streams without a message, usage or error
	// goes through the fast path.
	replay.CheckFastPath(t, fastEventSeeds, "stream_*.txt", 50, func(data []byte) bool {
		var e streamEvent
		_ = json.Unmarshal(data, &e)
		return e.Message != nil || e.Usage != nil || httpep.HasValue(e.Error)
	}, checkFastEvent)
}

// FuzzFastEvent compares the fast event decoder with encoding/json.
func FuzzFastEvent(f *testing.F) { replay.FuzzFastPath(f, fastEventSeeds, checkFastEvent) }
