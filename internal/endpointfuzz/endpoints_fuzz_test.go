package endpointfuzz

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/anthropic"
	"github.com/llmeter-go/llmeter/endpoints/bedrock"
	"github.com/llmeter-go/llmeter/endpoints/httpapi"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/endpoints/sagemaker"
)

// fuzzSeedEndpoints builds one endpoint of every registered type, whose
// saved forms seed FuzzLoadEndpoint.
func fuzzSeedEndpoints(tb testing.TB) []llmeter.Endpoint {
	tb.Helper()
	var eps []llmeter.Endpoint
	add := func(ep llmeter.Endpoint, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		eps = append(eps, ep)
	}
	for _, stream := range []bool{false, true} {
		add(openai.NewChatEndpoint(openai.ChatConfig{ModelID: "gpt-4o-mini", BaseURL: "http://127.0.0.1:1/v1", APIKey: "k", Stream: stream}))
		add(openai.NewResponsesEndpoint(openai.ResponsesConfig{ModelID: "gpt-4o-mini", BaseURL: "http://127.0.0.1:1/v1", APIKey: "k", Stream: stream}))
		add(anthropic.NewMessagesEndpoint(anthropic.Config{ModelID: "claude", BaseURL: "http://127.0.0.1:1", APIKey: "k", Stream: stream}))
		add(bedrock.NewConverseEndpoint(bedrock.ConverseConfig{ModelID: "amazon.nova-lite-v1:0", Region: "us-east-1", Stream: stream}))
		add(bedrock.NewInvokeEndpoint(bedrock.InvokeConfig{ModelID: "meta.llama3-8b-instruct-v1:0", Region: "us-east-1", Stream: stream}))
		add(sagemaker.NewEndpoint(sagemaker.Config{EndpointName: "my-endpoint", ModelID: "m", Region: "us-east-1", Stream: stream}))
		for _, preset := range []string{"ollama-chat", "tgi"} {
			cfg, err := httpapi.FromPreset(preset, "http://127.0.0.1:1", "m", stream)
			if err != nil {
				tb.Fatal(err)
			}
			add(httpapi.New(cfg))
		}
	}
	return eps
}

// FuzzLoadEndpoint rebuilds endpoints from arbitrary "endpoint" objects of
// run_config.json (llmeter.LoadEndpoint and the configuration readers of
// every endpoint type). An endpoint that loads must save and load back to
// the same endpoint, whose saved form is the same.
func FuzzLoadEndpoint(f *testing.F) {
	// The AWS endpoints must not depend on the machine's AWS settings
	// (profiles, regions, endpoint overrides, instance metadata).
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_CA_BUNDLE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
		"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"} {
		f.Setenv(k, "")
	}
	f.Setenv("AWS_CONFIG_FILE", os.DevNull)
	f.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	f.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, ep := range fuzzSeedEndpoints(f) {
		b, err := llmeter.MarshalJSONValue(llmeter.EndpointToMap(ep))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "report", "testdata", "loadtest", "00001-clients", "run_config.json")); err == nil {
		if v, err := llmeter.DecodeJSON(b); err == nil {
			if m, ok := v.(map[string]any); ok {
				if e, err := llmeter.MarshalJSONValue(m["endpoint"]); err == nil {
					f.Add(e)
				}
			}
		}
	}
	for _, s := range []string{`{"endpoint_type": "HTTPEndpoint", "url": "http://127.0.0.1:1", "text_path": "a[0].b", "stream": "sse", "headers": {"X": "y"}}`,
		`{"endpoint_type": "OpenAICompletionStreamEndpoint", "model_id": 5}`, `{"endpoint_type": "SageMakerEndpoint", "generated_text_jmespath": "[0].", "region": "us-east-1"}`,
		`{"endpoint_type": "BedrockInvoke", "model_id": "m", "region": "us-east-1", "generated_text_jmespath": "x", "input_token_count_jmespath": "y"}`,
		`{"endpoint_type": "AnthropicMessages", "ttft_visible_tokens_only": "yes"}`, `{"endpoint_type": null}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		v, err := llmeter.DecodeJSON(data)
		if err != nil {
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		ep, err := llmeter.LoadEndpoint(m)
		if err != nil {
			return
		}
		saved, err := llmeter.MarshalJSONValue(llmeter.EndpointToMap(ep))
		if err != nil {
			t.Fatalf("saving the endpoint loaded from %s: %v", data, err)
		}
		v, err = llmeter.DecodeJSON(saved)
		if err != nil {
			t.Fatalf("decoding the saved %s: %v", saved, err)
		}
		again, err := llmeter.LoadEndpoint(v.(map[string]any))
		if err != nil {
			t.Fatalf("loading the saved %s (from %s): %v", saved, data, err)
		}
		if got, want := again.Info(), ep.Info(); got != want {
			t.Errorf("Info: got %+v, want %+v (saved %s)", got, want, saved)
		}
		// Header values are never saved (they may be secrets), their names
		// are: a loaded configuration has none to save again.
		first, second := llmeter.EndpointToMap(ep), llmeter.EndpointToMap(again)
		delete(first, "header_names")
		delete(second, "header_names")
		saved, err = llmeter.MarshalJSONValue(first)
		if err != nil {
			t.Fatal(err)
		}
		resaved, err := llmeter.MarshalJSONValue(second)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resaved, saved) {
			t.Errorf("saved again:\n got %s\nwant %s\n(from %s)", resaved, saved, data)
		}
	})
}
