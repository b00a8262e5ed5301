package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

func TestNewErrors(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:1/x", TextPath: "text"}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{name: "no URL", edit: func(c *Config) { c.URL = "" }, wantErr: "URL is required"},
		{name: "relative URL", edit: func(c *Config) { c.URL = "localhost:11434/api/generate" }, wantErr: "not an absolute"},
		{name: "bad scheme hides password", edit: func(c *Config) { c.URL = "ftp://u:hunter2@example.com" },
			wantErr: "ftp://example.com"},
		{name: "unparsable URL hides password", edit: func(c *Config) { c.URL = "http://u:hunter2@[::1" }, wantErr: "BaseURL"},
		{name: "no text path", edit: func(c *Config) { c.TextPath = " " }, wantErr: "TextPath is required"},
		{name: "bad text path", edit: func(c *Config) { c.TextPath = "a[" }, wantErr: "TextPath"},
		{name: "bad done path", edit: func(c *Config) { c.DonePath = "done ==" }, wantErr: "DonePath"},
		{name: "bad input text path", edit: func(c *Config) { c.InputTextPath = "[?" }, wantErr: "InputTextPath"},
		{name: "unknown stream", edit: func(c *Config) { c.Stream = "websocket" }, wantErr: "unknown Stream"},
		{name: "bad method", edit: func(c *Config) { c.Method = "PO ST" }, wantErr: "invalid method"},
		{name: "model field without model", edit: func(c *Config) { c.ModelField = "model" }, wantErr: "ModelID is empty"},
		{name: "header name", edit: func(c *Config) { c.Headers = map[string]string{"Bad Header": "x"} },
			wantErr: "invalid header name"},
		{name: "header value", edit: func(c *Config) { c.Headers = map[string]string{"X-A": "a\r\nX-B: b"} },
			wantErr: "line break"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := New(cfg)
			replay.CheckError(t, err, tc.wantErr, "hunter2")
		})
	}
}

func TestDefaults(t *testing.T) {
	ep, err := New(Config{URL: "http://127.0.0.1:1/x", TextPath: "text"})
	if err != nil {
		t.Fatal(err)
	}
	want := llmeter.EndpointInfo{EndpointName: "http", Provider: "http", EndpointType: Type}
	if got := ep.Info(); got != want {
		t.Errorf("Info: got %+v, want %+v", got, want)
	}
	cfg := ep.Config()
	if cfg.Method != "POST" || cfg.ErrorPath != "error" || cfg.Stream != NoStream {
		t.Errorf("defaults: got method %q, error path %q, stream %q; want POST, error, none", cfg.Method, cfg.ErrorPath, cfg.Stream)
	}
}

func TestPreparePayload(t *testing.T) {
	msgs := []any{map[string]any{"role": "user", "content": "hi"}}
	params := map[string]any{"max_new_tokens": 5, "details": false}
	tests := []struct {
		name    string
		cfg     Config
		payload llmeter.Payload
		want    llmeter.Payload
	}{
		{name: "nothing injected", cfg: Config{},
			payload: llmeter.Payload{"messages": msgs}, want: llmeter.Payload{"messages": msgs}},
		{name: "model field overrides", cfg: Config{ModelID: "m", ModelField: "model"},
			payload: llmeter.Payload{"messages": msgs, "model": "x"}, want: llmeter.Payload{"messages": msgs, "model": "m"}},
		{name: "inject replaces scalars", cfg: Config{Inject: map[string]any{"stream": true}},
			payload: llmeter.Payload{"stream": false, "n": 1}, want: llmeter.Payload{"stream": true, "n": 1}},
		{name: "inject merges objects recursively",
			cfg:     Config{Inject: map[string]any{"parameters": map[string]any{"details": true, "x": map[string]any{"a": 1}}}},
			payload: llmeter.Payload{"parameters": params},
			want: llmeter.Payload{"parameters": map[string]any{"max_new_tokens": 5, "details": true,
				"x": map[string]any{"a": 1}}}},
		{name: "inject object replaces a non-object",
			cfg:     Config{Inject: map[string]any{"options": map[string]any{"a": 1}}},
			payload: llmeter.Payload{"options": "text"}, want: llmeter.Payload{"options": map[string]any{"a": 1}}},
		{name: "model field set after inject",
			cfg:     Config{ModelID: "m", ModelField: "model", Inject: map[string]any{"model": "injected"}},
			payload: nil, want: llmeter.Payload{"model": "m"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.URL, cfg.TextPath = "http://127.0.0.1:1", "text"
			ep, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := replay.CheckPrepare(t, ep, tc.payload, tc.want)
			// The injected values are copies: changing them does not
			// change the endpoint.
			if m, ok := got["parameters"].(map[string]any); ok {
				m["details"] = "changed"
				if x, ok := m["x"].(map[string]any); ok {
					x["a"] = "changed"
				}
				again, _ := ep.PreparePayload(tc.payload)
				if !reflect.DeepEqual(again, tc.want) {
					t.Errorf("second prepare after changing the first: got %v, want %v", again, tc.want)
				}
			}
		})
	}
}

func TestParsePayload(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		payload llmeter.Payload
		want    any
	}{
		{name: "no path", path: "", payload: llmeter.Payload{"prompt": "hi"}, want: nil},
		{name: "string", path: "prompt", payload: llmeter.Payload{"prompt": "hi"}, want: "hi"},
		{name: "missing", path: "prompt", payload: llmeter.Payload{"x": "hi"}, want: nil},
		{name: "nil payload", path: "prompt", payload: nil, want: nil},
		{name: "list joined", path: "messages[].content", payload: llmeter.Payload{"messages": []any{
			map[string]any{"content": "a"}, map[string]any{"content": nil}, map[string]any{"content": "b"}}}, want: "a\nb"},
		{name: "typed slices", path: "messages[].content", payload: llmeter.Payload{"messages": []map[string]any{
			{"content": "a"}, {"content": "b"}}}, want: "a\nb"},
		{name: "not text", path: "options", payload: llmeter.Payload{"options": map[string]any{"a": 1}}, want: nil},
		{name: "list with non-strings", path: "xs", payload: llmeter.Payload{"xs": []any{"a", map[string]any{}}}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := New(Config{URL: "http://127.0.0.1:1", TextPath: "text", InputTextPath: tc.path})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ep.ParsePayload(tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("prompt: got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestEndpointRoundTrip saves endpoints with llmeter.EndpointToMap, passes
// the map through JSON as run_config.json does, and reloads them.
func TestEndpointRoundTrip(t *testing.T) {
	const secretHeader = "hdr-secret-value"
	ollama, err := FromPreset("ollama-chat", "http://127.0.0.1:11434/", "llama3.2", true)
	if err != nil {
		t.Fatal(err)
	}
	tgi, err := FromPreset("tgi", "https://tgi.example.com/?sig=pw-secret", "", false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cfg        Config
		wantConfig map[string]any // EndpointConfig of the original
	}{
		{name: "minimal", cfg: Config{URL: "http://127.0.0.1:8080/generate", TextPath: "text"},
			wantConfig: map[string]any{"url": "http://127.0.0.1:8080/generate", "method": "POST", "text_path": "text",
				"error_path": "error"}},
		{name: "ollama preset with secret headers", cfg: func() Config {
			c := ollama
			c.Headers = map[string]string{"Authorization": "Bearer " + secretHeader, "X-Title": "llmeter"}
			return c
		}(),
			wantConfig: map[string]any{"url": "http://127.0.0.1:11434/api/chat", "method": "POST", "stream": "ndjson",
				"model_field": "model", "inject": map[string]any{"stream": true}, "text_path": "message.content",
				"input_tokens_path": "prompt_eval_count", "output_tokens_path": "eval_count", "error_path": "error",
				"done_path": "done", "input_text_path": "messages[].content",
				"header_names": []string{"Authorization", "X-Title"}}},
		{name: "tgi preset with secret query", cfg: tgi,
			wantConfig: map[string]any{"url": "https://tgi.example.com/generate?sig=REDACTED", "method": "POST",
				"inject": map[string]any{"parameters": map[string]any{"details": true}}, "text_path": "generated_text",
				"output_tokens_path": "details.generated_tokens", "error_path": "error", "input_text_path": "inputs"}},
		{name: "everything", cfg: Config{URL: "https://user:pw-secret@svc.example.com/v2/run", Method: "PUT",
			ModelID: "team-model", EndpointName: "team", Provider: "acme", ModelField: "model_name",
			Inject: map[string]any{"n": json.Number("1.50"), "opts": map[string]any{"a": []any{1, "b"}}}, Stream: SSE,
			TextPath: "choices[0].text", InputTokensPath: "u.i", OutputTokensPath: "u.o", IDPath: "id",
			ErrorPath: "`null`", DonePath: "finished", InputTextPath: "input"},
			wantConfig: map[string]any{"url": "https://svc.example.com/v2/run", "method": "PUT", "stream": "sse",
				"model_field": "model_name", "inject": map[string]any{"n": json.Number("1.50"),
					"opts": map[string]any{"a": []any{1, "b"}}},
				"text_path": "choices[0].text", "input_tokens_path": "u.i", "output_tokens_path": "u.o", "id_path": "id",
				"error_path": "`null`", "done_path": "finished", "input_text_path": "input"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := ep.EndpointConfig(); !reflect.DeepEqual(got, tc.wantConfig) {
				t.Errorf("EndpointConfig: got %#v, want %#v", got, tc.wantConfig)
			}
			loaded, m := replay.RoundTrip(t, ep, secretHeader, "pw-secret")
			le := loaded.(*Endpoint)
			if le.Stream() != ep.Stream() {
				t.Errorf("Stream: got %q, want %q", le.Stream(), ep.Stream())
			}
			// Saving the reloaded endpoint again gives the same map, minus
			// the header names (header values are not saved).
			again, err := llmeter.MarshalJSONValue(llmeter.EndpointToMap(loaded))
			if err != nil {
				t.Fatal(err)
			}
			delete(m, "header_names")
			want, _ := llmeter.MarshalJSONValue(m)
			if string(again) != string(want) {
				t.Errorf("re-saved map: got %s, want %s", again, want)
			}
			if got := le.target.Header().Get("Authorization"); got != "" {
				t.Errorf("reloaded Authorization: got %q, want none", got)
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
		{name: "full", m: map[string]any{"endpoint_type": Type, "model_id": "m", "endpoint_name": "e", "provider": "p",
			"url": "http://h/x", "method": "PUT", "stream": "ndjson", "model_field": "model",
			"inject": map[string]any{"stream": true}, "text_path": "t", "input_tokens_path": "i", "output_tokens_path": "o",
			"id_path": "id", "error_path": "err", "done_path": "done", "input_text_path": "prompt",
			"headers": map[string]any{"X-A": "1"}, "header_names": []any{"X-A"}, "unknown": 3},
			want: Config{ModelID: "m", EndpointName: "e", Provider: "p", URL: "http://h/x", Method: "PUT", Stream: NDJSON,
				ModelField: "model", Inject: map[string]any{"stream": true}, TextPath: "t", InputTokensPath: "i",
				OutputTokensPath: "o", IDPath: "id", ErrorPath: "err", DonePath: "done", InputTextPath: "prompt",
				Headers: map[string]string{"X-A": "1"}}},
		{name: "null values", m: map[string]any{"url": "http://h", "provider": nil, "inject": nil},
			want: Config{URL: "http://h"}},
		{name: "wrong type", m: map[string]any{"text_path": 3}, wantErr: "text_path"},
		{name: "wrong stream type", m: map[string]any{"stream": true}, wantErr: "stream"},
		{name: "wrong inject", m: map[string]any{"inject": []any{}}, wantErr: "inject"},
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

func TestFromPreset(t *testing.T) {
	tests := []struct {
		name, base string
		stream     bool
		wantURL    string
		wantStream StreamMode
		wantInject map[string]any
		wantErr    string
	}{
		{name: "ollama-generate", base: "http://localhost:11434", wantURL: "http://localhost:11434/api/generate",
			wantInject: map[string]any{"stream": false}},
		{name: "ollama-generate", base: "http://localhost:11434/", stream: true, wantURL: "http://localhost:11434/api/generate",
			wantStream: NDJSON, wantInject: map[string]any{"stream": true}},
		{name: "ollama-chat", base: "https://gw.example.com/ollama?key=k", stream: true,
			wantURL: "https://gw.example.com/ollama/api/chat?key=k", wantStream: NDJSON, wantInject: map[string]any{"stream": true}},
		{name: "tgi", base: "http://tgi:8080", wantURL: "http://tgi:8080/generate",
			wantInject: map[string]any{"parameters": map[string]any{"details": true}}},
		{name: "tgi", base: "http://tgi:8080", stream: true, wantURL: "http://tgi:8080/generate_stream", wantStream: SSE,
			wantInject: map[string]any{"parameters": map[string]any{"details": true}}},
		{name: "vllm", base: "http://h", wantErr: "unknown preset"},
		{name: "tgi", base: "tgi:8080", wantErr: "not an absolute"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := FromPreset(tc.name, tc.base, "m", tc.stream)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.URL != tc.wantURL || cfg.Stream != tc.wantStream || cfg.ModelID != "m" ||
				!reflect.DeepEqual(cfg.Inject, tc.wantInject) {
				t.Errorf("got URL %q, stream %q, model %q, inject %v; want %q, %q, m, %v", cfg.URL, cfg.Stream, cfg.ModelID,
					cfg.Inject, tc.wantURL, tc.wantStream, tc.wantInject)
			}
			ep, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.stream && ep.paths.fast == nil {
				t.Errorf("preset %s: stream paths not on the fast path", tc.name)
			}
			// The result is a copy: changing it leaves the preset alone.
			for k := range cfg.Inject {
				cfg.Inject[k] = "changed"
			}
			again, _ := FromPreset(tc.name, tc.base, "m", tc.stream)
			if !reflect.DeepEqual(again.Inject, tc.wantInject) {
				t.Errorf("preset changed through a returned config: inject %v", again.Inject)
			}
		})
	}
}

func TestCreatePayload(t *testing.T) {
	tests := []struct {
		preset  string
		max     int
		want    llmeter.Payload
		wantErr string
	}{
		{preset: "ollama-generate", max: 8, want: llmeter.Payload{"prompt": "hi", "options": map[string]any{"num_predict": 8}}},
		{preset: "ollama-chat", max: 8, want: llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}},
			"options": map[string]any{"num_predict": 8}}},
		{preset: "tgi", max: 8, want: llmeter.Payload{"inputs": "hi", "parameters": map[string]any{"max_new_tokens": 8}}},
		{preset: "tgi", max: 0, wantErr: "positive"},
		{preset: "vllm", max: 8, wantErr: "no payload builder"},
	}
	for _, tc := range tests {
		got, err := CreatePayload(tc.preset, "hi", tc.max)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error: got %v, want one containing %q", tc.preset, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.preset, got, err, tc.want)
		}
	}
	// Every preset has a payload builder, and its prompt path finds the
	// prompt.
	for name := range Presets {
		p, err := CreatePayload(name, "the prompt", 4)
		if err != nil {
			t.Errorf("preset %s: %v", name, err)
			continue
		}
		cfg, _ := FromPreset(name, "http://127.0.0.1:1", "m", false)
		ep, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ep.ParsePayload(p); got != "the prompt" {
			t.Errorf("preset %s: ParsePayload: got %#v, want the prompt", name, got)
		}
	}
}
