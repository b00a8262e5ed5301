package openai

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

func TestCreatePayload(t *testing.T) {
	tests := []struct {
		name      string
		messages  []string
		maxTokens int
		extra     map[string]any
		want      llmeter.Payload
		wantErr   string
	}{
		{name: "one message", messages: []string{"hi"}, maxTokens: 256,
			want: llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": 256}},
		{name: "several messages become text parts", messages: []string{"a", "b"}, maxTokens: 5,
			want: llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "text", "text": "a"}, map[string]any{"type": "text", "text": "b"}}}},
				"max_tokens": 5}},
		{name: "extra merged last", messages: []string{"hi"}, maxTokens: 5,
			extra: map[string]any{"max_tokens": 9, "temperature": 0.5},
			want: llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}},
				"max_tokens": 9, "temperature": 0.5}},
		{name: "zero max tokens", messages: []string{"hi"}, maxTokens: 0, wantErr: "max_tokens"},
		{name: "negative max tokens", messages: []string{"hi"}, maxTokens: -1, wantErr: "max_tokens"},
		{name: "no messages", maxTokens: 5, wantErr: "no user message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CreatePayload(tc.messages, tc.maxTokens, tc.extra)
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
		{name: "empty messages", payload: llmeter.Payload{"messages": []any{}}, want: ""},
		{name: "string contents", payload: llmeter.Payload{"messages": []any{
			map[string]any{"role": "system", "content": "Be brief."},
			map[string]any{"role": "user", "content": "Hi"}}}, want: "Be brief.\nHi"},
		{name: "content parts", payload: llmeter.Payload{"messages": []any{
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "text", "text": "Describe"},
				map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64,AAAA"}},
				map[string]any{"type": "text", "text": "this image"}}}}}, want: "Describe\nthis image"},
		{name: "typed slice and odd values", payload: llmeter.Payload{"messages": []map[string]any{
			{"role": "user", "content": "a"}, {"role": "assistant", "content": nil},
			{"role": "user", "content": 42}, {"role": "user", "content": []any{"not a part", map[string]any{"text": 1}}},
			{"role": "user", "content": "b"}}}, want: "a\nb"},
		{name: "messages not a list", payload: llmeter.Payload{"messages": "hi"}, want: ""},
	}
	ep, err := NewChatEndpoint(ChatConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1"})
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
	include := map[string]any{"include_usage": true}
	tests := []struct {
		name    string
		stream  bool
		payload llmeter.Payload
		want    llmeter.Payload
	}{
		{name: "stream injects flags", stream: true, payload: llmeter.Payload{"messages": msgs},
			want: llmeter.Payload{"messages": msgs, "model": testModel, "stream": true, "stream_options": include}},
		{name: "stream keeps truthy stream_options", stream: true,
			payload: llmeter.Payload{"messages": msgs, "stream_options": map[string]any{"include_usage": false}},
			want: llmeter.Payload{"messages": msgs, "model": testModel, "stream": true,
				"stream_options": map[string]any{"include_usage": false}}},
		{name: "stream replaces empty stream_options", stream: true,
			payload: llmeter.Payload{"messages": msgs, "stream_options": map[string]any{}},
			want:    llmeter.Payload{"messages": msgs, "model": testModel, "stream": true, "stream_options": include}},
		{name: "stream replaces null stream_options", stream: true,
			payload: llmeter.Payload{"messages": msgs, "stream_options": nil},
			want:    llmeter.Payload{"messages": msgs, "model": testModel, "stream": true, "stream_options": include}},
		{name: "stream overrides stream false and model", stream: true,
			payload: llmeter.Payload{"messages": msgs, "stream": false, "model": "other"},
			want:    llmeter.Payload{"messages": msgs, "model": testModel, "stream": true, "stream_options": include}},
		{name: "non-stream", payload: llmeter.Payload{"messages": msgs, "stream": true,
			"stream_options": include},
			want: llmeter.Payload{"messages": msgs, "model": testModel, "stream": false}},
		{name: "nil payload", payload: nil, want: llmeter.Payload{"model": testModel, "stream": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := NewChatEndpoint(ChatConfig{ModelID: testModel, BaseURL: "http://127.0.0.1:1", Stream: tc.stream})
			if err != nil {
				t.Fatal(err)
			}
			replay.CheckPrepare(t, ep, tc.payload, tc.want)
		})
	}
}

func TestNewChatEndpointErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ChatConfig
		wantErr string
	}{
		{name: "no model", cfg: ChatConfig{BaseURL: "http://127.0.0.1:1"}, wantErr: "ModelID"},
		{name: "relative URL", cfg: ChatConfig{ModelID: "m", BaseURL: "api.openai.com/v1"}, wantErr: "not an absolute"},
		{name: "bad scheme", cfg: ChatConfig{ModelID: "m", BaseURL: "ftp://example.com"}, wantErr: "not an absolute"},
		{name: "bad URL hides password", cfg: ChatConfig{ModelID: "m", BaseURL: "ftp://u:hunter2@example.com"},
			wantErr: "ftp://example.com"},
		{name: "unparsable URL hides password", cfg: ChatConfig{ModelID: "m", BaseURL: "http://u:hunter2@[::1"},
			wantErr: "BaseURL"},
		{name: "header name", cfg: ChatConfig{ModelID: "m", BaseURL: "http://127.0.0.1:1",
			Headers: map[string]string{"Bad Header": "x"}}, wantErr: "invalid header name"},
		{name: "header value", cfg: ChatConfig{ModelID: "m", BaseURL: "http://127.0.0.1:1",
			Headers: map[string]string{"X-A": "a\r\nX-B: b"}}, wantErr: "line break"},
		{name: "key with newline", cfg: ChatConfig{ModelID: "m", BaseURL: "http://127.0.0.1:1", APIKey: "a\nb"},
			wantErr: "line break"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewChatEndpoint(tc.cfg)
			replay.CheckError(t, err, tc.wantErr, "hunter2")
		})
	}
}

func TestInfoDefaults(t *testing.T) {
	for _, tc := range []struct {
		stream   bool
		wantType string
	}{{false, TypeChat}, {true, TypeChatStream}} {
		ep, err := NewChatEndpoint(ChatConfig{ModelID: "m", BaseURL: "http://127.0.0.1:1", Stream: tc.stream})
		if err != nil {
			t.Fatal(err)
		}
		want := llmeter.EndpointInfo{EndpointName: "openai", ModelID: "m", Provider: "openai", EndpointType: tc.wantType}
		if got := ep.Info(); got != want {
			t.Errorf("Info: got %+v, want %+v", got, want)
		}
	}
}

// TestEndpointRoundTrip saves endpoints with llmeter.EndpointToMap, passes
// the map through JSON as run_config.json does, and reloads them.
func TestEndpointRoundTrip(t *testing.T) {
	const secretHeader = "hdr-secret-value"
	tests := []struct {
		name       string
		cfg        ChatConfig
		wantConfig map[string]any // EndpointConfig of the original
	}{
		{name: "non-stream defaults", cfg: ChatConfig{ModelID: "gpt-4o-mini", BaseURL: "https://api.openai.com/v1"},
			wantConfig: map[string]any{"base_url": "https://api.openai.com/v1"}},
		{name: "stream custom", cfg: ChatConfig{ModelID: "meta-llama/Llama-3.1-8B-Instruct", EndpointName: "vllm",
			Provider: "vllm", BaseURL: "http://127.0.0.1:8000/v1/", Stream: true},
			wantConfig: map[string]any{"base_url": "http://127.0.0.1:8000/v1"}},
		{name: "credentials and headers not saved", cfg: ChatConfig{ModelID: "m", BaseURL: "https://user:pw-secret@gw.example.com/v1",
			Headers: map[string]string{"api-key": secretHeader, "X-Title": "llmeter"}, Stream: true},
			wantConfig: map[string]any{"base_url": "https://gw.example.com/v1", "header_names": []string{"X-Title", "api-key"}}},
		{name: "secret query redacted", cfg: ChatConfig{ModelID: "m",
			BaseURL: "https://gw.example.com/v1?api-version=2024-10-21&api_key=pw-secret"},
			wantConfig: map[string]any{"base_url": "https://gw.example.com/v1?api-version=2024-10-21&api_key=REDACTED"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvAPIKey, "")
			cfg := tc.cfg
			cfg.APIKey = testKey
			ep, err := NewChatEndpoint(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := ep.EndpointConfig(); !reflect.DeepEqual(got, tc.wantConfig) {
				t.Errorf("EndpointConfig: got %#v, want %#v", got, tc.wantConfig)
			}
			loaded, m := replay.RoundTrip(t, ep, testKey, secretHeader, "pw-secret")
			le := loaded.(*ChatEndpoint)
			wantLoaded := map[string]any{"base_url": tc.wantConfig["base_url"]} // header values are not saved
			if got := le.EndpointConfig(); !reflect.DeepEqual(got, wantLoaded) {
				t.Errorf("reloaded EndpointConfig: got %#v, want %#v", got, wantLoaded)
			}
			if le.Stream() != cfg.Stream {
				t.Errorf("Stream: got %v, want %v", le.Stream(), cfg.Stream)
			}
			if got := le.target.Header().Get("Authorization"); got != "" {
				t.Errorf("reloaded Authorization: got %q, want none (key comes from the environment)", got)
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

func TestChatConfigFromMap(t *testing.T) {
	tests := []struct {
		name    string
		m       map[string]any
		want    ChatConfig
		wantErr string
	}{
		{name: "full", m: map[string]any{"endpoint_type": TypeChatStream, "model_id": "m", "endpoint_name": "e",
			"provider": "p", "base_url": "http://h/v1", "headers": map[string]any{"X-A": "1"}, "unknown": 3},
			want: ChatConfig{ModelID: "m", EndpointName: "e", Provider: "p", BaseURL: "http://h/v1",
				Headers: map[string]string{"X-A": "1"}, Stream: true}},
		{name: "null values", m: map[string]any{"model_id": "m", "provider": nil}, want: ChatConfig{ModelID: "m"}},
		{name: "wrong type", m: map[string]any{"model_id": 3}, wantErr: "model_id"},
		{name: "wrong header", m: map[string]any{"headers": map[string]any{"X": 1}}, wantErr: "headers"},
		{name: "other endpoint type", m: map[string]any{"endpoint_type": "BedrockConverse"}, wantErr: "endpoint_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChatConfigFromMap(tc.m)
			replay.CheckResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestNewHTTPClient(t *testing.T) {
	for _, tc := range []struct {
		concurrency, wantIdle int
	}{{0, 1 << 16}, {-3, 1 << 16}, {64, 64}} {
		c := NewHTTPClient(tc.concurrency)
		tr, ok := c.Transport.(*http.Transport)
		if !ok {
			t.Fatalf("Transport: got %T, want *http.Transport", c.Transport)
		}
		if c.Timeout != 0 {
			t.Errorf("Timeout: got %v, want 0", c.Timeout)
		}
		if tr.MaxIdleConnsPerHost != tc.wantIdle || tr.MaxConnsPerHost != 0 || tr.MaxIdleConns != 0 {
			t.Errorf("concurrency %d: got MaxIdleConnsPerHost %d, MaxConnsPerHost %d, MaxIdleConns %d; want %d, 0, 0",
				tc.concurrency, tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost, tr.MaxIdleConns, tc.wantIdle)
		}
		if tr.IdleConnTimeout != 90*time.Second || !tr.ForceAttemptHTTP2 || !tr.DisableCompression ||
			tr.ReadBufferSize != 0 {
			t.Errorf("got IdleConnTimeout %v, ForceAttemptHTTP2 %v, DisableCompression %v, ReadBufferSize %d; "+
				"want 90s, true, true, 0 (the default 4 KiB)", tr.IdleConnTimeout, tr.ForceAttemptHTTP2, tr.DisableCompression, tr.ReadBufferSize)
		}
	}
}
