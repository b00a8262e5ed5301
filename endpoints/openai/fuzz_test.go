package openai

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

// FuzzStreamParse feeds arbitrary bytes as the SSE body of a streaming
// response through llmeter.Invoke (over an in-memory transport) and checks
// the response's invariants. llmeter.Invoke turns a panic into an error of
// class "other", which no parse path produces otherwise.
func FuzzStreamParse(f *testing.F) {
	for _, file := range replay.Files(f, "stream_*.txt") {
		f.Add(file.Data)
	}
	f.Add([]byte("data: [DONE]"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"error\":null,\"choices\":null,\"usage\":{}}\n\ndata:[DONE]\n\n"))
	f.Add([]byte("\xef\xbb\xbfdata: 1\r\r"))
	f.Add([]byte("event: error\ndata: {\"message\":\"boom\"}\n\n"))

	payload := llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}}}

	f.Fuzz(func(t *testing.T, body []byte) {
		// Each call gets its own transport: the fuzzer runs in parallel.
		ep, err := NewChatEndpoint(ChatConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1/v1", Stream: true,
			HTTPClient: replay.MemClient("text/event-stream", body)})
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, payload)

		replay.CheckInvariants(t, got, "openai: ", true)
		if got.Error == "" && !bytes.Contains(body, []byte("[DONE]")) {
			t.Errorf("no error for a body without [DONE]")
		}
		if hasText := got.ResponseText != nil; hasText != (got.TimeToFirstToken != nil) {
			t.Errorf("text set %v, TTFT set %v: want both or none", hasText, got.TimeToFirstToken != nil)
		}
		if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken {
			t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
		}
	})
}

// FuzzCompletionParse does the same for non-streaming JSON bodies.
func FuzzCompletionParse(f *testing.F) {
	replay.FuzzBody(f, "*.json", []string{
		`{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"text":"b"}]}}]}`,
		`{"choices":[{"message":{"content":7}}]}`,
	}, "openai: ", llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}}},
		func(c *http.Client) (llmeter.Endpoint, error) {
			return NewChatEndpoint(ChatConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1/v1", HTTPClient: c})
		})
}

// checkFastChunk decodes data with the fast path and, when it accepts it,
// with encoding/json, and reports any difference.
func checkFastChunk(t *testing.T, data []byte) (handled bool) {
	t.Helper()
	var f fastChunk
	if !f.decode(data) {
		return false
	}
	var c chunkWithID
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json: %v", data, err)
	}
	if c.ID != string(f.id) {
		t.Errorf("%q: id: got %q, want %q", data, f.id, c.ID)
	}
	if c.Choices[0].Index != f.index {
		t.Errorf("%q: index: got %d, want %d", data, f.index, c.Choices[0].Index)
	}
	if c.Choices[0].Delta.Content != string(f.content) {
		t.Errorf("%q: content: got %q, want %q", data, f.content, c.Choices[0].Delta.Content)
	}
	if c.Usage != nil || httpep.HasValue(c.Error) {
		t.Errorf("%q: fast path accepted a chunk with usage %v or error %s", data, c.Usage, c.Error)
	}
	return true
}

// fastChunkSeeds are chunks meant to trip the fast path.
var fastChunkSeeds = []string{
	`{"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}`,
	`{"choices":[{"delta":{"content":"line\nbreak \"quoted\" \\ \/ \b\f\r\t"}}]}`,
	`{"choices":[{"delta":{"content":"\u00e9\u4e2d\ud83d\ude00 \ud83d \ude00x \ud83d\u0041 \ud83d\n"}}]}`,
	`{"choices":[{"delta":{"content":"raw é 中 😀"}}]}`,
	"{\"choices\":[{\"delta\":{\"content\":\"bad \xff utf8 \xe4\xb8\"}}]}",
	`{"ID":"a","choices":[]}`, `{"id":"a","Choices":[{"delta":{"content":"x"}}]}`,
	`{"choices":[{"Delta":{"content":"x"}}]}`, `{"choices":[{"delta":{"CONTENT":"x"}}]}`,
	`{"choices":[{"delta":{"content":"a","content":"b"}}]}`, `{"id":"a","id":"b"}`,
	`{"choices":[{"delta":{"content":"a"}}],"choices":[{"index":1}]}`,
	`{"\u0069d":"a"}`, "{\"\u212aey\":1,\"choices\":[{\"delta\":{\"content\":\"k\"}}]}",
	`{"choices":[{"index":1,"delta":{"content":"one"}},{"index":0,"delta":{"content":"zero"}}]}`,
	`{"choices":[{"index":-0,"delta":{}}]}`, `{"choices":[{"index":1.0}]}`, `{"choices":[{"index":1e0}]}`,
	`{"choices":[{"index":12345678901234567890}]}`, `{"choices":[{"index":"0"}]}`,
	`{"choices":[null,{"delta":{"content":"x"}}]}`, `{"choices":null,"usage":null,"error":null,"id":null}`,
	`{"choices":[{"delta":null,"index":null}]}`, `{"choices":[{"delta":{"content":null}}]}`,
	`{"choices":[{"delta":{"content":5}}]}`, `{"choices":[{"delta":"x"}]}`, `{"choices":{"0":1}}`,
	`{"choices":[[1,2]]}`, `{"usage":{"prompt_tokens":1}}`, `{"error":{"message":"m"}}`, `{"error":"m"}`,
	` { "id" : "s" , "choices" : [ { "delta" : { "content" : "sp" } , "x" : [ {"a":[1,{"b":"}"}]} ] } ] } `,
	`{"x":{"content":"no"},"y":["choices",{"delta":{"content":"no"}}],"choices":[{"delta":{"content":"yes"}}]}`,
	`{"z":-1.5e+10,"t":true,"f":false,"n":null,"s":"\"}","choices":[]}`,
	`[]`, `null`, `"x"`, `1`, `{}`, `{"id":"a"`, `{"choices":[{"delta":{"content":"x"}}]} x`, ``,
}

func TestFastChunk(t *testing.T) {
	// Every chunk of the testdata streams without usage or error goes
	// through the fast path.
	replay.CheckFastPath(t, fastChunkSeeds, "stream_*.txt", 50, func(data []byte) bool {
		var c chunkWithID
		_ = json.Unmarshal(data, &c)
		return c.Usage != nil || httpep.HasValue(c.Error)
	}, checkFastChunk)
}

// FuzzFastChunk compares the fast chunk decoder with encoding/json.
func FuzzFastChunk(f *testing.F) { replay.FuzzFastPath(f, fastChunkSeeds, checkFastChunk) }
