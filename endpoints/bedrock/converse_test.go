package bedrock

// Conformance tests of the Converse and ConverseStream endpoints against
// test servers replaying transcripts shaped like the Bedrock API reference:
//
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlockDelta.html
//	https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

// testModel is an inference-profile ARN: the SDK escapes it in the URL path.
const testModel = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0"

// testPNG is the start of a PNG file (enough for a content block).
var testPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")

func newConverse(tb testing.TB, url string, stream, reasoningTTFT bool, attempts int, hc *http.Client) *ConverseEndpoint {
	tb.Helper()
	ep, err := NewConverseEndpoint(ConverseConfig{
		ModelID: testModel, Region: testRegion, EndpointURL: url, MaxAttempts: attempts, Stream: stream,
		ReasoningCountsForTTFT: reasoningTTFT, HTTPClient: hc, Credentials: testCreds,
		InferenceConfig: map[string]any{"topP": json.Number("0.9")},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

// conversePayload is a multimodal payload with fields the SDK's typed input
// would not carry verbatim.
func conversePayload(tb testing.TB) llmeter.Payload {
	tb.Helper()
	p, err := CreateConversePayload([]prompt.Item{
		prompt.Text("Describe this image"),
		prompt.Media{Kind: prompt.Image, Data: testPNG, MIMEType: "image/png"},
		prompt.Text("in one word"),
	}, 64, map[string]any{
		"system":          []any{map[string]any{"text": "Be brief."}},
		"inferenceConfig": map[string]any{"temperature": json.Number("0.70"), "stopSequences": []any{"\n\n"}},
		"additionalModelRequestFields": map[string]any{
			"thinking": map[string]any{"type": "enabled", "budget_tokens": json.Number("1024")},
		},
		"toolConfig": map[string]any{"tools": []any{map[string]any{"toolSpec": map[string]any{
			"name": "top_song", "inputSchema": map[string]any{"json": map[string]any{"type": "object"}}}}}},
		"requestMetadata": map[string]any{"run": "t1"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

const conversePrompt = "Describe this image\nin one word"

// expect is the InvocationResponse a case must produce.
type expect struct {
	text            *string // nil: no text
	id              string  // "": a generated UUID
	in, out, cached *int
	chunks          int  // visible text chunks
	reasoningFirst  bool // TTFT set by reasoning, before the first text chunk
	ttlt            bool // time to last token set
	stopAfterText   bool // TTLT strictly after the last text chunk (contentBlockStop)
	retries         *int
	errSub          []string
	class           string
}

var ip = llmeter.Ptr[int]

func sp(s string) *string { return &s }

var uuidHex = regexp.MustCompile(`^[0-9a-f]{32}$`)

func fmtPtr(v *int) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(*v)
}

// checkResponse compares an InvocationResponse with want.
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
		{"NumTokensOutputReasoning", got.NumTokensOutputReasoning, nil},
		{"Retries", got.Retries, want.retries}} {
		if fmtPtr(c.got) != fmtPtr(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, fmtPtr(c.got), fmtPtr(c.want))
		}
	}

	wantTTFT := want.chunks > 0 || want.reasoningFirst
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
	if n := len(got.ChunkOffsets); n > 0 && got.TimeToFirstToken != nil {
		first := got.ChunkOffsets[0].Seconds()
		switch {
		case want.reasoningFirst && !(*got.TimeToFirstToken < first):
			t.Errorf("TTFT %v: want it before the first text chunk (%v), set by reasoning", *got.TimeToFirstToken, first)
		case !want.reasoningFirst && *got.TimeToFirstToken != first:
			t.Errorf("TTFT: got %v, want the first text chunk's time %v", *got.TimeToFirstToken, first)
		}
		if last := got.ChunkOffsets[n-1].Seconds(); stream && got.TimeToLastToken != nil {
			switch {
			case *got.TimeToLastToken < last:
				t.Errorf("TTLT %v before the last text chunk %v", *got.TimeToLastToken, last)
			case want.stopAfterText && !(*got.TimeToLastToken > last):
				t.Errorf("TTLT %v: want it after the last text chunk %v (contentBlockStop)", *got.TimeToLastToken, last)
			}
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
	if strings.Contains(got.Error, testSecret) {
		t.Errorf("Error %q contains the secret key", got.Error)
	}
	if got.RequestTime == nil {
		t.Errorf("RequestTime: got nil, want set")
	}
}

// Request ids of the transcripts.
const (
	ridText       = "5f6e1c1e-6b0d-4c53-9b8a-3a2f0d8d2c11"
	ridStreamText = "3c4d5e6f-7a8b-4c9d-8e0f-a1b2c3d4e5f6"
	rid429        = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
)

const streamText = "Hello! How can I help you today?"

// httpErrorCases are the HTTP errors every endpoint type is tested with
// (MaxAttempts 1: no retries).
var httpErrorCases = []struct {
	file, rid string
	errSub    []string
	class     string
}{
	{"error_429_throttling.json", rid429, []string{"bedrock: operation error Bedrock Runtime", "StatusCode: 429",
		"RequestID: " + rid429, "ThrottlingException: Too many requests, please wait before trying again."}, llmeter.ErrorClassHTTP429},
	{"error_400_validation.json", "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d", []string{"StatusCode: 400",
		"ValidationException: The maximum tokens you requested exceeds the model limit"}, llmeter.ErrorClassHTTP4xx},
	{"error_403_access_denied.json", "b1c2d3e4-f5a6-4b7c-9d8e-0f1a2b3c4d5e", []string{"StatusCode: 403",
		"AccessDeniedException: You don't have access to the model"}, llmeter.ErrorClassHTTP4xx},
	{"error_404_not_found.json", "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f", []string{"StatusCode: 404",
		"ResourceNotFoundException: Model not found."}, llmeter.ErrorClassHTTP4xx},
	{"error_500_internal.json", "d3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f6a", []string{"StatusCode: 500",
		"InternalServerException: The server encountered an error"}, llmeter.ErrorClassHTTP5xx},
	{"error_503_unavailable.json", "e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a7b", []string{"StatusCode: 503",
		"ServiceUnavailableException: Bedrock is unable to process your request."}, llmeter.ErrorClassHTTP5xx},
}

// streamExceptionCases are the exception events of a stream and their class.
var streamExceptionCases = []struct{ key, class string }{
	{"internalServerException", llmeter.ErrorClassHTTP5xx},
	{"modelStreamErrorException", llmeter.ErrorClassHTTP4xx},
	{"modelTimeoutException", llmeter.ErrorClassHTTP4xx},
	{"serviceUnavailableException", llmeter.ErrorClassHTTP5xx},
	{"throttlingException", llmeter.ErrorClassHTTP429},
	{"validationException", llmeter.ErrorClassHTTP4xx},
}

type converseCase struct {
	name          string
	stream        bool
	reasoningTTFT bool
	attempts      int // MaxAttempts, default 1
	serve         replay
	timeout       time.Duration
	want          expect
}

func converseCases() []converseCase {
	zero := ip(0)
	tests := []converseCase{
		// Non-streaming.
		{name: "text with cache reads", serve: replay{file: "converse_text.json"},
			want: expect{text: sp("Hello! How can I help you today?"), id: ridText, in: ip(12), out: ip(9), cached: ip(1024),
				ttlt: true, retries: zero}},
		{name: "reasoning block is not text, zero usage", serve: replay{file: "converse_reasoning.json"},
			want: expect{text: sp("4"), id: "0b9a7c5e-2f1d-4e8a-8c3b-6d5e4f3a2b10", in: zero, out: zero, ttlt: true, retries: zero}},
		{name: "no text block, no usage", serve: replay{file: "converse_no_text.json"},
			want: expect{text: sp(""), id: "7c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e", ttlt: true, retries: zero}},
		{name: "malformed body", serve: replay{file: "converse_malformed.json"},
			want: expect{id: "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b", ttlt: true, retries: zero,
				errSub: []string{"protocol error: bedrock: "}, class: llmeter.ErrorClassProtocol}},
		{name: "timeout", serve: replay{file: "converse_text.json", hang: true}, timeout: 200 * time.Millisecond,
			want: expect{retries: zero, errSub: []string{"bedrock: ", "deadline exceeded"}, class: llmeter.ErrorClassTimeout}},

		// Streaming.
		{name: "stream text", stream: true, serve: replay{file: "converse_stream_text.json"},
			want: expect{text: sp(streamText), id: ridStreamText, in: ip(12), out: ip(9), chunks: 4, ttlt: true, retries: zero}},
		{name: "stream contentBlockStop moves TTLT", stream: true, serve: replay{file: "converse_stream_text.json", slowEvent: 6},
			want: expect{text: sp(streamText), id: ridStreamText, in: ip(12), out: ip(9), chunks: 4, ttlt: true,
				stopAfterText: true, retries: zero}},
		{name: "stream reasoning, visible tokens only", stream: true, serve: replay{file: "converse_stream_reasoning.json", slowEvent: 5},
			want: expect{text: sp("2 + 2 = 4"), id: "4d5e6f7a-8b9c-4d0e-9f1a-b2c3d4e5f6a7", in: ip(45), out: ip(120), chunks: 2,
				ttlt: true, stopAfterText: false, retries: zero}},
		{name: "stream reasoning counts for TTFT", stream: true, reasoningTTFT: true,
			serve: replay{file: "converse_stream_reasoning.json", slowEvent: 5},
			want: expect{text: sp("2 + 2 = 4"), id: "4d5e6f7a-8b9c-4d0e-9f1a-b2c3d4e5f6a7", in: ip(45), out: ip(120), chunks: 2,
				reasoningFirst: true, ttlt: true, retries: zero}},
		{name: "stream usage summed over metadata events, zeros kept", stream: true, serve: replay{file: "converse_stream_two_metadata.json"},
			want: expect{text: sp("Yes."), id: "5e6f7a8b-9c0d-4e1f-8a2b-c3d4e5f6a7b8", in: ip(7), out: ip(2), cached: zero, chunks: 1,
				ttlt: true, retries: zero}},
		{name: "stream cache reads", stream: true, serve: replay{file: "converse_stream_cache.json"},
			want: expect{text: sp("Cached answer"), id: "6f7a8b9c-0d1e-4f2a-9b3c-d4e5f6a7b8c9", in: ip(16), out: ip(2), cached: ip(2048),
				chunks: 2, ttlt: true, retries: zero}},
		{name: "stream tool use and unknown events ignored", stream: true, serve: replay{file: "converse_stream_unknown_event.json"},
			want: expect{text: sp("Let me look that up."), id: "9c0d1e2f-3a4b-4c5d-8e6f-a7b8c9d0e1f2", in: ip(30), out: ip(25), chunks: 1,
				ttlt: true, retries: zero}},
		{name: "stream without messageStop and metadata", stream: true, serve: replay{file: "converse_stream_no_stop.json"},
			want: expect{text: sp("Cut short"), id: "8b9c0d1e-2f3a-4b4c-9d5e-f6a7b8c9d0e1", chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"bedrock: " + llmeter.ErrIncompleteStream.Error()}, class: llmeter.ErrorClassProtocol}},
		{name: "stream corrupt frame", stream: true, serve: replay{file: "converse_stream_corrupt.json"},
			want: expect{text: sp("Good"), id: "0d1e2f3a-4b5c-4d6e-9f7a-b8c9d0e1f2a3", chunks: 1, ttlt: true, retries: zero,
				errSub: []string{"protocol error: bedrock: event stream: "}, class: llmeter.ErrorClassProtocol}},
		{name: "stream connection dropped between frames", stream: true,
			serve: replay{file: "converse_stream_text.json", drop: true, dropAfter: 3},
			want: expect{text: sp("Hello!"), id: ridStreamText, chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"bedrock: unexpected EOF"}, class: llmeter.ErrorClassConnection}},
		{name: "stream connection dropped mid-frame", stream: true,
			serve: replay{file: "converse_stream_text.json", drop: true, dropAfter: 3, dropHalf: true},
			want: expect{text: sp("Hello!"), id: ridStreamText, chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"bedrock: unexpected EOF"}, class: llmeter.ErrorClassConnection}},
		{name: "stream timeout mid-stream", stream: true, serve: replay{file: "converse_stream_text.json", hang: true, hangAfter: 3},
			timeout: 500 * time.Millisecond,
			want: expect{text: sp("Hello!"), id: ridStreamText, chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"bedrock: "}, class: llmeter.ErrorClassTimeout}},
	}
	for _, ex := range streamExceptionCases {
		tests = append(tests, converseCase{name: "stream " + ex.key, stream: true,
			serve: replay{file: "converse_stream_exception.json", exception: ex.key},
			want: expect{text: sp("Once upon a time"), id: "7a8b9c0d-1e2f-4a3b-8c4d-e5f6a7b8c9d0", chunks: 2, ttlt: true, retries: zero,
				errSub: []string{"Bedrock " + ex.key + ": Too many tokens, please wait before trying again."}, class: ex.class}})
	}
	for _, stream := range []bool{false, true} {
		for _, h := range httpErrorCases {
			tests = append(tests, converseCase{name: fmt.Sprintf("stream=%v %s", stream, h.file), stream: stream,
				serve: replay{file: h.file},
				want:  expect{id: h.rid, retries: zero, errSub: h.errSub, class: h.class}})
		}
	}
	return tests
}

func TestConverse(t *testing.T) {
	for _, tc := range converseCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(*http.Request) replay { return tc.serve })
			attempts := tc.attempts
			if attempts == 0 {
				attempts = 1
			}
			ep := newConverse(t, srv.URL, tc.stream, tc.reasoningTTFT, attempts, nil)
			payload := conversePayload(t)
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
			wantInput := llmeter.CopyPayload(snapshot)
			wantInput["modelId"] = testModel
			if !reflect.DeepEqual(got.InputPayload, wantInput) {
				t.Errorf("InputPayload: got %v, want %v", got.InputPayload, wantInput)
			}
			if got.InputPrompt != conversePrompt {
				t.Errorf("InputPrompt: got %#v, want %q", got.InputPrompt, conversePrompt)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			checkSigned(t, reqs[0], converseOp(tc.stream))
			checkConverseBody(t, reqs[0].body, snapshot)
		})
	}
}

func converseOp(stream bool) string {
	if stream {
		return "converse-stream"
	}
	return "converse"
}

// checkSigned checks the method, path and SigV4 signature of a request.
func checkSigned(t *testing.T, r received, op string) {
	t.Helper()
	if want := "/model/" + testModel + "/" + op; r.method != http.MethodPost || r.path != want {
		t.Errorf("request: got %s %s, want POST %s", r.method, r.path, want)
	}
	if !strings.Contains(r.rawPath, "inference-profile%2Fus.anthropic") {
		t.Errorf("raw path %q: want the model id's slash escaped", r.rawPath)
	}
	auth := r.header.Get("Authorization")
	if want := "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/"; !strings.HasPrefix(auth, want) ||
		!strings.Contains(auth, "/"+testRegion+"/bedrock/aws4_request") || !strings.Contains(auth, "Signature=") {
		t.Errorf("Authorization: got %q, want a SigV4 signature by %s for bedrock in %s", auth, testKeyID, testRegion)
	}
	if r.header.Get("X-Amz-Date") == "" {
		t.Errorf("X-Amz-Date: missing")
	}
	if strings.Contains(fmt.Sprint(r.header), testSecret) {
		t.Errorf("request headers contain the secret key")
	}
}

// checkConverseBody checks that the body is the user's payload, with only
// the endpoint's defaults injected and no modelId.
func checkConverseBody(t *testing.T, body []byte, user llmeter.Payload) {
	t.Helper()
	want := llmeter.CopyPayload(user)
	if want["inferenceConfig"] == nil {
		want["inferenceConfig"] = map[string]any{"topP": json.Number("0.9")}
	}
	got, err := llmeter.DecodeJSON(body)
	if err != nil {
		t.Fatalf("request body %q: %v", body, err)
	}
	if g, w := encode(t, got), encode(t, map[string]any(want)); g != w {
		t.Errorf("request body:\n got %s\nwant %s", g, w)
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

// TestConverseRequest checks what reaches the server for payloads with and
// without inferenceConfig, and the bytes of media.
func TestConverseRequest(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay { return replay{file: "converse_text.json"} })
	img := map[string]any{"image": map[string]any{"format": "png", "source": map[string]any{"bytes": testPNG}}}
	msgs := []any{map[string]any{"role": "user", "content": []any{map[string]any{"text": "hi"}, img}}}
	tests := []struct {
		name    string
		def     map[string]any
		payload llmeter.Payload
		want    string
	}{
		{name: "no inferenceConfig gets the endpoint's", def: map[string]any{"maxTokens": 10},
			payload: llmeter.Payload{"messages": msgs},
			want: `{"inferenceConfig": {"maxTokens": 10}, "messages": [{"content": [{"text": "hi"}, ` +
				`{"image": {"format": "png", "source": {"bytes": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1Pe"}}}], "role": "user"}]}`},
		{name: "null inferenceConfig gets {}", payload: llmeter.Payload{"messages": msgs[:0], "inferenceConfig": nil},
			want: `{"inferenceConfig": {}, "messages": []}`},
		{name: "own inferenceConfig kept, modelId replaced", def: map[string]any{"maxTokens": 10},
			payload: llmeter.Payload{"inferenceConfig": map[string]any{}, "modelId": "other", "x": json.Number("1e400")},
			want:    `{"inferenceConfig": {}, "x": 1e400}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := NewConverseEndpoint(ConverseConfig{ModelID: testModel, Region: testRegion, EndpointURL: srv.URL,
				Credentials: testCreds, InferenceConfig: tc.def})
			if err != nil {
				t.Fatal(err)
			}
			n := len(srv.requests())
			got := llmeter.Invoke(context.Background(), ep, tc.payload)
			if got.Error != "" {
				t.Fatalf("Error: %s", got.Error)
			}
			r := srv.requests()[n]
			if string(r.body) != tc.want {
				t.Errorf("body:\n got %s\nwant %s", r.body, tc.want)
			}
			if r.path != "/model/"+testModel+"/converse" {
				t.Errorf("path: got %q", r.path)
			}
			if got.InputPayload["modelId"] != testModel {
				t.Errorf("InputPayload modelId: got %v, want %q", got.InputPayload["modelId"], testModel)
			}
		})
	}
}
