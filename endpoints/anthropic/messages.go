package anthropic

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
)

// LLMeter's class names, used as endpoint_type in run_config.json.
const (
	TypeMessages       = "AnthropicMessages"
	TypeMessagesStream = "AnthropicMessagesStream"
)

// Defaults of Config.
const (
	DefaultEndpointName = "anthropic-messages"
	DefaultProvider     = "anthropic"
	DefaultBaseURL      = "https://api.anthropic.com"
	DefaultVersion      = "2023-06-01"
)

// Environment variables read by NewMessagesEndpoint when the config leaves
// the corresponding field empty (see Config.APIKey).
const (
	EnvAPIKey    = "ANTHROPIC_API_KEY"
	EnvAuthToken = "ANTHROPIC_AUTH_TOKEN"
	EnvBaseURL   = "ANTHROPIC_BASE_URL"
)

func init() {
	httpep.RegisterPair(TypeMessages, TypeMessagesStream, ConfigFromMap, func(cfg Config, stream bool) (llmeter.Endpoint, error) {
		cfg.Stream = stream
		return NewMessagesEndpoint(cfg)
	})
}

// Config configures a Messages endpoint. Only ModelID is required.
type Config struct {
	ModelID      string
	EndpointName string // default "anthropic-messages"
	// Provider is metadata only (saved in run_config.json): the server is
	// chosen by BaseURL. Default "anthropic".
	Provider string
	// BaseURL defaults to $ANTHROPIC_BASE_URL, else
	// "https://api.anthropic.com". Requests go to BaseURL + "/v1/messages"
	// (appended to the path; a query string is kept).
	BaseURL string
	// APIKey is sent as "x-api-key: <key>", AuthToken as "Authorization:
	// Bearer <token>" (what gateways usually want). When both are empty they
	// default to $ANTHROPIC_API_KEY and $ANTHROPIC_AUTH_TOKEN; when either is
	// set, the environment is not read, so that a key meant for Anthropic is
	// never sent to a gateway configured with its own token. Neither is ever
	// saved.
	APIKey    string
	AuthToken string
	// Version is sent as "anthropic-version"; default "2023-06-01".
	Version string
	// Beta lists beta features, sent as one comma-separated "anthropic-beta"
	// header when not empty.
	Beta []string
	// Headers are sent with every request, after (and so overriding) the
	// defaults: Content-Type, Accept, x-api-key, Authorization,
	// anthropic-version and anthropic-beta. Only their names are saved in
	// run_config.json ("header_names"); values may be secrets.
	Headers map[string]string
	// Stream selects the streaming variant (AnthropicMessagesStream).
	Stream bool
	// ReasoningCountsForTTFT makes thinking output (thinking_delta and
	// signature_delta events) count as the first token when streaming. The
	// default, false, measures the time to the first visible text, like
	// LLMeter's ttft_visible_tokens_only=True; it is saved as
	// "ttft_visible_tokens_only" (its negation) for the streaming type.
	ReasoningCountsForTTFT bool
	// HTTPClient defaults to a shared client from NewHTTPClient(0).
	HTTPClient *http.Client
}

// MessagesEndpoint is an Anthropic Messages API endpoint (api.anthropic.com
// or any Anthropic-compatible gateway). It is safe for concurrent use and
// keeps no per-call state.
type MessagesEndpoint struct {
	info          llmeter.EndpointInfo
	target        *httpep.Target
	stream        bool
	reasoningTTFT bool
	version       string
	beta          []string
}

var _ interface {
	llmeter.Endpoint
	llmeter.EndpointConfigurer
} = (*MessagesEndpoint)(nil)

// NewMessagesEndpoint validates cfg, fills in its defaults and returns the
// endpoint.
func NewMessagesEndpoint(cfg Config) (*MessagesEndpoint, error) {
	if cfg.ModelID == "" {
		return nil, errors.New("anthropic: ModelID is required")
	}
	if cfg.EndpointName == "" {
		cfg.EndpointName = DefaultEndpointName
	}
	if cfg.Provider == "" {
		cfg.Provider = DefaultProvider
	}
	cfg.BaseURL = httpep.EnvOr(cfg.BaseURL, EnvBaseURL, DefaultBaseURL)
	if cfg.APIKey == "" && cfg.AuthToken == "" {
		cfg.APIKey = os.Getenv(EnvAPIKey)
		cfg.AuthToken = os.Getenv(EnvAuthToken)
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	for name, v := range map[string]string{"APIKey": cfg.APIKey, "AuthToken": cfg.AuthToken, "Version": cfg.Version} {
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("anthropic: %s contains a line break or NUL", name)
		}
	}
	var beta []string
	for _, b := range cfg.Beta {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if strings.ContainsAny(b, ",\r\n\x00") {
			return nil, fmt.Errorf("anthropic: beta feature %q contains a comma, line break or NUL", b)
		}
		beta = append(beta, b)
	}
	def := http.Header{
		"Content-Type":      {"application/json"},
		"Accept":            {"application/json"},
		"Anthropic-Version": {cfg.Version},
	}
	if cfg.Stream {
		def.Set("Accept", "text/event-stream")
	}
	if cfg.APIKey != "" {
		def.Set("X-Api-Key", cfg.APIKey)
	}
	if cfg.AuthToken != "" {
		def.Set("Authorization", "Bearer "+cfg.AuthToken)
	}
	if len(beta) > 0 {
		def.Set("Anthropic-Beta", strings.Join(beta, ","))
	}
	t, err := httpep.NewTarget(httpep.TargetConfig{
		Name:    "anthropic",
		BaseURL: cfg.BaseURL,
		Path:    "v1/messages",
		Default: def,
		Headers: cfg.Headers,
		Client:  cfg.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	e := &MessagesEndpoint{
		info: llmeter.EndpointInfo{
			EndpointName: cfg.EndpointName,
			ModelID:      cfg.ModelID,
			Provider:     cfg.Provider,
			EndpointType: TypeMessages,
		},
		target:        t,
		stream:        cfg.Stream,
		reasoningTTFT: cfg.ReasoningCountsForTTFT,
		version:       cfg.Version,
		beta:          beta,
	}
	if cfg.Stream {
		e.info.EndpointType = TypeMessagesStream
	}
	return e, nil
}

// NewHTTPClient returns a client tuned for load generation (see
// httpep.NewClient): up to concurrency idle connections per host (no limit
// when concurrency ≤ 0), no queueing for connections, HTTP/2 attempted,
// transparent gzip disabled so that streamed events are not buffered, and
// no Timeout (the Runner gives each request a context deadline).
func NewHTTPClient(concurrency int) *http.Client { return httpep.NewClient(concurrency) }

// Info implements llmeter.Endpoint.
func (e *MessagesEndpoint) Info() llmeter.EndpointInfo { return e.info }

// Stream reports whether the endpoint streams.
func (e *MessagesEndpoint) Stream() bool { return e.stream }

// ReasoningCountsForTTFT reports whether thinking output counts as the first
// token (see Config).
func (e *MessagesEndpoint) ReasoningCountsForTTFT() bool { return e.reasoningTTFT }

// URL returns the request URL: BaseURL with "/v1/messages" appended to its
// path (a query string is kept).
func (e *MessagesEndpoint) URL() string { return e.target.URL() }

// EndpointConfig implements llmeter.EndpointConfigurer: the settings saved in
// run_config.json besides endpoint_name, model_id, provider and
// endpoint_type. It holds "base_url" (credentials in the URL redacted, see
// httpep.RedactURL), "version", "beta" (when beta features are configured;
// their names are not secrets), "header_names" (the sorted names of the
// extra headers, informational: their values, which may be secrets, are not
// saved, so a reloaded endpoint sends no extra headers) and, for the
// streaming type, "ttft_visible_tokens_only" as LLMeter saves it. The API
// key and auth token are never saved.
func (e *MessagesEndpoint) EndpointConfig() map[string]any {
	m := map[string]any{"version": e.version}
	e.target.SaveTo(m)
	if len(e.beta) > 0 {
		m["beta"] = slices.Clone(e.beta)
	}
	if e.stream {
		m["ttft_visible_tokens_only"] = !e.reasoningTTFT
	}
	return m
}

// ConfigFromMap reads a saved endpoint configuration (the map of
// llmeter.EndpointToMap) into a Config: model_id, endpoint_name, provider,
// base_url, version, beta (a list of strings), ttft_visible_tokens_only and
// "headers" (an object of strings, which EndpointConfig never writes but a
// hand-written config may hold). Stream is set from endpoint_type. Other
// keys (such as LLMeter's aws_region, or header_names) are ignored. The API
// key and auth token are left empty (so NewMessagesEndpoint reads the
// environment); callers may set them, and headers, before calling
// NewMessagesEndpoint.
func ConfigFromMap(m map[string]any) (Config, error) {
	var cfg Config
	keys := append(httpep.ConnectionKeys(&cfg.ModelID, &cfg.EndpointName, &cfg.Provider, &cfg.BaseURL),
		httpep.StringKey{Key: "version", Dst: &cfg.Version})
	err := httpep.ReadStrings("anthropic", m, keys...)
	if err != nil {
		return cfg, err
	}
	if cfg.Stream, err = httpep.ReadStream("anthropic", m, TypeMessages, TypeMessagesStream, "an Anthropic Messages endpoint"); err != nil {
		return cfg, err
	}
	if err := httpep.ReadReasoningTTFT("anthropic", m, &cfg.ReasoningCountsForTTFT); err != nil {
		return cfg, err
	}
	switch v := m["beta"].(type) {
	case nil:
	case []string:
		cfg.Beta = slices.Clone(v)
	case []any:
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return cfg, fmt.Errorf("anthropic: beta[%d]: want a string, got %T", i, x)
			}
			cfg.Beta = append(cfg.Beta, s)
		}
	default:
		return cfg, fmt.Errorf("anthropic: beta: want a list of strings, got %T", v)
	}
	return cfg, httpep.ReadHeaders("anthropic", m, &cfg.Headers)
}

// PreparePayload implements llmeter.Endpoint. It returns a shallow copy of p
// with "model" set to the model id and "stream" set to true for the
// streaming type, false otherwise. p itself is not modified.
func (e *MessagesEndpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) {
	q := make(llmeter.Payload, len(p)+2)
	maps.Copy(q, p)
	q["model"] = e.info.ModelID
	q["stream"] = e.stream
	return q, nil
}

// ParsePayload implements llmeter.Endpoint (LLMeter's _parse_payload): the
// texts of all messages joined by "\n", where a message contributes its
// content when that is a string, or each item of a content list that is a
// string or a {"type": "text"} block. The system prompt is not included. A
// payload without messages gives "".
func (e *MessagesEndpoint) ParsePayload(p llmeter.Payload) (any, error) {
	return PromptText(p), nil
}

// PromptText is ParsePayload as a function.
func PromptText(p llmeter.Payload) string {
	var texts []string
	httpep.EachMap(p["messages"], func(msg map[string]any) {
		switch c := msg["content"].(type) {
		case string:
			texts = append(texts, c)
		case []any:
			for _, item := range c {
				switch b := item.(type) {
				case string:
					texts = append(texts, b)
				case map[string]any:
					if b["type"] == "text" {
						if t, ok := b["text"].(string); ok {
							texts = append(texts, t)
						}
					}
				}
			}
		case []map[string]any:
			for _, b := range c {
				if b["type"] == "text" {
					if t, ok := b["text"].(string); ok {
						texts = append(texts, t)
					}
				}
			}
		}
	})
	return strings.Join(texts, "\n")
}

// CreatePayload builds a Messages payload (LLMeter's create_payload):
// {"messages": [{"role": "user", "content": userMessage}], "max_tokens":
// maxTokens}, plus "thinking" when thinking is not nil (for example
// {"type": "enabled", "budget_tokens": 10000}, {"type": "adaptive"} or
// {"type": "disabled"}), then the keys of extra (system, temperature,
// stop_sequences, …; they may override). maxTokens must be positive.
func CreatePayload(userMessage string, maxTokens int, thinking map[string]any, extra map[string]any) (llmeter.Payload, error) {
	if maxTokens <= 0 {
		return nil, fmt.Errorf("anthropic: max_tokens must be a positive integer, got %d", maxTokens)
	}
	p := llmeter.Payload{
		"messages":   []any{map[string]any{"role": "user", "content": userMessage}},
		"max_tokens": maxTokens,
	}
	if thinking != nil {
		p["thinking"] = thinking
	}
	maps.Copy(p, extra)
	return p, nil
}
