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

// LLMeter's class names of the Responses API endpoints, used as
// endpoint_type in run_config.json.
const (
	TypeResponses       = "OpenAIResponseEndpoint"
	TypeResponsesStream = "OpenAIResponseStreamEndpoint"
)

// Default endpoint names of ResponsesConfig.
const (
	DefaultResponsesEndpointName       = "openai-response"
	DefaultResponsesStreamEndpointName = "openai-response-stream"
)

func init() {
	httpep.RegisterPair(TypeResponses, TypeResponsesStream, ResponsesConfigFromMap, func(cfg ResponsesConfig, stream bool) (llmeter.Endpoint, error) {
		cfg.Stream = stream
		return NewResponsesEndpoint(cfg)
	})
}

// ResponsesConfig configures an OpenAI Responses API endpoint. Only ModelID
// is required.
type ResponsesConfig struct {
	ModelID string
	// EndpointName defaults to "openai-response", or
	// "openai-response-stream" when streaming.
	EndpointName string
	Provider     string // default "openai"
	// BaseURL defaults to $OPENAI_BASE_URL, else "https://api.openai.com/v1".
	// Requests go to BaseURL + "/responses" (appended to the path; a query
	// string is kept).
	BaseURL string
	// APIKey defaults to $OPENAI_API_KEY. When non-empty it is sent as
	// "Authorization: Bearer <key>". It is never saved.
	APIKey string
	// Headers are sent with every request, after (and so overriding) the
	// defaults: Content-Type, Accept and Authorization. Only their names are
	// saved in run_config.json ("header_names"); values may be secrets.
	Headers map[string]string
	// Stream selects the streaming variant (OpenAIResponseStreamEndpoint).
	Stream bool
	// ReasoningCountsForTTFT makes the first reasoning event of a stream
	// (response.reasoning_text.delta or
	// response.reasoning_summary_text.delta) set the time to first token.
	// The default, false, is LLMeter's ttft_visible_tokens_only=True: only
	// visible output text does. It is saved as "ttft_visible_tokens_only"
	// (its negation) for streaming endpoints.
	ReasoningCountsForTTFT bool
	// HTTPClient defaults to a shared client from NewHTTPClient(0).
	HTTPClient *http.Client
}

// ResponsesEndpoint is an OpenAI Responses API endpoint (POST
// BaseURL/responses). It is safe for concurrent use and keeps no per-call
// state.
type ResponsesEndpoint struct {
	info          llmeter.EndpointInfo
	target        *httpep.Target
	stream        bool
	reasoningTTFT bool
}

var _ interface {
	llmeter.Endpoint
	llmeter.EndpointConfigurer
} = (*ResponsesEndpoint)(nil)

// NewResponsesEndpoint validates cfg, fills in its defaults and returns the
// endpoint.
func NewResponsesEndpoint(cfg ResponsesConfig) (*ResponsesEndpoint, error) {
	if cfg.ModelID == "" {
		return nil, errors.New("openai: ModelID is required")
	}
	if cfg.EndpointName == "" {
		cfg.EndpointName = DefaultResponsesEndpointName
		if cfg.Stream {
			cfg.EndpointName = DefaultResponsesStreamEndpointName
		}
	}
	if cfg.Provider == "" {
		cfg.Provider = DefaultProvider
	}
	t, err := newTarget(targetOptions{
		path:    "responses",
		baseURL: cfg.BaseURL,
		apiKey:  cfg.APIKey,
		headers: cfg.Headers,
		stream:  cfg.Stream,
		client:  cfg.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	e := &ResponsesEndpoint{
		info: llmeter.EndpointInfo{
			EndpointName: cfg.EndpointName,
			ModelID:      cfg.ModelID,
			Provider:     cfg.Provider,
			EndpointType: TypeResponses,
		},
		target:        t,
		stream:        cfg.Stream,
		reasoningTTFT: cfg.ReasoningCountsForTTFT,
	}
	if cfg.Stream {
		e.info.EndpointType = TypeResponsesStream
	}
	return e, nil
}

// Info implements llmeter.Endpoint.
func (e *ResponsesEndpoint) Info() llmeter.EndpointInfo { return e.info }

// Stream reports whether the endpoint streams.
func (e *ResponsesEndpoint) Stream() bool { return e.stream }

// ReasoningCountsForTTFT reports whether reasoning events set the time to
// first token (see ResponsesConfig).
func (e *ResponsesEndpoint) ReasoningCountsForTTFT() bool { return e.reasoningTTFT }

// URL returns the request URL: BaseURL with "/responses" appended to its
// path (a query string is kept).
func (e *ResponsesEndpoint) URL() string { return e.target.URL() }

// EndpointConfig implements llmeter.EndpointConfigurer: "base_url"
// (credentials redacted, see httpep.RedactURL), "header_names" when extra
// headers are configured (their values are not saved), and, for the
// streaming endpoint, LLMeter's "ttft_visible_tokens_only" (the negation of
// ReasoningCountsForTTFT). The API key is never saved.
func (e *ResponsesEndpoint) EndpointConfig() map[string]any {
	m := map[string]any{}
	e.target.SaveTo(m)
	if e.stream {
		m["ttft_visible_tokens_only"] = !e.reasoningTTFT
	}
	return m
}

// ResponsesConfigFromMap reads a saved endpoint configuration (the map of
// llmeter.EndpointToMap) into a ResponsesConfig: model_id, endpoint_name,
// provider, base_url, "headers" (an object of strings, which EndpointConfig
// never writes but a hand-written config may hold) and
// ttft_visible_tokens_only (a boolean; ReasoningCountsForTTFT is its
// negation). Stream is set from endpoint_type. Other keys are ignored. The
// API key is left empty (so NewResponsesEndpoint reads $OPENAI_API_KEY).
func ResponsesConfigFromMap(m map[string]any) (ResponsesConfig, error) {
	var cfg ResponsesConfig
	err := httpep.ReadStrings("openai", m, httpep.ConnectionKeys(&cfg.ModelID, &cfg.EndpointName, &cfg.Provider, &cfg.BaseURL)...)
	if err != nil {
		return cfg, err
	}
	if err := httpep.ReadHeaders("openai", m, &cfg.Headers); err != nil {
		return cfg, err
	}
	if cfg.Stream, err = httpep.ReadStream("openai", m, TypeResponses, TypeResponsesStream, "a Responses API endpoint"); err != nil {
		return cfg, err
	}
	return cfg, httpep.ReadReasoningTTFT("openai", m, &cfg.ReasoningCountsForTTFT)
}

// PreparePayload implements llmeter.Endpoint. It returns a shallow copy of p
// with "model" set to the model id. When streaming it sets "stream": true
// unless p already has a truthy "stream" (Python truthiness, as LLMeter);
// it does not add LLMeter's stream_options {"include_usage": true}, which is
// a Chat Completions option: the Responses API's stream_options only has
// include_obfuscation, and it always reports usage in response.completed.
// A stream_options of p is kept. When not streaming it sets "stream": false
// and drops "stream_options", which the API accepts only with stream: true.
// p itself is not modified.
func (e *ResponsesEndpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) {
	q := make(llmeter.Payload, len(p)+2)
	maps.Copy(q, p)
	q["model"] = e.info.ModelID
	if e.stream {
		if !httpep.Truthy(q["stream"]) {
			q["stream"] = true
		}
	} else {
		q["stream"] = false
		delete(q, "stream_options")
	}
	return q, nil
}

// ParsePayload implements llmeter.Endpoint (LLMeter's _parse_payload): see
// ResponsesPromptText.
func (e *ResponsesEndpoint) ParsePayload(p llmeter.Payload) (any, error) {
	return ResponsesPromptText(p), nil
}

// ResponsesPromptText returns the prompt of a Responses API payload: its
// "input" when that is a string; when it is a list of messages, the texts of
// their contents joined by "\n", where a message contributes its content
// when that is a string, or the "text" of each content part (input_text
// parts; images, files and audio are skipped). A payload without input
// gives "".
func ResponsesPromptText(p llmeter.Payload) string {
	switch in := p["input"].(type) {
	case string:
		return in
	case nil:
		return ""
	default:
		var texts []string
		httpep.EachMap(in, func(msg map[string]any) {
			switch c := msg["content"].(type) {
			case string:
				if c != "" {
					texts = append(texts, c)
				}
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
}

// CreateResponsesPayload builds a Responses API payload (LLMeter's
// OpenAIResponseEndpoint.create_payload): {"input": <text>,
// "max_output_tokens": maxOutputTokens} for one message; several messages
// become a list of user messages, {"role": "user", "content": <text>} each,
// in order. instructions (a system message) is added only when non-empty,
// then the keys of extra (which may override). input must be non-empty and
// maxOutputTokens positive (LLMeter does not check; the API rejects both).
func CreateResponsesPayload(input []string, maxOutputTokens int, instructions string, extra map[string]any) (llmeter.Payload, error) {
	if maxOutputTokens <= 0 {
		return nil, fmt.Errorf("openai: max_output_tokens must be a positive integer, got %d", maxOutputTokens)
	}
	if len(input) == 0 {
		return nil, errors.New("openai: no input message")
	}
	var in any
	if len(input) == 1 {
		in = input[0]
	} else {
		msgs := make([]any, len(input))
		for i, m := range input {
			msgs[i] = map[string]any{"role": "user", "content": m}
		}
		in = msgs
	}
	p := llmeter.Payload{"input": in, "max_output_tokens": maxOutputTokens}
	if instructions != "" {
		p["instructions"] = instructions
	}
	maps.Copy(p, extra)
	return p, nil
}
