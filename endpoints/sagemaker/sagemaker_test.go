package sagemaker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 32)...)

func TestNewEndpointDefaults(t *testing.T) {
	if _, err := NewEndpoint(Config{Region: "us-east-1"}); err == nil || !strings.Contains(err.Error(), "EndpointName") {
		t.Errorf("no EndpointName: got %v, want an error naming it", err)
	}
	if _, err := NewEndpoint(Config{EndpointName: "e"}); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("no region anywhere: got %v, want an error naming it", err)
	}
	if _, err := NewEndpoint(Config{EndpointName: "e", Region: "us-east-1", GeneratedTextJMESPath: "a[?"}); err == nil ||
		!strings.Contains(err.Error(), "generated_text_jmespath") {
		t.Errorf("bad JMESPath: got %v, want an error naming generated_text_jmespath", err)
	}
	ep, err := NewEndpoint(Config{EndpointName: "e", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (llmeter.EndpointInfo{EndpointName: "e", ModelID: "e", Provider: "sagemaker", EndpointType: TypeEndpoint}); ep.Info() != want {
		t.Errorf("Info: got %+v, want %+v", ep.Info(), want)
	}
	want := map[string]any{
		"generated_text_jmespath": "generated_text",
		"input_text_jmespath":     "inputs",
		"token_count_jmespath":    "details.generated_tokens",
		"region":                  "eu-west-1",
		"max_attempts":            1,
	}
	if got := ep.EndpointConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("EndpointConfig: got %v, want %v", got, want)
	}
	t.Setenv("AWS_REGION", "ap-south-1")
	ep, err = NewEndpoint(Config{EndpointName: "e", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Region() != "ap-south-1" || ep.Info().EndpointType != TypeStreamEndpoint {
		t.Errorf("region from $AWS_REGION: got %q, type %q", ep.Region(), ep.Info().EndpointType)
	}
}

// TestRoundTrip saves both endpoint types, passes the map through JSON and
// loads it back (defect D8: every type must reload).
func TestRoundTrip(t *testing.T) {
	for _, cfg := range []Config{
		{EndpointName: "llama-tgi", Region: "us-west-2"},
		{EndpointName: "llama-tgi", ModelID: "meta-llama/Llama-3.1-8B-Instruct", Region: "us-west-2", Stream: true,
			MaxAttempts: 1, EndpointURL: "https://user:pw@runtime.example.com/?X-Amz-Security-Token=abc&x=1",
			InferenceComponent: testComponent, GeneratedTextJMESPath: "outputs[0]", InputTextJMESPath: "prompt",
			TokenCountJMESPath: "usage.n", Credentials: testCreds},
		{EndpointName: "no-count", Region: "us-west-2", NoTokenCount: true},
	} {
		ep, err := NewEndpoint(cfg)
		if err != nil {
			t.Fatal(err)
		}
		saved := llmeter.EndpointToMap(ep)
		b, err := json.Marshal(saved)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"SECRET", "AKIDTEST", "pw@", "abc"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("saved config %s contains %q", b, secret)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		loaded, err := llmeter.LoadEndpoint(m)
		if err != nil {
			t.Fatalf("LoadEndpoint(%s): %v", b, err)
		}
		if loaded.Info() != ep.Info() {
			t.Errorf("Info: got %+v, want %+v", loaded.Info(), ep.Info())
		}
		got := llmeter.EndpointToMap(loaded)
		if !reflect.DeepEqual(got, saved) {
			t.Errorf("reloaded config: got %v, want %v", got, saved)
		}
		if lep := loaded.(*Endpoint); lep.Stream() != cfg.Stream {
			t.Errorf("Stream: got %v, want %v", lep.Stream(), cfg.Stream)
		}
	}
}

// TestLoadLLMeterConfig loads the endpoint object of a run_config.json
// written by LLMeter.
func TestLoadLLMeterConfig(t *testing.T) {
	const saved = `{"endpoint_name": "jumpstart-dft-llama", "model_id": "meta-textgeneration-llama-3-8b",
		"provider": "sagemaker", "generated_text_jmespath": "generated_text", "input_text_jmespath": "inputs",
		"token_count_jmespath": null, "region": "us-east-1", "kwargs": {}, "endpoint_type": "SageMakerStreamEndpoint"}`
	var m map[string]any
	if err := json.Unmarshal([]byte(saved), &m); err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFromMap(m)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{EndpointName: "jumpstart-dft-llama", ModelID: "meta-textgeneration-llama-3-8b", Region: "us-east-1",
		GeneratedTextJMESPath: "generated_text", InputTextJMESPath: "inputs", NoTokenCount: true, Stream: true}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("ConfigFromMap: got %+v, want %+v", cfg, want)
	}
	ep, err := llmeter.LoadEndpoint(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := llmeter.EndpointToMap(ep)["token_count_jmespath"]; got != nil {
		t.Errorf("token_count_jmespath: got %v, want null", got)
	}
}

func TestConfigFromMapErrors(t *testing.T) {
	for _, m := range []map[string]any{
		{"endpoint_name": 5},
		{"endpoint_name": "e", "max_attempts": "3"},
		{"endpoint_name": "e", "max_attempts": 2.5},
		{"endpoint_name": "e", "max_attempts": -1},
		{"endpoint_name": "e", "endpoint_type": "OpenAICompletionEndpoint"},
		{"endpoint_name": "e", "region": []any{"x"}},
	} {
		if _, err := ConfigFromMap(m); err == nil {
			t.Errorf("ConfigFromMap(%v): got nil error", m)
		}
	}
	cfg, err := ConfigFromMap(map[string]any{"endpoint_name": "e", "max_attempts": json.Number("5")})
	if err != nil || cfg.MaxAttempts != 5 {
		t.Errorf("max_attempts json.Number: got %d, %v", cfg.MaxAttempts, err)
	}
}

func TestPreparePayload(t *testing.T) {
	plain := newTestEndpoint(t, "http://127.0.0.1:1", false, nil)
	stream := newTestEndpoint(t, "http://127.0.0.1:1", true, nil)
	p := llmeter.Payload{"inputs": "hi", "parameters": map[string]any{"max_new_tokens": 8, "decoder_input_details": true}}
	snapshot := llmeter.CopyPayload(p)

	q, _ := plain.PreparePayload(p)
	if reflect.ValueOf(q).Pointer() != reflect.ValueOf(p).Pointer() {
		t.Errorf("non-stream PreparePayload: want the payload itself")
	}
	q, _ = stream.PreparePayload(p)
	want := llmeter.Payload{"inputs": "hi", "parameters": map[string]any{"max_new_tokens": 8}, "stream": true}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("stream PreparePayload: got %v, want %v", q, want)
	}
	if !reflect.DeepEqual(p, snapshot) {
		t.Errorf("caller's payload modified: got %v, want %v", p, snapshot)
	}
	// An explicit stream flag is kept; nothing to change gives p itself.
	p2 := llmeter.Payload{"inputs": "hi", "stream": false}
	q, _ = stream.PreparePayload(p2)
	if reflect.ValueOf(q).Pointer() != reflect.ValueOf(p2).Pointer() || q["stream"] != false {
		t.Errorf("stream PreparePayload with stream=false: got %v, want the payload itself", q)
	}
}

func TestCreatePayload(t *testing.T) {
	p, err := CreatePayload([]prompt.Item{prompt.Text("hello")}, 32, map[string]any{"temperature": 0.5, "details": false},
		map[string]any{"custom": 1})
	if err != nil {
		t.Fatal(err)
	}
	want := llmeter.Payload{"inputs": "hello", "parameters": map[string]any{"max_new_tokens": 32, "details": false,
		"temperature": 0.5}, "custom": 1}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("CreatePayload: got %v, want %v", p, want)
	}
	p, err = CreateStreamPayload([]prompt.Item{prompt.Text("hello")}, 32, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = llmeter.Payload{"inputs": "hello", "parameters": map[string]any{"max_new_tokens": 32, "details": true}, "stream": true}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("CreateStreamPayload: got %v, want %v", p, want)
	}
	img := prompt.Media{Kind: prompt.Image, Data: pngBytes, MIMEType: "image/png"}
	p, err = CreatePayload([]prompt.Item{prompt.Text("What is in"), img, prompt.Text("this picture?")}, 16, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantInputs := []any{
		map[string]any{"text": "What is in"},
		map[string]any{"image": map[string]any{"format": "png", "source": map[string]any{"bytes": pngBytes}}},
		map[string]any{"text": "this picture?"},
	}
	if !reflect.DeepEqual(p["inputs"], wantInputs) {
		t.Errorf("multimodal inputs: got %v, want %v", p["inputs"], wantInputs)
	}
	// A single text in a list of several items is still a string input.
	p, _ = CreatePayload([]prompt.Item{prompt.Text("a"), prompt.Text("b")}, 16, nil, nil)
	if _, ok := p["inputs"].([]any); !ok {
		t.Errorf("two texts: got inputs %T, want content blocks", p["inputs"])
	}
	for _, bad := range []struct {
		items []prompt.Item
		max   int
	}{
		{[]prompt.Item{prompt.Text("x")}, 0},
		{nil, 8},
		{[]prompt.Item{prompt.Media{Kind: prompt.Image, Data: []byte("x"), MIMEType: "image/tiff"}}, 8},
	} {
		if _, err := CreatePayload(bad.items, bad.max, nil, nil); err == nil {
			t.Errorf("CreatePayload(%v, %d): got nil error", bad.items, bad.max)
		}
	}
}

func TestParsePayload(t *testing.T) {
	ep := newTestEndpoint(t, "http://127.0.0.1:1", false, nil)
	custom := newTestEndpoint(t, "http://127.0.0.1:1", false, func(c *Config) { c.InputTextJMESPath = "prompt.text" })
	img := map[string]any{"image": map[string]any{"format": "png", "source": map[string]any{"bytes": pngBytes}}}
	for _, tc := range []struct {
		ep   *Endpoint
		p    llmeter.Payload
		want any
	}{
		{ep, llmeter.Payload{"inputs": "hello"}, "hello"},
		{ep, llmeter.Payload{"inputs": []any{"a", "b"}}, "a\nb"},
		{ep, llmeter.Payload{"inputs": []any{map[string]any{"text": "look"}, img, map[string]any{"text": "here"}}}, "look\nhere"},
		{ep, llmeter.Payload{"inputs": []any{img}}, nil},
		{ep, llmeter.Payload{"prompt": "x"}, nil},
		{ep, llmeter.Payload{"inputs": 5}, nil},
		{custom, llmeter.Payload{"prompt": map[string]any{"text": "deep"}}, "deep"},
	} {
		got, err := tc.ep.ParsePayload(tc.p)
		if (err != nil) != (tc.want == nil) || (tc.want != nil && got != tc.want) {
			t.Errorf("ParsePayload(%v): got %#v, %v; want %#v", tc.p, got, err, tc.want)
		}
	}
}

// TestMultimodalRequest sends content blocks with bytes: base64 on the
// wire, the text blocks as the prompt.
func TestMultimodalRequest(t *testing.T) {
	srv := newTestServer(t, func(int, *http.Request) replay { return replay{file: "nonstream_tgi_list.json"} })
	ep := newTestEndpoint(t, srv.URL, false, nil)
	p, err := CreatePayload([]prompt.Item{prompt.Text("Describe"), prompt.Media{Kind: prompt.Image, Data: pngBytes, MIMEType: "image/png"}}, 16, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := llmeter.Invoke(context.Background(), ep, p)
	if got.Error != "" || got.InputPrompt != "Describe" {
		t.Errorf("got error %q, prompt %#v; want none, %q", got.Error, got.InputPrompt, "Describe")
	}
	body := string(srv.requests()[0].body)
	if !strings.Contains(body, `"bytes": "`+base64.StdEncoding.EncodeToString(pngBytes)+`"`) {
		t.Errorf("request body %s: want the image as base64", body)
	}
}
