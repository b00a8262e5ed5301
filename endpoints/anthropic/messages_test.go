package anthropic

import (
	"maps"
	"reflect"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

func TestCreatePayload(t *testing.T) {
	msgs := []any{map[string]any{"role": "user", "content": "hi"}}
	thinking := map[string]any{"type": "enabled", "budget_tokens": 10000}
	tests := []struct {
		name      string
		maxTokens int
		thinking  map[string]any
		extra     map[string]any
		want      llmeter.Payload
		wantErr   string
	}{
		{name: "plain", maxTokens: 256, want: llmeter.Payload{"messages": msgs, "max_tokens": 256}},
		{name: "thinking", maxTokens: 16000, thinking: thinking,
			want: llmeter.Payload{"messages": msgs, "max_tokens": 16000, "thinking": thinking}},
		{name: "empty thinking map is kept", maxTokens: 5, thinking: map[string]any{},
			want: llmeter.Payload{"messages": msgs, "max_tokens": 5, "thinking": map[string]any{}}},
		{name: "extra merged last", maxTokens: 5, thinking: map[string]any{"type": "adaptive"},
			extra: map[string]any{"max_tokens": 9, "system": "Be brief.", "thinking": map[string]any{"type": "disabled"}},
			want: llmeter.Payload{"messages": msgs, "max_tokens": 9, "system": "Be brief.",
				"thinking": map[string]any{"type": "disabled"}}},
		{name: "zero max tokens", maxTokens: 0, wantErr: "max_tokens"},
		{name: "negative max tokens", maxTokens: -1, wantErr: "max_tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CreatePayload("hi", tc.maxTokens, tc.thinking, tc.extra)
			replay.CheckResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestParsePayload(t *testing.T) {
	tests := []struct {
		name    string
		payload llmeter.Payload
		want    string
	}{
		{name: "no messages", payload: llmeter.Payload{"max_tokens": 5}, want: ""},
		{name: "nil payload", payload: nil, want: ""},
		{name: "string contents, system not included", payload: llmeter.Payload{"system": "Be brief.", "messages": []any{
			map[string]any{"role": "user", "content": "Hi"},
			map[string]any{"role": "assistant", "content": "Hello"},
			map[string]any{"role": "user", "content": "Joke?"}}}, want: "Hi\nHello\nJoke?"},
		{name: "content blocks", payload: llmeter.Payload{"messages": []any{
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "text", "text": "Describe"},
				map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": "AAAA"}},
				"a bare string",
				map[string]any{"type": "document", "text": "not a text block"},
				map[string]any{"type": "text", "text": "this image"}}}}},
			want: "Describe\na bare string\nthis image"},
		{name: "typed slices and odd values", payload: llmeter.Payload{"messages": []map[string]any{
			{"role": "user", "content": "a"}, {"role": "assistant", "content": nil},
			{"role": "user", "content": 42}, {"role": "user", "content": []map[string]any{{"type": "text", "text": "b"},
				{"type": "text", "text": 1}}}, {"role": "user", "content": []any{map[string]any{"text": "untyped"}}}}},
			want: "a\nb"},
		{name: "messages not a list", payload: llmeter.Payload{"messages": "hi"}, want: ""},
	}
	ep, err := NewMessagesEndpoint(Config{ModelID: testModel, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			replay.CheckPrompt(t, ep, tc.payload, tc.want)
		})
	}
}

func TestPreparePayload(t *testing.T) {
	msgs := []any{map[string]any{"role": "user", "content": "hi"}}
	tests := []struct {
		name    string
		stream  bool
		payload llmeter.Payload
		want    llmeter.Payload
	}{
		{name: "stream", stream: true, payload: llmeter.Payload{"messages": msgs, "max_tokens": 5},
			want: llmeter.Payload{"messages": msgs, "max_tokens": 5, "model": testModel, "stream": true}},
		{name: "stream overrides stream false and model", stream: true,
			payload: llmeter.Payload{"messages": msgs, "stream": false, "model": "other"},
			want:    llmeter.Payload{"messages": msgs, "model": testModel, "stream": true}},
		{name: "non-stream", payload: llmeter.Payload{"messages": msgs, "stream": true},
			want: llmeter.Payload{"messages": msgs, "model": testModel, "stream": false}},
		{name: "nil payload", payload: nil, want: llmeter.Payload{"model": testModel, "stream": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := NewMessagesEndpoint(Config{ModelID: testModel, BaseURL: "http://127.0.0.1:1", Stream: tc.stream})
			if err != nil {
				t.Fatal(err)
			}
			replay.CheckPrepare(t, ep, tc.payload, tc.want)
		})
	}
}

func TestNewMessagesEndpointErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "no model", cfg: Config{BaseURL: "http://127.0.0.1:1"}, wantErr: "ModelID"},
		{name: "relative URL", cfg: Config{ModelID: "m", BaseURL: "api.anthropic.com"}, wantErr: "not an absolute"},
		{name: "bad URL hides password", cfg: Config{ModelID: "m", BaseURL: "ftp://u:hunter2@example.com"},
			wantErr: "ftp://example.com"},
		{name: "header name", cfg: Config{ModelID: "m", BaseURL: "http://127.0.0.1:1",
			Headers: map[string]string{"Bad Header": "x"}}, wantErr: "invalid header name"},
		{name: "header value", cfg: Config{ModelID: "m", BaseURL: "http://127.0.0.1:1",
			Headers: map[string]string{"X-A": "a\r\nX-B: b"}}, wantErr: "line break"},
		{name: "key with newline", cfg: Config{ModelID: "m", BaseURL: "http://127.0.0.1:1", APIKey: "hunter2\nb"},
			wantErr: "APIKey contains a line break"},
		{name: "token with newline", cfg: Config{ModelID: "m", BaseURL: "http://127.0.0.1:1", AuthToken: "hunter2\r"},
			wantErr: "AuthToken contains a line break"},
		{name: "version with newline", cfg: Config{ModelID: "m", BaseURL: "http://127.0.0.1:1", Version: "2023\n"},
			wantErr: "Version contains a line break"},
		{name: "beta with comma", cfg: Config{ModelID: "m", BaseURL: "http://127.0.0.1:1", Beta: []string{"a,b"}},
			wantErr: "beta feature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMessagesEndpoint(tc.cfg)
			replay.CheckError(t, err, tc.wantErr, "hunter2")
		})
	}
}

func TestInfoDefaults(t *testing.T) {
	for _, tc := range []struct {
		stream   bool
		wantType string
	}{{false, TypeMessages}, {true, TypeMessagesStream}} {
		ep, err := NewMessagesEndpoint(Config{ModelID: "m", BaseURL: "http://127.0.0.1:1", Stream: tc.stream})
		if err != nil {
			t.Fatal(err)
		}
		want := llmeter.EndpointInfo{EndpointName: "anthropic-messages", ModelID: "m", Provider: "anthropic", EndpointType: tc.wantType}
		if got := ep.Info(); got != want {
			t.Errorf("Info: got %+v, want %+v", got, want)
		}
		if ep.ReasoningCountsForTTFT() {
			t.Errorf("ReasoningCountsForTTFT: got true, want false by default")
		}
	}
}

// TestEndpointRoundTrip saves endpoints with llmeter.EndpointToMap, passes
// the map through JSON as run_config.json does, and reloads them.
func TestEndpointRoundTrip(t *testing.T) {
	const secretHeader = "hdr-secret-value"
	tests := []struct {
		name       string
		cfg        Config
		wantConfig map[string]any // EndpointConfig of the original
	}{
		{name: "non-stream defaults", cfg: Config{ModelID: "claude-haiku-4-5", BaseURL: "https://api.anthropic.com"},
			wantConfig: map[string]any{"base_url": "https://api.anthropic.com", "version": "2023-06-01"}},
		{name: "stream visible tokens only", cfg: Config{ModelID: "claude-sonnet-4-5", Stream: true,
			BaseURL: "https://api.anthropic.com/"},
			wantConfig: map[string]any{"base_url": "https://api.anthropic.com", "version": "2023-06-01",
				"ttft_visible_tokens_only": true}},
		{name: "stream gateway, reasoning counts, beta", cfg: Config{ModelID: "anthropic.claude-opus-4-7",
			EndpointName: "mantle", Provider: "bedrock-mantle", BaseURL: "https://bedrock-mantle.us-east-1.api.aws/anthropic",
			Version: "2023-06-01", Beta: []string{"interleaved-thinking-2025-05-14"}, Stream: true, ReasoningCountsForTTFT: true},
			wantConfig: map[string]any{"base_url": "https://bedrock-mantle.us-east-1.api.aws/anthropic", "version": "2023-06-01",
				"beta": []string{"interleaved-thinking-2025-05-14"}, "ttft_visible_tokens_only": false}},
		{name: "credentials and headers not saved", cfg: Config{ModelID: "m", BaseURL: "https://user:pw-secret@gw.example.com/llm",
			Headers: map[string]string{"X-Gateway-Key": secretHeader, "X-Title": "llmeter"}, AuthToken: testToken},
			wantConfig: map[string]any{"base_url": "https://gw.example.com/llm", "version": "2023-06-01",
				"header_names": []string{"X-Gateway-Key", "X-Title"}}},
		{name: "secret query redacted", cfg: Config{ModelID: "m", BaseURL: "https://gw.example.com/a?team=x&token=pw-secret"},
			wantConfig: map[string]any{"base_url": "https://gw.example.com/a?team=x&token=REDACTED", "version": "2023-06-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvAPIKey, "")
			t.Setenv(EnvAuthToken, "")
			cfg := tc.cfg
			cfg.APIKey = testKey
			ep, err := NewMessagesEndpoint(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := ep.EndpointConfig(); !reflect.DeepEqual(got, tc.wantConfig) {
				t.Errorf("EndpointConfig: got %#v, want %#v", got, tc.wantConfig)
			}
			loaded, m := replay.RoundTrip(t, ep, testKey, testToken, secretHeader, "pw-secret")
			le := loaded.(*MessagesEndpoint)
			wantLoaded := maps.Clone(tc.wantConfig)
			delete(wantLoaded, "header_names") // header values are not saved
			if got := le.EndpointConfig(); !reflect.DeepEqual(got, wantLoaded) {
				t.Errorf("reloaded EndpointConfig: got %#v, want %#v", got, wantLoaded)
			}
			if le.Stream() != cfg.Stream || le.ReasoningCountsForTTFT() != cfg.ReasoningCountsForTTFT {
				t.Errorf("Stream, ReasoningCountsForTTFT: got %v, %v; want %v, %v", le.Stream(), le.ReasoningCountsForTTFT(),
					cfg.Stream, cfg.ReasoningCountsForTTFT)
			}
			for _, h := range []string{"X-Api-Key", "Authorization"} {
				if got := le.target.Header().Get(h); got != "" {
					t.Errorf("reloaded %s: got %q, want none (credentials come from the environment)", h, got)
				}
			}
			// Saving the reloaded endpoint again gives the same map, minus the
			// header names.
			again := llmeter.EndpointToMap(loaded)
			delete(m, "header_names")
			if !reflect.DeepEqual(again, m) {
				t.Errorf("re-saved map: got %#v, want %#v", again, m)
			}
		})
	}
}

func TestConfigFromMap(t *testing.T) {
	tests := []struct {
		name    string
		m       map[string]any
		want    Config
		wantErr string
	}{
		{name: "full", m: map[string]any{"endpoint_type": TypeMessagesStream, "model_id": "m", "endpoint_name": "e",
			"provider": "p", "base_url": "http://h", "version": "v", "beta": []any{"b1", "b2"},
			"ttft_visible_tokens_only": false, "headers": map[string]any{"X-A": "1"}, "aws_region": "us-east-1"},
			want: Config{ModelID: "m", EndpointName: "e", Provider: "p", BaseURL: "http://h", Version: "v",
				Beta: []string{"b1", "b2"}, ReasoningCountsForTTFT: true, Headers: map[string]string{"X-A": "1"}, Stream: true}},
		{name: "LLMeter defaults", m: map[string]any{"endpoint_type": TypeMessagesStream, "model_id": "m",
			"ttft_visible_tokens_only": true}, want: Config{ModelID: "m", Stream: true}},
		{name: "null values", m: map[string]any{"model_id": "m", "provider": nil, "beta": nil, "ttft_visible_tokens_only": nil},
			want: Config{ModelID: "m"}},
		{name: "typed beta", m: map[string]any{"beta": []string{"x"}}, want: Config{Beta: []string{"x"}}},
		{name: "wrong type", m: map[string]any{"model_id": 3}, wantErr: "model_id"},
		{name: "wrong flag", m: map[string]any{"ttft_visible_tokens_only": "yes"}, wantErr: "ttft_visible_tokens_only"},
		{name: "wrong beta", m: map[string]any{"beta": "x"}, wantErr: "beta"},
		{name: "wrong beta item", m: map[string]any{"beta": []any{1}}, wantErr: "beta[0]"},
		{name: "wrong header", m: map[string]any{"headers": map[string]any{"X": 1}}, wantErr: "headers"},
		{name: "other endpoint type", m: map[string]any{"endpoint_type": "OpenAICompletionEndpoint"}, wantErr: "endpoint_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromMap(tc.m)
			replay.CheckResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}
