package sagemaker

// Conformance of both endpoint types against a SageMaker runtime stand-in
// replaying testdata/ (see server_test.go for the references the
// transcripts follow).

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

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

const (
	testEndpoint  = "my-endpoint"
	testModel     = "meta-llama/Llama-3.1-8B-Instruct"
	testPrompt    = "What is deep learning?"
	testComponent = "llama-ic-1"
	normalText    = " Deep learning is a subset of machine learning."
)

var testCreds = credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", "")

// noBackoff makes the SDK retry at once (the standard retryer waits up to
// seconds), with no retry quota.
func noBackoff(o *sagemakerruntime.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 3
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		so.RateLimiter = ratelimit.None
	})
}

func newTestEndpoint(tb testing.TB, url string, stream bool, mod func(*Config)) *Endpoint {
	tb.Helper()
	cfg := Config{
		EndpointName: testEndpoint,
		ModelID:      testModel,
		Region:       "us-east-1",
		EndpointURL:  url,
		Stream:       stream,
		Credentials:  testCreds,
	}
	if mod != nil {
		mod(&cfg)
	}
	ep, err := NewEndpoint(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ep.optFns = append(ep.optFns, noBackoff)
	return ep
}

func testPayload(tb testing.TB, stream bool) llmeter.Payload {
	tb.Helper()
	create := CreatePayload
	if stream {
		create = CreateStreamPayload
	}
	p, err := create([]prompt.Item{prompt.Text(testPrompt)}, 64,
		map[string]any{"temperature": json.Number("0.7"), "decoder_input_details": true},
		map[string]any{"metadata": map[string]any{"run": "t1", "tags": []any{"a", "b"}}})
	if err != nil {
		tb.Fatal(err)
	}
	if stream {
		delete(p, "stream") // PreparePayload adds it
	}
	return p
}

// expect is the InvocationResponse a case must produce.
type expect struct {
	text    *string // nil: no text
	id      string  // "": a generated UUID
	out     *int
	retries *int
	chunks  int  // visible text chunks; TTFT is set iff > 0
	ttlt    bool // time to last token set
	errSub  []string
	class   string
}

var ip = llmeter.Ptr[int]

func sp(s string) *string { return &s }

var uuidHex = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestInvoke(t *testing.T) {
	tests := []struct {
		name    string
		stream  bool
		serve   []replay // one per request, the last repeated
		mod     func(*Config)
		timeout time.Duration
		want    expect
	}{
		// Streaming.
		{name: "stream normal", stream: true, serve: []replay{{file: "stream_normal.jsonl"}},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream lines split across parts, several lines in a part", stream: true,
			serve: []replay{{file: "stream_split_parts.jsonl"}},
			want:  expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream without details counts token lines", stream: true, serve: []replay{{file: "stream_no_details.jsonl"}},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream details without generated_tokens is zero", stream: true,
			serve: []replay{{file: "stream_details_without_count.jsonl"}},
			want:  expect{text: sp(normalText), id: testRequestID, out: ip(0), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream generated_tokens null counts token lines", stream: true,
			serve: []replay{{file: "stream_generated_tokens_null.jsonl"}},
			want:  expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream zero generated tokens", stream: true, serve: []replay{{file: "stream_zero_generated_tokens.jsonl"}},
			want: expect{text: sp("</s>"), id: testRequestID, out: ip(0), retries: ip(0), chunks: 1, ttlt: true}},
		{name: "stream data: prefix variants, comments and non-JSON lines", stream: true,
			serve: []replay{{file: "stream_prefix_variants.jsonl"}},
			want:  expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream LMI JSON Lines", stream: true, serve: []replay{{file: "stream_lmi_jsonlines.jsonl"}},
			want: expect{text: sp("Deep  Learning is field."), id: testRequestID, out: ip(100), retries: ip(0), chunks: 4, ttlt: true}},
		{name: "stream falsy error is no error", stream: true, serve: []replay{{file: "stream_error_falsy.jsonl"}},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream last line without line break", stream: true, serve: []replay{{file: "stream_last_line_unterminated.jsonl"}},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream special tokens are text", stream: true, serve: []replay{{file: "stream_special_eos.jsonl"}},
			want: expect{text: sp(normalText[:len(normalText)-1] + "</s>"), id: testRequestID, out: ip(10), retries: ip(0),
				chunks: 9, ttlt: true}},
		{name: "stream escaped text", stream: true, serve: []replay{{file: "stream_escaped_text.jsonl"}},
			want: expect{text: sp("café \"ok\"\n日本"), id: testRequestID, out: ip(2), retries: ip(0), chunks: 2, ttlt: true}},
		{name: "stream inference component", stream: true, serve: []replay{{file: "stream_normal.jsonl"}},
			mod:  func(c *Config) { c.InferenceComponent = testComponent },
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), chunks: 9, ttlt: true}},
		{name: "stream 500 once then success", stream: true,
			serve: []replay{{file: "error_internal_500.json", status: 500, errorType: "InternalFailure", requestID: "first-attempt"},
				{file: "stream_normal.jsonl"}},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(1), chunks: 9, ttlt: true}},
		{name: "stream throttled once then success", stream: true,
			serve: []replay{{file: "error_throttling.json", status: 429, errorType: "ThrottlingException"},
				{file: "stream_normal.jsonl"}},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(1), chunks: 9, ttlt: true}},

		// Streaming failures.
		{name: "stream error line mid-stream", stream: true, serve: []replay{{file: "stream_error_midstream.jsonl"}},
			want: expect{text: sp(" Deep learning is"), id: testRequestID, retries: ip(0), chunks: 3, ttlt: true,
				errSub: []string{"Request failed during generation: Server error: CUDA out of memory"},
				class:  llmeter.ErrorClassAPI}},
		{name: "stream ModelStreamError event", stream: true, serve: []replay{{file: "stream_model_stream_error.jsonl"}},
			want: expect{text: sp(" Deep learning"), id: testRequestID, retries: ip(0), chunks: 2, ttlt: true,
				errSub: []string{"ModelStreamError (ModelInvocationTimeExceeded): Model response exceeded the invocation timeout"},
				class:  llmeter.ErrorClassAPI}},
		{name: "stream InternalStreamFailure event", stream: true, serve: []replay{{file: "stream_internal_failure.jsonl"}},
			want: expect{text: sp(" Deep learning is a"), id: testRequestID, retries: ip(0), chunks: 4, ttlt: true,
				errSub: []string{"InternalStreamFailure: Internal stream failure. Try your request again."},
				class:  llmeter.ErrorClassAPI}},
		{name: "stream LMI finish_reason error", stream: true, serve: []replay{{file: "stream_lmi_finish_error.jsonl"}},
			want: expect{text: sp("Deep "), id: testRequestID, out: ip(2), retries: ip(0), chunks: 1, ttlt: true,
				errSub: []string{`finish_reason "error"`}, class: llmeter.ErrorClassAPI}},
		{name: "stream without final line", stream: true, serve: []replay{{file: "stream_no_final_line.jsonl"}},
			want: expect{text: sp(" Deep learning is a subset of machine learning"), id: testRequestID, retries: ip(0),
				chunks: 8, ttlt: true, errSub: []string{"sagemaker: ", llmeter.ErrIncompleteStream.Error()},
				class: llmeter.ErrorClassProtocol}},
		{name: "stream empty", stream: true, serve: []replay{{file: "stream_empty.jsonl"}},
			want: expect{id: testRequestID, retries: ip(0), errSub: []string{llmeter.ErrIncompleteStream.Error()},
				class: llmeter.ErrorClassProtocol}},
		{name: "stream connection dropped", stream: true, serve: []replay{{file: "stream_dropped.jsonl", drop: true}},
			want: expect{text: sp(" Deep learning is a"), id: testRequestID, retries: ip(0), chunks: 4, ttlt: true,
				errSub: []string{"sagemaker: ", "unexpected EOF"}, class: llmeter.ErrorClassConnection}},
		{name: "stream OpenAI chunks", stream: true, serve: []replay{{file: "stream_openai_chunks.jsonl"}},
			want: expect{id: testRequestID, retries: ip(0), errSub: []string{"no token.text", "openai endpoint"},
				class: llmeter.ErrorClassProtocol}},
		{name: "stream bad frame", stream: true, serve: []replay{{file: "stream_bad_frame.jsonl"}},
			want: expect{text: sp(" Deep"), id: testRequestID, retries: ip(0), chunks: 1, ttlt: true,
				errSub: []string{"sagemaker: event stream"}, class: llmeter.ErrorClassProtocol}},
		{name: "stream validation error 400", stream: true,
			serve: []replay{{file: "error_validation_400.json", status: 400, errorType: "ValidationError"}},
			want: expect{id: testRequestID, errSub: []string{"sagemaker: ", "StatusCode: 400", "ValidationError",
				"Endpoint my-endpoint of account 123456789012 not found."}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream model error 424", stream: true,
			serve: []replay{{file: "error_model_424.json", status: 424, errorType: "ModelError"}},
			want: expect{id: testRequestID, errSub: []string{"StatusCode: 424", "ModelError",
				"Received client error (422) from primary"}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "stream model error from a 429 of the container", stream: true,
			serve: []replay{{file: "error_model_429.json", status: 424, errorType: "ModelError"}},
			want: expect{id: testRequestID, errSub: []string{"StatusCode: 424", "Model is overloaded"},
				class: llmeter.ErrorClassHTTP429}},
		{name: "stream throttling 429 after retries", stream: true,
			serve: []replay{{file: "error_throttling.json", status: 429, errorType: "ThrottlingException"}},
			want: expect{id: testRequestID, retries: ip(2), errSub: []string{"StatusCode: 429", "ThrottlingException", "Rate exceeded"},
				class: llmeter.ErrorClassHTTP429}},
		{name: "stream throttling with status 400", stream: true,
			serve: []replay{{file: "error_throttling.json", status: 400, errorType: "ThrottlingException"}},
			want: expect{id: testRequestID, retries: ip(2), errSub: []string{"StatusCode: 400", "Rate exceeded"},
				class: llmeter.ErrorClassHTTP429}},
		{name: "stream internal failure 500 after retries", stream: true,
			serve: []replay{{file: "error_internal_500.json", status: 500, errorType: "InternalFailure"}},
			want: expect{id: testRequestID, retries: ip(2), errSub: []string{"StatusCode: 500", "An internal failure occurred."},
				class: llmeter.ErrorClassHTTP5xx}},
		{name: "stream timeout mid-stream", stream: true, serve: []replay{{file: "stream_normal.jsonl", hang: true, hangAfter: 3}},
			timeout: time.Second,
			want: expect{text: sp(" Deep learning is"), id: testRequestID, retries: ip(0), chunks: 3, ttlt: true,
				errSub: []string{"sagemaker: "}, class: llmeter.ErrorClassTimeout}},

		// Non-streaming.
		{name: "non-stream TGI list", serve: []replay{{file: "nonstream_tgi_list.json"}},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), ttlt: true}},
		{name: "non-stream object", serve: []replay{{file: "nonstream_object.json"}},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), ttlt: true}},
		{name: "non-stream without details", serve: []replay{{file: "nonstream_no_details.json"}},
			want: expect{text: sp(normalText), id: testRequestID, retries: ip(0), ttlt: true}},
		{name: "non-stream zero tokens", serve: []replay{{file: "nonstream_zero_tokens.json"}},
			want: expect{text: sp(""), id: testRequestID, out: ip(0), retries: ip(0), ttlt: true}},
		{name: "non-stream custom JMESPath", serve: []replay{{file: "nonstream_custom_schema.json"}},
			mod: func(c *Config) { c.GeneratedTextJMESPath = "outputs[0]"; c.TokenCountJMESPath = "length(outputs)" },
			want: expect{text: sp(" Deep learning is a subset of machine learning."[1:]), id: testRequestID, out: ip(1),
				retries: ip(0), ttlt: true}},
		{name: "non-stream default paths given explicitly read the list too", serve: []replay{{file: "nonstream_tgi_list.json"}},
			mod: func(c *Config) {
				c.GeneratedTextJMESPath = "generated_text"
				c.TokenCountJMESPath = "details.generated_tokens"
			},
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), ttlt: true}},
		{name: "non-stream custom paths have no list fallback", serve: []replay{{file: "nonstream_tgi_list.json"}},
			mod:  func(c *Config) { c.GeneratedTextJMESPath = "outputs[0]"; c.TokenCountJMESPath = "details.n" },
			want: expect{id: testRequestID, retries: ip(0), ttlt: true}},
		{name: "non-stream token count disabled", serve: []replay{{file: "nonstream_object.json"}},
			mod:  func(c *Config) { c.NoTokenCount = true },
			want: expect{text: sp(normalText), id: testRequestID, retries: ip(0), ttlt: true}},
		{name: "non-stream inference component", serve: []replay{{file: "nonstream_tgi_list.json"}},
			mod:  func(c *Config) { c.InferenceComponent = testComponent },
			want: expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(0), ttlt: true}},
		{name: "non-stream 500 once then success",
			serve: []replay{{file: "error_internal_500.json", status: 500, errorType: "InternalFailure"}, {file: "nonstream_tgi_list.json"}},
			want:  expect{text: sp(normalText), id: testRequestID, out: ip(9), retries: ip(1), ttlt: true}},
		{name: "non-stream error in a 200 body", serve: []replay{{file: "nonstream_error_200.json"}},
			want: expect{id: testRequestID, retries: ip(0), ttlt: true, errSub: []string{"Invalid input: prompt is empty"},
				class: llmeter.ErrorClassAPI}},
		{name: "non-stream LMI finish_reason error", serve: []replay{{file: "nonstream_lmi_finish_error.json"}},
			want: expect{text: sp(""), id: testRequestID, retries: ip(0), ttlt: true, errSub: []string{`finish_reason "error"`},
				class: llmeter.ErrorClassAPI}},
		{name: "non-stream malformed body", serve: []replay{{file: "stream_normal.jsonl", raw: true}},
			want: expect{id: testRequestID, retries: ip(0), ttlt: true, errSub: []string{"malformed response"},
				class: llmeter.ErrorClassProtocol}},
		{name: "non-stream validation error 400",
			serve: []replay{{file: "error_validation_400.json", status: 400, errorType: "ValidationError"}},
			want:  expect{id: testRequestID, errSub: []string{"StatusCode: 400", "not found"}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "non-stream model error 424",
			serve: []replay{{file: "error_model_424.json", status: 424, errorType: "ModelError"}},
			want:  expect{id: testRequestID, errSub: []string{"StatusCode: 424", "Input validation error"}, class: llmeter.ErrorClassHTTP4xx}},
		{name: "non-stream throttling 429",
			serve: []replay{{file: "error_throttling.json", status: 429, errorType: "ThrottlingException"}},
			want:  expect{id: testRequestID, retries: ip(2), errSub: []string{"StatusCode: 429", "Rate exceeded"}, class: llmeter.ErrorClassHTTP429}},
		{name: "non-stream timeout", serve: []replay{{file: "nonstream_tgi_list.json", hang: true}},
			timeout: 200 * time.Millisecond,
			want:    expect{errSub: []string{"sagemaker: ", "deadline exceeded"}, class: llmeter.ErrorClassTimeout}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(i int, _ *http.Request) replay {
				return tc.serve[min(i, len(tc.serve)-1)]
			})
			ep := newTestEndpoint(t, srv.URL, tc.stream, tc.mod)
			payload := testPayload(t, tc.stream)
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
			want := wantSent(snapshot, tc.stream)
			if !reflect.DeepEqual(got.InputPayload, want) {
				t.Errorf("InputPayload: got %v, want %v", got.InputPayload, want)
			}
			if got.InputPrompt != testPrompt {
				t.Errorf("InputPrompt: got %#v, want %q", got.InputPrompt, testPrompt)
			}
			reqs := srv.requests()
			wantReqs := len(tc.serve)
			if tc.want.retries != nil {
				wantReqs = *tc.want.retries + 1
			}
			if len(reqs) != wantReqs {
				t.Fatalf("server got %d requests, want %d", len(reqs), wantReqs)
			}
			component := ""
			if tc.mod != nil {
				var c Config
				tc.mod(&c)
				component = c.InferenceComponent
			}
			for _, r := range reqs {
				checkRequest(t, r, want, tc.stream, component)
			}
		})
	}
}

// wantSent is the payload PreparePayload should produce from the test
// payload.
func wantSent(user llmeter.Payload, stream bool) llmeter.Payload {
	want := llmeter.CopyPayload(user)
	if stream {
		want["stream"] = true
		delete(want["parameters"].(map[string]any), "decoder_input_details")
	}
	return want
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
	if fmtPtr(got.NumTokensOutput) != fmtPtr(want.out) {
		t.Errorf("NumTokensOutput: got %s, want %s", fmtPtr(got.NumTokensOutput), fmtPtr(want.out))
	}
	if want.out != nil && got.TokensOutputSource != "usage" {
		t.Errorf("TokensOutputSource: got %q, want usage", got.TokensOutputSource)
	}
	if got.NumTokensInput != nil || got.NumTokensInputCached != nil || got.NumTokensOutputReasoning != nil {
		t.Errorf("input/cached/reasoning tokens: got %s/%s/%s, want nil (the API reports none)",
			fmtPtr(got.NumTokensInput), fmtPtr(got.NumTokensInputCached), fmtPtr(got.NumTokensOutputReasoning))
	}
	if fmtPtr(got.Retries) != fmtPtr(want.retries) {
		t.Errorf("Retries: got %s, want %s", fmtPtr(got.Retries), fmtPtr(want.retries))
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
	if strings.Contains(got.Error, "SECRET") {
		t.Errorf("Error %q contains the secret key", got.Error)
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

// checkRequest checks what the server received.
func checkRequest(t *testing.T, r received, want llmeter.Payload, stream bool, component string) {
	t.Helper()
	path := "/endpoints/" + testEndpoint + "/invocations"
	if stream {
		path += "-response-stream"
	}
	if r.method != http.MethodPost || r.path != path {
		t.Errorf("request: got %s %s, want POST %s", r.method, r.path, path)
	}
	if got := r.header.Get("Authorization"); !strings.HasPrefix(got, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") ||
		!strings.Contains(got, "/us-east-1/sagemaker/aws4_request") {
		t.Errorf("Authorization: got %q, want a SigV4 signature of AKIDTEST for sagemaker in us-east-1", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", got)
	}
	if !stream {
		if got := r.header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept: got %q, want application/json", got)
		}
	}
	if got := r.header.Get("X-Amzn-SageMaker-Inference-Component"); got != component {
		t.Errorf("X-Amzn-SageMaker-Inference-Component: got %q, want %q", got, component)
	}
	body, err := llmeter.DecodeJSON(r.body)
	if err != nil {
		t.Fatalf("request body %q: %v", r.body, err)
	}
	if got, want := encode(t, body), encode(t, map[string]any(want)); got != want {
		t.Errorf("request body: got %s, want %s", got, want)
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
	srv := newTestServer(t, func(int, *http.Request) replay { return replay{file: "nonstream_tgi_list.json"} })
	ep := newTestEndpoint(t, srv.URL, false, nil)
	payload, err := CreatePayload([]prompt.Item{prompt.Text(testPrompt)}, 16,
		map[string]any{"seed": json.Number("12345678901234567890"), "temperature": json.Number("0.70")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := llmeter.Invoke(context.Background(), ep, payload); got.Error != "" {
		t.Fatalf("Error: got %q, want none", got.Error)
	}
	body := string(srv.requests()[0].body)
	for _, lit := range []string{`"seed": 12345678901234567890`, `"temperature": 0.70`, `"max_new_tokens": 16`} {
		if !strings.Contains(body, lit) {
			t.Errorf("request body %s: want it to contain %s", body, lit)
		}
	}
}

// TestCanceled checks that a canceled context is reported as canceled, with
// the text received so far.
func TestCanceled(t *testing.T) {
	srv := newTestServer(t, func(int, *http.Request) replay {
		return replay{file: "stream_normal.jsonl", hang: true, hangAfter: 2}
	})
	ep := newTestEndpoint(t, srv.URL, true, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	got := llmeter.Invoke(ctx, ep, testPayload(t, true))
	if got.ErrorClass != llmeter.ErrorClassCanceled {
		t.Errorf("ErrorClass: got %q (error %q), want %q", got.ErrorClass, got.Error, llmeter.ErrorClassCanceled)
	}
	if got.Text() != " Deep learning" {
		t.Errorf("ResponseText: got %q, want %q", got.Text(), " Deep learning")
	}
}

// TestConnectionRefused checks the class of a dial failure (after the SDK's
// retries).
func TestConnectionRefused(t *testing.T) {
	srv := newTestServer(t, func(int, *http.Request) replay { return replay{file: "stream_normal.jsonl"} })
	url := srv.URL
	srv.Close()
	for _, stream := range []bool{false, true} {
		ep := newTestEndpoint(t, url, stream, nil)
		got := llmeter.Invoke(context.Background(), ep, testPayload(t, stream))
		if got.ErrorClass != llmeter.ErrorClassConnection {
			t.Errorf("stream=%v: ErrorClass: got %q (error %q), want %q", stream, got.ErrorClass, got.Error, llmeter.ErrorClassConnection)
		}
		if !strings.HasPrefix(got.Error, "sagemaker: ") {
			t.Errorf("stream=%v: Error: got %q, want the prefix %q", stream, got.Error, "sagemaker: ")
		}
		if got.Retries == nil || *got.Retries != 2 {
			t.Errorf("stream=%v: Retries: got %s, want 2", stream, fmtPtr(got.Retries))
		}
	}
}

// TestNoCredentialsInRequestOrError checks that the secret key travels
// nowhere (the signature is an HMAC).
func TestNoCredentialsInRequestOrError(t *testing.T) {
	srv := newTestServer(t, func(int, *http.Request) replay {
		return replay{file: "error_validation_400.json", status: 400, errorType: "ValidationError"}
	})
	ep := newTestEndpoint(t, srv.URL, false, nil)
	got := llmeter.Invoke(context.Background(), ep, testPayload(t, false))
	for _, r := range srv.requests() {
		for k, v := range r.header {
			if strings.Contains(strings.Join(v, ","), "SECRET") {
				t.Errorf("header %s carries the secret key", k)
			}
		}
	}
	if strings.Contains(got.Error, "SECRET") {
		t.Errorf("Error %q carries the secret key", got.Error)
	}
}
