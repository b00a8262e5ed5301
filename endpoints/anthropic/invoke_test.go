package anthropic

// The transcripts in testdata/ follow the official Anthropic references:
//
//   - Streaming Messages: https://platform.claude.com/docs/en/build-with-claude/streaming
//     (event flow message_start, content_block_start/delta/stop, ping,
//     message_delta with cumulative usage, message_stop; the error event
//     {"type": "error", "error": {"type": "overloaded_error", "message":
//     "Overloaded"}}; text_delta, input_json_delta, thinking_delta and
//     signature_delta; the "Basic streaming request", "Streaming request
//     with tool use" and "Streaming request with extended thinking"
//     examples).
//   - Messages API reference: https://platform.claude.com/docs/en/api/messages
//     (the Message object: id, type, role, model, content blocks, stop_reason,
//     stop_sequence, usage with input_tokens, output_tokens,
//     cache_creation_input_tokens, cache_read_input_tokens).
//   - Errors: https://platform.claude.com/docs/en/api/errors (HTTP error body
//     {"type": "error", "error": {"type": …, "message": …}, "request_id": …};
//     400 invalid_request_error, 401 authentication_error, 404
//     not_found_error, 429 rate_limit_error, 500 api_error, 529
//     overloaded_error).
//   - Extended thinking: https://platform.claude.com/docs/en/build-with-claude/extended-thinking
//     (thinking and redacted_thinking content blocks).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
)

const (
	testModel  = "claude-sonnet-4-5"
	testKey    = "sk-ant-test-secret-0123456789"
	testToken  = "gw-token-secret-9876543210"
	testPrompt = "Tell me a joke"
)

// testConfig is the endpoint configuration most tests use.
func testConfig(baseURL string, stream bool, client *http.Client) Config {
	return Config{
		ModelID:    testModel,
		BaseURL:    baseURL,
		APIKey:     testKey,
		Headers:    map[string]string{"X-Test-Header": "test-value"},
		Stream:     stream,
		HTTPClient: client,
	}
}

func newTestEndpoint(tb testing.TB, baseURL string, stream bool, client *http.Client) *MessagesEndpoint {
	tb.Helper()
	ep, err := NewMessagesEndpoint(testConfig(baseURL, stream, client))
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

func testPayload(tb testing.TB) llmeter.Payload {
	tb.Helper()
	p, err := CreatePayload(testPrompt, 64, nil, map[string]any{
		"temperature":    json.Number("0.7"),
		"system":         "Be brief.",
		"metadata":       map[string]any{"user_id": "u-1"},
		"stop_sequences": []any{"\n\nHuman:"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// expect is the InvocationResponse a case must produce.
type expect struct {
	text            *string // nil: no text
	id              string  // "": a generated UUID
	in, out, cached *int
	chunks          int  // visible text chunks
	ttft            bool // time to first token set (default: chunks > 0)
	ttftBeforeText  bool // TTFT strictly before the first text chunk (reasoning counted)
	ttlt            bool // time to last token set
	errSub          []string
	class           string
}

var ip = llmeter.Ptr[int]

func sp(s string) *string { return &s }

var uuidHex = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestInvoke(t *testing.T) {
	tests := []struct {
		name      string
		stream    bool
		reasoning bool // Config.ReasoningCountsForTTFT
		serve     replay
		timeout   time.Duration // context deadline, default 10s
		want      expect
	}{
		// Streaming.
		{name: "stream basic", stream: true, serve: replay{file: "stream_basic.txt"},
			want: expect{text: sp("Hello!"), id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", in: ip(25), out: ip(15),
				chunks: 2, ttlt: true}},
		{name: "stream CRLF line endings", stream: true, serve: replay{file: "stream_crlf.txt"},
			want: expect{text: sp("Hello!"), id: "msg_01CrlfLineEndings0000000", in: ip(25), out: ip(15), chunks: 2, ttlt: true}},
		{name: "stream thinking, visible tokens only", stream: true, serve: replay{file: "stream_thinking.txt", slowEvent: 7},
			want: expect{text: sp("The greatest common divisor of 1071 and 462 is **21**."), id: "msg_01ThinkingStreamExample000",
				in: ip(52), out: ip(87), cached: ip(0), chunks: 1, ttlt: true}},
		{name: "stream thinking counts for TTFT", stream: true, reasoning: true,
			serve: replay{file: "stream_thinking.txt", slowEvent: 7},
			want: expect{text: sp("The greatest common divisor of 1071 and 462 is **21**."), id: "msg_01ThinkingStreamExample000",
				in: ip(52), out: ip(87), cached: ip(0), chunks: 1, ttft: true, ttftBeforeText: true, ttlt: true}},
		{name: "stream thinking only, visible tokens only", stream: true, serve: replay{file: "stream_thinking_only.txt"},
			want: expect{id: "msg_01ThinkingOnlyMaxTokens00", in: ip(40), out: ip(16), cached: ip(0), ttlt: true}},
		{name: "stream thinking only counts for TTFT", stream: true, reasoning: true, serve: replay{file: "stream_thinking_only.txt"},
			want: expect{id: "msg_01ThinkingOnlyMaxTokens00", in: ip(40), out: ip(16), cached: ip(0), ttft: true, ttlt: true}},
		{name: "stream cache read and cumulative usage", stream: true, serve: replay{file: "stream_cache.txt"},
			want: expect{text: sp("Café \"crème\"\nline two 😀"), id: "msg_01CacheReadCumulativeUsage", in: ip(14), out: ip(9),
				cached: ip(1792), chunks: 2, ttlt: true}},
		{name: "stream zero tokens", stream: true, serve: replay{file: "stream_zero.txt"},
			want: expect{id: "msg_01ZeroTokensEmptyAnswer000", in: ip(0), out: ip(0), cached: ip(0), ttlt: true}},
		{name: "stream tool use", stream: true, serve: replay{file: "stream_tool_use.txt"},
			want: expect{text: sp("Okay, let's check the weather for San Francisco, CA:"), id: "msg_014p7gG3wDgGV9EUtLvnow3U",
				in: ip(472), out: ip(89), chunks: 2, ttlt: true}},
		{name: "stream without event names", stream: true, serve: replay{file: "stream_no_event_names.txt"},
			want: expect{text: sp("Data only"), id: "msg_01GatewayDataOnlyEvents000", in: ip(7), out: ip(2), chunks: 2, ttlt: true}},
		{name: "stream unknown events ignored", stream: true, serve: replay{file: "stream_unknown_events.txt"},
			want: expect{text: sp("Still here"), id: "msg_01UnknownEventsIgnored0000", in: ip(4), out: ip(2), chunks: 2, ttlt: true}},
		{name: "stream slow first token", stream: true, serve: replay{file: "stream_basic.txt", slowEvent: 3},
			want: expect{text: sp("Hello!"), id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", in: ip(25), out: ip(15),
				chunks: 2, ttlt: true}},

		// Streaming failures.
		{name: "stream error event mid-stream", stream: true, serve: replay{file: "stream_error_midstream.txt"},
			want: expect{text: sp("Hello world"), id: "msg_01ErrorMidStream0000000000", in: ip(31), out: ip(1), cached: ip(0),
				chunks: 2, ttlt: true, errSub: []string{"overloaded_error: Overloaded"}, class: llmeter.ErrorClassAPI}},
		{name: "stream HTTP 429", stream: true, serve: replay{file: "error_429.json", status: 429},
			want: expect{errSub: []string{"HTTP 429: This request would exceed the rate limit"}, class: llmeter.ErrorClassHTTP429}},
		{name: "stream HTTP 529 overloaded", stream: true, serve: replay{file: "error_529.json", status: 529},
			want: expect{errSub: []string{"HTTP 529: Overloaded"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream HTTP 500", stream: true, serve: replay{file: "error_500.json", status: 500},
			want: expect{errSub: []string{"HTTP 500: Internal server error"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream HTTP 400", stream: true, serve: replay{file: "error_400.json", status: 400},
			want: expect{errSub: []string{"HTTP 400: max_tokens: Field required"}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 401", stream: true, serve: replay{file: "error_401.json", status: 401},
			want: expect{errSub: []string{"HTTP 401: invalid x-api-key"}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 404", stream: true, serve: replay{file: "error_404.json", status: 404},
			want: expect{errSub: []string{"HTTP 404: model: claude-nonexistent-1"}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 502 HTML", stream: true, serve: replay{file: "error_502.html", status: 502},
			want: expect{errSub: []string{"HTTP 502: <html> <head><title>502 Bad Gateway</title></head>"},
				class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream connection dropped", stream: true, serve: replay{file: "stream_dropped.txt", drop: true},
			want: expect{text: sp("Once upon a"), id: "msg_01DroppedConnection0000000", in: ip(18), out: ip(1), chunks: 3, ttlt: true,
				errSub: []string{"anthropic: ", "unexpected EOF"}, class: llmeter.ErrorClassConnection}},
		{name: "stream without message_stop", stream: true, serve: replay{file: "stream_no_stop.txt"},
			want: expect{text: sp("Almost done"), id: "msg_01NoMessageStop00000000000", in: ip(9), out: ip(3), chunks: 1, ttlt: true,
				errSub: []string{"anthropic: " + llmeter.ErrIncompleteStream.Error()}, class: llmeter.ErrorClassProtocol}},
		{name: "stream malformed event", stream: true, serve: replay{file: "stream_malformed.txt"},
			want: expect{text: sp("Good"), id: "msg_01MalformedEvent0000000000", in: ip(5), out: ip(1), chunks: 1, ttlt: true,
				errSub: []string{"malformed event"}, class: llmeter.ErrorClassProtocol}},
		{name: "stream answered with JSON", stream: true, serve: replay{file: "message_basic.json"},
			want: expect{text: sp("Hi! My name is Claude."), id: "msg_013Zva2CMHLNnXjNJJKqJ2EF", in: ip(2095), out: ip(503),
				errSub: []string{"did not stream"}, class: llmeter.ErrorClassProtocol}},
		{name: "stream error body in 200 JSON", stream: true, serve: replay{file: "error_200.json"},
			want: expect{errSub: []string{"api_error: Internal server error"}, class: llmeter.ErrorClassAPI}},
		{name: "stream timeout before headers", stream: true, serve: replay{file: "stream_basic.txt", hang: true},
			timeout: 100 * time.Millisecond,
			want:    expect{errSub: []string{"deadline exceeded"}, class: llmeter.ErrorClassTimeout}},
		{name: "stream timeout mid-stream", stream: true, serve: replay{file: "stream_basic.txt", hang: true, hangAfter: 4},
			timeout: time.Second,
			want: expect{text: sp("Hello"), id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", in: ip(25), out: ip(1), chunks: 1, ttlt: true,
				class: llmeter.ErrorClassTimeout, errSub: []string{"anthropic: "}}},

		// Non-streaming.
		{name: "non-stream basic", serve: replay{file: "message_basic.json"},
			want: expect{text: sp("Hi! My name is Claude."), id: "msg_013Zva2CMHLNnXjNJJKqJ2EF", in: ip(2095), out: ip(503), ttlt: true}},
		{name: "non-stream thinking blocks skipped, cache read", serve: replay{file: "message_thinking.json"},
			want: expect{text: sp("Yes, there are infinitely many prime numbers such that n mod 4 = 3."),
				id: "msg_01ThinkingNonStream00000", in: ip(20), out: ip(312), cached: ip(1024), ttlt: true}},
		{name: "non-stream no text, zero tokens", serve: replay{file: "message_no_text.json"},
			want: expect{id: "msg_01OnlyThinkingMaxTokens000", in: ip(0), out: ip(0), cached: ip(0), ttlt: true}},
		{name: "non-stream error body in 200", serve: replay{file: "error_200.json"},
			want: expect{ttlt: true, errSub: []string{"api_error: Internal server error"}, class: llmeter.ErrorClassAPI}},
		{name: "non-stream HTTP 429", serve: replay{file: "error_429.json", status: 429},
			want: expect{errSub: []string{"HTTP 429: This request would exceed"}, class: llmeter.ErrorClassHTTP429}},
		{name: "non-stream HTTP 529 overloaded", serve: replay{file: "error_529.json", status: 529},
			want: expect{errSub: []string{"HTTP 529: Overloaded"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "non-stream HTTP 500", serve: replay{file: "error_500.json", status: 500},
			want: expect{errSub: []string{"HTTP 500: Internal server error"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "non-stream malformed JSON", serve: replay{file: "stream_basic.txt", contentType: "application/json"},
			want: expect{ttlt: true, errSub: []string{"malformed response"}, class: llmeter.ErrorClassProtocol}},
		{name: "non-stream timeout", serve: replay{file: "message_basic.json", hang: true},
			timeout: 100 * time.Millisecond,
			want:    expect{errSub: []string{"deadline exceeded"}, class: llmeter.ErrorClassTimeout}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(*http.Request) replay { return tc.serve })
			cfg := testConfig(srv.URL, tc.stream, NewHTTPClient(1))
			cfg.ReasoningCountsForTTFT = tc.reasoning
			ep, err := NewMessagesEndpoint(cfg)
			if err != nil {
				t.Fatal(err)
			}
			payload := testPayload(t)
			snapshot := llmeter.CopyPayload(payload)
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()

			got := llmeter.Invoke(ctx, ep, payload)

			checkResponse(t, got, tc.stream, tc.want)
			if !reflect.DeepEqual(payload, snapshot) {
				t.Errorf("caller's payload modified: got %v, want %v", payload, snapshot)
			}
			checkInputPayload(t, got.InputPayload, snapshot, tc.stream)
			if got.InputPrompt != testPrompt {
				t.Errorf("InputPrompt: got %#v, want %q", got.InputPrompt, testPrompt)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			checkRequest(t, reqs[0], snapshot, tc.stream)
		})
	}
}

// checkResponse compares the whole InvocationResponse with want.
func checkResponse(t *testing.T, got *llmeter.InvocationResponse, stream bool, want expect) {
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
		{"NumTokensOutputReasoning", got.NumTokensOutputReasoning, nil}} {
		if fmtPtr(c.got) != fmtPtr(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, fmtPtr(c.got), fmtPtr(c.want))
		}
	}
	if want.in != nil && got.TokensInputSource != "usage" {
		t.Errorf("TokensInputSource: got %q, want usage", got.TokensInputSource)
	}
	if got.Retries != nil {
		t.Errorf("Retries: got %d, want nil", *got.Retries)
	}

	wantTTFT := want.ttft || want.chunks > 0
	if gotSet := got.TimeToFirstToken != nil; gotSet != wantTTFT {
		t.Errorf("TimeToFirstToken set: got %v, want %v", gotSet, wantTTFT)
	}
	if len(got.ChunkOffsets) != want.chunks {
		t.Errorf("visible chunks: got %d, want %d", len(got.ChunkOffsets), want.chunks)
	}
	if gotSet := got.TimeToLastToken != nil; gotSet != want.ttlt {
		t.Errorf("TimeToLastToken set: got %v, want %v", gotSet, want.ttlt)
	}
	if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken {
		t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
	}
	if n := len(got.ChunkOffsets); n > 0 && got.TimeToFirstToken != nil && got.TimeToLastToken != nil {
		first := got.ChunkOffsets[0].Seconds()
		switch {
		case want.ttftBeforeText && !(*got.TimeToFirstToken < first):
			t.Errorf("TTFT: got %v, want it before the first text chunk's time %v (thinking counts)", *got.TimeToFirstToken, first)
		case !want.ttftBeforeText && *got.TimeToFirstToken != first:
			t.Errorf("TTFT: got %v, want the first text chunk's time %v", *got.TimeToFirstToken, first)
		}
		if ttlt := got.ChunkOffsets[n-1].Seconds(); stream && *got.TimeToLastToken != ttlt {
			t.Errorf("TTLT: got %v, want the last text chunk's time %v", *got.TimeToLastToken, ttlt)
		}
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
	if got.RequestTime == nil {
		t.Errorf("RequestTime: got nil, want set")
	}
}

func fmtPtr(v *int) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(*v)
}

// checkInputPayload checks the recorded payload: the user's keys plus the
// injected ones.
func checkInputPayload(t *testing.T, got, user llmeter.Payload, stream bool) {
	t.Helper()
	want := llmeter.CopyPayload(user)
	want["model"] = testModel
	want["stream"] = stream
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InputPayload: got %v, want %v", got, want)
	}
}

// checkRequest checks what the server received.
func checkRequest(t *testing.T, r received, user llmeter.Payload, stream bool) {
	t.Helper()
	if r.method != http.MethodPost || r.path != "/v1/messages" {
		t.Errorf("request: got %s %s, want POST /v1/messages", r.method, r.path)
	}
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	for name, want := range map[string]string{
		"X-Api-Key":         testKey,
		"Anthropic-Version": DefaultVersion,
		"Content-Type":      "application/json",
		"Accept":            accept,
		"X-Test-Header":     "test-value",
		"Authorization":     "",
		"Anthropic-Beta":    "",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("header %s: got %q, want %q", name, got, want)
		}
	}
	if got := r.header.Get("Accept-Encoding"); got != "" {
		t.Errorf("header Accept-Encoding: got %q, want none (compression disabled)", got)
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
	if m["model"] != testModel {
		t.Errorf("body model: got %v, want %q", m["model"], testModel)
	}
	if m["stream"] != stream {
		t.Errorf("body stream: got %v, want %v", m["stream"], stream)
	}
	if want := len(user) + 2; len(m) != want {
		t.Errorf("body: got %d keys (%v), want %d", len(m), m, want)
	}
}

func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := llmeter.AppendRequestJSON(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRequestHeaders checks the credentials and version headers of each
// configuration: API key, auth token (gateways), both, beta features,
// a version override, and user headers overriding the defaults.
func TestRequestHeaders(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "message_basic.json"} })
	tests := []struct {
		name string
		env  map[string]string
		cfg  Config
		want map[string]string // header -> value ("" = absent)
	}{
		{name: "api key", cfg: Config{APIKey: testKey},
			want: map[string]string{"X-Api-Key": testKey, "Authorization": "", "Anthropic-Version": "2023-06-01", "Anthropic-Beta": ""}},
		{name: "bearer token", cfg: Config{AuthToken: testToken},
			want: map[string]string{"X-Api-Key": "", "Authorization": "Bearer " + testToken}},
		{name: "bearer token ignores env key", env: map[string]string{EnvAPIKey: "sk-env-key"}, cfg: Config{AuthToken: testToken},
			want: map[string]string{"X-Api-Key": "", "Authorization": "Bearer " + testToken}},
		{name: "both", cfg: Config{APIKey: testKey, AuthToken: testToken},
			want: map[string]string{"X-Api-Key": testKey, "Authorization": "Bearer " + testToken}},
		{name: "from environment", env: map[string]string{EnvAPIKey: "sk-env-key", EnvAuthToken: "env-token"},
			want: map[string]string{"X-Api-Key": "sk-env-key", "Authorization": "Bearer env-token"}},
		{name: "no credentials", want: map[string]string{"X-Api-Key": "", "Authorization": ""}},
		{name: "beta and version", cfg: Config{APIKey: testKey, Version: "2024-01-01",
			Beta: []string{"interleaved-thinking-2025-05-14", " ", "context-1m-2025-08-07 "}},
			want: map[string]string{"Anthropic-Version": "2024-01-01",
				"Anthropic-Beta": "interleaved-thinking-2025-05-14,context-1m-2025-08-07"}},
		{name: "user headers override", cfg: Config{APIKey: testKey, Headers: map[string]string{
			"x-api-key": "override", "anthropic-version": "2099-01-01", "Accept": "*/*", "X-Gateway": "g1"}},
			want: map[string]string{"X-Api-Key": "override", "Anthropic-Version": "2099-01-01", "Accept": "*/*", "X-Gateway": "g1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvAPIKey, "")
			t.Setenv(EnvAuthToken, "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg := tc.cfg
			cfg.ModelID, cfg.BaseURL = testModel, srv.URL
			ep, err := NewMessagesEndpoint(cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := len(srv.requests())
			got := llmeter.Invoke(context.Background(), ep, testPayload(t))
			if got.Error != "" {
				t.Fatalf("Error: got %q, want none", got.Error)
			}
			r := srv.requests()[n]
			for name, want := range tc.want {
				if got := r.header.Get(name); got != want {
					t.Errorf("header %s: got %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestEnvBaseURL checks $ANTHROPIC_BASE_URL, a gateway path prefix with a
// trailing slash, and a query string.
func TestEnvBaseURL(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "message_basic.json"} })
	tests := []struct {
		name, env, base, wantPath, wantURL string
	}{
		{name: "environment", env: srv.URL + "/anthropic/", wantPath: "/anthropic/v1/messages"},
		{name: "config wins", env: "http://127.0.0.1:1/nowhere", base: srv.URL, wantPath: "/v1/messages"},
		{name: "query kept", base: srv.URL + "/gw?team=a", wantPath: "/gw/v1/messages", wantURL: srv.URL + "/gw/v1/messages?team=a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBaseURL, tc.env)
			ep, err := NewMessagesEndpoint(Config{ModelID: testModel, BaseURL: tc.base, APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			wantURL := tc.wantURL
			if wantURL == "" {
				wantURL = srv.URL + tc.wantPath
			}
			if got := ep.URL(); got != wantURL {
				t.Errorf("URL: got %q, want %q", got, wantURL)
			}
			n := len(srv.requests())
			if got := llmeter.Invoke(context.Background(), ep, testPayload(t)); got.Error != "" {
				t.Fatalf("Error: got %q, want none", got.Error)
			}
			if r := srv.requests()[n]; r.path != tc.wantPath {
				t.Errorf("path: got %q, want %q", r.path, tc.wantPath)
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		t.Setenv(EnvBaseURL, "")
		ep, err := NewMessagesEndpoint(Config{ModelID: testModel})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ep.URL(), "https://api.anthropic.com/v1/messages"; got != want {
			t.Errorf("URL: got %q, want %q", got, want)
		}
	})
}

// TestJSONNumbersUnchanged sends numbers that float64 would round and checks
// that they reach the server digit for digit.
func TestJSONNumbersUnchanged(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "stream_basic.txt"} })
	ep := newTestEndpoint(t, srv.URL, true, nil)
	payload, err := CreatePayload(testPrompt, 16, map[string]any{"type": "enabled", "budget_tokens": json.Number("10000")},
		map[string]any{"temperature": json.Number("0.70"), "top_k": json.Number("12345678901234567890")})
	if err != nil {
		t.Fatal(err)
	}
	if got := llmeter.Invoke(context.Background(), ep, payload); got.Error != "" {
		t.Fatalf("Error: got %q, want none", got.Error)
	}
	body := srv.requests()[0].body
	for _, lit := range []string{`"temperature": 0.70`, `"top_k": 12345678901234567890`, `"budget_tokens": 10000`,
		`"max_tokens": 16`, `"stream": true`} {
		if !bytes.Contains(body, []byte(lit)) {
			t.Errorf("request body %s: want it to contain %s", body, lit)
		}
	}
}

// TestConnectionReuse checks that successful, failed-status, failed-stream
// and non-streaming responses all leave the connection reusable where they
// can.
func TestConnectionReuse(t *testing.T) {
	srv := newTestServer(t, func(r *http.Request) replay {
		rp := replay{file: r.Header.Get("X-Replay")}
		if strings.HasPrefix(rp.file, "error_") {
			rp.status = 529
		}
		return rp
	})
	client := NewHTTPClient(1)
	steps := []struct {
		file   string
		stream bool
	}{
		{"stream_basic.txt", true}, {"stream_thinking.txt", true}, {"message_basic.json", false},
		{"error_529.json", true}, {"error_529.json", false}, {"stream_tool_use.txt", true},
		{"message_thinking.json", false}, {"stream_basic.txt", true},
	}
	for i, s := range steps {
		ep, err := NewMessagesEndpoint(Config{ModelID: testModel, BaseURL: srv.URL, Stream: s.stream,
			HTTPClient: client, Headers: map[string]string{"X-Replay": s.file}})
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, testPayload(t))
		if wantErr := strings.HasPrefix(s.file, "error_"); (got.Error != "") != wantErr {
			t.Errorf("step %d (%s): Error %q, want error %v", i, s.file, got.Error, wantErr)
		}
	}
	if n := srv.newConns.Load(); n != 1 {
		t.Errorf("connections: got %d, want 1 (all requests on one reused connection)", n)
	}
}

// TestCanceled checks that a canceled context is reported as canceled, with
// the text received so far.
func TestCanceled(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay {
		return replay{file: "stream_basic.txt", hang: true, hangAfter: 4}
	})
	ep := newTestEndpoint(t, srv.URL, true, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	got := llmeter.Invoke(ctx, ep, testPayload(t))
	if got.ErrorClass != llmeter.ErrorClassCanceled {
		t.Errorf("ErrorClass: got %q (error %q), want %q", got.ErrorClass, got.Error, llmeter.ErrorClassCanceled)
	}
	if got.Text() != "Hello" {
		t.Errorf("ResponseText: got %q, want %q", got.Text(), "Hello")
	}
}

// TestConnectionRefused checks the class and prefix of a dial failure.
func TestConnectionRefused(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "stream_basic.txt"} })
	url := srv.URL
	srv.Close()
	ep := newTestEndpoint(t, url, true, nil)
	got := llmeter.Invoke(context.Background(), ep, testPayload(t))
	if got.ErrorClass != llmeter.ErrorClassConnection {
		t.Errorf("ErrorClass: got %q (error %q), want %q", got.ErrorClass, got.Error, llmeter.ErrorClassConnection)
	}
	if !strings.HasPrefix(got.Error, "anthropic: ") {
		t.Errorf("Error: got %q, want the prefix %q", got.Error, "anthropic: ")
	}
}

// TestHTTP2 runs streaming and non-streaming calls, concurrently, over TLS
// with HTTP/2.
func TestHTTP2(t *testing.T) {
	srv := startTestServer(t, func(r *http.Request) replay {
		rp := replay{file: r.Header.Get("X-Replay")}
		if strings.HasPrefix(rp.file, "error_") {
			rp.status = 429
		}
		return rp
	}, true)
	client := NewHTTPClient(8)
	client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cases := []struct {
		file   string
		stream bool
		want   string
		class  string
	}{
		{"stream_basic.txt", true, "Hello!", ""},
		{"stream_thinking.txt", true, "The greatest common divisor of 1071 and 462 is **21**.", ""},
		{"stream_error_midstream.txt", true, "Hello world", llmeter.ErrorClassAPI},
		{"stream_no_stop.txt", true, "Almost done", llmeter.ErrorClassProtocol},
		{"message_basic.json", false, "Hi! My name is Claude.", ""},
		{"error_429.json", false, "", llmeter.ErrorClassHTTP429},
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 12 {
				c := cases[(g+i)%len(cases)]
				ep, err := NewMessagesEndpoint(Config{ModelID: testModel, BaseURL: srv.URL, Stream: c.stream,
					HTTPClient: client, Headers: map[string]string{"X-Replay": c.file}})
				if err != nil {
					t.Error(err)
					return
				}
				got := llmeter.Invoke(context.Background(), ep, testPayload(t))
				if got.Text() != c.want || got.ErrorClass != c.class {
					t.Errorf("%s: got text %q, class %q (error %q); want %q, %q", c.file, got.Text(), got.ErrorClass,
						got.Error, c.want, c.class)
				}
			}
		})
	}
	wg.Wait()
	for _, r := range srv.requests() {
		if r.proto != 2 {
			t.Fatalf("request protocol: got HTTP/%d, want HTTP/2", r.proto)
		}
	}
}
