package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/internal/replay"
)

// FuzzResponsesStreamParse feeds arbitrary bytes as the SSE body of a
// streaming Responses API call through llmeter.Invoke (over an in-memory
// transport), with reasoning counting for the time to first token or not,
// and checks the response's invariants. llmeter.Invoke turns a panic into an
// error of class "other", which no parse path produces otherwise.
func FuzzResponsesStreamParse(f *testing.F) {
	for _, file := range replay.Files(f, "responses_stream_*.txt") {
		f.Add(file.Data, false)
		f.Add(file.Data, true)
	}
	f.Add([]byte("data: {\"type\":\"response.completed\"}"), false)
	f.Add([]byte("event: response.completed\ndata: {}\n\n"), false)
	f.Add([]byte("data: {\"type\":\"response.output_text.delta\",\"delta\":\"x\",\"error\":{\"message\":\"m\"}}\n\n"), false)
	f.Add([]byte("data: {\"type\":\"response.reasoning_text.delta\"}\n\ndata: {\"type\":\"response.failed\",\"response\":null}\n\n"), true)
	f.Add([]byte("data: {\"type\":\"error\"}\n\n"), false)
	f.Add([]byte("\xef\xbb\xbfdata: [DONE]\r\r"), false)

	payload := llmeter.Payload{"input": "hi"}
	f.Fuzz(func(t *testing.T, body []byte, reasoningTTFT bool) {
		ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1/v1", Stream: true,
			ReasoningCountsForTTFT: reasoningTTFT,
			HTTPClient:             replay.MemClient("text/event-stream", body)})
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, payload)

		replay.CheckInvariants(t, got, "openai: ", true)
		if got.Error == "" && !bytes.Contains(body, []byte("response.completed")) && !bytes.Contains(body, []byte("response.incomplete")) &&
			!bytes.Contains(body, []byte(`\u`)) {
			t.Errorf("no error for a body without a terminal event")
		}
		hasText := got.ResponseText != nil
		if hasText && got.TimeToFirstToken == nil {
			t.Errorf("text set, TTFT not set: want TTFT with text")
		}
		if !reasoningTTFT && (got.TimeToFirstToken != nil) != hasText {
			t.Errorf("visible tokens only: TTFT set %v, text set %v", got.TimeToFirstToken != nil, hasText)
		}
		if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken &&
			hasText {
			t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
		}
	})
}

// FuzzResponsesParse does the same for non-streaming JSON bodies.
func FuzzResponsesParse(f *testing.F) {
	for _, file := range replay.Files(f, "responses_*.json") {
		f.Add(file.Data)
	}
	f.Add([]byte(`{"status":"failed"}`))
	f.Add([]byte(`{"status":"f\u0061iled","error":"x"}`))
	f.Add([]byte(`{"output":[{"type":"message","content":[{"type":"output_text","text":null}]}],"output_text":"y"}`))
	f.Add([]byte(`{"error":{"code":1}}`))
	payload := llmeter.Payload{"input": "hi"}
	f.Fuzz(func(t *testing.T, body []byte) {
		ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1/v1",
			HTTPClient: replay.MemClient("application/json", body)})
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, payload)
		replay.CheckInvariants(t, got, "openai: ", false)
		var status struct {
			Status string `json:"status"`
		}
		failed := json.Unmarshal(body, &status) == nil && status.Status == "failed"
		if (got.TimeToLastToken == nil) != failed {
			t.Errorf("TimeToLastToken set %v for status %q: want set unless failed", got.TimeToLastToken != nil, status.Status)
		}
		if failed && got.ErrorClass != llmeter.ErrorClassAPI {
			t.Errorf("failed status: error %q (class %q), want class api", got.Error, got.ErrorClass)
		}
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
	var e respEvent
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json: %v", data, err)
	}
	if e.Type != string(f.typ) {
		t.Errorf("%q: type: got %q, want %q", data, f.typ, e.Type)
	}
	if e.Delta != string(f.delta) {
		t.Errorf("%q: delta: got %q, want %q", data, f.delta, e.Delta)
	}
	if httpep.HasValue(e.Error) {
		t.Errorf("%q: fast path accepted an event with error %s", data, e.Error)
	}
	return true
}

// fastEventSeeds are events meant to trip the fast path.
var fastEventSeeds = []string{
	`{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"x","sequence_number":4}`,
	`{"type":"response.output_text.delta","delta":"line\nbreak \"quoted\" \\ \/ \b\f\r\t","logprobs":[{"token":"x","logprob":-0.1}]}`,
	`{"type":"response.output_text.delta","delta":"\u00e9\u4e2d\ud83d\ude00 \ud83d \ude00x \ud83d\u0041 \ud83d\n"}`,
	"{\"type\":\"response.output_text.delta\",\"delta\":\"bad \xff utf8 \xe4\xb8\"}",
	`{"type":"response.output_text.\u0064elta","delta":"escaped type"}`,
	`{"Type":"response.output_text.delta","delta":"x"}`, `{"type":"response.output_text.delta","DELTA":"x"}`,
	`{"type":"a","type":"b"}`, `{"delta":"a","delta":"b"}`, `{"error":null,"error":null}`,
	`{"\u0074ype":"response.output_text.delta","delta":"x"}`, "{\"\u212aey\":1,\"type\":\"k\"}",
	`{"type":null,"delta":null,"error":null}`, `{"type":5}`, `{"delta":["x"]}`, `{"error":{"message":"m"}}`,
	`{"error":"m"}`, `{"error":false}`, `{"type":"error","code":"c","message":"m"}`,
	`{"type":"response.output_text.delta","delta":"x","response":"","code":[],"message":5}`,
	` { "type" : "response.in_progress" , "response" : { "output" : [ {"a":[1,{"b":"}"}]} ] , "delta":"no" } , "delta" : "sp" } `,
	`{"x":{"type":"no"},"y":["delta",{"delta":"no"}],"type":"t","delta":"yes"}`,
	`{"z":-1.5e+10,"t":true,"f":false,"n":null,"s":"\"}","type":"t"}`,
	`[]`, `null`, `"x"`, `1`, `{}`, `{"type":"a"`, `{"type":"a"} x`, ``,
}

func TestFastEvent(t *testing.T) {
	// Every event of the testdata streams without an error goes through the
	// fast path.
	replay.CheckFastPath(t, fastEventSeeds, "responses_stream_*.txt", 100, func(data []byte) bool {
		var e respEvent
		_ = json.Unmarshal(data, &e)
		return httpep.HasValue(e.Error)
	}, checkFastEvent)
}

// FuzzFastEvent compares the fast event decoder with encoding/json.
func FuzzFastEvent(f *testing.F) { replay.FuzzFastPath(f, fastEventSeeds, checkFastEvent) }
