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
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
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

var ip = llmeter.Ptr[int]

func sp(s string) *string { return &s }

func TestInvoke(t *testing.T) {
	tests := []struct {
		name      string
		stream    bool
		reasoning bool // Config.ReasoningCountsForTTFT
		serve     replay.Reply
		timeout   time.Duration // context deadline, default 10s
		want      replay.Expect
	}{
		// Streaming.
		{name: "stream basic", stream: true, serve: replay.Reply{File: "stream_basic.txt"},
			want: replay.Expect{Text: sp("Hello!"), ID: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", In: ip(25), Out: ip(15),
				Chunks: 2, TTLT: replay.Last}},
		{name: "stream CRLF line endings", stream: true, serve: replay.Reply{File: "stream_crlf.txt"},
			want: replay.Expect{Text: sp("Hello!"), ID: "msg_01CrlfLineEndings0000000", In: ip(25), Out: ip(15), Chunks: 2, TTLT: replay.Last}},
		{name: "stream thinking, visible tokens only", stream: true, serve: replay.Reply{File: "stream_thinking.txt", SlowEvent: 7},
			want: replay.Expect{Text: sp("The greatest common divisor of 1071 and 462 is **21**."), ID: "msg_01ThinkingStreamExample000",
				In: ip(52), Out: ip(87), Cached: ip(0), Chunks: 1, TTLT: replay.Last}},
		{name: "stream thinking counts for TTFT", stream: true, reasoning: true,
			serve: replay.Reply{File: "stream_thinking.txt", SlowEvent: 7},
			want: replay.Expect{Text: sp("The greatest common divisor of 1071 and 462 is **21**."), ID: "msg_01ThinkingStreamExample000",
				In: ip(52), Out: ip(87), Cached: ip(0), Chunks: 1, TTFT: replay.Early, TTLT: replay.Last}},
		{name: "stream thinking only, visible tokens only", stream: true, serve: replay.Reply{File: "stream_thinking_only.txt"},
			want: replay.Expect{ID: "msg_01ThinkingOnlyMaxTokens00", In: ip(40), Out: ip(16), Cached: ip(0), TTLT: replay.Last}},
		{name: "stream thinking only counts for TTFT", stream: true, reasoning: true, serve: replay.Reply{File: "stream_thinking_only.txt"},
			want: replay.Expect{ID: "msg_01ThinkingOnlyMaxTokens00", In: ip(40), Out: ip(16), Cached: ip(0), TTFT: replay.Early, TTLT: replay.Last}},
		{name: "stream cache read and cumulative usage", stream: true, serve: replay.Reply{File: "stream_cache.txt"},
			want: replay.Expect{Text: sp("Café \"crème\"\nline two 😀"), ID: "msg_01CacheReadCumulativeUsage", In: ip(14), Out: ip(9),
				Cached: ip(1792), Chunks: 2, TTLT: replay.Last}},
		{name: "stream zero tokens", stream: true, serve: replay.Reply{File: "stream_zero.txt"},
			want: replay.Expect{ID: "msg_01ZeroTokensEmptyAnswer000", In: ip(0), Out: ip(0), Cached: ip(0), TTLT: replay.Last}},
		{name: "stream tool use", stream: true, serve: replay.Reply{File: "stream_tool_use.txt"},
			want: replay.Expect{Text: sp("Okay, let's check the weather for San Francisco, CA:"), ID: "msg_014p7gG3wDgGV9EUtLvnow3U",
				In: ip(472), Out: ip(89), Chunks: 2, TTLT: replay.Last}},
		{name: "stream without event names", stream: true, serve: replay.Reply{File: "stream_no_event_names.txt"},
			want: replay.Expect{Text: sp("Data only"), ID: "msg_01GatewayDataOnlyEvents000", In: ip(7), Out: ip(2), Chunks: 2, TTLT: replay.Last}},
		{name: "stream unknown events ignored", stream: true, serve: replay.Reply{File: "stream_unknown_events.txt"},
			want: replay.Expect{Text: sp("Still here"), ID: "msg_01UnknownEventsIgnored0000", In: ip(4), Out: ip(2), Chunks: 2, TTLT: replay.Last}},
		{name: "stream slow first token", stream: true, serve: replay.Reply{File: "stream_basic.txt", SlowEvent: 3},
			want: replay.Expect{Text: sp("Hello!"), ID: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", In: ip(25), Out: ip(15),
				Chunks: 2, TTLT: replay.Last}},

		// Streaming failures.
		{name: "stream error event mid-stream", stream: true, serve: replay.Reply{File: "stream_error_midstream.txt"},
			want: replay.Expect{Text: sp("Hello world"), ID: "msg_01ErrorMidStream0000000000", In: ip(31), Out: ip(1), Cached: ip(0),
				Chunks: 2, TTLT: replay.Last, ErrSub: []string{"overloaded_error: Overloaded"}, Class: llmeter.ErrorClassAPI}},
		{name: "stream HTTP 429", stream: true, serve: replay.Reply{File: "error_429.json", Status: 429},
			want: replay.Expect{ErrSub: []string{"HTTP 429: This request would exceed the rate limit"}, Class: llmeter.ErrorClassHTTP429}},
		{name: "stream HTTP 529 overloaded", stream: true, serve: replay.Reply{File: "error_529.json", Status: 529},
			want: replay.Expect{ErrSub: []string{"HTTP 529: Overloaded"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream HTTP 500", stream: true, serve: replay.Reply{File: "error_500.json", Status: 500},
			want: replay.Expect{ErrSub: []string{"HTTP 500: Internal server error"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream HTTP 400", stream: true, serve: replay.Reply{File: "error_400.json", Status: 400},
			want: replay.Expect{ErrSub: []string{"HTTP 400: max_tokens: Field required"}, Class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 401", stream: true, serve: replay.Reply{File: "error_401.json", Status: 401},
			want: replay.Expect{ErrSub: []string{"HTTP 401: invalid x-api-key"}, Class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 404", stream: true, serve: replay.Reply{File: "error_404.json", Status: 404},
			want: replay.Expect{ErrSub: []string{"HTTP 404: model: claude-nonexistent-1"}, Class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 502 HTML", stream: true, serve: replay.Reply{File: "error_502.html", Status: 502},
			want: replay.Expect{ErrSub: []string{"HTTP 502: <html> <head><title>502 Bad Gateway</title></head>"},
				Class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream connection dropped", stream: true, serve: replay.Reply{File: "stream_dropped.txt", Drop: true},
			want: replay.Expect{Text: sp("Once upon a"), ID: "msg_01DroppedConnection0000000", In: ip(18), Out: ip(1), Chunks: 3, TTLT: replay.Last,
				ErrSub: []string{"anthropic: ", "unexpected EOF"}, Class: llmeter.ErrorClassConnection}},
		{name: "stream without message_stop", stream: true, serve: replay.Reply{File: "stream_no_stop.txt"},
			want: replay.Expect{Text: sp("Almost done"), ID: "msg_01NoMessageStop00000000000", In: ip(9), Out: ip(3), Chunks: 1, TTLT: replay.Last,
				ErrSub: []string{"anthropic: " + llmeter.ErrIncompleteStream.Error()}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream malformed event", stream: true, serve: replay.Reply{File: "stream_malformed.txt"},
			want: replay.Expect{Text: sp("Good"), ID: "msg_01MalformedEvent0000000000", In: ip(5), Out: ip(1), Chunks: 1, TTLT: replay.Last,
				ErrSub: []string{"malformed event"}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream answered with JSON", stream: true, serve: replay.Reply{File: "message_basic.json"},
			want: replay.Expect{Text: sp("Hi! My name is Claude."), ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", In: ip(2095), Out: ip(503),
				ErrSub: []string{"did not stream"}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream error body in 200 JSON", stream: true, serve: replay.Reply{File: "error_200.json"},
			want: replay.Expect{ErrSub: []string{"api_error: Internal server error"}, Class: llmeter.ErrorClassAPI}},
		{name: "stream timeout before headers", stream: true, serve: replay.Reply{File: "stream_basic.txt", Hang: true},
			timeout: 100 * time.Millisecond,
			want:    replay.Expect{ErrSub: []string{"deadline exceeded"}, Class: llmeter.ErrorClassTimeout}},
		{name: "stream timeout mid-stream", stream: true, serve: replay.Reply{File: "stream_basic.txt", Hang: true, HangAfter: 4},
			timeout: time.Second,
			want: replay.Expect{Text: sp("Hello"), ID: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", In: ip(25), Out: ip(1), Chunks: 1, TTLT: replay.Last,
				Class: llmeter.ErrorClassTimeout, ErrSub: []string{"anthropic: "}}},

		// Non-streaming.
		{name: "non-stream basic", serve: replay.Reply{File: "message_basic.json"},
			want: replay.Expect{Text: sp("Hi! My name is Claude."), ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", In: ip(2095), Out: ip(503), TTLT: replay.Last}},
		{name: "non-stream thinking blocks skipped, cache read", serve: replay.Reply{File: "message_thinking.json"},
			want: replay.Expect{Text: sp("Yes, there are infinitely many prime numbers such that n mod 4 = 3."),
				ID: "msg_01ThinkingNonStream00000", In: ip(20), Out: ip(312), Cached: ip(1024), TTLT: replay.Last}},
		{name: "non-stream no text, zero tokens", serve: replay.Reply{File: "message_no_text.json"},
			want: replay.Expect{ID: "msg_01OnlyThinkingMaxTokens000", In: ip(0), Out: ip(0), Cached: ip(0), TTLT: replay.Last}},
		{name: "non-stream error body in 200", serve: replay.Reply{File: "error_200.json"},
			want: replay.Expect{TTLT: replay.Last, ErrSub: []string{"api_error: Internal server error"}, Class: llmeter.ErrorClassAPI}},
		{name: "non-stream HTTP 429", serve: replay.Reply{File: "error_429.json", Status: 429},
			want: replay.Expect{ErrSub: []string{"HTTP 429: This request would exceed"}, Class: llmeter.ErrorClassHTTP429}},
		{name: "non-stream HTTP 529 overloaded", serve: replay.Reply{File: "error_529.json", Status: 529},
			want: replay.Expect{ErrSub: []string{"HTTP 529: Overloaded"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "non-stream HTTP 500", serve: replay.Reply{File: "error_500.json", Status: 500},
			want: replay.Expect{ErrSub: []string{"HTTP 500: Internal server error"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "non-stream malformed JSON", serve: replay.Reply{File: "stream_basic.txt", ContentType: "application/json"},
			want: replay.Expect{TTLT: replay.Last, ErrSub: []string{"malformed response"}, Class: llmeter.ErrorClassProtocol}},
		{name: "non-stream timeout", serve: replay.Reply{File: "message_basic.json", Hang: true},
			timeout: 100 * time.Millisecond,
			want:    replay.Expect{ErrSub: []string{"deadline exceeded"}, Class: llmeter.ErrorClassTimeout}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			payload := testPayload(t)
			replay.Call{
				Reply:   tc.serve,
				Timeout: tc.timeout,
				Endpoint: func(url string) (llmeter.Endpoint, error) {
					cfg := testConfig(url, tc.stream, NewHTTPClient(1))
					cfg.ReasoningCountsForTTFT = tc.reasoning
					return NewMessagesEndpoint(cfg)
				},
				Payload: payload,
				Want:    tc.want,
				Secrets: []string{testKey},
				Prompt:  testPrompt,
				Sent:    sentPayload(payload, tc.stream),
				Method:  http.MethodPost,
				Path:    "/v1/messages",
				Header:  wantHeader(tc.stream),
			}.Run(t)
		})
	}
}

// sentPayload is what the endpoint sends for the user's payload p: p with
// "model" and "stream" set.
func sentPayload(p llmeter.Payload, stream bool) llmeter.Payload {
	want := llmeter.CopyPayload(p)
	want["model"] = testModel
	want["stream"] = stream
	return want
}

// wantHeader are the headers every request of testConfig carries (and does
// not: "" stands for absent).
func wantHeader(stream bool) map[string]string {
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	return map[string]string{
		"X-Api-Key":         testKey,
		"Anthropic-Version": DefaultVersion,
		"Content-Type":      "application/json",
		"Accept":            accept,
		"X-Test-Header":     "test-value",
		"Authorization":     "",
		"Anthropic-Beta":    "",
	}
}

// TestRequestHeaders checks the credentials and version headers of each
// configuration: API key, auth token (gateways), both, beta features,
// a version override, and user headers overriding the defaults.
func TestRequestHeaders(t *testing.T) {
	srv := replay.NewServer(t, func(*http.Request) replay.Reply { return replay.Reply{File: "message_basic.json"} })
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
			n := len(srv.Requests())
			got := llmeter.Invoke(context.Background(), ep, testPayload(t))
			if got.Error != "" {
				t.Fatalf("Error: got %q, want none", got.Error)
			}
			r := srv.Requests()[n]
			for name, want := range tc.want {
				if got := r.Header.Get(name); got != want {
					t.Errorf("header %s: got %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestEnvBaseURL checks $ANTHROPIC_BASE_URL, a gateway path prefix with a
// trailing slash, and a query string.
func TestEnvBaseURL(t *testing.T) {
	srv := replay.NewServer(t, func(*http.Request) replay.Reply { return replay.Reply{File: "message_basic.json"} })
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
			n := len(srv.Requests())
			if got := llmeter.Invoke(context.Background(), ep, testPayload(t)); got.Error != "" {
				t.Fatalf("Error: got %q, want none", got.Error)
			}
			if r := srv.Requests()[n]; r.Path != tc.wantPath {
				t.Errorf("path: got %q, want %q", r.Path, tc.wantPath)
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
	srv := replay.NewServer(t, func(*http.Request) replay.Reply { return replay.Reply{File: "stream_basic.txt"} })
	ep := newTestEndpoint(t, srv.URL, true, nil)
	payload, err := CreatePayload(testPrompt, 16, map[string]any{"type": "enabled", "budget_tokens": json.Number("10000")},
		map[string]any{"temperature": json.Number("0.70"), "top_k": json.Number("12345678901234567890")})
	if err != nil {
		t.Fatal(err)
	}
	if got := llmeter.Invoke(context.Background(), ep, payload); got.Error != "" {
		t.Fatalf("Error: got %q, want none", got.Error)
	}
	body := srv.Requests()[0].Body
	for _, lit := range []string{`"temperature": 0.70`, `"top_k": 12345678901234567890`, `"budget_tokens": 10000`,
		`"max_tokens": 16`, `"stream": true`} {
		if !bytes.Contains(body, []byte(lit)) {
			t.Errorf("request body %s: want it to contain %s", body, lit)
		}
	}
}

// fileStep is a call of replay.CheckReuse or CheckConcurrent: a Messages
// endpoint on baseURL with client whose requests name the reply's file.
func fileStep(t *testing.T, baseURL string, client *http.Client, file string, stream bool) replay.Step {
	t.Helper()
	ep, err := NewMessagesEndpoint(Config{ModelID: testModel, BaseURL: baseURL, Stream: stream, HTTPClient: client,
		Headers: map[string]string{replay.FileHeader: file}})
	if err != nil {
		t.Fatal(err)
	}
	return replay.Step{Endpoint: ep, Payload: testPayload(t), File: file, Fails: strings.HasPrefix(file, "error_")}
}

// TestConnectionReuse checks that successful, failed-status, failed-stream
// and non-streaming responses all leave the connection reusable where they
// can.
func TestConnectionReuse(t *testing.T) {
	srv := replay.NewServer(t, replay.ByHeader(replay.ErrorStatus(529)))
	client := NewHTTPClient(1)
	step := func(file string, stream bool) replay.Step { return fileStep(t, srv.URL, client, file, stream) }
	replay.CheckReuse(t, srv, []replay.Step{
		step("stream_basic.txt", true), step("stream_thinking.txt", true), step("message_basic.json", false),
		step("error_529.json", true), step("error_529.json", false), step("stream_tool_use.txt", true),
		step("message_thinking.json", false), step("stream_basic.txt", true),
	})
}

// TestCanceled checks that a canceled context is reported as canceled, with
// the text received so far.
func TestCanceled(t *testing.T) {
	srv := replay.NewServer(t, func(*http.Request) replay.Reply {
		return replay.Reply{File: "stream_basic.txt", Hang: true, HangAfter: 4}
	})
	replay.CheckCanceled(t, newTestEndpoint(t, srv.URL, true, nil), testPayload(t), "Hello")
}

// TestConnectionRefused checks the class and prefix of a dial failure.
func TestConnectionRefused(t *testing.T) {
	replay.CheckRefused(t, func(url string) llmeter.Endpoint { return newTestEndpoint(t, url, true, nil) }, testPayload(t),
		"anthropic: ")
}

// TestHTTP2 runs streaming and non-streaming calls, concurrently, over TLS
// with HTTP/2.
func TestHTTP2(t *testing.T) {
	srv := replay.Start(t, replay.ByHeader(replay.ErrorStatus(429)), replay.Options{TLS: true})
	client := NewHTTPClient(8)
	srv.Trust(client)
	step := func(file string, stream bool, text, class string) replay.Step {
		s := fileStep(t, srv.URL, client, file, stream)
		s.Text, s.Class = text, class
		return s
	}
	replay.CheckConcurrent(t, []replay.Step{
		step("stream_basic.txt", true, "Hello!", ""),
		step("stream_thinking.txt", true, "The greatest common divisor of 1071 and 462 is **21**.", ""),
		step("stream_error_midstream.txt", true, "Hello world", llmeter.ErrorClassAPI),
		step("stream_no_stop.txt", true, "Almost done", llmeter.ErrorClassProtocol),
		step("message_basic.json", false, "Hi! My name is Claude.", ""),
		step("error_429.json", false, "", llmeter.ErrorClassHTTP429),
	}, 8, 12)
	srv.CheckHTTP2(t)
}
