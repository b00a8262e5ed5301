package httpapi

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
)

// Preset is the configuration of a known API, as two templates: one for
// requests that do not stream and one for requests that do. In a template,
// URL is the path appended to the server's base URL, and ModelID is empty;
// FromPreset fills both in.
type Preset struct {
	NonStream Config
	Stream    Config
}

// Presets are the known APIs, by name:
//
//   - "tgi": Hugging Face Text Generation Inference's native API: POST
//     /generate ({"inputs": …, "parameters": {…}}; text "generated_text",
//     output tokens "details.generated_tokens"), streaming POST
//     /generate_stream (Server-Sent Events; text "token.text", which
//     includes the text of special tokens such as "</s>" when the server
//     sends them; output tokens "details.generated_tokens", input tokens
//     "details.input_length" where the server reports it, done "details",
//     which only the last event carries). Both inject
//     {"parameters": {"details": true}}, without which TGI reports no token
//     counts; the model id is not sent (a TGI server serves one model).
//   - "ollama-generate": Ollama's POST /api/generate ({"model", "prompt",
//     …}): text "response", input tokens "prompt_eval_count", output tokens
//     "eval_count", prompt "prompt"; streams are NDJSON, done "done". It
//     injects "stream": false or true (Ollama streams unless told not to)
//     and sets "model".
//   - "ollama-chat": Ollama's POST /api/chat ({"model", "messages", …}):
//     text "message.content", prompt "messages[].content", otherwise as
//     ollama-generate.
//
// The map may be extended before use; FromPreset copies what it returns.
var Presets = map[string]Preset{
	"tgi": {
		NonStream: Config{URL: "/generate", EndpointName: "tgi", Provider: "tgi",
			Inject: map[string]any{"parameters": map[string]any{"details": true}}, TextPath: "generated_text",
			OutputTokensPath: "details.generated_tokens", InputTextPath: "inputs"},
		Stream: Config{URL: "/generate_stream", EndpointName: "tgi", Provider: "tgi", Stream: SSE,
			Inject: map[string]any{"parameters": map[string]any{"details": true}}, TextPath: "token.text",
			InputTokensPath: "details.input_length", OutputTokensPath: "details.generated_tokens",
			DonePath: "details", InputTextPath: "inputs"},
	},
	"ollama-generate": ollamaPreset("ollama-generate", "/api/generate", "response", "prompt"),
	"ollama-chat":     ollamaPreset("ollama-chat", "/api/chat", "message.content", "messages[].content"),
}

func ollamaPreset(name, path, text, input string) Preset {
	c := Config{URL: path, EndpointName: name, Provider: "ollama", ModelField: "model", TextPath: text,
		InputTokensPath: "prompt_eval_count", OutputTokensPath: "eval_count", InputTextPath: input,
		Inject: map[string]any{"stream": false}}
	s := c
	s.Stream, s.DonePath, s.Inject = NDJSON, "done", map[string]any{"stream": true}
	return Preset{NonStream: c, Stream: s}
}

// FromPreset returns the configuration of the preset name for a server at
// baseURL (such as "http://localhost:11434"; the preset's path is appended
// to its path, and a query string is kept), with ModelID set to model and
// the streaming or non-streaming template. The result may be adjusted
// (headers, endpoint name, paths) before calling New.
func FromPreset(name, baseURL, model string, stream bool) (Config, error) {
	p, ok := Presets[name]
	if !ok {
		return Config{}, fmt.Errorf("httpapi: unknown preset %q (known: %s)", name,
			strings.Join(slices.Sorted(maps.Keys(Presets)), ", "))
	}
	cfg := p.NonStream
	if stream {
		cfg = p.Stream
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Config{}, fmt.Errorf("httpapi: preset %s: base URL %q is not an absolute http(s) URL", name, httpep.RedactURL(baseURL))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	cfg.URL = u.JoinPath(cfg.URL).String()
	cfg.ModelID = model
	if cfg.Inject != nil {
		cfg.Inject = llmeter.DeepCopy(cfg.Inject).(map[string]any)
	}
	if cfg.Headers != nil {
		cfg.Headers = maps.Clone(cfg.Headers)
	}
	return cfg, nil
}

// CreatePayload builds a payload for the preset name from one prompt, with
// at most maxTokens output tokens (which must be positive):
//
//   - "ollama-generate": {"prompt": prompt, "options": {"num_predict": maxTokens}};
//   - "ollama-chat": {"messages": [{"role": "user", "content": prompt}],
//     "options": {"num_predict": maxTokens}};
//   - "tgi": {"inputs": prompt, "parameters": {"max_new_tokens": maxTokens}}.
//
// The model and stream flags are not in it: the endpoint injects them.
func CreatePayload(preset, prompt string, maxTokens int) (llmeter.Payload, error) {
	if maxTokens <= 0 {
		return nil, fmt.Errorf("httpapi: max tokens must be a positive integer, got %d", maxTokens)
	}
	switch preset {
	case "ollama-generate":
		return llmeter.Payload{"prompt": prompt, "options": map[string]any{"num_predict": maxTokens}}, nil
	case "ollama-chat":
		return llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": prompt}},
			"options": map[string]any{"num_predict": maxTokens}}, nil
	case "tgi":
		return llmeter.Payload{"inputs": prompt, "parameters": map[string]any{"max_new_tokens": maxTokens}}, nil
	}
	return nil, fmt.Errorf("httpapi: no payload builder for preset %q", preset)
}
