package openai

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
)

// LLMeter's class names, used as endpoint_type in run_config.json.
const (
	TypeChat       = "OpenAICompletionEndpoint"
	TypeChatStream = "OpenAICompletionStreamEndpoint"
)

// Defaults of ChatConfig.
const (
	DefaultEndpointName = "openai"
	DefaultProvider     = "openai"
	DefaultBaseURL      = "https://api.openai.com/v1"
)

// Environment variables read by NewChatEndpoint when the config leaves the
// corresponding field empty.
const (
	EnvAPIKey  = "OPENAI_API_KEY"
	EnvBaseURL = "OPENAI_BASE_URL"
)

func init() {
	httpep.RegisterPair(TypeChat, TypeChatStream, ChatConfigFromMap, func(cfg ChatConfig, stream bool) (llmeter.Endpoint, error) {
		cfg.Stream = stream
		return NewChatEndpoint(cfg)
	})
}

// ChatConfig configures a Chat Completions endpoint. Only ModelID is
// required.
type ChatConfig struct {
	ModelID      string
	EndpointName string // default "openai"
	Provider     string // default "openai"
	// BaseURL defaults to $OPENAI_BASE_URL, else "https://api.openai.com/v1".
	// Requests go to BaseURL + "/chat/completions" (appended to the path; a
	// query string is kept).
	BaseURL string
	// APIKey defaults to $OPENAI_API_KEY. When non-empty it is sent as
	// "Authorization: Bearer <key>". It is never saved.
	APIKey string
	// Headers are sent with every request, after (and so overriding) the
	// defaults: Content-Type, Accept and Authorization. Only their names are
	// saved in run_config.json ("header_names"); values may be secrets.
	Headers map[string]string
	// Stream selects the streaming variant (OpenAICompletionStreamEndpoint).
	Stream bool
	// HTTPClient defaults to a shared client from NewHTTPClient(0).
	HTTPClient *http.Client
}

// ChatEndpoint is an OpenAI Chat Completions endpoint (any OpenAI-compatible
// server). It is safe for concurrent use and keeps no per-call state.
type ChatEndpoint struct {
	info   llmeter.EndpointInfo
	target *httpep.Target
	stream bool
}

var _ interface {
	llmeter.Endpoint
	llmeter.EndpointConfigurer
} = (*ChatEndpoint)(nil)

// NewChatEndpoint validates cfg, fills in its defaults and returns the
// endpoint.
func NewChatEndpoint(cfg ChatConfig) (*ChatEndpoint, error) {
	if cfg.ModelID == "" {
		return nil, errors.New("openai: ModelID is required")
	}
	if cfg.EndpointName == "" {
		cfg.EndpointName = DefaultEndpointName
	}
	if cfg.Provider == "" {
		cfg.Provider = DefaultProvider
	}
	t, err := newTarget(targetOptions{
		path:    "chat/completions",
		baseURL: cfg.BaseURL,
		apiKey:  cfg.APIKey,
		headers: cfg.Headers,
		stream:  cfg.Stream,
		client:  cfg.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	e := &ChatEndpoint{
		info: llmeter.EndpointInfo{
			EndpointName: cfg.EndpointName,
			ModelID:      cfg.ModelID,
			Provider:     cfg.Provider,
			EndpointType: TypeChat,
		},
		target: t,
		stream: cfg.Stream,
	}
	if cfg.Stream {
		e.info.EndpointType = TypeChatStream
	}
	return e, nil
}

// Info implements llmeter.Endpoint.
func (e *ChatEndpoint) Info() llmeter.EndpointInfo { return e.info }

// Stream reports whether the endpoint streams.
func (e *ChatEndpoint) Stream() bool { return e.stream }

// URL returns the request URL: BaseURL with "/chat/completions" appended to
// its path (a query string, such as Azure's ?api-version=…, is kept).
func (e *ChatEndpoint) URL() string { return e.target.URL() }

// EndpointConfig implements llmeter.EndpointConfigurer: the settings saved in
// run_config.json besides endpoint_name, model_id, provider and
// endpoint_type. It holds "base_url" (credentials in the URL redacted, see
// httpep.RedactURL) and,
// when extra headers are configured, "header_names" (their sorted names,
// informational: the values, which may be secrets, are not saved, so a
// reloaded endpoint sends no extra headers). The API key is never saved.
func (e *ChatEndpoint) EndpointConfig() map[string]any {
	m := map[string]any{}
	e.target.SaveTo(m)
	return m
}

// ChatConfigFromMap reads a saved endpoint configuration (the map of
// llmeter.EndpointToMap) into a ChatConfig: model_id, endpoint_name,
// provider, base_url, and "headers" (an object of strings, which EndpointConfig
// never writes but a hand-written config may hold). Stream is set from
// endpoint_type. Other keys are ignored. The API key is left empty (so
// NewChatEndpoint reads $OPENAI_API_KEY); callers may set it, and headers,
// before calling NewChatEndpoint.
func ChatConfigFromMap(m map[string]any) (ChatConfig, error) {
	var cfg ChatConfig
	err := httpep.ReadStrings("openai", m, httpep.ConnectionKeys(&cfg.ModelID, &cfg.EndpointName, &cfg.Provider, &cfg.BaseURL)...)
	if err != nil {
		return cfg, err
	}
	if cfg.Stream, err = httpep.ReadStream("openai", m, TypeChat, TypeChatStream, "a chat completions endpoint"); err != nil {
		return cfg, err
	}
	return cfg, httpep.ReadHeaders("openai", m, &cfg.Headers)
}

// PreparePayload implements llmeter.Endpoint. It returns a shallow copy of p
// with "model" set to the model id and, when streaming, "stream": true and
// "stream_options": {"include_usage": true} unless p already has a truthy
// stream_options (Python truthiness: a non-empty object, true, …). When not
// streaming it sets "stream": false and drops "stream_options", which OpenAI
// rejects on non-streaming requests (a divergence from LLMeter, which keeps
// it). p itself is not modified.
func (e *ChatEndpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) {
	q := make(llmeter.Payload, len(p)+3)
	maps.Copy(q, p)
	q["model"] = e.info.ModelID
	if e.stream {
		q["stream"] = true
		if !httpep.Truthy(q["stream_options"]) {
			q["stream_options"] = map[string]any{"include_usage": true}
		}
	} else {
		q["stream"] = false
		delete(q, "stream_options")
	}
	return q, nil
}

// ParsePayload implements llmeter.Endpoint (LLMeter's _parse_payload): the
// texts of all messages joined by "\n", where a message contributes its
// content when that is a string, or the "text" of each content part. A
// payload without messages gives "".
func (e *ChatEndpoint) ParsePayload(p llmeter.Payload) (any, error) {
	return PromptText(p), nil
}

// PromptText is ParsePayload as a function.
func PromptText(p llmeter.Payload) string {
	var texts []string
	httpep.EachMap(p["messages"], func(msg map[string]any) {
		switch c := msg["content"].(type) {
		case string:
			texts = append(texts, c)
		default:
			httpep.EachMap(c, func(part map[string]any) {
				if t, ok := part["text"].(string); ok {
					texts = append(texts, t)
				}
			})
		}
	})
	return strings.Join(texts, "\n")
}

// CreatePayload builds a Chat Completions payload (LLMeter's create_payload,
// text only): {"messages": [{"role": "user", "content": <text>}],
// "max_tokens": maxTokens}, then the keys of extra (which may override).
// Several messages become one user message whose content is a list of
// {"type": "text", "text": …} parts, in order. maxTokens must be positive and
// messages non-empty.
func CreatePayload(messages []string, maxTokens int, extra map[string]any) (llmeter.Payload, error) {
	if maxTokens <= 0 {
		return nil, fmt.Errorf("openai: max_tokens must be a positive integer, got %d", maxTokens)
	}
	if len(messages) == 0 {
		return nil, errors.New("openai: no user message")
	}
	var content any
	if len(messages) == 1 {
		content = messages[0]
	} else {
		parts := make([]any, len(messages))
		for i, m := range messages {
			parts[i] = map[string]any{"type": "text", "text": m}
		}
		content = parts
	}
	p := llmeter.Payload{
		"messages":   []any{map[string]any{"role": "user", "content": content}},
		"max_tokens": maxTokens,
	}
	maps.Copy(p, extra)
	return p, nil
}
