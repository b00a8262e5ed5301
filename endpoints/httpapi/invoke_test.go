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
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
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

var ip = llmeter.Ptr[int]

func sp(s string) *string { return &s }

func TestInvoke(t *testing.T) {
	const ollamaText = "The sky is blue.\n"
	tests := []struct {
		name    string
		api     string
		stream  bool
		serve   replay.Reply
		timeout time.Duration // context deadline, default 10s
		want    replay.Expect
	}{
		// Ollama, streaming (NDJSON).
		{name: "ollama generate stream", api: "ollama-generate", stream: true, serve: replay.Reply{File: "ollama_generate_stream.ndjson"},
			want: replay.Expect{Text: sp(ollamaText), In: ip(26), Out: ip(6), Chunks: 6, TTLT: replay.Last}},
		{name: "ollama generate stream slow first token", api: "ollama-generate", stream: true,
			serve: replay.Reply{File: "ollama_generate_stream.ndjson", SlowEvent: 1},
			want:  replay.Expect{Text: sp(ollamaText), In: ip(26), Out: ip(6), Chunks: 6, TTLT: replay.Last}},
		{name: "ollama chat stream", api: "ollama-chat", stream: true, serve: replay.Reply{File: "ollama_chat_stream.ndjson"},
			want: replay.Expect{Text: sp(`Rayleigh scattering "blue"`), In: ip(26), Out: ip(3), Chunks: 3, TTLT: replay.Last}},
		{name: "ollama stream without text or counts", api: "ollama-generate", stream: true, serve: replay.Reply{File: "ollama_load.ndjson"},
			want: replay.Expect{TTLT: replay.Last}},
		{name: "ollama error line mid-stream", api: "ollama-generate", stream: true, serve: replay.Reply{File: "ollama_error_midstream.ndjson"},
			want: replay.Expect{Text: sp(" Yes.Ican"), Chunks: 4, TTLT: replay.Last,
				ErrSub: []string{"an error was encountered while running the model"}, Class: llmeter.ErrorClassAPI}},
		{name: "ollama stream without done", api: "ollama-generate", stream: true, serve: replay.Reply{File: "ollama_no_done.ndjson"},
			want: replay.Expect{Text: sp("The sky"), Chunks: 2, TTLT: replay.Last,
				ErrSub: []string{"httpapi: ", llmeter.ErrIncompleteStream.Error()}, Class: llmeter.ErrorClassProtocol}},
		{name: "ollama malformed line", api: "ollama-generate", stream: true, serve: replay.Reply{File: "ollama_malformed.ndjson"},
			want: replay.Expect{Text: sp("The"), Chunks: 1, TTLT: replay.Last, ErrSub: []string{"malformed event"},
				Class: llmeter.ErrorClassProtocol}},
		{name: "ollama connection dropped", api: "ollama-generate", stream: true, serve: replay.Reply{File: "ollama_dropped.ndjson", Drop: true},
			want: replay.Expect{Text: sp("The sky"), Chunks: 2, TTLT: replay.Last, ErrSub: []string{"httpapi: ", "unexpected EOF"},
				Class: llmeter.ErrorClassConnection}},
		{name: "ollama stream HTTP 404", api: "ollama-chat", stream: true, serve: replay.Reply{File: "ollama_error_404.json", Status: 404},
			want: replay.Expect{ErrSub: []string{`HTTP 404: model "llama3.2" not found, try pulling it first`}, Class: llmeter.ErrorClassHTTP4xx}},
		{name: "ollama stream HTTP 429", api: "ollama-generate", stream: true, serve: replay.Reply{File: "ollama_error_429.json", Status: 429},
			want: replay.Expect{ErrSub: []string{"HTTP 429: too many requests"}, Class: llmeter.ErrorClassHTTP429}},
		{name: "ollama stream HTTP 500", api: "ollama-generate", stream: true, serve: replay.Reply{File: "ollama_error_500.json", Status: 500},
			want: replay.Expect{ErrSub: []string{"HTTP 500: the model failed to generate a response"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "ollama stream timeout mid-stream", api: "ollama-generate", stream: true,
			serve: replay.Reply{File: "ollama_generate_stream.ndjson", Hang: true, HangAfter: 2}, timeout: time.Second,
			want: replay.Expect{Text: sp("The sky"), Chunks: 2, TTLT: replay.Last, ErrSub: []string{"httpapi: "}, Class: llmeter.ErrorClassTimeout}},

		// Ollama, non-streaming.
		{name: "ollama generate", api: "ollama-generate", serve: replay.Reply{File: "ollama_generate.json"},
			want: replay.Expect{Text: sp("The sky is blue because it is the color of the sky."), In: ip(26), Out: ip(290), TTLT: replay.Last}},
		{name: "ollama chat", api: "ollama-chat", serve: replay.Reply{File: "ollama_chat.json"},
			want: replay.Expect{Text: sp("Hello! How are you today?"), In: ip(26), Out: ip(298), TTLT: replay.Last}},
		{name: "ollama HTTP 400", api: "ollama-generate", serve: replay.Reply{File: "ollama_error_400.json", Status: 400},
			want: replay.Expect{ErrSub: []string{"HTTP 400: invalid options"}, Class: llmeter.ErrorClassHTTP4xx}},
		{name: "ollama HTTP 502 HTML", api: "ollama-chat", serve: replay.Reply{File: "error_502.html", Status: 502},
			want: replay.Expect{ErrSub: []string{"HTTP 502: <html> <head><title>502 Bad Gateway</title></head>"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "ollama timeout", api: "ollama-generate", serve: replay.Reply{File: "ollama_generate.json", Hang: true},
			timeout: 100 * time.Millisecond,
			want:    replay.Expect{ErrSub: []string{"deadline exceeded"}, Class: llmeter.ErrorClassTimeout}},

		// TGI, streaming (SSE).
		{name: "tgi stream", api: "tgi", stream: true, serve: replay.Reply{File: "tgi_stream.txt"},
			want: replay.Expect{Text: sp(" Deep Learning is a subset"), In: ip(6), Out: ip(5), Chunks: 5, TTLT: replay.Last}},
		{name: "tgi error event mid-stream", api: "tgi", stream: true, serve: replay.Reply{File: "tgi_stream_error.txt"},
			want: replay.Expect{Text: sp(" Deep Learning"), Chunks: 2, TTLT: replay.Last,
				ErrSub: []string{"Request failed during generation: Server error: CUDA out of memory."}, Class: llmeter.ErrorClassAPI}},
		{name: "tgi stream without final event", api: "tgi", stream: true, serve: replay.Reply{File: "tgi_stream_no_details.txt"},
			want: replay.Expect{Text: sp(" Deep Learning"), Chunks: 2, TTLT: replay.Last, ErrSub: []string{llmeter.ErrIncompleteStream.Error()},
				Class: llmeter.ErrorClassProtocol}},
		{name: "tgi stream HTTP 422", api: "tgi", stream: true, serve: replay.Reply{File: "tgi_error_422.json", Status: 422},
			want: replay.Expect{ErrSub: []string{"HTTP 422: Input validation error"}, Class: llmeter.ErrorClassHTTP4xx}},
		{name: "tgi stream HTTP 429", api: "tgi", stream: true, serve: replay.Reply{File: "tgi_error_429.json", Status: 429},
			want: replay.Expect{ErrSub: []string{"HTTP 429: Model is overloaded"}, Class: llmeter.ErrorClassHTTP429}},
		{name: "tgi stream answered with JSON", api: "tgi", stream: true, serve: replay.Reply{File: "tgi_generate.json"},
			want: replay.Expect{Out: ip(8), ErrSub: []string{"did not stream"}, Class: llmeter.ErrorClassProtocol}},

		// TGI, non-streaming.
		{name: "tgi generate", api: "tgi", serve: replay.Reply{File: "tgi_generate.json"},
			want: replay.Expect{Text: sp(" Deep Learning is a subset of machine learning"), Out: ip(8), TTLT: replay.Last}},
		{name: "tgi generate HTTP 422", api: "tgi", serve: replay.Reply{File: "tgi_error_422.json", Status: 422},
			want: replay.Expect{ErrSub: []string{"HTTP 422: Input validation error"}, Class: llmeter.ErrorClassHTTP4xx}},

		// A custom service.
		{name: "custom JSON", api: "custom", serve: replay.Reply{File: "custom_response.json"},
			want: replay.Expect{Text: sp("Hello, world"), ID: "12345", In: ip(0), Out: ip(3), TTLT: replay.Last}},
		{name: "custom error object in 200", api: "custom", serve: replay.Reply{File: "custom_error_200.json"},
			want: replay.Expect{TTLT: replay.Last, ErrSub: []string{"daily quota exceeded"}, Class: llmeter.ErrorClassAPI}},
		{name: "custom error false is no error", api: "custom", serve: replay.Reply{File: "custom_error_false.json"},
			want: replay.Expect{Text: sp("fine"), ID: "req-1", In: ip(4), Out: ip(1), TTLT: replay.Last}},
		{name: "custom non-JSON body", api: "custom", serve: replay.Reply{File: "custom_plain.txt", ContentType: "text/plain"},
			want: replay.Expect{TTLT: replay.Last, ErrSub: []string{"malformed response", "Hello, this is not JSON."},
				Class: llmeter.ErrorClassProtocol}},
		{name: "custom HTTP 503 JSON error", api: "custom", serve: replay.Reply{File: "ollama_error_500.json", Status: 503},
			want: replay.Expect{ErrSub: []string{"HTTP 503: the model failed to generate a response"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "custom NDJSON with CRLF and blank lines", api: "custom-ndjson", serve: replay.Reply{File: "custom_stream.ndjson"},
			want: replay.Expect{Text: sp("Hello é"), ID: "7", Out: ip(2), Chunks: 2, TTLT: replay.Last}},
		{name: "custom NDJSON error keeps text, counts and id", api: "custom-ndjson", serve: replay.Reply{File: "custom_stream_error.ndjson"},
			want: replay.Expect{Text: sp("Hi there"), ID: "s1", Out: ip(2), Chunks: 2, TTLT: replay.Last, ErrSub: []string{"backend reset"},
				Class: llmeter.ErrorClassAPI}},
		{name: "custom SSE with keep-alives and DONE", api: "custom-sse", serve: replay.Reply{File: "custom_sse.txt"},
			want: replay.Expect{Text: sp("Once upon a time"), ID: "cmpl-9", In: ip(4), Out: ip(3), Chunks: 3, TTLT: replay.Last}},
		{name: "custom SSE error event", api: "custom-sse", serve: replay.Reply{File: "custom_sse_error_event.txt"},
			want: replay.Expect{Text: sp("Part"), ID: "cmpl-10", Chunks: 1, TTLT: replay.Last, ErrSub: []string{"Overloaded"},
				Class: llmeter.ErrorClassAPI}},
		{name: "custom SSE without DONE is complete", api: "custom-sse", serve: replay.Reply{File: "tgi_stream_no_details.txt"},
			want: replay.Expect{TTLT: replay.Last}},
		{name: "custom SSE body without data fields", api: "custom-sse", serve: replay.Reply{File: "ollama_generate_stream.ndjson",
			ContentType: "text/event-stream"},
			want: replay.Expect{TTLT: replay.Last}},
		{name: "custom SSE malformed event", api: "custom-sse", serve: replay.Reply{File: "custom_sse_malformed.txt"},
			want: replay.Expect{Text: sp("Good"), Chunks: 1, TTLT: replay.Last, ErrSub: []string{"malformed event"},
				Class: llmeter.ErrorClassProtocol}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := apis[tc.api]
			payload := a.payload()
			sent := llmeter.CopyPayload(payload)
			maps.Copy(sent, a.changed(tc.stream))
			method := http.MethodPost
			if c := a.cfg(t, "http://127.0.0.1:1", tc.stream); c.Method != "" {
				method = c.Method
			}
			replay.Call{
				Server:  serverOptions,
				Reply:   tc.serve,
				Timeout: tc.timeout,
				Endpoint: func(url string) (llmeter.Endpoint, error) {
					cfg := a.cfg(t, url, tc.stream)
					cfg.Headers = testHeaders
					cfg.HTTPClient = nil
					return New(cfg)
				},
				Payload: payload,
				Want:    tc.want,
				Secrets: []string{testKey, "pw-secret"},
				Prompt:  a.prompt,
				Sent:    sent,
				Method:  method,
				Path:    a.path(tc.stream),
				Header: map[string]string{
					"Content-Type":  "application/json",
					"Accept":        a.accept(tc.stream),
					"X-Test-Header": "test-value",
					"Authorization": "Bearer " + testKey,
				},
			}.Run(t)
		})
	}
}

// serverOptions are the test server's: JSON files are served as
// "application/json; charset=utf-8".
var serverOptions = replay.Options{JSONType: "application/json; charset=utf-8"}

func newTestServer(tb testing.TB, pick func(*http.Request) replay.Reply) *replay.Server {
	tb.Helper()
	return replay.Start(tb, pick, serverOptions)
}

// TestQueryKept checks that the URL's query string reaches the server.
func TestQueryKept(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay.Reply { return replay.Reply{File: "custom_response.json"} })
	ep, err := New(apis["custom"].cfg(t, srv.URL, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := llmeter.Invoke(context.Background(), ep, llmeter.Payload{}); got.Error != "" {
		t.Fatalf("Error: got %q, want none", got.Error)
	}
	if got := srv.Requests()[0].Query; got != "api_key=pw-secret" {
		t.Errorf("query: got %q, want api_key=pw-secret", got)
	}
}

// fileStep is a call of replay.CheckReuse or CheckConcurrent: an endpoint
// for api on baseURL (with client, when not nil) whose requests name the
// reply's file.
func fileStep(t *testing.T, baseURL string, client *http.Client, api, file string, stream bool) replay.Step {
	t.Helper()
	cfg := apis[api].cfg(t, baseURL, stream)
	cfg.HTTPClient = client
	cfg.Headers = map[string]string{replay.FileHeader: file}
	ep, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return replay.Step{Endpoint: ep, Payload: apis[api].payload(), File: file, Fails: strings.Contains(file, "error_")}
}

// TestConnectionReuse checks that complete streams, stopped streams (at
// DonePath), error statuses and bodies all leave the connection reusable.
func TestConnectionReuse(t *testing.T) {
	srv := newTestServer(t, replay.ByHeader(func(file string) int {
		if strings.Contains(file, "error_") {
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	step := func(api, file string, stream bool) replay.Step {
		return fileStep(t, srv.URL, client, api, file, stream)
	}
	replay.CheckReuse(t, srv, []replay.Step{
		step("ollama-generate", "ollama_generate_stream.ndjson", true), step("custom-ndjson", "custom_stream.ndjson", false),
		step("tgi", "tgi_stream.txt", true), step("ollama-chat", "ollama_chat.json", false),
		step("ollama-chat", "ollama_error_429.json", true), step("custom-sse", "custom_sse.txt", false),
		step("ollama-generate", "ollama_generate_stream.ndjson", true),
	})
}

// TestConcurrent shares endpoints between goroutines (run with -race): the
// pooled stream parsers and scratch buffers must not leak between calls.
func TestConcurrent(t *testing.T) {
	srv := newTestServer(t, replay.ByHeader(nil))
	step := func(api, file string, stream bool, text, id, class string) replay.Step {
		s := fileStep(t, srv.URL, nil, api, file, stream)
		s.Text, s.ID, s.Class = text, id, class
		return s
	}
	replay.CheckConcurrent(t, []replay.Step{
		step("ollama-generate", "ollama_generate_stream.ndjson", true, "The sky is blue.\n", "", ""),
		step("custom-ndjson", "custom_stream.ndjson", true, "Hello é", "7", ""),
		step("custom-ndjson", "custom_stream_error.ndjson", true, "Hi there", "s1", llmeter.ErrorClassAPI),
		step("custom-sse", "custom_sse.txt", true, "Once upon a time", "cmpl-9", ""),
		step("tgi", "tgi_stream.txt", true, " Deep Learning is a subset", "", ""),
		step("custom", "custom_response.json", false, "Hello, world", "12345", ""),
	}, 8, 30)
}
