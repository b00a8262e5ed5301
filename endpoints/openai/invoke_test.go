package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
)

const (
	testModel  = "gpt-4o-mini"
	testKey    = "sk-test-secret-0123456789"
	testPrompt = "Tell me a joke"
)

func newTestEndpoint(tb testing.TB, baseURL string, stream bool, client *http.Client) *ChatEndpoint {
	tb.Helper()
	ep, err := NewChatEndpoint(ChatConfig{
		ModelID:    testModel,
		BaseURL:    baseURL,
		APIKey:     testKey,
		Headers:    map[string]string{"X-Test-Header": "test-value"},
		Stream:     stream,
		HTTPClient: client,
	})
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

// expect is the InvocationResponse a case must produce.
type expect struct {
	text                       *string // nil: no text
	id                         string  // "": a generated UUID
	in, out, cached, reasoning *int
	chunks                     int  // visible text chunks; TTFT is set iff > 0
	ttlt                       bool // time to last token set
	errSub                     []string
	class                      string
}

var ip = llmeter.Ptr[int]

func sp(s string) *string { return &s }

var uuidHex = regexp.MustCompile(`^[0-9a-f]{32}$`)

const normalText = "Hello! How can I help you today?"

func TestInvoke(t *testing.T) {
	tests := []struct {
		name    string
		stream  bool
		serve   replay
		timeout time.Duration // context deadline, default 10s
		want    expect
	}{
		// Streaming.
		{name: "stream normal with usage", stream: true, serve: replay{file: "stream_normal.txt"},
			want: expect{text: sp(normalText), id: "chatcmpl-AzEu7pHNcyLWrkJdgXKJpM5zVnB5d",
				in: ip(19), out: ip(9), cached: ip(0), reasoning: ip(0), chunks: 9, ttlt: true}},
		{name: "stream role-only first chunk", stream: true, serve: replay{file: "stream_role_only_first.txt"},
			want: expect{text: sp("The sky is blue."), id: "chatcmpl-7f3c2a9e1b4d4c0f8a6e5d3b2c1a0f9e",
				in: ip(12), out: ip(5), chunks: 5, ttlt: true}},
		{name: "stream null and empty deltas", stream: true, serve: replay{file: "stream_null_empty_delta.txt"},
			want: expect{text: sp("AB"), id: "chatcmpl-null-empty", in: ip(8), out: ip(2), cached: ip(0), reasoning: ip(0),
				chunks: 2, ttlt: true}},
		{name: "stream keep-alive comments", stream: true, serve: replay{file: "stream_keepalive.txt"},
			want: expect{text: sp("Keep going"), id: "gen-1739112035-keepalive", in: ip(10), out: ip(2), cached: ip(0),
				reasoning: ip(0), chunks: 2, ttlt: true}},
		{name: "stream usage chunk with empty choices", stream: true, serve: replay{file: "stream_usage_empty_choices.txt"},
			want: expect{text: sp("42."), id: "chatcmpl-BA1reasoning0usage0chunk000000", in: ip(2048), out: ip(322),
				cached: ip(1920), reasoning: ip(320), chunks: 2, ttlt: true}},
		{name: "stream usage chunk without choices", stream: true, serve: replay{file: "stream_usage_no_choices_key.txt"},
			want: expect{text: sp("Yes."), id: "cmpl-usage-no-choices-key", in: ip(7), out: ip(2), chunks: 2, ttlt: true}},
		{name: "stream usage on the finish chunk", stream: true, serve: replay{file: "stream_usage_on_finish_chunk.txt"},
			want: expect{text: sp("Fine, thanks"), id: "chatcmpl-usage-on-finish", in: ip(9), out: ip(3), chunks: 2, ttlt: true}},
		{name: "stream multi-token chunks", stream: true, serve: replay{file: "stream_multi_token.txt"},
			want: expect{text: sp("Once upon a time, there was a tiny Go gopher."), id: "chatcmpl-multi-token",
				in: ip(11), out: ip(14), cached: ip(0), reasoning: ip(0), chunks: 3, ttlt: true}},
		{name: "stream without usage", stream: true, serve: replay{file: "stream_no_usage.txt"},
			want: expect{text: sp("No usage"), id: "chatcmpl-no-usage", chunks: 2, ttlt: true}},
		{name: "stream reasoning deltas are not text", stream: true, serve: replay{file: "stream_reasoning.txt"},
			want: expect{text: sp("Four."), id: "chatcmpl-reasoning-deltas", in: ip(15), out: ip(30), cached: ip(0),
				reasoning: ip(27), chunks: 2, ttlt: true}},
		{name: "stream CRLF line endings", stream: true, serve: replay{file: "stream_crlf.txt"},
			want: expect{text: sp("Windows lines"), id: "chatcmpl-crlf", chunks: 2, ttlt: true}},
		{name: "stream slow first token", stream: true, serve: replay{file: "stream_normal.txt", slowEvent: 1},
			want: expect{text: sp(normalText), id: "chatcmpl-AzEu7pHNcyLWrkJdgXKJpM5zVnB5d",
				in: ip(19), out: ip(9), cached: ip(0), reasoning: ip(0), chunks: 9, ttlt: true}},

		// Streaming failures.
		{name: "stream error object mid-stream", stream: true, serve: replay{file: "stream_error_midstream.txt"},
			want: expect{text: sp("Hello! How"), id: "chatcmpl-error-midstream", chunks: 3, ttlt: true,
				errSub: []string{"The server had an error while processing your request. Sorry about that!"},
				class:  llmeter.ErrorClassAPI}},
		{name: "stream error event", stream: true, serve: replay{file: "stream_error_event.txt"},
			want: expect{text: sp("Partial"), id: "chatcmpl-error-event", chunks: 1, ttlt: true,
				errSub: []string{"Overloaded"}, class: llmeter.ErrorClassAPI}},
		{name: "stream HTTP 429", stream: true, serve: replay{file: "error_429.json", status: 429},
			want: expect{errSub: []string{"429", "Rate limit reached for gpt-4o-mini in organization org-123"},
				class: llmeter.ErrorClassHTTP429}},
		{name: "stream HTTP 500", stream: true, serve: replay{file: "error_500.json", status: 500},
			want: expect{errSub: []string{"500", "The server had an error while processing your request."},
				class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream HTTP 400 detail", stream: true, serve: replay{file: "error_400_detail.json", status: 400},
			want: expect{errSub: []string{"HTTP 400: max_tokens must be at least 1, got 0."}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 404 error string", stream: true, serve: replay{file: "error_404_string.json", status: 404},
			want: expect{errSub: []string{`HTTP 404: model "gpt-5-nano" not found`}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream HTTP 503 message", stream: true, serve: replay{file: "error_503_message.json", status: 503},
			want: expect{errSub: []string{"HTTP 503: Service temporarily unavailable: model is loading"},
				class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream HTTP 502 HTML", stream: true, serve: replay{file: "error_502.html", status: 502},
			want: expect{errSub: []string{"HTTP 502: <html> <head><title>502 Bad Gateway</title></head>"},
				class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream connection dropped", stream: true, serve: replay{file: "stream_dropped.txt", drop: true},
			want: expect{text: sp("Hello! How can"), id: "chatcmpl-dropped", chunks: 4, ttlt: true,
				errSub: []string{"openai: ", "unexpected EOF"}, class: llmeter.ErrorClassConnection}},
		{name: "stream without DONE", stream: true, serve: replay{file: "stream_no_done.txt"},
			want: expect{text: sp(normalText), id: "chatcmpl-no-done", in: ip(19), out: ip(9), cached: ip(0), reasoning: ip(0),
				chunks: 9, ttlt: true, errSub: []string{llmeter.ErrIncompleteStream.Error()}, class: llmeter.ErrorClassProtocol}},
		{name: "stream malformed chunk", stream: true, serve: replay{file: "stream_malformed.txt"},
			want: expect{text: sp("Good"), id: "chatcmpl-malformed", chunks: 1, ttlt: true,
				errSub: []string{"malformed chunk"}, class: llmeter.ErrorClassProtocol}},
		{name: "stream answered with JSON", stream: true, serve: replay{file: "nonstream_details.json"},
			want: expect{text: sp("Hello! How can I assist you today?"), id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
				in: ip(2006), out: ip(300), cached: ip(1920), reasoning: ip(256),
				errSub: []string{"did not stream"}, class: llmeter.ErrorClassProtocol}},
		{name: "stream timeout before headers", stream: true, serve: replay{file: "stream_normal.txt", hang: true},
			timeout: 100 * time.Millisecond,
			want:    expect{errSub: []string{"deadline exceeded"}, class: llmeter.ErrorClassTimeout}},
		{name: "stream timeout mid-stream", stream: true, serve: replay{file: "stream_normal.txt", hang: true, hangAfter: 3},
			timeout: time.Second,
			want: expect{text: sp("Hello!"), id: "chatcmpl-AzEu7pHNcyLWrkJdgXKJpM5zVnB5d", chunks: 2, ttlt: true,
				class: llmeter.ErrorClassTimeout, errSub: []string{"openai: "}}},

		// Non-streaming.
		{name: "non-stream cached and reasoning details", serve: replay{file: "nonstream_details.json"},
			want: expect{text: sp("Hello! How can I assist you today?"), id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
				in: ip(2006), out: ip(300), cached: ip(1920), reasoning: ip(256), ttlt: true}},
		{name: "non-stream null content", serve: replay{file: "nonstream_null_content.json"},
			want: expect{id: "chatcmpl-null-content", in: ip(82), out: ip(17), cached: ip(0), reasoning: ip(0), ttlt: true}},
		{name: "non-stream error object in 200", serve: replay{file: "nonstream_error_200.json"},
			want: expect{ttlt: true, errSub: []string{"The model produced invalid content."}, class: llmeter.ErrorClassAPI}},
		{name: "non-stream HTTP 429", serve: replay{file: "error_429.json", status: 429},
			want: expect{errSub: []string{"HTTP 429: Rate limit reached"}, class: llmeter.ErrorClassHTTP429}},
		{name: "non-stream HTTP 500", serve: replay{file: "error_500.json", status: 500},
			want: expect{errSub: []string{"HTTP 500: The server had an error"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "non-stream malformed JSON", serve: replay{file: "stream_normal.txt", contentType: "application/json"},
			want: expect{ttlt: true, errSub: []string{"malformed response"}, class: llmeter.ErrorClassProtocol}},
		{name: "non-stream timeout", serve: replay{file: "nonstream_details.json", hang: true},
			timeout: 100 * time.Millisecond,
			want:    expect{errSub: []string{"deadline exceeded"}, class: llmeter.ErrorClassTimeout}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(*http.Request) replay { return tc.serve })
			ep := newTestEndpoint(t, srv.URL+"/v1", tc.stream, NewHTTPClient(1))
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
		{"NumTokensOutputReasoning", got.NumTokensOutputReasoning, want.reasoning}} {
		if fmtPtr(c.got) != fmtPtr(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, fmtPtr(c.got), fmtPtr(c.want))
		}
	}
	if want.in != nil && got.TokensInputSource != "usage" {
		t.Errorf("TokensInputSource: got %q, want usage", got.TokensInputSource)
	}

	if gotSet := got.TimeToFirstToken != nil; gotSet != (want.chunks > 0) {
		t.Errorf("TimeToFirstToken set: got %v, want %v", gotSet, want.chunks > 0)
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
		if ttft := got.ChunkOffsets[0].Seconds(); *got.TimeToFirstToken != ttft {
			t.Errorf("TTFT: got %v, want the first text chunk's time %v", *got.TimeToFirstToken, ttft)
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
	if stream {
		want["stream_options"] = map[string]any{"include_usage": true}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InputPayload: got %v, want %v", got, want)
	}
}

// checkRequest checks what the server received.
func checkRequest(t *testing.T, r received, user llmeter.Payload, stream bool) {
	t.Helper()
	if r.method != http.MethodPost || r.path != "/v1/chat/completions" {
		t.Errorf("request: got %s %s, want POST /v1/chat/completions", r.method, r.path)
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
	so, has := m["stream_options"]
	switch {
	case stream && !reflect.DeepEqual(so, map[string]any{"include_usage": true}):
		t.Errorf("body stream_options: got %v, want {include_usage: true}", so)
	case !stream && has:
		t.Errorf("body stream_options: got %v, want none", so)
	}
	if want := len(user) + 2 + map[bool]int{true: 1}[stream]; len(m) != want {
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

// TestJSONNumbersUnchanged sends numbers that float64 would round and checks
// that they reach the server digit for digit.
func TestJSONNumbersUnchanged(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			file := "nonstream_details.json"
			if stream {
				file = "stream_normal.txt"
			}
			srv := newTestServer(t, func(*http.Request) replay { return replay{file: file} })
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
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			for _, lit := range []string{`"seed": 12345678901234567890`, `"temperature": 0.70`,
				`"50256": -100`, `"1000": 1e2`, `"tiny": 1.000000000000000000001`, `"max_tokens": 16`} {
				if !bytes.Contains(reqs[0].body, []byte(lit)) {
					t.Errorf("request body %s: want it to contain %s", reqs[0].body, lit)
				}
			}
		})
	}
}

// TestConnectionReuse checks that successful, failed-status and
// non-streaming responses all leave the connection reusable.
func TestConnectionReuse(t *testing.T) {
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
	}{
		{"stream_normal.txt", true}, {"stream_keepalive.txt", true}, {"nonstream_details.json", false},
		{"error_429.json", true}, {"error_429.json", false}, {"stream_multi_token.txt", true},
		{"nonstream_null_content.json", false}, {"stream_normal.txt", true},
	}
	for i, s := range steps {
		ep, err := NewChatEndpoint(ChatConfig{ModelID: testModel, BaseURL: srv.URL, Stream: s.stream,
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
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "nonstream_details.json"} })
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
			n := len(srv.requests())
			got := llmeter.Invoke(context.Background(), ep, testPayload(t))
			if got.Error != "" {
				t.Fatalf("Error: got %q, want none", got.Error)
			}
			r := srv.requests()[n]
			if r.path != wantPath {
				t.Errorf("path: got %q, want %q", r.path, wantPath)
			}
			if got := r.header.Get("Authorization"); got != tc.wantAuth {
				t.Errorf("Authorization: got %q, want %q", got, tc.wantAuth)
			}
			if tc.wantHost != "" && r.host != tc.wantHost {
				t.Errorf("Host: got %q, want %q", r.host, tc.wantHost)
			}
		})
	}
}

// TestCanceled checks that a canceled context is reported as canceled.
func TestCanceled(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay {
		return replay{file: "stream_normal.txt", hang: true, hangAfter: 2}
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

// TestConnectionRefused checks the class of a dial failure.
func TestConnectionRefused(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "stream_normal.txt"} })
	url := srv.URL
	srv.Close()
	ep := newTestEndpoint(t, url, true, nil)
	got := llmeter.Invoke(context.Background(), ep, testPayload(t))
	if got.ErrorClass != llmeter.ErrorClassConnection {
		t.Errorf("ErrorClass: got %q (error %q), want %q", got.ErrorClass, got.Error, llmeter.ErrorClassConnection)
	}
	if !strings.HasPrefix(got.Error, "openai: ") {
		t.Errorf("Error: got %q, want the prefix %q", got.Error, "openai: ")
	}
}

// TestHTTP2 runs streaming and non-streaming calls, concurrently, over TLS
// with HTTP/2 (the request body is then written by the HTTP/2 transport).
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
		{"stream_normal.txt", true, normalText, ""},
		{"stream_multi_token.txt", true, "Once upon a time, there was a tiny Go gopher.", ""},
		{"stream_error_midstream.txt", true, "Hello! How", llmeter.ErrorClassAPI},
		{"stream_no_done.txt", true, normalText, llmeter.ErrorClassProtocol},
		{"nonstream_details.json", false, "Hello! How can I assist you today?", ""},
		{"error_429.json", false, "", llmeter.ErrorClassHTTP429},
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 12 {
				c := cases[(g+i)%len(cases)]
				ep, err := NewChatEndpoint(ChatConfig{ModelID: testModel, BaseURL: srv.URL + "/v1", Stream: c.stream,
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
		if !json.Valid(r.body) {
			t.Fatalf("request body: got %q, want JSON", r.body)
		}
	}
}
