package httpapi

// The transcripts in testdata/ follow the official API references:
//
//   - Ollama: https://github.com/ollama/ollama/blob/main/docs/api.md
//     ("Generate a completion", "Generate a chat completion": NDJSON lines
//     {"model","created_at","response"|"message","done":false}, a final
//     line with "done":true, "done_reason", "total_duration",
//     "load_duration", "prompt_eval_count", "prompt_eval_duration",
//     "eval_count", "eval_duration"; "Load a model": a single done line
//     without counts), https://docs.ollama.com/api/streaming
//     (application/x-ndjson) and https://docs.ollama.com/api/errors
//     ({"error": "…"} with the HTTP status; mid-stream, an {"error": …}
//     line, the status staying 200 — ollama_error_midstream.ndjson is that
//     page's example).
//   - Hugging Face TGI: https://huggingface.co/docs/text-generation-inference
//     (basic_tutorials/consuming_tgi, conceptual/streaming) and its OpenAPI
//     schema (https://huggingface.github.io/text-generation-inference/):
//     /generate_stream sends "data:{"index","token":{"id","text","logprob",
//     "special"},"generated_text":null,"details":null}" events, the last
//     one with generated_text and details {"finish_reason",
//     "generated_tokens","seed","input_length"}; errors are
//     {"error","error_type"}, as an HTTP body or as a stream event.
//   - The custom service (custom_*) is made up: a numeric id, text as a
//     list of parts, a zero count, an error object, SSE with keep-alives
//     and [DONE], NDJSON with CRLF and blank lines.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
)

const (
	testKey   = "sk-test-secret-0123456789"
	testModel = "llama3.2"
)

var testHeaders = map[string]string{"X-Test-Header": "test-value", "Authorization": "Bearer " + testKey}

// api is an API under test: how to configure the endpoint for a server,
// the payload sent, and what the server must receive.
type api struct {
	cfg     func(tb testing.TB, base string, stream bool) Config
	payload func() llmeter.Payload
	prompt  any                              // expected InputPrompt
	path    func(stream bool) string         // expected request path
	accept  func(stream bool) string         // expected Accept header
	changed func(stream bool) map[string]any // top-level body keys that differ from the payload
}

func fromPreset(name string) func(testing.TB, string, bool) Config {
	return func(tb testing.TB, base string, stream bool) Config {
		cfg, err := FromPreset(name, base, testModel, stream)
		if err != nil {
			tb.Fatal(err)
		}
		return cfg
	}
}

func fixed(s string) func(bool) string { return func(bool) string { return s } }

func ndjsonAccept(stream bool) string {
	if stream {
		return "application/x-ndjson"
	}
	return "application/json"
}

var apis = map[string]api{
	"ollama-generate": {
		cfg: fromPreset("ollama-generate"),
		payload: func() llmeter.Payload {
			return llmeter.Payload{"prompt": "Why is the sky blue?", "system": "Be brief.",
				"options": map[string]any{"num_predict": json.Number("64"), "temperature": json.Number("0.70")}}
		},
		prompt: "Why is the sky blue?",
		path:   fixed("/api/generate"),
		accept: ndjsonAccept,
		changed: func(stream bool) map[string]any {
			return map[string]any{"model": testModel, "stream": stream}
		},
	},
	"ollama-chat": {
		cfg: fromPreset("ollama-chat"),
		payload: func() llmeter.Payload {
			return llmeter.Payload{"messages": []any{
				map[string]any{"role": "system", "content": "Be brief."},
				map[string]any{"role": "user", "content": "why is the sky blue?"}},
				"stream": "the user's value", "model": "other"}
		},
		prompt: "Be brief.\nwhy is the sky blue?",
		path:   fixed("/api/chat"),
		accept: ndjsonAccept,
		changed: func(stream bool) map[string]any {
			return map[string]any{"model": testModel, "stream": stream}
		},
	},
	"tgi": {
		cfg: fromPreset("tgi"),
		payload: func() llmeter.Payload {
			return llmeter.Payload{"inputs": "What is Deep Learning?",
				"parameters": map[string]any{"max_new_tokens": 20, "temperature": json.Number("0.5"), "details": false}}
		},
		prompt: "What is Deep Learning?",
		path: func(stream bool) string {
			if stream {
				return "/generate_stream"
			}
			return "/generate"
		},
		accept: func(stream bool) string {
			if stream {
				return "text/event-stream"
			}
			return "application/json"
		},
		changed: func(bool) map[string]any {
			return map[string]any{"parameters": map[string]any{"max_new_tokens": 20,
				"temperature": json.Number("0.5"), "details": true}}
		},
	},
	"custom": {
		cfg: func(_ testing.TB, base string, _ bool) Config {
			return Config{URL: base + "/v1/complete?api_key=pw-secret", ModelID: "team-model", ModelField: "model_name",
				Inject: map[string]any{"options": map[string]any{"trace": true}}, TextPath: "result.outputs[].text",
				InputTokensPath: "usage.in", OutputTokensPath: "usage.out", IDPath: "id", InputTextPath: "input"}
		},
		payload: func() llmeter.Payload {
			return llmeter.Payload{"input": "hello", "options": map[string]any{"max_tokens": 3}}
		},
		prompt: "hello",
		path:   fixed("/v1/complete"),
		accept: fixed("application/json"),
		changed: func(bool) map[string]any {
			return map[string]any{"model_name": "team-model", "options": map[string]any{"max_tokens": 3, "trace": true}}
		},
	},
	"custom-ndjson": {
		cfg: func(_ testing.TB, base string, _ bool) Config {
			return Config{URL: base + "/stream", Stream: NDJSON, TextPath: "delta", OutputTokensPath: "usage.out",
				IDPath: "id", DonePath: "finished"}
		},
		payload: func() llmeter.Payload { return llmeter.Payload{"input": "hello"} },
		prompt:  nil,
		path:    fixed("/stream"),
		accept:  fixed("application/x-ndjson"),
		changed: func(bool) map[string]any { return nil },
	},
	"custom-sse": {
		cfg: func(_ testing.TB, base string, _ bool) Config {
			return Config{URL: base + "/sse", Method: "PUT", Stream: SSE, TextPath: "choices[0].text",
				InputTokensPath: "usage.prompt_tokens", OutputTokensPath: "usage.completion_tokens", IDPath: "id",
				InputTextPath: "input"}
		},
		payload: func() llmeter.Payload { return llmeter.Payload{"input": []any{"a", nil, "b"}} },
		prompt:  "a\nb",
		path:    fixed("/sse"),
		accept:  fixed("text/event-stream"),
		changed: func(bool) map[string]any { return nil },
	},
}

// expect is the InvocationResponse a case must produce.
type expect struct {
	text    *string // nil: no text
	id      string  // "": a generated UUID
	in, out *int
	chunks  int  // visible text chunks; TTFT is set iff > 0
	ttlt    bool // time to last token set
	errSub  []string
	class   string
}

var ip = llmeter.Ptr[int]

func sp(s string) *string { return &s }

var uuidHex = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestInvoke(t *testing.T) {
	const ollamaText = "The sky is blue.\n"
	tests := []struct {
		name    string
		api     string
		stream  bool
		serve   replay
		timeout time.Duration // context deadline, default 10s
		want    expect
	}{
		// Ollama, streaming (NDJSON).
		{name: "ollama generate stream", api: "ollama-generate", stream: true, serve: replay{file: "ollama_generate_stream.ndjson"},
			want: expect{text: sp(ollamaText), in: ip(26), out: ip(6), chunks: 6, ttlt: true}},
		{name: "ollama generate stream slow first token", api: "ollama-generate", stream: true,
			serve: replay{file: "ollama_generate_stream.ndjson", slowEvent: 1},
			want:  expect{text: sp(ollamaText), in: ip(26), out: ip(6), chunks: 6, ttlt: true}},
		{name: "ollama chat stream", api: "ollama-chat", stream: true, serve: replay{file: "ollama_chat_stream.ndjson"},
			want: expect{text: sp(`Rayleigh scattering "blue"`), in: ip(26), out: ip(3), chunks: 3, ttlt: true}},
		{name: "ollama stream without text or counts", api: "ollama-generate", stream: true, serve: replay{file: "ollama_load.ndjson"},
			want: expect{ttlt: true}},
		{name: "ollama error line mid-stream", api: "ollama-generate", stream: true, serve: replay{file: "ollama_error_midstream.ndjson"},
			want: expect{text: sp(" Yes.Ican"), chunks: 4, ttlt: true,
				errSub: []string{"an error was encountered while running the model"}, class: llmeter.ErrorClassAPI}},
		{name: "ollama stream without done", api: "ollama-generate", stream: true, serve: replay{file: "ollama_no_done.ndjson"},
			want: expect{text: sp("The sky"), chunks: 2, ttlt: true,
				errSub: []string{"httpapi: ", llmeter.ErrIncompleteStream.Error()}, class: llmeter.ErrorClassProtocol}},
		{name: "ollama malformed line", api: "ollama-generate", stream: true, serve: replay{file: "ollama_malformed.ndjson"},
			want: expect{text: sp("The"), chunks: 1, ttlt: true, errSub: []string{"malformed event"},
				class: llmeter.ErrorClassProtocol}},
		{name: "ollama connection dropped", api: "ollama-generate", stream: true, serve: replay{file: "ollama_dropped.ndjson", drop: true},
			want: expect{text: sp("The sky"), chunks: 2, ttlt: true, errSub: []string{"httpapi: ", "unexpected EOF"},
				class: llmeter.ErrorClassConnection}},
		{name: "ollama stream HTTP 404", api: "ollama-chat", stream: true, serve: replay{file: "ollama_error_404.json", status: 404},
			want: expect{errSub: []string{`HTTP 404: model "llama3.2" not found, try pulling it first`}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "ollama stream HTTP 429", api: "ollama-generate", stream: true, serve: replay{file: "ollama_error_429.json", status: 429},
			want: expect{errSub: []string{"HTTP 429: too many requests"}, class: llmeter.ErrorClassHTTP429}},
		{name: "ollama stream HTTP 500", api: "ollama-generate", stream: true, serve: replay{file: "ollama_error_500.json", status: 500},
			want: expect{errSub: []string{"HTTP 500: the model failed to generate a response"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "ollama stream timeout mid-stream", api: "ollama-generate", stream: true,
			serve: replay{file: "ollama_generate_stream.ndjson", hang: true, hangAfter: 2}, timeout: time.Second,
			want: expect{text: sp("The sky"), chunks: 2, ttlt: true, errSub: []string{"httpapi: "}, class: llmeter.ErrorClassTimeout}},

		// Ollama, non-streaming.
		{name: "ollama generate", api: "ollama-generate", serve: replay{file: "ollama_generate.json"},
			want: expect{text: sp("The sky is blue because it is the color of the sky."), in: ip(26), out: ip(290), ttlt: true}},
		{name: "ollama chat", api: "ollama-chat", serve: replay{file: "ollama_chat.json"},
			want: expect{text: sp("Hello! How are you today?"), in: ip(26), out: ip(298), ttlt: true}},
		{name: "ollama HTTP 400", api: "ollama-generate", serve: replay{file: "ollama_error_400.json", status: 400},
			want: expect{errSub: []string{"HTTP 400: invalid options"}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "ollama HTTP 502 HTML", api: "ollama-chat", serve: replay{file: "error_502.html", status: 502},
			want: expect{errSub: []string{"HTTP 502: <html> <head><title>502 Bad Gateway</title></head>"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "ollama timeout", api: "ollama-generate", serve: replay{file: "ollama_generate.json", hang: true},
			timeout: 100 * time.Millisecond,
			want:    expect{errSub: []string{"deadline exceeded"}, class: llmeter.ErrorClassTimeout}},

		// TGI, streaming (SSE).
		{name: "tgi stream", api: "tgi", stream: true, serve: replay{file: "tgi_stream.txt"},
			want: expect{text: sp(" Deep Learning is a subset"), in: ip(6), out: ip(5), chunks: 5, ttlt: true}},
		{name: "tgi error event mid-stream", api: "tgi", stream: true, serve: replay{file: "tgi_stream_error.txt"},
			want: expect{text: sp(" Deep Learning"), chunks: 2, ttlt: true,
				errSub: []string{"Request failed during generation: Server error: CUDA out of memory."}, class: llmeter.ErrorClassAPI}},
		{name: "tgi stream without final event", api: "tgi", stream: true, serve: replay{file: "tgi_stream_no_details.txt"},
			want: expect{text: sp(" Deep Learning"), chunks: 2, ttlt: true, errSub: []string{llmeter.ErrIncompleteStream.Error()},
				class: llmeter.ErrorClassProtocol}},
		{name: "tgi stream HTTP 422", api: "tgi", stream: true, serve: replay{file: "tgi_error_422.json", status: 422},
			want: expect{errSub: []string{"HTTP 422: Input validation error"}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "tgi stream HTTP 429", api: "tgi", stream: true, serve: replay{file: "tgi_error_429.json", status: 429},
			want: expect{errSub: []string{"HTTP 429: Model is overloaded"}, class: llmeter.ErrorClassHTTP429}},
		{name: "tgi stream answered with JSON", api: "tgi", stream: true, serve: replay{file: "tgi_generate.json"},
			want: expect{out: ip(8), errSub: []string{"did not stream"}, class: llmeter.ErrorClassProtocol}},

		// TGI, non-streaming.
		{name: "tgi generate", api: "tgi", serve: replay{file: "tgi_generate.json"},
			want: expect{text: sp(" Deep Learning is a subset of machine learning"), out: ip(8), ttlt: true}},
		{name: "tgi generate HTTP 422", api: "tgi", serve: replay{file: "tgi_error_422.json", status: 422},
			want: expect{errSub: []string{"HTTP 422: Input validation error"}, class: llmeter.ErrorClassHTTP4xx}},

		// A custom service.
		{name: "custom JSON", api: "custom", serve: replay{file: "custom_response.json"},
			want: expect{text: sp("Hello, world"), id: "12345", in: ip(0), out: ip(3), ttlt: true}},
		{name: "custom error object in 200", api: "custom", serve: replay{file: "custom_error_200.json"},
			want: expect{ttlt: true, errSub: []string{"daily quota exceeded"}, class: llmeter.ErrorClassAPI}},
		{name: "custom error false is no error", api: "custom", serve: replay{file: "custom_error_false.json"},
			want: expect{text: sp("fine"), id: "req-1", in: ip(4), out: ip(1), ttlt: true}},
		{name: "custom non-JSON body", api: "custom", serve: replay{file: "custom_plain.txt", contentType: "text/plain"},
			want: expect{ttlt: true, errSub: []string{"malformed response", "Hello, this is not JSON."},
				class: llmeter.ErrorClassProtocol}},
		{name: "custom HTTP 503 JSON error", api: "custom", serve: replay{file: "ollama_error_500.json", status: 503},
			want: expect{errSub: []string{"HTTP 503: the model failed to generate a response"}, class: llmeter.ErrorClassHTTP5xx}},
		{name: "custom NDJSON with CRLF and blank lines", api: "custom-ndjson", serve: replay{file: "custom_stream.ndjson"},
			want: expect{text: sp("Hello é"), id: "7", out: ip(2), chunks: 2, ttlt: true}},
		{name: "custom NDJSON error keeps text, counts and id", api: "custom-ndjson", serve: replay{file: "custom_stream_error.ndjson"},
			want: expect{text: sp("Hi there"), id: "s1", out: ip(2), chunks: 2, ttlt: true, errSub: []string{"backend reset"},
				class: llmeter.ErrorClassAPI}},
		{name: "custom SSE with keep-alives and DONE", api: "custom-sse", serve: replay{file: "custom_sse.txt"},
			want: expect{text: sp("Once upon a time"), id: "cmpl-9", in: ip(4), out: ip(3), chunks: 3, ttlt: true}},
		{name: "custom SSE error event", api: "custom-sse", serve: replay{file: "custom_sse_error_event.txt"},
			want: expect{text: sp("Part"), id: "cmpl-10", chunks: 1, ttlt: true, errSub: []string{"Overloaded"},
				class: llmeter.ErrorClassAPI}},
		{name: "custom SSE without DONE is complete", api: "custom-sse", serve: replay{file: "tgi_stream_no_details.txt"},
			want: expect{ttlt: true}},
		{name: "custom SSE body without data fields", api: "custom-sse", serve: replay{file: "ollama_generate_stream.ndjson",
			contentType: "text/event-stream"},
			want: expect{ttlt: true}},
		{name: "custom SSE malformed event", api: "custom-sse", serve: replay{file: "custom_sse_malformed.txt"},
			want: expect{text: sp("Good"), chunks: 1, ttlt: true, errSub: []string{"malformed event"},
				class: llmeter.ErrorClassProtocol}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := apis[tc.api]
			srv := newTestServer(t, func(*http.Request) replay { return tc.serve })
			cfg := a.cfg(t, srv.URL, tc.stream)
			cfg.Headers = testHeaders
			cfg.HTTPClient = nil
			ep, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			payload := a.payload()
			snapshot := llmeter.CopyPayload(payload)
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()

			got := llmeter.Invoke(ctx, ep, payload)

			checkResponse(t, got, tc.want)
			if encode(t, payload) != encode(t, snapshot) {
				t.Errorf("caller's payload modified: got %v, want %v", payload, snapshot)
			}
			wantBody := llmeter.CopyPayload(snapshot)
			maps.Copy(wantBody, a.changed(tc.stream))
			if g, w := encode(t, got.InputPayload), encode(t, wantBody); g != w {
				t.Errorf("InputPayload: got %s, want %s", g, w)
			}
			if fmt.Sprint(got.InputPrompt) != fmt.Sprint(a.prompt) {
				t.Errorf("InputPrompt: got %#v, want %#v", got.InputPrompt, a.prompt)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			wantMethod := cfg.Method
			if wantMethod == "" {
				wantMethod = http.MethodPost
			}
			if r.method != wantMethod {
				t.Errorf("method: got %s, want %s", r.method, wantMethod)
			}
			if want := a.path(tc.stream); r.path != want {
				t.Errorf("path: got %s, want %s", r.path, want)
			}
			for name, want := range map[string]string{
				"Content-Type":  "application/json",
				"Accept":        a.accept(tc.stream),
				"X-Test-Header": "test-value",
				"Authorization": "Bearer " + testKey,
			} {
				if got := r.header.Get(name); got != want {
					t.Errorf("header %s: got %q, want %q", name, got, want)
				}
			}
			body, err := llmeter.DecodeJSON(r.body)
			if err != nil {
				t.Fatalf("request body %q: %v", r.body, err)
			}
			if g, w := encode(t, body), encode(t, wantBody); g != w {
				t.Errorf("request body: got %s, want %s", g, w)
			}
		})
	}
}

// checkResponse compares the whole InvocationResponse with want.
func checkResponse(t *testing.T, got *llmeter.InvocationResponse, want expect) {
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
	}{{"NumTokensInput", got.NumTokensInput, want.in}, {"NumTokensOutput", got.NumTokensOutput, want.out}} {
		if fmtPtr(c.got) != fmtPtr(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, fmtPtr(c.got), fmtPtr(c.want))
		}
	}
	if want.in != nil && got.TokensInputSource != "usage" {
		t.Errorf("TokensInputSource: got %q, want usage", got.TokensInputSource)
	}
	if want.out != nil && got.TokensOutputSource != "usage" {
		t.Errorf("TokensOutputSource: got %q, want usage", got.TokensOutputSource)
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
		if ttlt := got.ChunkOffsets[n-1].Seconds(); *got.TimeToLastToken != ttlt {
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
	for _, secret := range []string{testKey, "pw-secret"} {
		if strings.Contains(got.Error, secret) {
			t.Errorf("Error %q contains the secret %q", got.Error, secret)
		}
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

func encode(tb testing.TB, v any) string {
	tb.Helper()
	b, err := llmeter.AppendRequestJSON(nil, v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestQueryKept checks that the URL's query string reaches the server.
func TestQueryKept(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "custom_response.json"} })
	ep, err := New(apis["custom"].cfg(t, srv.URL, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := llmeter.Invoke(context.Background(), ep, llmeter.Payload{}); got.Error != "" {
		t.Fatalf("Error: got %q, want none", got.Error)
	}
	if got := srv.requests()[0].query; got != "api_key=pw-secret" {
		t.Errorf("query: got %q, want api_key=pw-secret", got)
	}
}

// TestConnectionReuse checks that complete streams, stopped streams (at
// DonePath), error statuses and bodies all leave the connection reusable.
func TestConnectionReuse(t *testing.T) {
	srv := newTestServer(t, func(r *http.Request) replay {
		rp := replay{file: r.Header.Get("X-Replay")}
		if strings.Contains(rp.file, "error_") {
			rp.status = 429
		}
		return rp
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	steps := []struct {
		api, file string
		stream    bool
	}{
		{"ollama-generate", "ollama_generate_stream.ndjson", true}, {"custom-ndjson", "custom_stream.ndjson", false},
		{"tgi", "tgi_stream.txt", true}, {"ollama-chat", "ollama_chat.json", false},
		{"ollama-chat", "ollama_error_429.json", true}, {"custom-sse", "custom_sse.txt", false},
		{"ollama-generate", "ollama_generate_stream.ndjson", true},
	}
	for i, s := range steps {
		cfg := apis[s.api].cfg(t, srv.URL, s.stream)
		cfg.HTTPClient = client
		cfg.Headers = map[string]string{"X-Replay": s.file}
		ep, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, apis[s.api].payload())
		if wantErr := strings.Contains(s.file, "error_"); (got.Error != "") != wantErr {
			t.Errorf("step %d (%s): Error %q, want error %v", i, s.file, got.Error, wantErr)
		}
	}
	if n := srv.newConns.Load(); n != 1 {
		t.Errorf("connections: got %d, want 1 (all requests on one reused connection)", n)
	}
}

// TestConcurrent shares endpoints between goroutines (run with -race): the
// pooled stream parsers and scratch buffers must not leak between calls.
func TestConcurrent(t *testing.T) {
	srv := newTestServer(t, func(r *http.Request) replay { return replay{file: r.Header.Get("X-Replay")} })
	cases := []struct {
		api, file string
		stream    bool
		text, id  string
	}{
		{"ollama-generate", "ollama_generate_stream.ndjson", true, "The sky is blue.\n", ""},
		{"custom-ndjson", "custom_stream.ndjson", true, "Hello é", "7"},
		{"custom-ndjson", "custom_stream_error.ndjson", true, "Hi there", "s1"},
		{"custom-sse", "custom_sse.txt", true, "Once upon a time", "cmpl-9"},
		{"tgi", "tgi_stream.txt", true, " Deep Learning is a subset", ""},
		{"custom", "custom_response.json", false, "Hello, world", "12345"},
	}
	eps := make([]*Endpoint, len(cases))
	for i, c := range cases {
		cfg := apis[c.api].cfg(t, srv.URL, c.stream)
		cfg.Headers = map[string]string{"X-Replay": c.file}
		ep, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		eps[i] = ep
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 30 {
				k := (g + i) % len(cases)
				c := cases[k]
				got := llmeter.Invoke(context.Background(), eps[k], apis[c.api].payload())
				if got.Text() != c.text || (c.id != "" && got.ID != c.id) {
					t.Errorf("%s: got text %q, id %q (error %q); want %q, %q", c.file, got.Text(), got.ID, got.Error, c.text, c.id)
					return
				}
			}
		})
	}
	wg.Wait()
}
