package openai

// The testdata transcripts responses_*.txt and responses_*.json follow the
// examples of OpenAI's API reference for the Responses API: the response
// object (https://platform.openai.com/docs/api-reference/responses/object)
// and the streaming events
// (https://platform.openai.com/docs/api-reference/responses-streaming:
// response.created, response.output_text.delta with item_id, output_index,
// content_index, delta, logprobs, obfuscation and sequence_number,
// response.completed, response.incomplete, response.failed, error,
// response.reasoning_summary_text.delta, response.reasoning_text.delta), as
// described in https://developers.openai.com/docs/guides/streaming-responses.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
)

func newTestResponsesEndpoint(tb testing.TB, baseURL string, stream, reasoningTTFT bool, client *http.Client) *ResponsesEndpoint {
	tb.Helper()
	ep, err := NewResponsesEndpoint(ResponsesConfig{
		ModelID:                testModel,
		BaseURL:                baseURL,
		APIKey:                 testKey,
		Headers:                map[string]string{"X-Test-Header": "test-value"},
		Stream:                 stream,
		ReasoningCountsForTTFT: reasoningTTFT,
		HTTPClient:             client,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

func testResponsesPayload(tb testing.TB) llmeter.Payload {
	tb.Helper()
	p, err := CreateResponsesPayload([]string{testPrompt}, 64, "", map[string]any{
		"temperature": json.Number("0.7"),
		"metadata":    map[string]any{"run": "t1", "tags": []any{"a", "b"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// respExpect is the InvocationResponse a Responses API case must produce.
type respExpect struct {
	text                       *string // nil: no text
	id                         string  // "": a generated UUID
	in, out, cached, reasoning *int
	chunks                     int // visible text chunks
	// ttft: "text" (the first text chunk's time), "early" (before it: a
	// reasoning event), "" (not set).
	ttft string
	// ttlt: "last" (the last text chunk's time), "after" (later than it),
	// "set", "" (not set).
	ttlt   string
	errSub []string
	class  string
}

const respNormalID = "resp_67ccfcdd16748190a91872c75d38539e09e4d4aac714747c"

func TestResponsesInvoke(t *testing.T) {
	tests := []struct {
		name          string
		stream        bool
		reasoningTTFT bool
		serve         replay
		want          respExpect
	}{
		// Streaming.
		{name: "stream normal", stream: true, serve: replay{file: "responses_stream_normal.txt"},
			want: respExpect{text: sp(normalText), id: respNormalID, in: ip(19), out: ip(9), cached: ip(0), reasoning: ip(0),
				chunks: 9, ttft: "text", ttlt: "last"}},
		{name: "stream slow first token", stream: true, serve: replay{file: "responses_stream_normal.txt", slowEvent: 4},
			want: respExpect{text: sp(normalText), id: respNormalID, in: ip(19), out: ip(9), cached: ip(0), reasoning: ip(0),
				chunks: 9, ttft: "text", ttlt: "last"}},
		{name: "stream reasoning summary, visible tokens only", stream: true,
			serve: replay{file: "responses_stream_reasoning.txt", slowEvent: 12},
			want: respExpect{text: sp("Four."), id: respNormalID, in: ip(2048), out: ip(322), cached: ip(1920),
				reasoning: ip(320), chunks: 2, ttft: "text", ttlt: "last"}},
		{name: "stream reasoning summary counts for TTFT", stream: true, reasoningTTFT: true,
			serve: replay{file: "responses_stream_reasoning.txt", slowEvent: 12},
			want: respExpect{text: sp("Four."), id: respNormalID, in: ip(2048), out: ip(322), cached: ip(1920),
				reasoning: ip(320), chunks: 2, ttft: "early", ttlt: "last"}},
		{name: "stream reasoning text, visible tokens only", stream: true,
			serve: replay{file: "responses_stream_reasoning_text.txt", slowEvent: 11},
			want: respExpect{text: sp("Yes."), id: "resp_9f2c4a1b7e5d4c3a8b6f0e1d2c3b4a59", in: ip(30), out: ip(12),
				cached: ip(0), reasoning: ip(8), chunks: 2, ttft: "text", ttlt: "last"}},
		{name: "stream reasoning text counts for TTFT", stream: true, reasoningTTFT: true,
			serve: replay{file: "responses_stream_reasoning_text.txt", slowEvent: 11},
			want: respExpect{text: sp("Yes."), id: "resp_9f2c4a1b7e5d4c3a8b6f0e1d2c3b4a59", in: ip(30), out: ip(12),
				cached: ip(0), reasoning: ip(8), chunks: 2, ttft: "early", ttlt: "last"}},
		{name: "stream incomplete (max_output_tokens)", stream: true, serve: replay{file: "responses_stream_incomplete.txt"},
			want: respExpect{text: sp("The history of Go begins in 2007"), id: respNormalID, in: ip(12), out: ip(7),
				cached: ip(0), reasoning: ip(0), chunks: 7, ttft: "text", ttlt: "last"}},
		{name: "stream zero usage, no text", stream: true, serve: replay{file: "responses_stream_zero_usage.txt"},
			want: respExpect{id: respNormalID, in: ip(0), out: ip(0), cached: ip(0), reasoning: ip(0), ttlt: "set"}},
		{name: "stream compatible server", stream: true, serve: replay{file: "responses_stream_compat.txt"},
			want: respExpect{text: sp("café \"olé\"\n😀 done"), id: "resp_compat_01", in: ip(5), out: ip(6),
				chunks: 2, ttft: "text", ttlt: "last"}},

		// Streaming failures.
		{name: "stream response.failed", stream: true, serve: replay{file: "responses_stream_failed.txt"},
			want: respExpect{text: sp("Partial answer"), id: respNormalID, chunks: 2, ttft: "text", ttlt: "after",
				errSub: []string{"server_error: The model failed to generate a response."}, class: llmeter.ErrorClassAPI}},
		{name: "stream error event", stream: true, serve: replay{file: "responses_stream_error_event.txt"},
			want: respExpect{text: sp("Partial"), id: respNormalID, chunks: 1, ttft: "text", ttlt: "last",
				errSub: []string{"ERR_SOMETHING: Something went wrong"}, class: llmeter.ErrorClassAPI}},
		{name: "stream error event with error object", stream: true, serve: replay{file: "responses_stream_error_nested.txt"},
			want: respExpect{id: respNormalID, errSub: []string{"context_length_exceeded: Your input exceeds the context window"},
				class: llmeter.ErrorClassAPI}},
		{name: "stream connection dropped", stream: true, serve: replay{file: "responses_stream_dropped.txt", drop: true},
			want: respExpect{text: sp("Hello! How can"), id: respNormalID, chunks: 4, ttft: "text", ttlt: "last",
				errSub: []string{"openai: ", "unexpected EOF"}, class: llmeter.ErrorClassConnection}},
		{name: "stream without terminal event", stream: true, serve: replay{file: "responses_stream_no_terminal.txt"},
			want: respExpect{text: sp(normalText), id: respNormalID, chunks: 9, ttft: "text", ttlt: "last",
				errSub: []string{llmeter.ErrIncompleteStream.Error(), "response.completed"}, class: llmeter.ErrorClassProtocol}},
		{name: "stream [DONE] without terminal event", stream: true, serve: replay{file: "responses_stream_done_only.txt"},
			want: respExpect{text: sp("Hi"), id: respNormalID, chunks: 1, ttft: "text", ttlt: "last",
				errSub: []string{llmeter.ErrIncompleteStream.Error()}, class: llmeter.ErrorClassProtocol}},
		{name: "stream malformed event", stream: true, serve: replay{file: "responses_stream_malformed.txt"},
			want: respExpect{text: sp("Good"), id: respNormalID, chunks: 1, ttft: "text", ttlt: "last",
				errSub: []string{"malformed event"}, class: llmeter.ErrorClassProtocol}},
		{name: "stream HTTP 429", stream: true, serve: replay{file: "error_429.json", status: 429},
			want: respExpect{errSub: []string{"HTTP 429: Rate limit reached for gpt-4o-mini in organization org-123"},
				class: llmeter.ErrorClassHTTP429}},
		{name: "stream HTTP 500", stream: true, serve: replay{file: "error_500.json", status: 500},
			want: respExpect{errSub: []string{"HTTP 500: The server had an error while processing your request."},
				class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream answered with JSON", stream: true, serve: replay{file: "responses_nonstream.json"},
			want: respExpect{text: sp("Hello! How can I assist you today?"), id: "resp_6820f382ee1c8191bc096bee70894d040ac5ba57aafcbac7",
				in: ip(2006), out: ip(300), cached: ip(1920), reasoning: ip(256),
				errSub: []string{"did not stream"}, class: llmeter.ErrorClassProtocol}},

		// Non-streaming.
		{name: "non-stream cached and reasoning details", serve: replay{file: "responses_nonstream.json"},
			want: respExpect{text: sp("Hello! How can I assist you today?"), id: "resp_6820f382ee1c8191bc096bee70894d040ac5ba57aafcbac7",
				in: ip(2006), out: ip(300), cached: ip(1920), reasoning: ip(256), ttlt: "set"}},
		{name: "non-stream several output items", serve: replay{file: "responses_nonstream_multi.json"},
			want: respExpect{text: sp("Part one. Part two."), id: respNormalID, in: ip(40), out: ip(20), cached: ip(0),
				reasoning: ip(0), ttlt: "set"}},
		{name: "non-stream incomplete", serve: replay{file: "responses_nonstream_incomplete.json"},
			want: respExpect{text: sp("The history of Go begins in 2007"), id: respNormalID, in: ip(12), out: ip(7),
				cached: ip(0), reasoning: ip(0), ttlt: "set"}},
		{name: "non-stream zero usage, no output", serve: replay{file: "responses_nonstream_zero.json"},
			want: respExpect{id: respNormalID, in: ip(0), out: ip(0), cached: ip(0), reasoning: ip(0), ttlt: "set"}},
		{name: "non-stream output_text field", serve: replay{file: "responses_nonstream_output_text.json"},
			want: respExpect{text: sp("From the convenience field."), id: "resp_compat_02", in: ip(3), out: ip(4), ttlt: "set"}},
		{name: "non-stream text mentions failed", serve: replay{file: "responses_nonstream_text_says_failed.json"},
			want: respExpect{text: sp("The build failed because of a missing import."), id: respNormalID, in: ip(9), out: ip(9),
				cached: ip(0), reasoning: ip(0), ttlt: "set"}},
		{name: "non-stream failed", serve: replay{file: "responses_nonstream_failed.json"},
			want: respExpect{id: respNormalID, errSub: []string{"server_error: The model failed to generate a response."},
				class: llmeter.ErrorClassAPI}},
		{name: "non-stream failed without error object", serve: replay{file: "responses_nonstream_failed_no_error.json"},
			want: respExpect{id: respNormalID, errSub: []string{"Response API request failed"}, class: llmeter.ErrorClassAPI}},
		{name: "non-stream failed, escaped status", serve: replay{file: "responses_nonstream_failed_escaped.json"},
			want: respExpect{id: respNormalID, errSub: []string{"Escaped failure."}, class: llmeter.ErrorClassAPI}},
		{name: "non-stream error object in 200", serve: replay{file: "nonstream_error_200.json"},
			want: respExpect{ttlt: "set", errSub: []string{"The model produced invalid content."}, class: llmeter.ErrorClassAPI}},
		{name: "non-stream HTTP 429", serve: replay{file: "error_429.json", status: 429},
			want: respExpect{errSub: []string{"HTTP 429: Rate limit reached"}, class: llmeter.ErrorClassHTTP429}},
		{name: "non-stream HTTP 500", serve: replay{file: "error_500.json", status: 500},
			want: respExpect{errSub: []string{"HTTP 500: The server had an error"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "non-stream malformed JSON", serve: replay{file: "responses_stream_normal.txt", contentType: "application/json"},
			want: respExpect{ttlt: "set", errSub: []string{"malformed response"}, class: llmeter.ErrorClassProtocol}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(*http.Request) replay { return tc.serve })
			ep := newTestResponsesEndpoint(t, srv.URL+"/v1", tc.stream, tc.reasoningTTFT, NewHTTPClient(1))
			payload := testResponsesPayload(t)
			snapshot := llmeter.CopyPayload(payload)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			got := llmeter.Invoke(ctx, ep, payload)

			checkRespResult(t, got, tc.want)
			if !reflect.DeepEqual(payload, snapshot) {
				t.Errorf("caller's payload modified: got %v, want %v", payload, snapshot)
			}
			want := llmeter.CopyPayload(snapshot)
			want["model"], want["stream"] = testModel, tc.stream
			if !reflect.DeepEqual(got.InputPayload, want) {
				t.Errorf("InputPayload: got %v, want %v", got.InputPayload, want)
			}
			if got.InputPrompt != testPrompt {
				t.Errorf("InputPrompt: got %#v, want %q", got.InputPrompt, testPrompt)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			checkRespRequest(t, reqs[0], snapshot, tc.stream)
		})
	}
}

// checkRespResult compares an InvocationResponse with want.
func checkRespResult(t *testing.T, got *llmeter.InvocationResponse, want respExpect) {
	t.Helper()
	switch {
	case want.text == nil && got.ResponseText != nil:
		t.Errorf("ResponseText: got %q, want nil", *got.ResponseText)
	case want.text != nil && got.ResponseText == nil:
		t.Errorf("ResponseText: got nil, want %q", *want.text)
	case want.text != nil && *got.ResponseText != *want.text:
		t.Errorf("ResponseText: got %q, want %q", *got.ResponseText, *want.text)
	}
	if want.id == "" {
		if !uuidHex.MatchString(got.ID) {
			t.Errorf("ID: got %q, want a generated 32-hex id", got.ID)
		}
	} else if got.ID != want.id {
		t.Errorf("ID: got %q, want %q", got.ID, want.id)
	}
	for _, c := range []struct {
		name      string
		got, want *int
	}{{"NumTokensInput", got.NumTokensInput, want.in}, {"NumTokensOutput", got.NumTokensOutput, want.out},
		{"NumTokensInputCached", got.NumTokensInputCached, want.cached},
		{"NumTokensOutputReasoning", got.NumTokensOutputReasoning, want.reasoning}} {
		if fmtPtr(c.got) != fmtPtr(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, fmtPtr(c.got), fmtPtr(c.want))
		}
	}
	if len(got.ChunkOffsets) != want.chunks {
		t.Errorf("visible chunks: got %d, want %d", len(got.ChunkOffsets), want.chunks)
	}
	var first, last float64 // the first and last text chunks' times
	if n := len(got.ChunkOffsets); n > 0 {
		first, last = got.ChunkOffsets[0].Seconds(), got.ChunkOffsets[n-1].Seconds()
	}
	ttft, ttlt := got.TimeToFirstToken, got.TimeToLastToken
	switch want.ttft {
	case "":
		if ttft != nil {
			t.Errorf("TimeToFirstToken: got %v, want nil", *ttft)
		}
	case "text":
		if ttft == nil || *ttft != first {
			t.Errorf("TimeToFirstToken: got %s, want the first text chunk's time %v", fmtF(ttft), first)
		}
	case "early":
		if ttft == nil || *ttft >= first {
			t.Errorf("TimeToFirstToken: got %s, want before the first text chunk (%v)", fmtF(ttft), first)
		}
	}
	switch want.ttlt {
	case "":
		if ttlt != nil {
			t.Errorf("TimeToLastToken: got %v, want nil", *ttlt)
		}
	case "set":
		if ttlt == nil {
			t.Errorf("TimeToLastToken: got nil, want set")
		}
	case "last":
		if ttlt == nil || *ttlt != last {
			t.Errorf("TimeToLastToken: got %s, want the last text chunk's time %v", fmtF(ttlt), last)
		}
	case "after":
		if ttlt == nil || *ttlt <= last {
			t.Errorf("TimeToLastToken: got %s, want after the last text chunk (%v)", fmtF(ttlt), last)
		}
	}
	if ttft != nil && ttlt != nil && *ttft > *ttlt {
		t.Errorf("TTFT %v > TTLT %v", *ttft, *ttlt)
	}
	if len(want.errSub) == 0 {
		if got.Error != "" || got.ErrorClass != "" {
			t.Errorf("Error: got %q (class %q), want none", got.Error, got.ErrorClass)
		}
	} else {
		for _, sub := range want.errSub {
			if !strings.Contains(got.Error, sub) {
				t.Errorf("Error: got %q, want it to contain %q", got.Error, sub)
			}
		}
		if got.ErrorClass != want.class {
			t.Errorf("ErrorClass: got %q, want %q (error %q)", got.ErrorClass, want.class, got.Error)
		}
	}
	if strings.Contains(got.Error, testKey) {
		t.Errorf("Error %q contains the API key", got.Error)
	}
}

func fmtF(v *float64) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(*v)
}

// checkRespRequest checks what the server received: POST /v1/responses
// with the headers, the user's fields untouched, "model" and "stream"
// injected and nothing else.
func checkRespRequest(t *testing.T, r received, user llmeter.Payload, stream bool) {
	t.Helper()
	if r.method != http.MethodPost || r.path != "/v1/responses" {
		t.Errorf("request: got %s %s, want POST /v1/responses", r.method, r.path)
	}
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	for name, want := range map[string]string{
		"Authorization": "Bearer " + testKey,
		"Content-Type":  "application/json",
		"Accept":        accept,
		"X-Test-Header": "test-value",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("header %s: got %q, want %q", name, got, want)
		}
	}
	body, err := llmeter.DecodeJSON(r.body)
	if err != nil {
		t.Fatalf("request body %q: %v", r.body, err)
	}
	m, ok := body.(map[string]any)
	if !ok {
		t.Fatalf("request body: got %T, want an object", body)
	}
	for k, v := range user {
		if got, want := encode(t, m[k]), encode(t, v); got != want {
			t.Errorf("body[%q]: got %s, want %s", k, got, want)
		}
	}
	if m["model"] != testModel || m["stream"] != stream {
		t.Errorf("body model, stream: got %v, %v; want %q, %v", m["model"], m["stream"], testModel, stream)
	}
	if len(m) != len(user)+2 {
		t.Errorf("body: got %d keys (%v), want %d (no stream_options)", len(m), m, len(user)+2)
	}
}

func TestResponsesConnectionReuse(t *testing.T) {
	srv := newTestServer(t, func(r *http.Request) replay {
		rp := replay{file: r.Header.Get("X-Replay")}
		if strings.HasPrefix(rp.file, "error_") {
			rp.status = 429
		}
		return rp
	})
	client := NewHTTPClient(1)
	steps := []struct {
		file   string
		stream bool
		fails  bool
	}{
		{"responses_stream_normal.txt", true, false}, {"responses_nonstream.json", false, false},
		{"responses_stream_compat.txt", true, false}, {"responses_stream_failed.txt", true, true},
		{"error_429.json", true, true}, {"responses_nonstream_failed.json", false, true},
		{"responses_stream_incomplete.txt", true, false}, {"responses_stream_normal.txt", true, false},
	}
	for i, s := range steps {
		ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel, BaseURL: srv.URL, Stream: s.stream,
			HTTPClient: client, Headers: map[string]string{"X-Replay": s.file}})
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, testResponsesPayload(t))
		if (got.Error != "") != s.fails {
			t.Errorf("step %d (%s): Error %q, want error %v", i, s.file, got.Error, s.fails)
		}
	}
	// response.failed ends a stream cleanly: its connection is reused too.
	if n := srv.newConns.Load(); n != 1 {
		t.Errorf("connections: got %d, want 1 (all requests on one reused connection)", n)
	}
}

func TestCreateResponsesPayload(t *testing.T) {
	tests := []struct {
		name         string
		input        []string
		max          int
		instructions string
		extra        map[string]any
		want         llmeter.Payload
		wantErr      string
	}{
		{name: "one message is a string", input: []string{"hi"}, max: 256,
			want: llmeter.Payload{"input": "hi", "max_output_tokens": 256}},
		{name: "several messages", input: []string{"a", "b"}, max: 5,
			want: llmeter.Payload{"input": []any{map[string]any{"role": "user", "content": "a"},
				map[string]any{"role": "user", "content": "b"}}, "max_output_tokens": 5}},
		{name: "instructions", input: []string{"hi"}, max: 5, instructions: "Be brief.",
			want: llmeter.Payload{"input": "hi", "max_output_tokens": 5, "instructions": "Be brief."}},
		{name: "extra merged last", input: []string{"hi"}, max: 5, instructions: "x",
			extra: map[string]any{"max_output_tokens": 9, "instructions": "y", "reasoning": map[string]any{"effort": "low"}},
			want: llmeter.Payload{"input": "hi", "max_output_tokens": 9, "instructions": "y",
				"reasoning": map[string]any{"effort": "low"}}},
		{name: "zero max tokens", input: []string{"hi"}, wantErr: "max_output_tokens"},
		{name: "no input", max: 5, wantErr: "no input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CreateResponsesPayload(tc.input, tc.max, tc.instructions, tc.extra)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("payload: got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestResponsesParsePayload(t *testing.T) {
	tests := []struct {
		name    string
		payload llmeter.Payload
		want    string
	}{
		{name: "string input", payload: llmeter.Payload{"input": "Hello\nthere"}, want: "Hello\nthere"},
		{name: "no input", payload: llmeter.Payload{"max_output_tokens": 5}, want: ""},
		{name: "nil payload", want: ""},
		{name: "messages", payload: llmeter.Payload{"instructions": "not part of it", "input": []any{
			map[string]any{"role": "developer", "content": "Be brief."},
			map[string]any{"role": "user", "content": ""},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "input_text", "text": "Describe"},
				map[string]any{"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
				map[string]any{"type": "input_text", "text": "this image"}}},
			map[string]any{"type": "function_call_output", "call_id": "c1", "output": "{}"},
		}}, want: "Be brief.\nDescribe\nthis image"},
		{name: "typed slice and odd values", payload: llmeter.Payload{"input": []map[string]any{
			{"role": "user", "content": "a"}, {"role": "user", "content": 42},
			{"role": "user", "content": []any{"not a part", map[string]any{"text": 1}}}, {"content": "b"}}}, want: "a\nb"},
		{name: "input not a list", payload: llmeter.Payload{"input": 7}, want: ""},
	}
	ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ep.ParsePayload(tc.payload)
			if err != nil || got != tc.want {
				t.Errorf("prompt: got %#v (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestResponsesPreparePayload(t *testing.T) {
	opts := map[string]any{"include_obfuscation": false}
	tests := []struct {
		name    string
		stream  bool
		payload llmeter.Payload
		want    llmeter.Payload
	}{
		{name: "stream", stream: true, payload: llmeter.Payload{"input": "hi"},
			want: llmeter.Payload{"input": "hi", "model": testModel, "stream": true}},
		{name: "stream keeps stream_options", stream: true, payload: llmeter.Payload{"input": "hi", "stream_options": opts},
			want: llmeter.Payload{"input": "hi", "model": testModel, "stream": true, "stream_options": opts}},
		{name: "stream replaces a false stream and the model", stream: true,
			payload: llmeter.Payload{"input": "hi", "stream": false, "model": "other"},
			want:    llmeter.Payload{"input": "hi", "model": testModel, "stream": true}},
		{name: "stream keeps a truthy stream", stream: true, payload: llmeter.Payload{"input": "hi", "stream": json.Number("1")},
			want: llmeter.Payload{"input": "hi", "model": testModel, "stream": json.Number("1")}},
		{name: "non-stream", payload: llmeter.Payload{"input": "hi", "stream": true, "stream_options": opts},
			want: llmeter.Payload{"input": "hi", "model": testModel, "stream": false}},
		{name: "nil payload", payload: nil, want: llmeter.Payload{"model": testModel, "stream": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1", Stream: tc.stream})
			if err != nil {
				t.Fatal(err)
			}
			before := llmeter.CopyPayload(tc.payload)
			got, err := ep.PreparePayload(tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("prepared: got %v, want %v", got, tc.want)
			}
			if !reflect.DeepEqual(tc.payload, before) {
				t.Errorf("input modified: got %v, want %v", tc.payload, before)
			}
		})
	}
}

func TestNewResponsesEndpoint(t *testing.T) {
	for _, tc := range []struct {
		cfg  ResponsesConfig
		want llmeter.EndpointInfo
	}{
		{ResponsesConfig{ModelID: "m"}, llmeter.EndpointInfo{EndpointName: "openai-response", ModelID: "m",
			Provider: "openai", EndpointType: TypeResponses}},
		{ResponsesConfig{ModelID: "m", Stream: true}, llmeter.EndpointInfo{EndpointName: "openai-response-stream",
			ModelID: "m", Provider: "openai", EndpointType: TypeResponsesStream}},
		{ResponsesConfig{ModelID: "m", EndpointName: "e", Provider: "p", Stream: true}, llmeter.EndpointInfo{
			EndpointName: "e", ModelID: "m", Provider: "p", EndpointType: TypeResponsesStream}},
	} {
		cfg := tc.cfg
		cfg.BaseURL = "http://127.0.0.1:1/v1/"
		ep, err := NewResponsesEndpoint(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := ep.Info(); got != tc.want {
			t.Errorf("Info: got %+v, want %+v", got, tc.want)
		}
		if got, want := ep.URL(), "http://127.0.0.1:1/v1/responses"; got != want {
			t.Errorf("URL: got %q, want %q", got, want)
		}
	}
	for _, tc := range []struct {
		cfg     ResponsesConfig
		wantErr string
	}{
		{ResponsesConfig{BaseURL: "http://127.0.0.1:1"}, "ModelID"},
		{ResponsesConfig{ModelID: "m", BaseURL: "ftp://u:hunter2@example.com"}, "not an absolute"},
		{ResponsesConfig{ModelID: "m", BaseURL: "http://127.0.0.1:1", APIKey: "a\nb"}, "line break"},
		{ResponsesConfig{ModelID: "m", BaseURL: "http://127.0.0.1:1", Headers: map[string]string{"Bad Header": "x"}},
			"invalid header name"},
	} {
		_, err := NewResponsesEndpoint(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%+v: error %v, want one containing %q (and no password)", tc.cfg, err, tc.wantErr)
		}
	}
}

func TestResponsesEnvDefaults(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "responses_nonstream.json"} })
	t.Setenv(EnvBaseURL, srv.URL+"/v1/")
	t.Setenv(EnvAPIKey, "sk-from-env")
	ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel})
	if err != nil {
		t.Fatal(err)
	}
	if got := llmeter.Invoke(context.Background(), ep, testResponsesPayload(t)); got.Error != "" {
		t.Fatalf("Error: got %q, want none", got.Error)
	}
	r := srv.requests()[0]
	if r.path != "/v1/responses" || r.header.Get("Authorization") != "Bearer sk-from-env" {
		t.Errorf("request: path %q, Authorization %q", r.path, r.header.Get("Authorization"))
	}
}

// TestResponsesRoundTrip saves endpoints with llmeter.EndpointToMap, passes
// the map through JSON as run_config.json does, and reloads them.
func TestResponsesRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		cfg        ResponsesConfig
		wantConfig map[string]any
	}{
		{name: "non-stream", cfg: ResponsesConfig{ModelID: "gpt-5-mini", BaseURL: "https://api.openai.com/v1"},
			wantConfig: map[string]any{"base_url": "https://api.openai.com/v1"}},
		{name: "stream, visible tokens only", cfg: ResponsesConfig{ModelID: "o4-mini", BaseURL: "https://api.openai.com/v1",
			Stream: true}, wantConfig: map[string]any{"base_url": "https://api.openai.com/v1", "ttft_visible_tokens_only": true}},
		{name: "stream, reasoning counts, custom names, headers", cfg: ResponsesConfig{ModelID: "openai/gpt-oss-20b",
			EndpointName: "vllm", Provider: "vllm", BaseURL: "http://u:pw-secret@127.0.0.1:8000/v1/", Stream: true,
			ReasoningCountsForTTFT: true, Headers: map[string]string{"api-key": "hdr-secret"}},
			wantConfig: map[string]any{"base_url": "http://127.0.0.1:8000/v1", "ttft_visible_tokens_only": false,
				"header_names": []string{"api-key"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvAPIKey, "")
			cfg := tc.cfg
			cfg.APIKey = testKey
			ep, err := NewResponsesEndpoint(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := ep.EndpointConfig(); !reflect.DeepEqual(got, tc.wantConfig) {
				t.Errorf("EndpointConfig: got %#v, want %#v", got, tc.wantConfig)
			}
			m := llmeter.EndpointToMap(ep)
			saved, err := llmeter.MarshalJSONValue(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{testKey, "hdr-secret", "pw-secret"} {
				if strings.Contains(string(saved), secret) {
					t.Errorf("saved config %s contains the secret %q", saved, secret)
				}
			}
			v, err := llmeter.DecodeJSON(saved)
			if err != nil {
				t.Fatal(err)
			}
			loaded, err := llmeter.LoadEndpoint(v.(map[string]any))
			if err != nil {
				t.Fatal(err)
			}
			le, ok := loaded.(*ResponsesEndpoint)
			if !ok {
				t.Fatalf("loaded %T, want *ResponsesEndpoint", loaded)
			}
			if got, want := le.Info(), ep.Info(); got != want {
				t.Errorf("Info: got %+v, want %+v", got, want)
			}
			if le.Stream() != cfg.Stream || le.ReasoningCountsForTTFT() != cfg.ReasoningCountsForTTFT {
				t.Errorf("Stream, ReasoningCountsForTTFT: got %v, %v; want %v, %v", le.Stream(),
					le.ReasoningCountsForTTFT(), cfg.Stream, cfg.ReasoningCountsForTTFT)
			}
			wantLoaded := maps.Clone(tc.wantConfig)
			delete(wantLoaded, "header_names") // header values are not saved
			if got := le.EndpointConfig(); !reflect.DeepEqual(got, wantLoaded) {
				t.Errorf("reloaded EndpointConfig: got %#v, want %#v", got, wantLoaded)
			}
			if got := le.target.Header().Get("Authorization"); got != "" {
				t.Errorf("reloaded Authorization: got %q, want none", got)
			}
		})
	}
}

func TestResponsesConfigFromMap(t *testing.T) {
	tests := []struct {
		name    string
		m       map[string]any
		want    ResponsesConfig
		wantErr string
	}{
		{name: "full", m: map[string]any{"endpoint_type": TypeResponsesStream, "model_id": "m", "endpoint_name": "e",
			"provider": "p", "base_url": "http://h/v1", "headers": map[string]any{"X-A": "1"},
			"ttft_visible_tokens_only": false, "unknown": 3},
			want: ResponsesConfig{ModelID: "m", EndpointName: "e", Provider: "p", BaseURL: "http://h/v1",
				Headers: map[string]string{"X-A": "1"}, Stream: true, ReasoningCountsForTTFT: true}},
		{name: "visible tokens only", m: map[string]any{"model_id": "m", "ttft_visible_tokens_only": true},
			want: ResponsesConfig{ModelID: "m"}},
		{name: "null values", m: map[string]any{"model_id": "m", "provider": nil, "ttft_visible_tokens_only": nil},
			want: ResponsesConfig{ModelID: "m"}},
		{name: "wrong type", m: map[string]any{"model_id": 3}, wantErr: "model_id"},
		{name: "wrong flag type", m: map[string]any{"ttft_visible_tokens_only": "yes"}, wantErr: "ttft_visible_tokens_only"},
		{name: "wrong header", m: map[string]any{"headers": map[string]any{"X": 1}}, wantErr: "headers"},
		{name: "chat endpoint type", m: map[string]any{"endpoint_type": TypeChat}, wantErr: "endpoint_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResponsesConfigFromMap(tc.m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("config: got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRespErrorText checks the "<code>: <message>" format of failures.
func TestRespErrorText(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{`{"code":"server_error","message":"Boom."}`, "server_error: Boom."},
		{`{"code":null,"message":"Boom."}`, "Boom."},
		{`{"code":"rate_limit_exceeded"}`, "rate_limit_exceeded"},
		{`{"code":500,"message":"Boom."}`, "500: Boom."},
		{`{}`, "Response API request failed"},
		{`null`, "Response API request failed"},
		{``, "Response API request failed"},
		{`"plain string"`, "plain string"},
		{`[1]`, "Response API request failed"},
	} {
		err := failedError(json.RawMessage(tc.raw))
		var ae *llmeter.APIError
		if !errors.As(err, &ae) || ae.Message != tc.want {
			t.Errorf("failedError(%s): got %v, want APIError %q", tc.raw, err, tc.want)
		}
	}
}
