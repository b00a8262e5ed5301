package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
)

func addTestdataSeeds(f *testing.F, pattern string, add func([]byte)) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	if len(files) == 0 {
		f.Fatalf("no testdata matches %s", pattern)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzResponsesStreamParse feeds arbitrary bytes as the SSE body of a
// streaming Responses API call through llmeter.Invoke (over an in-memory
// transport), with reasoning counting for the time to first token or not,
// and checks the response's invariants. llmeter.Invoke turns a panic into an
// error of class "other", which no parse path produces otherwise.
func FuzzResponsesStreamParse(f *testing.F) {
	addTestdataSeeds(f, "responses_stream_*.txt", func(b []byte) { f.Add(b, false); f.Add(b, true) })
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
			HTTPClient:             &http.Client{Transport: &memTransport{status: http.StatusOK, contentType: "text/event-stream", body: body}}})
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, payload)

		if got.ErrorClass == llmeter.ErrorClassOther {
			t.Fatalf("unexpected error class %q: %s", got.ErrorClass, got.Error)
		}
		if got.Error == "" && !bytes.Contains(body, []byte("response.completed")) && !bytes.Contains(body, []byte("response.incomplete")) &&
			!bytes.Contains(body, []byte(`\u`)) {
			t.Errorf("no error for a body without a terminal event")
		}
		if got.Error == "" && got.TimeToLastToken == nil {
			t.Errorf("TimeToLastToken: got nil on success, want set")
		}
		hasText := got.ResponseText != nil
		if hasText != (len(got.ChunkOffsets) > 0) || (hasText && got.TimeToFirstToken == nil) {
			t.Errorf("text set %v, TTFT set %v, %d chunks: want text iff chunks, and TTFT with text", hasText,
				got.TimeToFirstToken != nil, len(got.ChunkOffsets))
		}
		if !reasoningTTFT && (got.TimeToFirstToken != nil) != hasText {
			t.Errorf("visible tokens only: TTFT set %v, text set %v", got.TimeToFirstToken != nil, hasText)
		}
		if hasText && *got.ResponseText == "" {
			t.Errorf("ResponseText: got empty, want nil or text")
		}
		if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken &&
			hasText {
			t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
		}
		if got.ID == "" {
			t.Errorf("ID: got empty")
		}
		if got.Error != "" && !strings.HasPrefix(got.Error, "openai: ") && !strings.HasPrefix(got.Error, "protocol error: ") &&
			got.ErrorClass != llmeter.ErrorClassAPI {
			t.Errorf("Error %q (class %q): want an openai: or protocol error: prefix", got.Error, got.ErrorClass)
		}
	})
}

// FuzzResponsesParse does the same for non-streaming JSON bodies.
func FuzzResponsesParse(f *testing.F) {
	addTestdataSeeds(f, "responses_*.json", func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"status":"failed"}`))
	f.Add([]byte(`{"status":"f\u0061iled","error":"x"}`))
	f.Add([]byte(`{"output":[{"type":"message","content":[{"type":"output_text","text":null}]}],"output_text":"y"}`))
	f.Add([]byte(`{"error":{"code":1}}`))
	payload := llmeter.Payload{"input": "hi"}
	f.Fuzz(func(t *testing.T, body []byte) {
		ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1/v1",
			HTTPClient: &http.Client{Transport: &memTransport{status: http.StatusOK, contentType: "application/json", body: body}}})
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, payload)
		if got.ErrorClass == llmeter.ErrorClassOther {
			t.Fatalf("unexpected error class %q: %s", got.ErrorClass, got.Error)
		}
		if got.TimeToFirstToken != nil {
			t.Errorf("TimeToFirstToken: got %v, want nil", *got.TimeToFirstToken)
		}
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
	for _, s := range fastEventSeeds {
		checkFastEvent(t, []byte(s))
	}
	// Every event of the testdata streams without an error goes through the
	// fast path.
	files, _ := filepath.Glob(filepath.Join("testdata", "responses_stream_*.txt"))
	n := 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r", ""), "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok || !json.Valid([]byte(data)) {
				continue
			}
			var e respEvent
			_ = json.Unmarshal([]byte(data), &e)
			if httpep.HasValue(e.Error) {
				continue
			}
			if !checkFastEvent(t, []byte(data)) {
				t.Errorf("%s: fast path declined %s", name, data)
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("fast path checked on %d testdata events, want at least 100", n)
	}
}

// FuzzFastEvent compares the fast event decoder with encoding/json.
func FuzzFastEvent(f *testing.F) {
	for _, s := range fastEventSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastEvent(t, data)
	})
}
