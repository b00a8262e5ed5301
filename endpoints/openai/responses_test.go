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
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

// testResponsesConfig is the endpoint configuration most tests use.
func testResponsesConfig(baseURL string, stream, reasoningTTFT bool, client *http.Client) ResponsesConfig {
	return ResponsesConfig{
		ModelID:                testModel,
		BaseURL:                baseURL,
		APIKey:                 testKey,
		Headers:                map[string]string{"X-Test-Header": "test-value"},
		Stream:                 stream,
		ReasoningCountsForTTFT: reasoningTTFT,
		HTTPClient:             client,
	}
}

func newTestResponsesEndpoint(tb testing.TB, baseURL string, stream, reasoningTTFT bool, client *http.Client) *ResponsesEndpoint {
	tb.Helper()
	ep, err := NewResponsesEndpoint(testResponsesConfig(baseURL, stream, reasoningTTFT, client))
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

const respNormalID = "resp_67ccfcdd16748190a91872c75d38539e09e4d4aac714747c"

func TestResponsesInvoke(t *testing.T) {
	tests := []struct {
		name          string
		stream        bool
		reasoningTTFT bool
		serve         replay.Reply
		want          replay.Expect
	}{
		// Streaming.
		{name: "stream normal", stream: true, serve: replay.Reply{File: "responses_stream_normal.txt"},
			want: replay.Expect{Text: sp(normalText), ID: respNormalID, In: ip(19), Out: ip(9), Cached: ip(0), Reasoning: ip(0),
				Chunks: 9, TTLT: replay.Last}},
		{name: "stream slow first token", stream: true, serve: replay.Reply{File: "responses_stream_normal.txt", SlowEvent: 4},
			want: replay.Expect{Text: sp(normalText), ID: respNormalID, In: ip(19), Out: ip(9), Cached: ip(0), Reasoning: ip(0),
				Chunks: 9, TTLT: replay.Last}},
		{name: "stream reasoning summary, visible tokens only", stream: true,
			serve: replay.Reply{File: "responses_stream_reasoning.txt", SlowEvent: 12},
			want: replay.Expect{Text: sp("Four."), ID: respNormalID, In: ip(2048), Out: ip(322), Cached: ip(1920),
				Reasoning: ip(320), Chunks: 2, TTLT: replay.Last}},
		{name: "stream reasoning summary counts for TTFT", stream: true, reasoningTTFT: true,
			serve: replay.Reply{File: "responses_stream_reasoning.txt", SlowEvent: 12},
			want: replay.Expect{Text: sp("Four."), ID: respNormalID, In: ip(2048), Out: ip(322), Cached: ip(1920),
				Reasoning: ip(320), Chunks: 2, TTFT: replay.Early, TTLT: replay.Last}},
		{name: "stream reasoning text, visible tokens only", stream: true,
			serve: replay.Reply{File: "responses_stream_reasoning_text.txt", SlowEvent: 11},
			want: replay.Expect{Text: sp("Yes."), ID: "resp_9f2c4a1b7e5d4c3a8b6f0e1d2c3b4a59", In: ip(30), Out: ip(12),
				Cached: ip(0), Reasoning: ip(8), Chunks: 2, TTLT: replay.Last}},
		{name: "stream reasoning text counts for TTFT", stream: true, reasoningTTFT: true,
			serve: replay.Reply{File: "responses_stream_reasoning_text.txt", SlowEvent: 11},
			want: replay.Expect{Text: sp("Yes."), ID: "resp_9f2c4a1b7e5d4c3a8b6f0e1d2c3b4a59", In: ip(30), Out: ip(12),
				Cached: ip(0), Reasoning: ip(8), Chunks: 2, TTFT: replay.Early, TTLT: replay.Last}},
		{name: "stream incomplete (max_output_tokens)", stream: true, serve: replay.Reply{File: "responses_stream_incomplete.txt"},
			want: replay.Expect{Text: sp("The history of Go begins in 2007"), ID: respNormalID, In: ip(12), Out: ip(7),
				Cached: ip(0), Reasoning: ip(0), Chunks: 7, TTLT: replay.Last}},
		{name: "stream zero usage, no text", stream: true, serve: replay.Reply{File: "responses_stream_zero_usage.txt"},
			want: replay.Expect{ID: respNormalID, In: ip(0), Out: ip(0), Cached: ip(0), Reasoning: ip(0), TTLT: replay.Last}},
		{name: "stream compatible server", stream: true, serve: replay.Reply{File: "responses_stream_compat.txt"},
			want: replay.Expect{Text: sp("café \"olé\"\n😀 done"), ID: "resp_compat_01", In: ip(5), Out: ip(6),
				Chunks: 2, TTLT: replay.Last}},

		// Streaming failures.
		{name: "stream response.failed", stream: true, serve: replay.Reply{File: "responses_stream_failed.txt"},
			want: replay.Expect{Text: sp("Partial answer"), ID: respNormalID, Chunks: 2, TTLT: replay.After,
				ErrSub: []string{"server_error: The model failed to generate a response."}, Class: llmeter.ErrorClassAPI}},
		{name: "stream error event", stream: true, serve: replay.Reply{File: "responses_stream_error_event.txt"},
			want: replay.Expect{Text: sp("Partial"), ID: respNormalID, Chunks: 1, TTLT: replay.Last,
				ErrSub: []string{"ERR_SOMETHING: Something went wrong"}, Class: llmeter.ErrorClassAPI}},
		{name: "stream error event with error object", stream: true, serve: replay.Reply{File: "responses_stream_error_nested.txt"},
			want: replay.Expect{ID: respNormalID, ErrSub: []string{"context_length_exceeded: Your input exceeds the context window"},
				Class: llmeter.ErrorClassAPI}},
		{name: "stream connection dropped", stream: true, serve: replay.Reply{File: "responses_stream_dropped.txt", Drop: true},
			want: replay.Expect{Text: sp("Hello! How can"), ID: respNormalID, Chunks: 4, TTLT: replay.Last,
				ErrSub: []string{"openai: ", "unexpected EOF"}, Class: llmeter.ErrorClassConnection}},
		{name: "stream without terminal event", stream: true, serve: replay.Reply{File: "responses_stream_no_terminal.txt"},
			want: replay.Expect{Text: sp(normalText), ID: respNormalID, Chunks: 9, TTLT: replay.Last,
				ErrSub: []string{llmeter.ErrIncompleteStream.Error(), "response.completed"}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream [DONE] without terminal event", stream: true, serve: replay.Reply{File: "responses_stream_done_only.txt"},
			want: replay.Expect{Text: sp("Hi"), ID: respNormalID, Chunks: 1, TTLT: replay.Last,
				ErrSub: []string{llmeter.ErrIncompleteStream.Error()}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream malformed event", stream: true, serve: replay.Reply{File: "responses_stream_malformed.txt"},
			want: replay.Expect{Text: sp("Good"), ID: respNormalID, Chunks: 1, TTLT: replay.Last,
				ErrSub: []string{"malformed event"}, Class: llmeter.ErrorClassProtocol}},
		{name: "stream HTTP 429", stream: true, serve: replay.Reply{File: "error_429.json", Status: 429},
			want: replay.Expect{ErrSub: []string{"HTTP 429: Rate limit reached for gpt-4o-mini in organization org-123"},
				Class: llmeter.ErrorClassHTTP429}},
		{name: "stream HTTP 500", stream: true, serve: replay.Reply{File: "error_500.json", Status: 500},
			want: replay.Expect{ErrSub: []string{"HTTP 500: The server had an error while processing your request."},
				Class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream answered with JSON", stream: true, serve: replay.Reply{File: "responses_nonstream.json"},
			want: replay.Expect{Text: sp("Hello! How can I assist you today?"), ID: "resp_6820f382ee1c8191bc096bee70894d040ac5ba57aafcbac7",
				In: ip(2006), Out: ip(300), Cached: ip(1920), Reasoning: ip(256),
				ErrSub: []string{"did not stream"}, Class: llmeter.ErrorClassProtocol}},

		// Non-streaming.
		{name: "non-stream cached and reasoning details", serve: replay.Reply{File: "responses_nonstream.json"},
			want: replay.Expect{Text: sp("Hello! How can I assist you today?"), ID: "resp_6820f382ee1c8191bc096bee70894d040ac5ba57aafcbac7",
				In: ip(2006), Out: ip(300), Cached: ip(1920), Reasoning: ip(256), TTLT: replay.Last}},
		{name: "non-stream several output items", serve: replay.Reply{File: "responses_nonstream_multi.json"},
			want: replay.Expect{Text: sp("Part one. Part two."), ID: respNormalID, In: ip(40), Out: ip(20), Cached: ip(0),
				Reasoning: ip(0), TTLT: replay.Last}},
		{name: "non-stream incomplete", serve: replay.Reply{File: "responses_nonstream_incomplete.json"},
			want: replay.Expect{Text: sp("The history of Go begins in 2007"), ID: respNormalID, In: ip(12), Out: ip(7),
				Cached: ip(0), Reasoning: ip(0), TTLT: replay.Last}},
		{name: "non-stream zero usage, no output", serve: replay.Reply{File: "responses_nonstream_zero.json"},
			want: replay.Expect{ID: respNormalID, In: ip(0), Out: ip(0), Cached: ip(0), Reasoning: ip(0), TTLT: replay.Last}},
		{name: "non-stream output_text field", serve: replay.Reply{File: "responses_nonstream_output_text.json"},
			want: replay.Expect{Text: sp("From the convenience field."), ID: "resp_compat_02", In: ip(3), Out: ip(4), TTLT: replay.Last}},
		{name: "non-stream text mentions failed", serve: replay.Reply{File: "responses_nonstream_text_says_failed.json"},
			want: replay.Expect{Text: sp("The build failed because of a missing import."), ID: respNormalID, In: ip(9), Out: ip(9),
				Cached: ip(0), Reasoning: ip(0), TTLT: replay.Last}},
		{name: "non-stream failed", serve: replay.Reply{File: "responses_nonstream_failed.json"},
			want: replay.Expect{ID: respNormalID, ErrSub: []string{"server_error: The model failed to generate a response."},
				Class: llmeter.ErrorClassAPI}},
		{name: "non-stream failed without error object", serve: replay.Reply{File: "responses_nonstream_failed_no_error.json"},
			want: replay.Expect{ID: respNormalID, ErrSub: []string{"Response API request failed"}, Class: llmeter.ErrorClassAPI}},
		{name: "non-stream failed, escaped status", serve: replay.Reply{File: "responses_nonstream_failed_escaped.json"},
			want: replay.Expect{ID: respNormalID, ErrSub: []string{"Escaped failure."}, Class: llmeter.ErrorClassAPI}},
		{name: "non-stream error object in 200", serve: replay.Reply{File: "nonstream_error_200.json"},
			want: replay.Expect{TTLT: replay.Last, ErrSub: []string{"The model produced invalid content."}, Class: llmeter.ErrorClassAPI}},
		{name: "non-stream HTTP 429", serve: replay.Reply{File: "error_429.json", Status: 429},
			want: replay.Expect{ErrSub: []string{"HTTP 429: Rate limit reached"}, Class: llmeter.ErrorClassHTTP429}},
		{name: "non-stream HTTP 500", serve: replay.Reply{File: "error_500.json", Status: 500},
			want: replay.Expect{ErrSub: []string{"HTTP 500: The server had an error"}, Class: llmeter.ErrorClassHTTP5xx}},
		{name: "non-stream malformed JSON", serve: replay.Reply{File: "responses_stream_normal.txt", ContentType: "application/json"},
			want: replay.Expect{TTLT: replay.Last, ErrSub: []string{"malformed response"}, Class: llmeter.ErrorClassProtocol}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			payload := testResponsesPayload(t)
			replay.Call{
				Reply: tc.serve,
				Endpoint: func(url string) (llmeter.Endpoint, error) {
					return NewResponsesEndpoint(testResponsesConfig(url+"/v1", tc.stream, tc.reasoningTTFT, NewHTTPClient(1)))
				},
				Payload: payload,
				Want:    tc.want,
				Secrets: []string{testKey},
				Prompt:  testPrompt,
				Sent:    sentPayload(payload, tc.stream, false), // no stream_options
				Method:  http.MethodPost,
				Path:    "/v1/responses",
				Header:  wantHeader(tc.stream),
			}.Run(t)
		})
	}
}

func TestResponsesConnectionReuse(t *testing.T) {
	srv := replay.NewServer(t, replay.ByHeader(replay.ErrorStatus(429)))
	client := NewHTTPClient(1)
	step := func(file string, stream, fails bool) replay.Step {
		ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel, BaseURL: srv.URL, Stream: stream,
			HTTPClient: client, Headers: map[string]string{replay.FileHeader: file}})
		if err != nil {
			t.Fatal(err)
		}
		return replay.Step{Endpoint: ep, Payload: testResponsesPayload(t), File: file, Fails: fails}
	}
	// response.failed ends a stream cleanly: its connection is reused too.
	replay.CheckReuse(t, srv, []replay.Step{
		step("responses_stream_normal.txt", true, false), step("responses_nonstream.json", false, false),
		step("responses_stream_compat.txt", true, false), step("responses_stream_failed.txt", true, true),
		step("error_429.json", true, true), step("responses_nonstream_failed.json", false, true),
		step("responses_stream_incomplete.txt", true, false), step("responses_stream_normal.txt", true, false),
	})
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
			replay.CheckResult(t, got, err, tc.want, tc.wantErr)
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
			replay.CheckPrompt(t, ep, tc.payload, tc.want)
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
			replay.CheckPrepare(t, ep, tc.payload, tc.want)
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
	srv := replay.NewServer(t, func(*http.Request) replay.Reply { return replay.Reply{File: "responses_nonstream.json"} })
	t.Setenv(EnvBaseURL, srv.URL+"/v1/")
	t.Setenv(EnvAPIKey, "sk-from-env")
	ep, err := NewResponsesEndpoint(ResponsesConfig{ModelID: testModel})
	if err != nil {
		t.Fatal(err)
	}
	if got := llmeter.Invoke(context.Background(), ep, testResponsesPayload(t)); got.Error != "" {
		t.Fatalf("Error: got %q, want none", got.Error)
	}
	r := srv.Requests()[0]
	if r.Path != "/v1/responses" || r.Header.Get("Authorization") != "Bearer sk-from-env" {
		t.Errorf("request: path %q, Authorization %q", r.Path, r.Header.Get("Authorization"))
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
			loaded, _ := replay.RoundTrip(t, ep, testKey, "hdr-secret", "pw-secret")
			le, ok := loaded.(*ResponsesEndpoint)
			if !ok {
				t.Fatalf("loaded %T, want *ResponsesEndpoint", loaded)
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
			replay.CheckResult(t, got, err, tc.want, tc.wantErr)
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
