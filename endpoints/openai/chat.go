package openai

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/llmeter-go/llmeter"
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
	llmeter.RegisterEndpointType(TypeChat, loadChat(false))
	llmeter.RegisterEndpointType(TypeChatStream, loadChat(true))
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
	info        llmeter.EndpointInfo
	baseURL     string // as configured, without a trailing slash on the path
	url         string // baseURL with "/chat/completions" appended to the path
	host        string // a "Host" header, sent as req.Host
	header      http.Header
	headerNames []string // sorted names of ChatConfig.Headers
	shareHeader bool     // send header itself rather than a copy
	stream      bool
	client      *http.Client
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
	if cfg.BaseURL == "" {
		cfg.BaseURL = os.Getenv(EnvBaseURL)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.APIKey == "" {
		cfg.APIKey = os.Getenv(EnvAPIKey)
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return nil, fmt.Errorf("openai: BaseURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openai: BaseURL %q is not an absolute http(s) URL", redactURL(cfg.BaseURL))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	base := u.String()
	u = u.JoinPath("chat/completions") // keeps a query such as ?api-version=…
	if strings.ContainsAny(cfg.APIKey, "\r\n") {
		return nil, errors.New("openai: APIKey contains a line break")
	}

	e := &ChatEndpoint{
		info: llmeter.EndpointInfo{
			EndpointName: cfg.EndpointName,
			ModelID:      cfg.ModelID,
			Provider:     cfg.Provider,
			EndpointType: TypeChat,
		},
		baseURL: base,
		url:     u.String(),
		header:  http.Header{},
		stream:  cfg.Stream,
		client:  cfg.HTTPClient,
	}
	if cfg.Stream {
		e.info.EndpointType = TypeChatStream
	}
	if e.client == nil {
		e.client = sharedClient()
	}
	// Every request may share one header map when the transport is known to
	// honour the RoundTripper contract of not modifying requests (saving a
	// copy per request); other transports (middleware) get a copy each.
	switch e.client.Transport.(type) {
	case nil, *http.Transport:
		e.shareHeader = true
	}
	e.header.Set("Content-Type", "application/json")
	if cfg.Stream {
		e.header.Set("Accept", "text/event-stream")
	} else {
		e.header.Set("Accept", "application/json")
	}
	if cfg.APIKey != "" {
		e.header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Headers)) {
		value := cfg.Headers[name]
		if !validHeaderName(name) {
			return nil, fmt.Errorf("openai: invalid header name %q", name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return nil, fmt.Errorf("openai: header %q: value contains a line break or NUL", name)
		}
		if http.CanonicalHeaderKey(name) == "Host" {
			e.host = value
		} else {
			e.header.Set(name, value)
		}
		e.headerNames = append(e.headerNames, name)
	}
	return e, nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// redactURL removes credentials from a URL, for messages and saved
// configs: the user:password@ part, and the values of query parameters whose
// names look like secrets (key, token, secret, sig, password, auth), which
// become "REDACTED".
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid URL>"
	}
	changed := false
	if u.User != nil {
		u.User = nil
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		secret := false
		for k := range q {
			lk := strings.ToLower(k)
			for _, w := range []string{"key", "token", "secret", "sig", "password", "auth"} {
				if strings.Contains(lk, w) {
					q[k] = []string{"REDACTED"}
					secret = true
					break
				}
			}
		}
		if secret {
			u.RawQuery = q.Encode()
			changed = true
		}
	}
	if !changed {
		return s
	}
	return u.String()
}

// Info implements llmeter.Endpoint.
func (e *ChatEndpoint) Info() llmeter.EndpointInfo { return e.info }

// Stream reports whether the endpoint streams.
func (e *ChatEndpoint) Stream() bool { return e.stream }

// URL returns the request URL: BaseURL with "/chat/completions" appended to
// its path (a query string, such as Azure's ?api-version=…, is kept).
func (e *ChatEndpoint) URL() string { return e.url }

// EndpointConfig implements llmeter.EndpointConfigurer: the settings saved in
// run_config.json besides endpoint_name, model_id, provider and
// endpoint_type. It holds "base_url" (credentials in the URL redacted, see
// redactURL) and,
// when extra headers are configured, "header_names" (their sorted names,
// informational: the values, which may be secrets, are not saved, so a
// reloaded endpoint sends no extra headers). The API key is never saved.
func (e *ChatEndpoint) EndpointConfig() map[string]any {
	m := map[string]any{"base_url": redactURL(e.baseURL)}
	if len(e.headerNames) > 0 {
		m["header_names"] = slices.Clone(e.headerNames)
	}
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
	for _, f := range []struct {
		key string
		dst *string
	}{{"model_id", &cfg.ModelID}, {"endpoint_name", &cfg.EndpointName},
		{"provider", &cfg.Provider}, {"base_url", &cfg.BaseURL}} {
		v, ok := m[f.key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return cfg, fmt.Errorf("openai: %s: want a string, got %T", f.key, v)
		}
		*f.dst = s
	}
	switch t, _ := m["endpoint_type"].(string); t {
	case TypeChatStream:
		cfg.Stream = true
	case TypeChat, "":
	default:
		return cfg, fmt.Errorf("openai: endpoint_type %q is not a chat completions endpoint", t)
	}
	if v, ok := m["headers"]; ok && v != nil {
		hm, ok := v.(map[string]any)
		if !ok {
			return cfg, fmt.Errorf("openai: headers: want an object, got %T", v)
		}
		cfg.Headers = make(map[string]string, len(hm))
		for k, hv := range hm {
			s, ok := hv.(string)
			if !ok {
				return cfg, fmt.Errorf("openai: headers[%q]: want a string, got %T", k, hv)
			}
			cfg.Headers[k] = s
		}
	}
	return cfg, nil
}

func loadChat(stream bool) llmeter.EndpointFactory {
	return func(m map[string]any) (llmeter.Endpoint, error) {
		cfg, err := ChatConfigFromMap(m)
		if err != nil {
			return nil, err
		}
		cfg.Stream = stream
		return NewChatEndpoint(cfg)
	}
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
		if !truthy(q["stream_options"]) {
			q["stream_options"] = map[string]any{"include_usage": true}
		}
	} else {
		q["stream"] = false
		delete(q, "stream_options")
	}
	return q, nil
}

// truthy is Python's bool() of a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case float64:
		return x != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := x.Float64()
		return err != nil || f != 0
	default:
		return true
	}
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
	eachMap(p["messages"], func(msg map[string]any) {
		switch c := msg["content"].(type) {
		case string:
			texts = append(texts, c)
		default:
			eachMap(c, func(part map[string]any) {
				if t, ok := part["text"].(string); ok {
					texts = append(texts, t)
				}
			})
		}
	})
	return strings.Join(texts, "\n")
}

// eachMap calls f for every object of a JSON array ([]any or
// []map[string]any).
func eachMap(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				f(m)
			}
		}
	case []map[string]any:
		for _, m := range x {
			f(m)
		}
	}
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
