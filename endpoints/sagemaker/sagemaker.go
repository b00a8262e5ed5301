package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/awsep"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/internal/jpath"
	"github.com/llmeter-go/llmeter/prompt"
)

// LLMeter's class names, used as endpoint_type in run_config.json.
const (
	TypeEndpoint       = "SageMakerEndpoint"
	TypeStreamEndpoint = "SageMakerStreamEndpoint"
)

// Provider is the provider of every SageMaker endpoint.
const Provider = "sagemaker"

// Defaults of Config (LLMeter's).
const (
	DefaultGeneratedTextJMESPath = "generated_text"
	DefaultInputTextJMESPath     = "inputs"
	DefaultTokenCountJMESPath    = "details.generated_tokens"
	DefaultMaxAttempts           = awsep.DefaultMaxAttempts
)

// The list forms of the default paths, tried when the default finds nothing:
// TGI answers /invocations with a one-element list.
const (
	listGeneratedTextJMESPath = "[0].generated_text"
	listTokenCountJMESPath    = "[0].details.generated_tokens"
)

func init() {
	llmeter.RegisterEndpointType(TypeEndpoint, load(false))
	llmeter.RegisterEndpointType(TypeStreamEndpoint, load(true))
}

// Config configures a SageMaker real-time endpoint. Only EndpointName is
// required.
type Config struct {
	// EndpointName is the name of the SageMaker endpoint (required).
	EndpointName string
	// ModelID names the model in results; default EndpointName.
	ModelID string
	// Region defaults to the standard chain ($AWS_REGION, the profile, …).
	// The resolved region is saved.
	Region string
	// MaxAttempts is the SDK's total attempts per call (standard retry
	// mode): 1 disables retries; 0 means 3. LLMeter has no such setting
	// (it uses boto3's default retry mode).
	MaxAttempts int
	// EndpointURL overrides the SageMaker runtime URL (a VPC endpoint, a
	// gateway, or the simulator).
	EndpointURL string
	// InferenceComponent, when set, is sent as InferenceComponentName
	// (the X-Amzn-SageMaker-Inference-Component header) to address one
	// inference component of the endpoint.
	InferenceComponent string
	// GeneratedTextJMESPath finds the text of a non-streaming response;
	// default "generated_text". The default also tries
	// "[0].generated_text" when it finds nothing, for TGI's list answer.
	GeneratedTextJMESPath string
	// InputTextJMESPath finds the prompt in the payload; default "inputs".
	InputTextJMESPath string
	// TokenCountJMESPath finds the output token count of a non-streaming
	// response; default "details.generated_tokens" (also tried as
	// "[0].details.generated_tokens"). NoTokenCount disables it (LLMeter's
	// token_count_jmespath=None).
	TokenCountJMESPath string
	NoTokenCount       bool
	// Stream selects the streaming variant (SageMakerStreamEndpoint).
	Stream bool
	// HTTPClient defaults to a shared client tuned for load generation.
	HTTPClient *http.Client
	// Credentials override the standard AWS credential chain. They are
	// never saved.
	Credentials aws.CredentialsProvider
}

// Endpoint is a SageMaker real-time endpoint serving TGI-style JSON
// (Hugging Face TGI, LMI/DJL, JumpStart). It is safe for concurrent use and
// keeps no per-call state.
type Endpoint struct {
	info      llmeter.EndpointInfo
	client    *sagemakerruntime.Client
	stream    bool
	region    string
	attempts  int
	url       string
	component string

	textPath, inputPath, countPath *jpath.Path
	textDefault, countDefault      bool // the paths are the defaults: try the list forms too

	optFns []func(*sagemakerruntime.Options) // per-call SDK options (tests)
}

var _ interface {
	llmeter.Endpoint
	llmeter.EndpointConfigurer
} = (*Endpoint)(nil)

// NewEndpoint validates cfg, fills in its defaults, resolves the AWS
// configuration (region, credentials chain, retry policy) and returns the
// endpoint. Credentials are resolved at the first request.
func NewEndpoint(cfg Config) (*Endpoint, error) {
	if cfg.EndpointName == "" {
		return nil, errors.New("sagemaker: EndpointName is required")
	}
	if cfg.ModelID == "" {
		cfg.ModelID = cfg.EndpointName
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	e := &Endpoint{
		info: llmeter.EndpointInfo{
			EndpointName: cfg.EndpointName,
			ModelID:      cfg.ModelID,
			Provider:     Provider,
			EndpointType: TypeEndpoint,
		},
		stream:    cfg.Stream,
		attempts:  cfg.MaxAttempts,
		url:       cfg.EndpointURL,
		component: cfg.InferenceComponent,
	}
	if cfg.Stream {
		e.info.EndpointType = TypeStreamEndpoint
	}
	var err error
	if e.textPath, e.textDefault, err = compilePath(cfg.GeneratedTextJMESPath, DefaultGeneratedTextJMESPath); err != nil {
		return nil, fmt.Errorf("sagemaker: generated_text_jmespath: %w", err)
	}
	if e.inputPath, _, err = compilePath(cfg.InputTextJMESPath, DefaultInputTextJMESPath); err != nil {
		return nil, fmt.Errorf("sagemaker: input_text_jmespath: %w", err)
	}
	if !cfg.NoTokenCount {
		if e.countPath, e.countDefault, err = compilePath(cfg.TokenCountJMESPath, DefaultTokenCountJMESPath); err != nil {
			return nil, fmt.Errorf("sagemaker: token_count_jmespath: %w", err)
		}
	}
	ac, err := awsep.Load(context.Background(), awsep.Config{
		Region:      cfg.Region,
		MaxAttempts: cfg.MaxAttempts,
		EndpointURL: cfg.EndpointURL,
		HTTPClient:  cfg.HTTPClient,
		Credentials: cfg.Credentials,
	})
	if err != nil {
		return nil, fmt.Errorf("sagemaker: %w", err)
	}
	e.region = ac.Region
	e.client = sagemakerruntime.NewFromConfig(ac)
	return e, nil
}

// compilePath compiles expr, or def when expr is empty.
func compilePath(expr, def string) (p *jpath.Path, isDefault bool, err error) {
	if expr == "" || expr == def {
		return jpath.MustCompile(def), true, nil
	}
	p, err = jpath.Compile(expr)
	if err == nil && p == nil { // blank
		return jpath.MustCompile(def), true, nil
	}
	return p, false, err
}

// Info implements llmeter.Endpoint.
func (e *Endpoint) Info() llmeter.EndpointInfo { return e.info }

// Stream reports whether the endpoint streams.
func (e *Endpoint) Stream() bool { return e.stream }

// Region is the AWS region the endpoint calls.
func (e *Endpoint) Region() string { return e.region }

// EndpointConfig implements llmeter.EndpointConfigurer, with LLMeter's key
// names: generated_text_jmespath, input_text_jmespath, token_count_jmespath
// (null when disabled) and region (the resolved one), plus this port's
// max_attempts and, when set, endpoint_url (credentials in it redacted) and
// inference_component_name. LLMeter's SageMaker constructor takes unknown
// keys as **kwargs, so it loads this map too. Credentials are never saved.
func (e *Endpoint) EndpointConfig() map[string]any {
	m := map[string]any{
		"generated_text_jmespath": e.textPath.String(),
		"input_text_jmespath":     e.inputPath.String(),
		"token_count_jmespath":    nil,
		"region":                  e.region,
		"max_attempts":            e.attempts,
	}
	if e.countPath != nil {
		m["token_count_jmespath"] = e.countPath.String()
	}
	if e.url != "" {
		m["endpoint_url"] = httpep.RedactURL(e.url)
	}
	if e.component != "" {
		m["inference_component_name"] = e.component
	}
	return m
}

// ConfigFromMap reads a saved endpoint configuration (the map of
// llmeter.EndpointToMap, or LLMeter's own run_config.json endpoint) into a
// Config: endpoint_name, model_id, region, generated_text_jmespath,
// input_text_jmespath, token_count_jmespath (null disables it),
// max_attempts, endpoint_url and inference_component_name. Stream is set
// from endpoint_type. Other keys (provider, LLMeter's kwargs) are ignored.
func ConfigFromMap(m map[string]any) (Config, error) {
	var cfg Config
	for _, f := range []struct {
		key string
		dst *string
	}{{"endpoint_name", &cfg.EndpointName}, {"model_id", &cfg.ModelID}, {"region", &cfg.Region},
		{"generated_text_jmespath", &cfg.GeneratedTextJMESPath}, {"input_text_jmespath", &cfg.InputTextJMESPath},
		{"token_count_jmespath", &cfg.TokenCountJMESPath}, {"endpoint_url", &cfg.EndpointURL},
		{"inference_component_name", &cfg.InferenceComponent}} {
		v, ok := m[f.key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return cfg, fmt.Errorf("sagemaker: %s: want a string, got %T", f.key, v)
		}
		*f.dst = s
	}
	if v, ok := m["token_count_jmespath"]; ok && v == nil {
		cfg.NoTokenCount = true
	}
	if v, ok := m["max_attempts"]; ok && v != nil {
		n, ok := wholeNumber(v)
		if !ok || n < 0 {
			return cfg, fmt.Errorf("sagemaker: max_attempts: want a non-negative integer, got %v", v)
		}
		cfg.MaxAttempts = n
	}
	switch t, _ := m["endpoint_type"].(string); t {
	case TypeStreamEndpoint:
		cfg.Stream = true
	case TypeEndpoint, "":
	default:
		return cfg, fmt.Errorf("sagemaker: endpoint_type %q is not a SageMaker endpoint", t)
	}
	return cfg, nil
}

var selfPath = jpath.MustCompile("@")

// wholeNumber reads a JSON integer (float64, json.Number or int).
func wholeNumber(v any) (int, bool) {
	p := selfPath.Int(v)
	if p == nil {
		return 0, false
	}
	return *p, true
}

func load(stream bool) llmeter.EndpointFactory {
	return func(m map[string]any) (llmeter.Endpoint, error) {
		cfg, err := ConfigFromMap(m)
		if err != nil {
			return nil, err
		}
		cfg.Stream = stream
		return NewEndpoint(cfg)
	}
}

// PreparePayload implements llmeter.Endpoint. The non-streaming endpoint
// sends p as it is. The streaming endpoint removes
// parameters.decoder_input_details (TGI rejects it when streaming) and adds
// "stream": true when p has no "stream" key (an explicit false is kept, as
// LLMeter does). Unlike LLMeter, which edits the caller's dict, it works on a
// copy: p is never modified (and returned as is when nothing changes).
func (e *Endpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) {
	if !e.stream {
		return p, nil
	}
	params, _ := p["parameters"].(map[string]any)
	_, hasDID := params["decoder_input_details"]
	_, hasStream := p["stream"]
	if hasStream && !hasDID {
		return p, nil
	}
	q := make(llmeter.Payload, len(p)+1)
	maps.Copy(q, p)
	if hasDID {
		pc := maps.Clone(params)
		delete(pc, "decoder_input_details")
		q["parameters"] = pc
	}
	if !hasStream {
		q["stream"] = true
	}
	return q, nil
}

// ParsePayload implements llmeter.Endpoint: the value found by
// InputTextJMESPath (default "inputs"): a string as is; a list of strings
// joined by "\n"; a list of content blocks (multimodal inputs) gives the
// "text" of its text blocks joined by "\n". LLMeter defines no
// _parse_payload for SageMaker (its input_prompt is always null and its
// input token count the tokenizer's count of "None", defect D3); this port
// uses the configured input path, as LLMeter's own attribute intends.
func (e *Endpoint) ParsePayload(p llmeter.Payload) (any, error) {
	if s, ok := e.inputPath.Text(map[string]any(p), "\n"); ok {
		return s, nil
	}
	if list, ok := e.inputPath.Search(map[string]any(p)).([]any); ok {
		var texts []string
		for _, b := range list {
			if m, ok := b.(map[string]any); ok {
				if t, ok := m["text"].(string); ok {
					texts = append(texts, t)
				}
			}
		}
		if len(texts) > 0 {
			return joinLines(texts), nil
		}
	}
	return nil, fmt.Errorf("sagemaker: no input text at %q", e.inputPath.String())
}

func joinLines(s []string) string {
	n := len(s) - 1
	for _, x := range s {
		n += len(x)
	}
	b := make([]byte, 0, n)
	for i, x := range s {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, x...)
	}
	return string(b)
}

// CreatePayload builds a TGI-style payload (LLMeter's
// SageMakerEndpoint.create_payload): {"inputs": <text>, "parameters":
// {"max_new_tokens": maxTokens, "details": true, ...inferenceParameters},
// ...extra}. A single prompt.Text item gives a string input; any other list
// gives Bedrock-style content blocks, in order ({"text": …} or
// {"image": {"format": "png", "source": {"bytes": …}}}, see
// prompt.BedrockBlock). inferenceParameters may override max_new_tokens and
// details; extra keys are set last and may override anything. maxTokens must
// be positive and items non-empty.
func CreatePayload(items []prompt.Item, maxTokens int, inferenceParameters, extra map[string]any) (llmeter.Payload, error) {
	return createPayload(items, maxTokens, inferenceParameters, extra, false)
}

// CreateStreamPayload is CreatePayload for the streaming endpoint
// (LLMeter's SageMakerStreamEndpoint.create_payload): it also sets
// "stream": true (before extra, which may override it).
func CreateStreamPayload(items []prompt.Item, maxTokens int, inferenceParameters, extra map[string]any) (llmeter.Payload, error) {
	return createPayload(items, maxTokens, inferenceParameters, extra, true)
}

func createPayload(items []prompt.Item, maxTokens int, inferenceParameters, extra map[string]any, stream bool) (llmeter.Payload, error) {
	if maxTokens <= 0 {
		return nil, fmt.Errorf("sagemaker: max_tokens must be a positive integer, got %d", maxTokens)
	}
	if len(items) == 0 {
		return nil, errors.New("sagemaker: input_text must not be empty")
	}
	var inputs any
	if t, ok := items[0].(prompt.Text); ok && len(items) == 1 {
		inputs = string(t)
	} else {
		blocks := make([]any, len(items))
		for i, it := range items {
			b, err := prompt.BedrockBlock(it)
			if err != nil {
				return nil, fmt.Errorf("sagemaker: item %d: %w", i, err)
			}
			blocks[i] = b
		}
		inputs = blocks
	}
	params := map[string]any{"max_new_tokens": maxTokens, "details": true}
	maps.Copy(params, inferenceParameters)
	p := llmeter.Payload{"inputs": inputs, "parameters": params}
	if stream {
		p["stream"] = true
	}
	maps.Copy(p, extra)
	return p, nil
}
