package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

const (
	testModel  = "gpt-4o-mini"
	testKey    = "sk-test-secret-0123456789"
	testPrompt = "Tell me a joke"
)

// testConfig is the endpoint configuration most tests use.
func testConfig(baseURL string, stream bool, client *http.Client) ChatConfig {
	return ChatConfig{
		ModelID:    testModel,
		BaseURL:    baseURL,
		APIKey:     testKey,
		Headers:    map[string]string{"X-Test-Header": "test-value"},
		Stream:     stream,
		HTTPClient: client,
	}
}

func newTestEndpoint(tb testing.TB, baseURL string, stream bool, client *http.Client) *ChatEndpoint {
	tb.Helper()
	ep, err := NewChatEndpoint(testConfig(baseURL, stream, client))
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

func testPayload(tb testing.TB) llmeter.Payload {
	tb.Helper()
	p, err := CreatePayload([]string{testPrompt}, 64, map[string]any{
		"temperature": json.Number("0.7"),
		"metadata":    map[string]any{"run": "t1", "tags": []any{"a", "b"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

var ip = llmeter.Ptr[int]

func sp(s string) *string { return &s }

const normalText = "Hello! How can I help you today?"

func TestInvoke(t *testing.T) {
	tests := []struct {
		name    string
		stream  bool
		serve   replay.Reply
		timeout time.Duration // context deadline, default 10s
		want    replay.Expect
	}{
		// Streaming.
		{name: "stream normal with usage", stream: true, serve: replay.Reply{File: "stream_normal.txt"},
			want: replay.Expect{Text: sp(normalText), ID: "chatcmpl-AzEu7pHNcyLWrkJdgXKJpM5zVnB5d",
				In: ip(19), Out: ip(9), Cached: ip(0), Reasoning: ip(0), Chunks: 9, TTLT: replay.Last}},
		{name: "stream role-only first chunk", stream: true, serve: replay.Reply{File: "stream_role_only_first.txt"},
			want: replay.Expect{Text: sp("The sky is blue."), ID: "chatcmpl-7f3c2a9e1b4d4c0f8a6e5d3b2c1a0f9e",
				In: ip(12), Out: ip(5), Chunks: 5, TTLT: replay.Last}},
		{name: "stream null and empty deltas", stream: true, serve: replay.Reply{File: "stream_null_empty_delta.txt"},
			want: replay.Expect{Text: sp("AB"), ID: "chatcmpl-null-empty", In: ip(8), Out: ip(2), Cached: ip(0), Reasoning: ip(0),
				Chunks: 2, TTLT: replay.Last}},
		{name: "stream keep-alive comments", stream: true, serve: replay.Reply{File: "stream_keepalive.txt"},
			want: replay.Expect{Text: sp("Keep going"), ID: "gen-1739112035-keepalive", In: ip(10), Out: ip(2), Cached: ip(0),
				Reasoning: ip(0), Chunks: 2, TTLT: replay.Last}},
		{name: "stream usage chunk with empty choices", stream: true, serve: replay.Reply{File: "stream_usage_empty_choices.txt"},
			want: replay.Expect{Text: sp("42."), ID: "chatcmpl-BA1reasoning0usage0chunk000000", In: ip(2048), Out: ip(322),
				Cached: ip(1920), Reasoning: ip(320), Chunks: 2, TTLT: replay.Last}},
		{name: "stream usage chunk without choices", stream: true, serve: replay.Reply{File: "stream_usage_no_choices_key.txt"},
			want: replay.Expect{Text: sp("Yes."), ID: "cmpl-usage-no-choices-key", In: ip(7), Out: ip(2), Chunks: 2, TTLT: replay.Last}},
		{name: "stream usage on the finish chunk", stream: true, serve: replay.Reply{File: "stream_usage_on_finish_chunk.txt"},
			want: replay.Expect{Text: sp("Fine, thanks"), ID: "chatcmpl-usage-on-finish", In: ip(9), Out: ip(3), Chunks: 2, TTLT: replay.Last}},
		{name: "stream multi-token chunks", stream: true, serve: replay.Reply{File: "stream_multi_token.txt"},
			want: replay.Expect{Text: sp("Once upon a time, there was a tiny Go gopher."), ID: "chatcmpl-multi-token",
				In: ip(11), Out: ip(14), Cached: ip(0), Reasoning: ip(0), Chunks: 3, TTLT: replay.Last}},
		{name: "stream without usage", stream: true, serve: replay.Reply{File: "stream_no_usage.txt"},
			want: replay.Expect{Text: sp("No usage"), ID: "chatcmpl-no-usage", Chunks: 2, TTLT: replay.Last}},
		{name: "stream reasoning deltas are not text", stream: true, serve: replay.Reply{File: "stream_reasoning.txt"},
			want: replay.Expect{Text: sp("Four."), ID: "chatcmpl-reasoning-deltas", In: ip(15), Out: ip(30), Cached: ip(0),
				Reasoning: ip(27), Chunks: 2, TTLT: replay.Last}},
		{name: "stream CRLF line endings", stream: true, serve: replay.Reply{File: "stream_crlf.txt"},
			want: replay.Expect{Text: sp("Windows lines"), ID: "chatcmpl-crlf", Chunks: 2, TTLT: replay.Last}},
		{name: "stream slow first token", stream: true, serve: replay.Reply{File: "stream_normal.txt", SlowEvent: 1},
			want: replay.Expect{Text: sp(normalText), ID: "chatcmpl-AzEu7pHNcyLWrkJdgXKJpM5zVnB5d",
				In: ip(19), Out: ip(9), Cached: ip(0), Reasoning: ip(0), Chunks: 9, TTLT: replay.Last}},

		// Streaming failures.
		{name: "stream error object mid-stream", stream: true, serve: replay.Reply{File: "stream_error_midstream.txt"},
			want: replay.Expect{Text: sp("Hello! How"), ID: "chatcmpl-error-midstream", Chunks: 3, TTLT: replay.Last,
				ErrSub: []string{"The server had an error while processing your request. Sorry about that!"},
				Class:  llmeter.ErrorClassAPI}},
		{name: "stream error event", stream: true, serve: replay.Reply{File: "stream_error_event.txt"},
			want: replay.Expect{Text: sp("Partial"), ID: "chatcmpl-error-event", Chunks: 1, TTLT: replay.Last,
				ErrSub: []string{"Overloaded"}, Class: llmeter.ErrorClassAPI}},
		{name: "stream HTTP 429", stream: true, serve: replay.Reply{File: "error_429.json", Status: 429},
			want: replay.Expect{ErrSub: []string{"429", "Rate limit reached for gpt-4o-mini in organization org-123"},
				Class: llmeter.ErrorClassHTTP429}},
		{name: "stream HTTP 500", stream: true, serve: replay.Reply{File: "error_500.json", Status: 500},
			want: replay.Expect{ErrSub: []string{"500", "The server had an error while processing your request."},
				Class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream HTTP 400 detail", stream: true, serve: replay.Reply{File: "error_400_detail.json", Status: 400},
			want: replay.Expect{ErrSub: []string{"HTTP 400: max_tokens must be at least 1, got 0."}, Class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 404 error string", stream: true, serve: replay.Reply{File: "error_404_string.json", Status: 404},
			want: replay.Expect{ErrSub: []string{`HTTP 404: model "gpt-5-nano" not found`}, Class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 503 message", stream: true, serve: replay.Reply{File: "error_503_message.json", Status: 503},
			want: replay.Expect{ErrSub: []string{"HTTP 503: Service temporarily unavailable: model is loading"},
				Class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream HTTP 502 HTML", stream: true, serve: replay.Reply{File: "error_502.html", Status: 502},
			want: replay.Expect{ErrSub: []string{"HTTP 502: <html> <head><title>502 Bad Gateway</title></head>"},
				Class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream connection dropped", stream: true, serve: replay.Reply{File: "stream_dropped.txt", Drop: true},
			want: replay.Expect{Text: sp("Hello! How can"), ID: "chatcmpl-dropped", Chunks: 4, TTLT: replay.Last,
				ErrSub: []string{"openai: ", "unexpected EOF"}, Class: llmeter.ErrorClassConnection}},
		{name: "stream without DONE", stream: true, serve: replay.Reply{File: "stream_no_done.txt"},
			want: replay.Expect{Text: sp(normalText), ID: "chatcmpl-no-done", In: ip(19), Out: ip(9), Cached: ip(0), Reasoning: ip(0),
				Chunks: 9, TTLT: replay.Last, ErrSub: []string{llmeter.ErrIncompleteStream.Error()}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream malformed chunk", stream: true, serve: replay.Reply{File: "stream_malformed.txt"},
			want: replay.Expect{Text: sp("Good"), ID: "chatcmpl-malformed", Chunks: 1, TTLT: replay.Last,
				ErrSub: []string{"malformed chunk"}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream answered with JSON", stream: true, serve: replay.Reply{File: "nonstream_details.json"},
			want: replay.Expect{Text: sp("Hello! How can I assist you today?"), ID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
				In: ip(2006), Out: ip(300), Cached: ip(1920), Reasoning: ip(256),
				ErrSub: []string{"did not stream"}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream timeout before headers", stream: true, serve: replay.Reply{File: "stream_normal.txt", Hang: true},
			timeout: 100 * time.Millisecond,
			want:    replay.Expect{ErrSub: []string{"deadline exceeded"}, Class: llmeter.ErrorClassTimeout}},
		{name: "stream timeout mid-stream", stream: true, serve: replay.Reply{File: "stream_normal.txt", Hang: true, HangAfter: 3},
			timeout: time.Second,
			want: replay.Expect{Text: sp("Hello!"), ID: "chatcmpl-AzEu7pHNcyLWrkJdgXKJpM5zVnB5d", Chunks: 2, TTLT: replay.Last,
				Class: llmeter.ErrorClassTimeout, ErrSub: []string{"openai: "}}},

		// Non-streaming.
		{name: "non-stream cached and reasoning details", serve: replay.Reply{File: "nonstream_details.json"},
			want: replay.Expect{Text: sp("Hello! How can I assist you today?"), ID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
				In: ip(2006), Out: ip(300), Cached: ip(1920), Reasoning: ip(256), TTLT: replay.Last}},
		{name: "non-stream null content", serve: replay.Reply{File: "nonstream_null_content.json"},
			want: replay.Expect{ID: "chatcmpl-null-content", In: ip(82), Out: ip(17), Cached: ip(0), Reasoning: ip(0), TTLT: replay.Last}},
		{name: "non-stream error object in 200", serve: replay.Reply{File: "nonstream_error_200.json"},
			want: replay.Expect{TTLT: replay.Last, ErrSub: []string{"The model produced invalid content."}, Class: llmeter.ErrorClassAPI}},
		{name: "non-stream HTTP 429", serve: replay.Reply{File: "error_429.json", Status: 429},
			want: replay.Expect{ErrSub: []string{"HTTP 429: Rate limit reached"}, Class: llmeter.ErrorClassHTTP429}},
		{name: "non-stream HTTP 500", serve: replay.Reply{File: "error_500.json", Status: 500},
			want: replay.Expect{ErrSub: []string{"HTTP 500: The server had an error"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "non-stream malformed JSON", serve: replay.Reply{File: "stream_normal.txt", ContentType: "application/json"},
			want: replay.Expect{TTLT: replay.Last, ErrSub: []string{"malformed response"}, Class: llmeter.ErrorClassProtocol}},
		{name: "non-stream timeout", serve: replay.Reply{File: "nonstream_details.json", Hang: true},
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
					return NewChatEndpoint(testConfig(url+"/v1", tc.stream, NewHTTPClient(1)))
				},
				Payload: payload,
				Want:    tc.want,
				Secrets: []string{testKey},
				Prompt:  testPrompt,
				Sent:    sentPayload(payload, tc.stream, true),
				Method:  http.MethodPost,
				Path:    "/v1/chat/completions",
				Header:  wantHeader(tc.stream),
			}.Run(t)
		})
	}
}

// sentPayload is what an endpoint sends for the user's payload p: p with
// "model" and "stream" set and, for a Chat Completions stream (chat),
// stream_options asking for usage.
func sentPayload(p llmeter.Payload, stream, chat bool) llmeter.Payload {
	want := llmeter.CopyPayload(p)
	want["model"] = testModel
	want["stream"] = stream
	if stream && chat {
		want["stream_options"] = map[string]any{"include_usage": true}
	}
	return want
}

// wantHeader are the headers every request of newTestEndpoint (and
// newTestResponsesEndpoint) carries.
func wantHeader(stream bool) map[string]string {
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	return map[string]string{
		"Authorization": "Bearer " + testKey,
		"Content-Type":  "application/json",
		"Accept":        accept,
		"X-Test-Header": "test-value",
	}
}

// TestJSONNumbersUnchanged sends numbers that float64 would round and checks
// that they reach the server digit for digit.
func TestJSONNumbersUnchanged(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			file := "nonstream_details.json"
			if stream {
				file = "stream_normal.txt"
			}
			srv := replay.NewServer(t, func(*http.Request) replay.Reply { return replay.Reply{File: file} })
			ep := newTestEndpoint(t, srv.URL+"/v1", stream, nil)
			payload, err := CreatePayload([]string{testPrompt}, 16, map[string]any{
				"seed":        json.Number("12345678901234567890"),
				"temperature": json.Number("0.70"),
				"logit_bias":  map[string]any{"50256": json.Number("-100"), "1000": json.Number("1e2")},
				"tiny":        json.Number("1.000000000000000000001"),
			})
			if err != nil {
				t.Fatal(err)
			}
			got := llmeter.Invoke(context.Background(), ep, payload)
			if got.Error != "" {
				t.Fatalf("Error: got %q, want none", got.Error)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			for _, lit := range []string{`"seed": 12345678901234567890`, `"temperature": 0.70`,
				`"50256": -100`, `"1000": 1e2`, `"tiny": 1.000000000000000000001`, `"max_tokens": 16`} {
				if !bytes.Contains(reqs[0].Body, []byte(lit)) {
					t.Errorf("request body %s: want it to contain %s", reqs[0].Body, lit)
				}
			}
		})
	}
}

// fileStep is a call of replay.CheckReuse or CheckConcurrent: a chat
// endpoint on baseURL with client whose requests name the reply's file.
func fileStep(t *testing.T, baseURL string, client *http.Client, file string, stream bool) replay.Step {
	t.Helper()
	ep, err := NewChatEndpoint(ChatConfig{ModelID: testModel, BaseURL: baseURL, Stream: stream, HTTPClient: client,
		Headers: map[string]string{replay.FileHeader: file}})
	if err != nil {
		t.Fatal(err)
	}
	return replay.Step{Endpoint: ep, Payload: testPayload(t), File: file, Fails: strings.HasPrefix(file, "error_")}
}

// TestConnectionReuse checks that successful, failed-status and
// non-streaming responses all leave the connection reusable.
func TestConnectionReuse(t *testing.T) {
	srv := replay.NewServer(t, replay.ByHeader(replay.ErrorStatus(429)))
	client := NewHTTPClient(1)
	step := func(file string, stream bool) replay.Step { return fileStep(t, srv.URL, client, file, stream) }
	replay.CheckReuse(t, srv, []replay.Step{
		step("stream_normal.txt", true), step("stream_keepalive.txt", true), step("nonstream_details.json", false),
		step("error_429.json", true), step("error_429.json", false), step("stream_multi_token.txt", true),
		step("nonstream_null_content.json", false), step("stream_normal.txt", true),
	})
}

// TestConcurrentBodies checks, under -race, that pooled request buffers are
// never shared between requests in flight.
func TestConcurrentBodies(t *testing.T) {
	srv := httptestEcho(t)
	ep, err := NewChatEndpoint(ChatConfig{ModelID: testModel, BaseURL: srv, HTTPClient: NewHTTPClient(16)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				user := fmt.Sprintf("g%d-i%d-%s", g, i, strings.Repeat("x", (g*25+i)*37%5000))
				payload, err := CreatePayload([]string{"hi"}, 8, map[string]any{"user": user})
				if err != nil {
					t.Error(err)
					return
				}
				got := llmeter.Invoke(context.Background(), ep, payload)
				if got.Error != "" || got.Text() != user {
					t.Errorf("echo: got %q (error %q), want %q", got.Text(), got.Error, user)
					return
				}
			}
		})
	}
	wg.Wait()
}

// httptestEcho starts a server answering each non-streaming request with
// the request's "user" value as the message content.
func httptestEcho(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			User string `json:"user"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "echo", "choices": []any{
			map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": req.User}}}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestEnvDefaults checks $OPENAI_BASE_URL and $OPENAI_API_KEY, a trailing
// slash on the base URL, and a Host header override.
func TestEnvDefaults(t *testing.T) {
	srv := replay.NewServer(t, func(*http.Request) replay.Reply { return replay.Reply{File: "nonstream_details.json"} })
	tests := []struct {
		name     string
		env      map[string]string
		cfg      ChatConfig
		wantAuth string
		wantHost string
		wantPath string // default /v1/chat/completions
		wantURL  string // default srv.URL + wantPath
	}{
		{name: "from environment", env: map[string]string{EnvBaseURL: srv.URL + "/v1/", EnvAPIKey: "sk-from-env"},
			wantAuth: "Bearer sk-from-env"},
		{name: "config wins", env: map[string]string{EnvBaseURL: "http://127.0.0.1:1/nowhere", EnvAPIKey: "sk-from-env"},
			cfg: ChatConfig{BaseURL: srv.URL + "/v1", APIKey: "sk-config"}, wantAuth: "Bearer sk-config"},
		{name: "no key", env: map[string]string{EnvBaseURL: srv.URL + "/v1", EnvAPIKey: ""}, wantAuth: ""},
		{name: "query kept", env: map[string]string{EnvBaseURL: "", EnvAPIKey: ""},
			cfg:      ChatConfig{BaseURL: srv.URL + "/openai/deployments/gpt/?api-version=2024-10-21"},
			wantPath: "/openai/deployments/gpt/chat/completions",
			wantURL:  srv.URL + "/openai/deployments/gpt/chat/completions?api-version=2024-10-21"},
		{name: "host header", env: map[string]string{EnvBaseURL: srv.URL + "/v1", EnvAPIKey: ""},
			cfg: ChatConfig{Headers: map[string]string{"host": "api.example.com"}}, wantHost: "api.example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg := tc.cfg
			cfg.ModelID = testModel
			ep, err := NewChatEndpoint(cfg)
			if err != nil {
				t.Fatal(err)
			}
			wantPath, wantURL := tc.wantPath, tc.wantURL
			if wantPath == "" {
				wantPath = "/v1/chat/completions"
			}
			if wantURL == "" {
				wantURL = srv.URL + wantPath
			}
			if got := ep.URL(); got != wantURL {
				t.Errorf("URL: got %q, want %q", got, wantURL)
			}
			n := len(srv.Requests())
			got := llmeter.Invoke(context.Background(), ep, testPayload(t))
			if got.Error != "" {
				t.Fatalf("Error: got %q, want none", got.Error)
			}
			r := srv.Requests()[n]
			if r.Path != wantPath {
				t.Errorf("path: got %q, want %q", r.Path, wantPath)
			}
			if got := r.Header.Get("Authorization"); got != tc.wantAuth {
				t.Errorf("Authorization: got %q, want %q", got, tc.wantAuth)
			}
			if tc.wantHost != "" && r.Host != tc.wantHost {
				t.Errorf("Host: got %q, want %q", r.Host, tc.wantHost)
			}
		})
	}
}

// TestCanceled checks that a canceled context is reported as canceled.
func TestCanceled(t *testing.T) {
	srv := replay.NewServer(t, func(*http.Request) replay.Reply {
		return replay.Reply{File: "stream_normal.txt", Hang: true, HangAfter: 2}
	})
	replay.CheckCanceled(t, newTestEndpoint(t, srv.URL, true, nil), testPayload(t), "Hello")
}

// TestConnectionRefused checks the class of a dial failure.
func TestConnectionRefused(t *testing.T) {
	replay.CheckRefused(t, func(url string) llmeter.Endpoint { return newTestEndpoint(t, url, true, nil) }, testPayload(t),
		"openai: ")
}

// TestHTTP2 runs streaming and non-streaming calls, concurrently, over TLS
// with HTTP/2 (the request body is then written by the HTTP/2 transport).
func TestHTTP2(t *testing.T) {
	srv := replay.Start(t, replay.ByHeader(replay.ErrorStatus(429)), replay.Options{TLS: true})
	client := NewHTTPClient(8)
	srv.Trust(client)
	step := func(file string, stream bool, text, class string) replay.Step {
		s := fileStep(t, srv.URL+"/v1", client, file, stream)
		s.Text, s.Class = text, class
		return s
	}
	replay.CheckConcurrent(t, []replay.Step{
		step("stream_normal.txt", true, normalText, ""),
		step("stream_multi_token.txt", true, "Once upon a time, there was a tiny Go gopher.", ""),
		step("stream_error_midstream.txt", true, "Hello! How", llmeter.ErrorClassAPI),
		step("stream_no_done.txt", true, normalText, llmeter.ErrorClassProtocol),
		step("nonstream_details.json", false, "Hello! How can I assist you today?", ""),
		step("error_429.json", false, "", llmeter.ErrorClassHTTP429),
	}, 8, 12)
	srv.CheckHTTP2(t)
}
