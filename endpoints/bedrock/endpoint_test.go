package bedrock

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

// endpointKinds builds each of the four endpoint types against an HTTP
// client, with a transcript of a successful answer.
var endpointKinds = []struct {
	name    string
	ok      string // transcript of a successful call
	text    string
	id      string // response id of the successful call
	build   func(tb testing.TB, hc *http.Client, attempts int) llmeter.Endpoint
	payload func(tb testing.TB) llmeter.Payload
}{
	{"BedrockConverse", "converse_text.json", "Hello! How can I help you today?", ridText,
		func(tb testing.TB, hc *http.Client, attempts int) llmeter.Endpoint {
			return newConverse(tb, "http://bedrock.test", false, false, attempts, hc)
		}, conversePayload},
	{"BedrockConverseStream", "converse_stream_text.json", streamText, ridStreamText,
		func(tb testing.TB, hc *http.Client, attempts int) llmeter.Endpoint {
			return newConverse(tb, "http://bedrock.test", true, false, attempts, hc)
		}, conversePayload},
	{"BedrockInvoke", "invoke_openai.json", "Hello! How can I help you today?", "chatcmpl-6a1d3f2e9b8c4d7e",
		func(tb testing.TB, hc *http.Client, attempts int) llmeter.Endpoint {
			return newInvoke(tb, "http://bedrock.test", InvokeConfig{MaxAttempts: attempts, HTTPClient: hc})
		}, invokePayload},
	{"BedrockInvokeStream", "invoke_stream_openai.json", "Hello! How can I help?", "chatcmpl-2b7e9f1a",
		func(tb testing.TB, hc *http.Client, attempts int) llmeter.Endpoint {
			return newInvoke(tb, "http://bedrock.test", InvokeConfig{Stream: true, MaxAttempts: attempts, HTTPClient: hc})
		}, invokePayload},
}

// TestRetries checks the retry count and request id of calls the SDK
// retried, which succeed or fail in the end. The SDK's backoff sleeps run in
// a synctest bubble, on an in-memory transport.
func TestRetries(t *testing.T) {
	for _, k := range endpointKinds {
		for _, tc := range []struct {
			name      string
			responses []string
			attempts  int
			retries   int
			text      string // "" : no text
			id        string
			class     string
		}{
			{name: "500 then success", responses: []string{"error_500_internal.json", k.ok}, attempts: 3, retries: 1,
				text: k.text, id: k.id},
			{name: "429 then success", responses: []string{"error_429_throttling.json", k.ok}, attempts: 3, retries: 1,
				text: k.text, id: k.id},
			{name: "503 three times", responses: []string{"error_503_unavailable.json"}, attempts: 3, retries: 2,
				id: "e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a7b", class: llmeter.ErrorClassHTTP5xx},
			{name: "429 with one attempt", responses: []string{"error_429_throttling.json"}, attempts: 1, retries: 0,
				id: rid429, class: llmeter.ErrorClassHTTP429},
		} {
			t.Run(k.name+"/"+tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					mt := &memTransport{}
					for _, f := range tc.responses {
						mt.responses = append(mt.responses, memFromTranscript(t, f))
					}
					ep := k.build(t, &http.Client{Transport: mt}, tc.attempts)
					got := llmeter.Invoke(context.Background(), ep, k.payload(t))
					if got.Retries == nil || *got.Retries != tc.retries {
						t.Errorf("Retries: got %s, want %d", fmtPtr(got.Retries), tc.retries)
					}
					if n := mt.calls(); n != tc.retries+1 {
						t.Errorf("HTTP calls: got %d, want %d", n, tc.retries+1)
					}
					if got.ID != tc.id {
						t.Errorf("ID: got %q, want %q", got.ID, tc.id)
					}
					if got.Text() != tc.text {
						t.Errorf("text: got %q, want %q", got.Text(), tc.text)
					}
					if got.ErrorClass != tc.class {
						t.Errorf("ErrorClass: got %q, want %q (error %q)", got.ErrorClass, tc.class, got.Error)
					}
					if tc.class != "" && tc.attempts > 1 && !strings.Contains(got.Error, "exceeded maximum number of attempts, 3") {
						t.Errorf("Error: got %q, want it to say the attempts were exhausted", got.Error)
					}
				})
			})
		}
	}
}

// TestRoundTrip saves every endpoint type with llmeter.EndpointToMap, through
// JSON, and loads it back with llmeter.LoadEndpoint (LLMeter's defect D8).
func TestRoundTrip(t *testing.T) {
	eps := []llmeter.Endpoint{}
	add := func(ep llmeter.Endpoint, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	add(NewConverseEndpoint(ConverseConfig{ModelID: "amazon.nova-lite-v1:0", Region: "eu-west-3", Credentials: testCreds}))
	add(NewConverseEndpoint(ConverseConfig{ModelID: testModel, EndpointName: "claude via profile", Region: "us-west-2",
		MaxAttempts: 5, EndpointURL: "https://user:pw@vpce-0123.bedrock-runtime.us-west-2.vpce.amazonaws.com/?token=abc",
		InferenceConfig: map[string]any{"maxTokens": 512, "temperature": 0.5, "stopSequences": []any{"END"}},
		Stream:          true, ReasoningCountsForTTFT: true, Credentials: testCreds}))
	add(NewConverseEndpoint(ConverseConfig{ModelID: "m", Region: "us-east-1", Stream: true, Credentials: testCreds}))
	add(NewInvokeEndpoint(InvokeConfig{ModelID: "openai.gpt-oss-20b-1:0", Region: "us-west-2", Credentials: testCreds}))
	add(NewInvokeEndpoint(InvokeConfig{ModelID: "anthropic.claude", Region: "us-east-1", MaxAttempts: 1,
		GeneratedTextJMESPath: "content[].text", GeneratedTokenCountJMESPath: Disabled, InputTextJMESPath: "messages[].content",
		InputTokenCountJMESPath: "usage.input_tokens", Credentials: testCreds}))
	add(NewInvokeEndpoint(InvokeConfig{ModelID: "openai.gpt-oss-120b-1:0", Region: "us-east-2", Stream: true,
		EndpointURL: "http://127.0.0.1:8080", Credentials: testCreds}))
	add(NewInvokeEndpoint(InvokeConfig{ModelID: "x", Region: "us-east-2", Stream: true, GeneratedTextJMESPath: "delta.text",
		InputTokenCountJMESPath: Disabled, Credentials: testCreds}))

	types := map[string]bool{}
	for _, ep := range eps {
		saved := llmeter.EndpointToMap(ep)
		b, err := llmeter.MarshalJSONValue(saved)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{testKeyID, testSecret, "pw@", "abc"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("saved config %s contains %q", b, secret)
			}
		}
		v, err := llmeter.DecodeJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		ep2, err := llmeter.LoadEndpoint(v.(map[string]any))
		if err != nil {
			t.Fatalf("LoadEndpoint(%s): %v", b, err)
		}
		if ep2.Info() != ep.Info() {
			t.Errorf("Info: got %+v, want %+v", ep2.Info(), ep.Info())
		}
		b2, err := llmeter.MarshalJSONValue(llmeter.EndpointToMap(ep2))
		if err != nil {
			t.Fatal(err)
		}
		if string(b2) != string(b) {
			t.Errorf("reloaded config:\n got %s\nwant %s", b2, b)
		}
		types[ep.Info().EndpointType] = true
		if p := ep.Info().Provider; p != "bedrock" {
			t.Errorf("Provider: got %q, want bedrock", p)
		}
	}
	if len(types) != 4 {
		t.Errorf("endpoint types covered: %v, want all four", types)
	}
}

// TestSavedConfig checks the saved keys and their LLMeter names.
func TestSavedConfig(t *testing.T) {
	c, err := NewConverseEndpoint(ConverseConfig{ModelID: "m", Region: "us-east-1", Stream: true, Credentials: testCreds,
		EndpointURL: "http://localhost:1", InferenceConfig: map[string]any{"maxTokens": 5}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"endpoint_name": "amazon bedrock", "model_id": "m", "provider": "bedrock",
		"endpoint_type": "BedrockConverseStream", "region": "us-east-1", "max_attempts": 1,
		"endpoint_url": "http://localhost:1", "inference_config": map[string]any{"maxTokens": 5},
		"ttft_visible_tokens_only": true}
	if got := llmeter.EndpointToMap(c); !reflect.DeepEqual(got, want) {
		t.Errorf("Converse config:\n got %v\nwant %v", got, want)
	}
	i, err := NewInvokeEndpoint(InvokeConfig{ModelID: "m", Region: "us-east-1", Credentials: testCreds,
		InputTokenCountJMESPath: Disabled})
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]any{"endpoint_name": "amazon bedrock", "model_id": "m", "provider": "bedrock",
		"endpoint_type": "BedrockInvoke", "region": "us-east-1", "max_attempts": 1,
		"generated_text_jmespath": "choices[0].message.content", "generated_token_count_jmespath": "usage.completion_tokens",
		"input_text_jmespath": "messages[].content[].text", "input_token_count_jmespath": nil}
	if got := llmeter.EndpointToMap(i); !reflect.DeepEqual(got, want) {
		t.Errorf("Invoke config:\n got %v\nwant %v", got, want)
	}
	s, err := NewInvokeEndpoint(InvokeConfig{ModelID: "m", Region: "us-east-1", Stream: true, Credentials: testCreds})
	if err != nil {
		t.Fatal(err)
	}
	got := llmeter.EndpointToMap(s)
	for k, v := range map[string]any{"generated_text_jmespath": "choices[0].delta.content",
		"generated_token_count_jmespath": `"amazon-bedrock-invocationMetrics".outputTokenCount`,
		"input_token_count_jmespath":     `"amazon-bedrock-invocationMetrics".inputTokenCount`} {
		if got[k] != v {
			t.Errorf("InvokeStream %s: got %v, want %v", k, got[k], v)
		}
	}
}

func TestConfigFromMap(t *testing.T) {
	cc, err := ConverseConfigFromMap(map[string]any{"model_id": "m", "endpoint_type": TypeConverseStream,
		"max_attempts": json.Number("4"), "ttft_visible_tokens_only": false, "inference_config": map[string]any{"topK": 3},
		"provider": "bedrock", "unknown": 1})
	if err != nil {
		t.Fatal(err)
	}
	if !cc.Stream || cc.MaxAttempts != 4 || !cc.ReasoningCountsForTTFT || cc.InferenceConfig["topK"] != 3 {
		t.Errorf("ConverseConfigFromMap: got %+v", cc)
	}
	ic, err := InvokeConfigFromMap(map[string]any{"model_id": "m", "endpoint_type": TypeInvoke, "max_attempts": 2.0,
		"generated_text_jmespath": "a.b", "generated_token_count_jmespath": nil, "input_token_count_jmespath": ""})
	if err != nil {
		t.Fatal(err)
	}
	if ic.Stream || ic.MaxAttempts != 2 || ic.GeneratedTextJMESPath != "a.b" || ic.GeneratedTokenCountJMESPath != Disabled ||
		ic.InputTokenCountJMESPath != Disabled || ic.InputTextJMESPath != "" {
		t.Errorf("InvokeConfigFromMap: got %+v", ic)
	}
	for _, m := range []map[string]any{
		{"model_id": 5}, {"max_attempts": "3"}, {"max_attempts": 2.5}, {"inference_config": []any{}},
		{"ttft_visible_tokens_only": "no"}, {"endpoint_type": TypeInvoke},
	} {
		if _, err := ConverseConfigFromMap(m); err == nil {
			t.Errorf("ConverseConfigFromMap(%v): got no error", m)
		}
	}
	for _, m := range []map[string]any{
		{"region": 1}, {"generated_text_jmespath": 3}, {"endpoint_type": TypeConverse},
	} {
		if _, err := InvokeConfigFromMap(m); err == nil {
			t.Errorf("InvokeConfigFromMap(%v): got no error", m)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := NewConverseEndpoint(ConverseConfig{Region: "us-east-1"}); err == nil {
		t.Error("Converse without ModelID: got no error")
	}
	if _, err := NewConverseEndpoint(ConverseConfig{ModelID: "m", Region: "us-east-1", MaxAttempts: -1}); err == nil {
		t.Error("Converse with MaxAttempts -1: got no error")
	}
	if _, err := NewInvokeEndpoint(InvokeConfig{Region: "us-east-1"}); err == nil {
		t.Error("Invoke without ModelID: got no error")
	}
	_, err := NewInvokeEndpoint(InvokeConfig{ModelID: "m", Region: "us-east-1", GeneratedTextJMESPath: "choices[0"})
	if err == nil || !strings.Contains(err.Error(), "GeneratedTextJMESPath") {
		t.Errorf("invalid JMESPath: got %v, want an error naming GeneratedTextJMESPath", err)
	}
}

func TestCreateConversePayload(t *testing.T) {
	img := prompt.Media{Kind: prompt.Image, Data: testPNG, MIMEType: "image/png"}
	doc := prompt.Media{Kind: prompt.Document, Data: []byte("%PDF-1.7"), MIMEType: "application/pdf"}
	tests := []struct {
		name      string
		items     []prompt.Item
		maxTokens int
		extra     map[string]any
		want      llmeter.Payload
		wantErr   string
	}{
		{name: "text, default max tokens", items: []prompt.Item{prompt.Text("hi")},
			want: llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"text": "hi"}}}},
				"inferenceConfig": map[string]any{"maxTokens": 256}}},
		{name: "media in order, extra merged, maxTokens wins", items: []prompt.Item{img, prompt.Text("and"), doc}, maxTokens: 9,
			extra: map[string]any{"system": []any{map[string]any{"text": "s"}},
				"inferenceConfig": map[string]any{"maxTokens": 1, "temperature": 0.2}},
			want: llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": []any{
				map[string]any{"image": map[string]any{"format": "png", "source": map[string]any{"bytes": testPNG}}},
				map[string]any{"text": "and"},
				map[string]any{"document": map[string]any{"format": "pdf", "source": map[string]any{"bytes": []byte("%PDF-1.7")}}},
			}}}, "system": []any{map[string]any{"text": "s"}},
				"inferenceConfig": map[string]any{"maxTokens": 9, "temperature": 0.2}}},
		{name: "null inferenceConfig", items: []prompt.Item{prompt.Text("x")}, maxTokens: 3,
			extra: map[string]any{"inferenceConfig": nil},
			want: llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"text": "x"}}}},
				"inferenceConfig": map[string]any{"maxTokens": 3}}},
		{name: "negative max tokens", items: []prompt.Item{prompt.Text("x")}, maxTokens: -1, wantErr: "max_tokens"},
		{name: "no items", wantErr: "no user message"},
		{name: "unknown MIME", items: []prompt.Item{prompt.Media{Kind: prompt.Image, Data: []byte("x"), MIMEType: "image/bmp"}},
			wantErr: "image/bmp"},
		{name: "inferenceConfig not an object", items: []prompt.Item{prompt.Text("x")},
			extra: map[string]any{"inferenceConfig": "x"}, wantErr: "inferenceConfig"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var extraBefore any
			if tc.extra != nil {
				extraBefore = llmeter.DeepCopy(tc.extra)
			}
			got, err := CreateConversePayload(tc.items, tc.maxTokens, tc.extra)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("payload:\n got %#v\nwant %#v", got, tc.want)
			}
			if tc.extra != nil && !reflect.DeepEqual(map[string]any(tc.extra), extraBefore) {
				t.Errorf("extra modified: got %v", tc.extra)
			}
		})
	}
}

func TestCreateInvokePayload(t *testing.T) {
	got, err := CreateInvokePayload([]string{"a", "b"}, 7, map[string]any{"temperature": 0.1, "max_tokens": 8})
	if err != nil {
		t.Fatal(err)
	}
	want := llmeter.Payload{"messages": []any{
		map[string]any{"role": "user", "content": []any{map[string]any{"text": "a", "type": "text"}}},
		map[string]any{"role": "user", "content": []any{map[string]any{"text": "b", "type": "text"}}},
	}, "max_tokens": 8, "temperature": 0.1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payload:\n got %#v\nwant %#v", got, want)
	}
	if _, err := CreateInvokePayload([]string{"a"}, 0, nil); err == nil {
		t.Error("max_tokens 0: got no error")
	}
	if _, err := CreateInvokePayload(nil, 5, nil); err == nil {
		t.Error("no messages: got no error")
	}
}

func TestConverseParsePayload(t *testing.T) {
	tests := []struct {
		name    string
		payload llmeter.Payload
		want    string
	}{
		{"nil", nil, ""},
		{"no messages", llmeter.Payload{"inferenceConfig": map[string]any{}}, ""},
		{"texts and media", conversePayload(t), conversePrompt},
		{"several messages, empty and missing texts dropped", llmeter.Payload{"messages": []any{
			map[string]any{"role": "user", "content": []any{map[string]any{"text": "a"}, map[string]any{"text": ""},
				map[string]any{"image": map[string]any{}}}},
			map[string]any{"role": "assistant"},
			map[string]any{"role": "user", "content": []any{map[string]any{"text": []any{"b", "", "c"}}}},
		}}, "a\nb\nc"},
		{"typed slices", llmeter.Payload{"messages": []map[string]any{{"content": []map[string]any{{"text": "x"}}}}}, "x"},
		{"messages not a list", llmeter.Payload{"messages": "hi"}, ""},
		{"null messages", llmeter.Payload{"messages": nil}, ""},
		{"null content", llmeter.Payload{"messages": []any{map[string]any{"content": []any{map[string]any{"text": "a"}}},
			map[string]any{"content": nil}}}, ""},
		{"message not an object", llmeter.Payload{"messages": []any{"hi"}}, ""},
		{"content a string", llmeter.Payload{"messages": []any{map[string]any{"content": "hi"}}}, ""},
		{"block not an object", llmeter.Payload{"messages": []any{map[string]any{"content": []any{"hi"}}}}, ""},
		{"text not a string", llmeter.Payload{"messages": []any{map[string]any{"content": []any{
			map[string]any{"text": "a"}, map[string]any{"text": 5}}}}}, ""},
	}
	ep := newConverse(t, "http://127.0.0.1:1", false, false, 1, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ep.ParsePayload(tc.payload)
			if err != nil || got != tc.want {
				t.Errorf("ParsePayload: got %#v, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestInvokeParsePayload(t *testing.T) {
	ep := newInvoke(t, "http://127.0.0.1:1", InvokeConfig{})
	tests := []struct {
		name    string
		payload llmeter.Payload
		want    any // nil: an error
	}{
		{"default path", invokePayload(t), invokePrompt},
		{"json numbers", llmeter.Payload{"messages": []any{map[string]any{"content": []any{map[string]any{"text": "x"}}}},
			"n": json.Number("1e400")}, "x"},
		{"content strings are not matched", llmeter.Payload{"messages": []any{map[string]any{"content": "hi"}}}, ""},
		{"no messages", llmeter.Payload{"prompt": "hi"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ep.ParsePayload(tc.payload)
			if tc.want == nil {
				if err == nil {
					t.Errorf("ParsePayload: got %#v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParsePayload: got %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
	custom := newInvoke(t, "http://127.0.0.1:1", InvokeConfig{InputTextJMESPath: "prompt"})
	if got, err := custom.ParsePayload(llmeter.Payload{"prompt": "hello"}); err != nil || got != "hello" {
		t.Errorf("custom path: got %#v, %v", got, err)
	}
	off := newInvoke(t, "http://127.0.0.1:1", InvokeConfig{InputTextJMESPath: Disabled})
	if got, err := off.ParsePayload(llmeter.Payload{"prompt": "hello"}); err == nil {
		t.Errorf("disabled path: got %#v, want an error", got)
	}
}

// TestInvokeRejectsBytes checks that binary data in an InvokeModel payload
// fails before anything is sent.
func TestInvokeRejectsBytes(t *testing.T) {
	mt := &memTransport{responses: []memResponse{memFromTranscript(t, "invoke_openai.json")}}
	ep := newInvoke(t, "http://bedrock.test", InvokeConfig{HTTPClient: &http.Client{Transport: mt}})
	p := llmeter.Payload{"messages": []any{map[string]any{"content": []any{map[string]any{"text": "x"},
		map[string]any{"image": map[string]any{"source": map[string]any{"bytes": testPNG}}}}}}}
	got := llmeter.Invoke(context.Background(), ep, p)
	if want := "messages[0].content[1].image.source.bytes holds binary data"; !strings.Contains(got.Error, want) {
		t.Errorf("Error: got %q, want it to contain %q", got.Error, want)
	}
	if mt.calls() != 0 {
		t.Errorf("HTTP calls: got %d, want 0", mt.calls())
	}
}

// TestTransportErrors checks the class of a refused connection (after the
// SDK's retries) and of a canceled call, for every endpoint type.
func TestTransportErrors(t *testing.T) {
	srv := newTestServer(t, func(*http.Request) replay {
		return replay{file: "converse_stream_text.json", hang: true, hangAfter: 2}
	})
	closed := newTestServer(t, func(*http.Request) replay { return replay{file: "converse_text.json"} })
	closedURL := closed.URL
	closed.Close()
	for _, k := range endpointKinds {
		t.Run(k.name, func(t *testing.T) {
			stream := strings.HasSuffix(k.name, "Stream")
			build := func(url string) llmeter.Endpoint {
				if strings.HasPrefix(k.name, "BedrockConverse") {
					return newConverse(t, url, stream, false, 1, nil)
				}
				return newInvoke(t, url, InvokeConfig{Stream: stream})
			}
			got := llmeter.Invoke(context.Background(), build(closedURL), k.payload(t))
			if got.ErrorClass != llmeter.ErrorClassConnection || !strings.HasPrefix(got.Error, "bedrock: ") ||
				!strings.Contains(got.Error, "connection refused") {
				t.Errorf("refused: class %q, error %q; want %q, a bedrock: prefix and the cause", got.ErrorClass, got.Error,
					llmeter.ErrorClassConnection)
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			got = llmeter.Invoke(ctx, build(srv.URL), k.payload(t))
			if got.ErrorClass != llmeter.ErrorClassCanceled {
				t.Errorf("canceled: class %q (error %q), want %q", got.ErrorClass, got.Error, llmeter.ErrorClassCanceled)
			}
		})
	}
}

// TestConcurrentCalls runs many calls at once on one endpoint of each type
// (under -race: no state shared between calls, see ownProtocol).
func TestConcurrentCalls(t *testing.T) {
	for _, k := range endpointKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(*http.Request) replay { return replay{file: k.ok} })
			var ep llmeter.Endpoint
			stream := strings.HasSuffix(k.name, "Stream")
			if strings.HasPrefix(k.name, "BedrockConverse") {
				ep = newConverse(t, srv.URL, stream, false, 1, nil)
			} else {
				ep = newInvoke(t, srv.URL, InvokeConfig{Stream: stream})
			}
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 10 {
						got := llmeter.Invoke(context.Background(), ep, k.payload(t))
						if got.Error != "" || got.Text() != k.text || got.ID != k.id {
							t.Errorf("got text %q, id %q, error %q; want %q, %q", got.Text(), got.ID, got.Error, k.text, k.id)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
