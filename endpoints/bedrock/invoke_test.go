package bedrock

// Conformance tests of the InvokeModel and InvokeModelWithResponseStream
// endpoints against test servers replaying transcripts shaped like the
// Bedrock API reference:
//
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ResponseStream.html
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_PayloadPart.html

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
)

func newInvoke(tb testing.TB, url string, cfg InvokeConfig) *InvokeEndpoint {
	tb.Helper()
	cfg.ModelID, cfg.Region, cfg.EndpointURL, cfg.Credentials = testModel, testRegion, url, testCreds
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 1
	}
	ep, err := NewInvokeEndpoint(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

func invokePayload(tb testing.TB) llmeter.Payload {
	tb.Helper()
	p, err := CreateInvokePayload([]string{"Tell me a joke", "and a riddle"}, 64, map[string]any{
		"temperature":      json.Number("0.70"),
		"reasoning_effort": "low",
		"seed":             json.Number("12345678901234567890"),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

const invokePrompt = "Tell me a joke\nand a riddle"

var anthropicPaths = InvokeConfig{GeneratedTextJMESPath: "content[].text",
	GeneratedTokenCountJMESPath: "usage.output_tokens", InputTokenCountJMESPath: "usage.input_tokens"}

func TestInvoke(t *testing.T) {
	zero := ip(0)
	type invokeCase struct {
		name    string
		cfg     InvokeConfig
		serve   replay
		timeout time.Duration
		want    expect
	}
	tests := []invokeCase{
		// Non-streaming.
		{name: "openai body", serve: replay{file: "invoke_openai.json"},
			want: expect{text: sp("Hello! How can I help you today?"), id: "chatcmpl-6a1d3f2e9b8c4d7e", in: ip(19), out: ip(9),
				ttlt: true, retries: zero}},
		{name: "no id: the request id; zeros kept", serve: replay{file: "invoke_no_id.json"},
			want: expect{text: sp(""), id: "2f3a4b5c-6d7e-4f8a-9b0c-d1e2f3a4b5c6", in: zero, out: zero, ttlt: true, retries: zero}},
		{name: "custom paths, list text joined by newline", cfg: anthropicPaths, serve: replay{file: "invoke_anthropic.json"},
			want: expect{text: sp("First part.\nSecond part."), id: "msg_bdrk_01XFDUDYJgAACzvnptvVoYEL", in: ip(14), out: ip(6),
				ttlt: true, retries: zero}},
		{name: "count paths disabled", cfg: InvokeConfig{GeneratedTokenCountJMESPath: Disabled, InputTokenCountJMESPath: Disabled},
			serve: replay{file: "invoke_openai.json"},
			want:  expect{text: sp("Hello! How can I help you today?"), id: "chatcmpl-6a1d3f2e9b8c4d7e", ttlt: true, retries: zero}},
		{name: "text path finds nothing", cfg: InvokeConfig{GeneratedTextJMESPath: "output.text"},
			serve: replay{file: "invoke_openai.json"},
			want:  expect{id: "chatcmpl-6a1d3f2e9b8c4d7e", in: ip(19), out: ip(9), ttlt: true, retries: zero}},
		{name: "body not JSON", serve: replay{file: "invoke_not_json.json"},
			want: expect{id: "4b5c6d7e-8f9a-4b0c-9d1e-f2a3b4c5d6e7", ttlt: true, retries: zero,
				errSub: []string{"protocol error: bedrock: response is not JSON", "upstream gateway"}, class: llmeter.ErrorClassProtocol}},
		{name: "timeout", serve: replay{file: "invoke_openai.json", hang: true}, timeout: 200 * time.Millisecond,
			want: expect{retries: zero, errSub: []string{"bedrock: ", "deadline exceeded"}, class: llmeter.ErrorClassTimeout}},

		// Streaming.
		{name: "stream openai chunks", cfg: InvokeConfig{Stream: true}, serve: replay{file: "invoke_stream_openai.json"},
			want: expect{text: sp("Hello! How can I help?"), id: "chatcmpl-2b7e9f1a", in: ip(19), out: ip(6), chunks: 3, ttlt: true,
				retries: zero}},
		{name: "stream anthropic chunks, custom text path", cfg: InvokeConfig{Stream: true, GeneratedTextJMESPath: "delta.text"},
			serve: replay{file: "invoke_stream_anthropic.json"},
			want: expect{text: sp("Hi there"), id: "6d7e8f9a-0b1c-4d2e-9f3a-b4c5d6e7f8a9", in: ip(14), out: ip(3), chunks: 2,
				ttlt: true, retries: zero}},
		{name: "stream counts: last number wins, zeros kept", cfg: InvokeConfig{Stream: true},
			serve: replay{file: "invoke_stream_counts.json"},
			want: expect{text: sp("abc"), id: "7e8f9a0b-1c2d-4e3f-8a4b-c5d6e7f8a9b0", in: zero, out: ip(3), chunks: 3, ttlt: true,
				retries: zero}},
		{name: "stream counts disabled", cfg: InvokeConfig{Stream: true, GeneratedTokenCountJMESPath: Disabled,
			InputTokenCountJMESPath: Disabled}, serve: replay{file: "invoke_stream_openai.json"},
			want: expect{text: sp("Hello! How can I help?"), id: "chatcmpl-2b7e9f1a", chunks: 3, ttlt: true, retries: zero}},
		{name: "stream chunk not JSON", cfg: InvokeConfig{Stream: true}, serve: replay{file: "invoke_stream_bad_chunk.json"},
			want: expect{text: sp("Good"), id: "chatcmpl-bad", chunks: 1, ttlt: true, retries: zero,
				errSub: []string{"protocol error: bedrock: chunk is not JSON"}, class: llmeter.ErrorClassProtocol}},
		{name: "stream connection dropped between frames", cfg: InvokeConfig{Stream: true},
			serve: replay{file: "invoke_stream_openai.json", drop: true, dropAfter: 3},
			want: expect{text: sp("Hello!"), id: "chatcmpl-2b7e9f1a", chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"bedrock: unexpected EOF"}, class: llmeter.ErrorClassConnection}},
		{name: "stream connection dropped mid-frame", cfg: InvokeConfig{Stream: true},
			serve: replay{file: "invoke_stream_openai.json", drop: true, dropAfter: 3, dropHalf: true},
			want: expect{text: sp("Hello!"), id: "chatcmpl-2b7e9f1a", chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"bedrock: unexpected EOF"}, class: llmeter.ErrorClassConnection}},
		{name: "stream timeout mid-stream", cfg: InvokeConfig{Stream: true},
			serve: replay{file: "invoke_stream_openai.json", hang: true, hangAfter: 3}, timeout: 500 * time.Millisecond,
			want: expect{text: sp("Hello!"), id: "chatcmpl-2b7e9f1a", chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"bedrock: "}, class: llmeter.ErrorClassTimeout}},
	}
	for _, ex := range streamExceptionCases {
		tests = append(tests, invokeCase{name: "stream " + ex.key, cfg: InvokeConfig{Stream: true},
			serve: replay{file: "invoke_stream_exception.json", exception: ex.key},
			want: expect{text: sp("Partial answer"), id: "chatcmpl-exc", chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"Bedrock " + ex.key + ": Model stream error: upstream model failed."}, class: ex.class}})
	}
	for _, stream := range []bool{false, true} {
		for _, h := range httpErrorCases {
			tests = append(tests, invokeCase{name: fmt.Sprintf("stream=%v %s", stream, h.file), cfg: InvokeConfig{Stream: stream},
				serve: replay{file: h.file},
				want:  expect{id: h.rid, retries: zero, errSub: h.errSub, class: h.class}})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(*http.Request) replay { return tc.serve })
			ep := newInvoke(t, srv.URL, tc.cfg)
			payload := invokePayload(t)
			snapshot := llmeter.CopyPayload(payload)
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()

			got := llmeter.Invoke(ctx, ep, payload)

			checkResponse(t, got, tc.cfg.Stream, tc.want)
			if !reflect.DeepEqual(payload, snapshot) || !reflect.DeepEqual(got.InputPayload, snapshot) {
				t.Errorf("payload: caller's %v, recorded %v, want both %v", payload, got.InputPayload, snapshot)
			}
			if got.InputPrompt != invokePrompt {
				t.Errorf("InputPrompt: got %#v, want %q", got.InputPrompt, invokePrompt)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			op, accept := "invoke", "Accept"
			if tc.cfg.Stream {
				op, accept = "invoke-with-response-stream", "X-Amzn-Bedrock-Accept"
			}
			checkSigned(t, r, op)
			for name, want := range map[string]string{"Content-Type": "application/json", accept: "application/json"} {
				if got := r.header.Get(name); got != want {
					t.Errorf("header %s: got %q, want %q", name, got, want)
				}
			}
			if want := encode(t, map[string]any(snapshot)); string(r.body) != want {
				t.Errorf("request body:\n got %s\nwant %s", r.body, want)
			}
			if !strings.Contains(string(r.body), `"seed": 12345678901234567890`) {
				t.Errorf("request body %s: want the seed digit for digit", r.body)
			}
		})
	}
}
