package httpapi

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/internal/jpath"
)

// Type is the endpoint_type saved in run_config.json. LLMeter has no such
// class (its users reach these APIs through LiteLLM); the name is llmeter's
// own.
const Type = "HTTPEndpoint"

// Defaults of Config.
const (
	DefaultEndpointName = "http"
	DefaultProvider     = "http"
	DefaultErrorPath    = "error"
)

// StreamMode is how a response body is read.
type StreamMode string

// The stream modes.
const (
	// NoStream reads the body as one JSON document.
	NoStream StreamMode = ""
	// SSE reads the body as Server-Sent Events, each event's data a JSON
	// document ("data: [DONE]" ends the stream).
	SSE StreamMode = "sse"
	// NDJSON reads the body as newline-delimited JSON (application/x-ndjson,
	// JSON Lines), one JSON document per line.
	NDJSON StreamMode = "ndjson"
)

func init() {
	llmeter.RegisterEndpointType(Type, func(m map[string]any) (llmeter.Endpoint, error) {
		cfg, err := ConfigFromMap(m)
		if err != nil {
			return nil, err
		}
		return New(cfg)
	})
}

// Config configures an endpoint. URL and TextPath are required. The paths
// are JMESPath expressions (https://jmespath.org) evaluated on the decoded
// JSON response, or on each decoded stream event; an empty path is
// disabled.
type Config struct {
	// URL is the absolute http(s) URL every request goes to.
	URL string
	// Method defaults to POST. The payload is always sent as a JSON body.
	Method       string
	ModelID      string
	EndpointName string // default "http"
	Provider     string // default "http"
	// Headers are sent with every request, after (and so overriding) the
	// defaults: Content-Type: application/json and an Accept matching
	// Stream. Only their names are saved ("header_names"); the values may
	// be credentials.
	Headers map[string]string
	// ModelField is a top-level payload key set to ModelID in every request
	// ("model" for Ollama); empty: the model id is not sent.
	ModelField string
	// Inject is merged into every payload, for settings the API needs on
	// each request, such as {"stream": true}: its keys replace the payload's,
	// except that an object merges into an object key by key, recursively
	// (so {"parameters": {"details": true}} keeps the payload's other
	// parameters). ModelField is set after it.
	Inject map[string]any
	// Stream selects how the body is read; NoStream (the default) reads one
	// JSON document.
	Stream StreamMode
	// TextPath finds the text in the response, or in each stream event: a
	// string, or a list of strings joined without separator.
	TextPath string
	// InputTokensPath and OutputTokensPath find the token counts (whole
	// numbers). In a stream, the last event where a path finds a number
	// wins, which covers both APIs that repeat a running total in every
	// event and APIs that report the counts once at the end; per-event
	// increments are not summed.
	InputTokensPath  string
	OutputTokensPath string
	// IDPath finds the response id (a string or a whole number); in a
	// stream, the first event where it finds one wins.
	IDPath string
	// ErrorPath finds an error reported inside a successful response or
	// stream: a match that is true by JMESPath's rules (not null, false or
	// an empty string, list or object) fails the response with its message.
	// Default "error"; "`null`" disables it.
	ErrorPath string
	// DonePath is true (by JMESPath's rules) on the last event of a
	// complete stream ("done" for Ollama). When set, a stream that ends
	// without such an event is an error (llmeter.ErrIncompleteStream), and
	// reading stops at that event. Streams only.
	DonePath string
	// InputTextPath finds the prompt in the payload, for ParsePayload: a
	// string, or a list of strings joined by "\n" ("prompt",
	// "messages[].content").
	InputTextPath string
	// HTTPClient defaults to a shared client tuned for load generation
	// (see httpep.NewClient).
	HTTPClient *http.Client
}

// Endpoint is a JSON-over-HTTP endpoint. It is safe for concurrent use and
// keeps no per-call state.
type Endpoint struct {
	info   llmeter.EndpointInfo
	cfg    Config // with defaults; Headers and HTTPClient are not kept
	target *httpep.Target
	paths  paths
}

// paths are the compiled expressions of a Config.
type paths struct {
	text, in, out, id, err, done, input *jpath.Path
	// fast holds the same expressions as plain field chains when every
	// expression used on stream events is one (see fastpath.go); nil
	// otherwise.
	fast *fastPaths
}

var _ interface {
	llmeter.Endpoint
	llmeter.EndpointConfigurer
} = (*Endpoint)(nil)

// New validates cfg, fills in its defaults and returns the endpoint.
func New(cfg Config) (*Endpoint, error) {
	if cfg.URL == "" {
		return nil, errors.New("httpapi: URL is required")
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodPost
	}
	if !httpep.ValidHeaderName(cfg.Method) { // a method is a token, like a header name
		return nil, fmt.Errorf("httpapi: invalid method %q", cfg.Method)
	}
	if cfg.EndpointName == "" {
		cfg.EndpointName = DefaultEndpointName
	}
	if cfg.Provider == "" {
		cfg.Provider = DefaultProvider
	}
	if cfg.ErrorPath == "" {
		cfg.ErrorPath = DefaultErrorPath
	}
	if cfg.ModelField != "" && cfg.ModelID == "" {
		return nil, fmt.Errorf("httpapi: ModelField %q is set but ModelID is empty", cfg.ModelField)
	}
	if strings.TrimSpace(cfg.TextPath) == "" {
		return nil, errors.New("httpapi: TextPath is required")
	}
	accept := "application/json"
	switch cfg.Stream {
	case NoStream:
	case SSE:
		accept = "text/event-stream"
	case NDJSON:
		accept = "application/x-ndjson"
	default:
		return nil, fmt.Errorf("httpapi: unknown Stream %q (want %q, %q or %q)", cfg.Stream, NoStream, SSE, NDJSON)
	}
	e := &Endpoint{info: llmeter.EndpointInfo{
		EndpointName: cfg.EndpointName,
		ModelID:      cfg.ModelID,
		Provider:     cfg.Provider,
		EndpointType: Type,
	}}
	for _, p := range []struct {
		name, expr string
		dst        **jpath.Path
	}{
		{"TextPath", cfg.TextPath, &e.paths.text},
		{"InputTokensPath", cfg.InputTokensPath, &e.paths.in},
		{"OutputTokensPath", cfg.OutputTokensPath, &e.paths.out},
		{"IDPath", cfg.IDPath, &e.paths.id},
		{"ErrorPath", cfg.ErrorPath, &e.paths.err},
		{"DonePath", cfg.DonePath, &e.paths.done},
		{"InputTextPath", cfg.InputTextPath, &e.paths.input},
	} {
		c, err := jpath.Compile(p.expr)
		if err != nil {
			return nil, fmt.Errorf("httpapi: %s: %w", p.name, err)
		}
		*p.dst = c
	}
	e.paths.fast = compileFast(cfg)
	t, err := httpep.NewTarget(httpep.TargetConfig{
		Name:    "httpapi",
		BaseURL: cfg.URL,
		Method:  cfg.Method,
		Default: http.Header{"Content-Type": {"application/json"}, "Accept": {accept}},
		Headers: cfg.Headers,
		Client:  cfg.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	e.target = t
	cfg.Headers, cfg.HTTPClient = nil, nil
	if cfg.Inject != nil {
		cfg.Inject = llmeter.DeepCopy(cfg.Inject).(map[string]any)
	}
	e.cfg = cfg
	return e, nil
}

// Info implements llmeter.Endpoint.
func (e *Endpoint) Info() llmeter.EndpointInfo { return e.info }

// URL returns the request URL (which may hold credentials in its query).
func (e *Endpoint) URL() string { return e.target.URL() }

// Stream returns the stream mode.
func (e *Endpoint) Stream() StreamMode { return e.cfg.Stream }

// Config returns the endpoint's configuration with its defaults filled in,
// without Headers and HTTPClient.
func (e *Endpoint) Config() Config {
	c := e.cfg
	if c.Inject != nil {
		c.Inject = llmeter.DeepCopy(c.Inject).(map[string]any)
	}
	return c
}

// The keys of a saved configuration, besides endpoint_name, model_id,
// provider and endpoint_type.
const (
	keyURL              = "url"
	keyMethod           = "method"
	keyModelField       = "model_field"
	keyInject           = "inject"
	keyStream           = "stream"
	keyTextPath         = "text_path"
	keyInputTokensPath  = "input_tokens_path"
	keyOutputTokensPath = "output_tokens_path"
	keyIDPath           = "id_path"
	keyErrorPath        = "error_path"
	keyDonePath         = "done_path"
	keyInputTextPath    = "input_text_path"
	keyHeaderNames      = "header_names"
)

// stringFields maps the string keys of a saved configuration to their
// Config fields.
func (c *Config) stringFields() []httpep.StringKey {
	return []httpep.StringKey{
		{Key: "model_id", Dst: &c.ModelID},
		{Key: "endpoint_name", Dst: &c.EndpointName},
		{Key: "provider", Dst: &c.Provider},
		{Key: keyURL, Dst: &c.URL},
		{Key: keyMethod, Dst: &c.Method},
		{Key: keyModelField, Dst: &c.ModelField},
		{Key: keyTextPath, Dst: &c.TextPath},
		{Key: keyInputTokensPath, Dst: &c.InputTokensPath},
		{Key: keyOutputTokensPath, Dst: &c.OutputTokensPath},
		{Key: keyIDPath, Dst: &c.IDPath},
		{Key: keyErrorPath, Dst: &c.ErrorPath},
		{Key: keyDonePath, Dst: &c.DonePath},
		{Key: keyInputTextPath, Dst: &c.InputTextPath},
	}
}

// EndpointConfig implements llmeter.EndpointConfigurer: every setting
// except the header values, which may be secrets. It holds "url" (with
// credentials redacted, see httpep.RedactURL), "method", "error_path",
// "text_path" and, when set, "model_field", "inject", "stream",
// "input_tokens_path", "output_tokens_path", "id_path", "done_path",
// "input_text_path" and "header_names" (the sorted names of the configured
// headers, informational: a reloaded endpoint sends no extra headers).
func (e *Endpoint) EndpointConfig() map[string]any {
	m := map[string]any{}
	c := e.cfg
	for _, f := range c.stringFields() {
		switch f.Key {
		case "model_id", "endpoint_name", "provider":
			continue // saved by llmeter.EndpointToMap
		case keyURL:
			m[keyURL] = httpep.RedactURL(c.URL)
		default:
			if *f.Dst != "" {
				m[f.Key] = *f.Dst
			}
		}
	}
	if c.Stream != NoStream {
		m[keyStream] = string(c.Stream)
	}
	if len(c.Inject) > 0 {
		m[keyInject] = llmeter.DeepCopy(c.Inject)
	}
	if names := e.target.HeaderNames(); len(names) > 0 {
		m[keyHeaderNames] = slices.Clone(names)
	}
	return m
}

// ConfigFromMap reads a saved endpoint configuration (the map of
// llmeter.EndpointToMap, see EndpointConfig) into a Config, and "headers"
// (an object of strings, which EndpointConfig never writes but a
// hand-written config may hold). Other keys, such as header_names, are
// ignored. Callers may set Headers before calling New.
func ConfigFromMap(m map[string]any) (Config, error) {
	var cfg Config
	if err := httpep.ReadStrings("httpapi", m, cfg.stringFields()...); err != nil {
		return cfg, err
	}
	if t, _ := m["endpoint_type"].(string); t != "" && t != Type {
		return cfg, fmt.Errorf("httpapi: endpoint_type %q is not %s", t, Type)
	}
	if err := httpep.ReadStrings("httpapi", m, httpep.StringKey{Key: keyStream, Dst: (*string)(&cfg.Stream)}); err != nil {
		return cfg, err
	}
	if v, ok := m[keyInject]; ok && v != nil {
		im, ok := v.(map[string]any)
		if !ok {
			return cfg, fmt.Errorf("httpapi: %s: want an object, got %T", keyInject, v)
		}
		cfg.Inject = llmeter.DeepCopy(im).(map[string]any)
	}
	return cfg, httpep.ReadHeaders("httpapi", m, &cfg.Headers)
}

// PreparePayload implements llmeter.Endpoint. It returns a copy of p with
// Inject merged in (see Config.Inject) and ModelField set to the model id.
// p itself, including the objects it holds, is not modified.
func (e *Endpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) {
	q := make(llmeter.Payload, len(p)+len(e.cfg.Inject)+1)
	maps.Copy(q, p)
	merge(q, e.cfg.Inject)
	if e.cfg.ModelField != "" {
		q[e.cfg.ModelField] = e.info.ModelID
	}
	return q, nil
}

// merge merges src into dst (see Config.Inject). Objects of dst that change
// are copied first; values taken from src are deep copies.
func merge(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				c := maps.Clone(dm)
				merge(c, sm)
				dst[k] = c
				continue
			}
		}
		dst[k] = llmeter.DeepCopy(sv)
	}
}

// ParsePayload implements llmeter.Endpoint: what InputTextPath finds in the
// payload, a string, or a list of strings joined by "\n"; nil when
// InputTextPath is not set or finds nothing else.
func (e *Endpoint) ParsePayload(p llmeter.Payload) (any, error) {
	if e.paths.input == nil || p == nil {
		return nil, nil
	}
	if s, ok := e.paths.input.Text(map[string]any(p), "\n"); ok {
		return s, nil
	}
	return nil, nil
}
