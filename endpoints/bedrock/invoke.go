package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/internal/jpath"
)

func init() {
	llmeter.RegisterEndpointType(TypeInvoke, loadInvoke(false))
	llmeter.RegisterEndpointType(TypeInvokeStream, loadInvoke(true))
}

// Disabled, as an InvokeConfig JMESPath, turns that lookup off (LLMeter's
// None); it is saved as null. "-" is not a valid JMESPath expression.
const Disabled = "-"

// LLMeter's default JMESPaths, for models with OpenAI Chat Completions-like
// bodies.
const (
	DefaultGeneratedTextJMESPath             = "choices[0].message.content"
	DefaultGeneratedTokenCountJMESPath       = "usage.completion_tokens"
	DefaultInputTextJMESPath                 = "messages[].content[].text"
	DefaultInputTokenCountJMESPath           = "usage.prompt_tokens"
	DefaultStreamGeneratedTextJMESPath       = "choices[0].delta.content"
	DefaultStreamGeneratedTokenCountJMESPath = `"amazon-bedrock-invocationMetrics".outputTokenCount`
	DefaultStreamInputTokenCountJMESPath     = `"amazon-bedrock-invocationMetrics".inputTokenCount`
)

// InvokeConfig configures an InvokeModel or InvokeModelWithResponseStream
// endpoint. Only ModelID is required.
//
// The four JMESPaths (https://jmespath.org) tell where the text, token
// counts and prompt are in the model's own JSON. An empty one takes the
// default for the mode (the Default… constants: OpenAI Chat Completions-like
// bodies, with token counts from "amazon-bedrock-invocationMetrics" when
// streaming); Disabled turns a lookup off. NewInvokeEndpoint resolves the
// defaults, so the saved configuration names every path explicitly, or null
// for a disabled one.
type InvokeConfig struct {
	// ModelID is the model id, inference profile id or ARN.
	ModelID string
	// EndpointName defaults to "amazon bedrock".
	EndpointName string
	// Region defaults to the standard AWS chain ($AWS_REGION, the profile).
	Region string
	// MaxAttempts is the SDK's total attempts per call in standard retry
	// mode; 0 means 1 (no retries).
	MaxAttempts int
	// EndpointURL overrides the bedrock-runtime URL.
	EndpointURL string
	// Stream selects InvokeModelWithResponseStream (BedrockInvokeStream).
	Stream bool
	// GeneratedTextJMESPath finds the text in the response body (or, when
	// streaming, in each chunk); a list of strings is joined with "\n" (""
	// when streaming).
	GeneratedTextJMESPath string
	// GeneratedTokenCountJMESPath finds the output token count in the
	// response (when streaming: the last chunk where it finds a number).
	GeneratedTokenCountJMESPath string
	// InputTextJMESPath finds the prompt text in the payload (ParsePayload).
	InputTextJMESPath string
	// InputTokenCountJMESPath finds the input token count in the response
	// (when streaming: the last chunk where it finds a number).
	InputTokenCountJMESPath string
	// HTTPClient defaults to a shared client tuned for load generation.
	HTTPClient *http.Client
	// Credentials override the standard AWS chain. They are never saved.
	Credentials aws.CredentialsProvider
}

// InvokeEndpoint is a Bedrock InvokeModel or InvokeModelWithResponseStream
// endpoint. It is safe for concurrent use and keeps no per-call state.
type InvokeEndpoint struct {
	info                   llmeter.EndpointInfo
	client                 *bedrockruntime.Client
	settings               settings
	stream                 bool
	text, outTokens        *jpath.Path
	inputText, inTokens    *jpath.Path
	modelID, accept, ctype *string // SDK input fields, shared read-only
}

var _ interface {
	llmeter.Endpoint
	llmeter.EndpointConfigurer
} = (*InvokeEndpoint)(nil)

// NewInvokeEndpoint validates cfg, fills in its defaults, compiles the
// JMESPaths, resolves the AWS configuration and returns the endpoint.
func NewInvokeEndpoint(cfg InvokeConfig) (*InvokeEndpoint, error) {
	if cfg.ModelID == "" {
		return nil, errors.New("bedrock: ModelID is required")
	}
	if cfg.EndpointName == "" {
		cfg.EndpointName = DefaultEndpointName
	}
	defs := [4]string{DefaultGeneratedTextJMESPath, DefaultGeneratedTokenCountJMESPath, DefaultInputTextJMESPath,
		DefaultInputTokenCountJMESPath}
	if cfg.Stream {
		defs = [4]string{DefaultStreamGeneratedTextJMESPath, DefaultStreamGeneratedTokenCountJMESPath,
			DefaultInputTextJMESPath, DefaultStreamInputTokenCountJMESPath}
	}
	e := &InvokeEndpoint{
		info: llmeter.EndpointInfo{
			EndpointName: cfg.EndpointName,
			ModelID:      cfg.ModelID,
			Provider:     Provider,
			EndpointType: TypeInvoke,
		},
		stream:  cfg.Stream,
		modelID: aws.String(cfg.ModelID),
		accept:  aws.String("application/json"),
		ctype:   aws.String("application/json"),
	}
	if cfg.Stream {
		e.info.EndpointType = TypeInvokeStream
	}
	for i, f := range []struct {
		name string
		expr string
		dst  **jpath.Path
	}{{"GeneratedTextJMESPath", cfg.GeneratedTextJMESPath, &e.text},
		{"GeneratedTokenCountJMESPath", cfg.GeneratedTokenCountJMESPath, &e.outTokens},
		{"InputTextJMESPath", cfg.InputTextJMESPath, &e.inputText},
		{"InputTokenCountJMESPath", cfg.InputTokenCountJMESPath, &e.inTokens}} {
		switch f.expr {
		case Disabled:
			continue
		case "":
			f.expr = defs[i]
		}
		p, err := jpath.Compile(f.expr)
		if err != nil {
			return nil, fmt.Errorf("bedrock: %s: %w", f.name, err)
		}
		*f.dst = p
	}
	client, s, err := newClient("invoke", awsConfig(cfg.Region, cfg.MaxAttempts, cfg.EndpointURL, cfg.HTTPClient, cfg.Credentials))
	if err != nil {
		return nil, err
	}
	e.client, e.settings = client, s
	return e, nil
}

// Info implements llmeter.Endpoint.
func (e *InvokeEndpoint) Info() llmeter.EndpointInfo { return e.info }

// Stream reports whether the endpoint streams.
func (e *InvokeEndpoint) Stream() bool { return e.stream }

// Region returns the resolved AWS region.
func (e *InvokeEndpoint) Region() string { return e.settings.region }

// EndpointConfig implements llmeter.EndpointConfigurer: "region" (as
// resolved), "max_attempts", "endpoint_url" (when set) and LLMeter's four
// JMESPath settings, generated_text_jmespath, generated_token_count_jmespath,
// input_text_jmespath and input_token_count_jmespath (null when disabled).
// Credentials are never saved.
func (e *InvokeEndpoint) EndpointConfig() map[string]any {
	m := map[string]any{}
	for key, p := range map[string]*jpath.Path{
		"generated_text_jmespath":        e.text,
		"generated_token_count_jmespath": e.outTokens,
		"input_text_jmespath":            e.inputText,
		"input_token_count_jmespath":     e.inTokens,
	} {
		if p == nil {
			m[key] = nil
		} else {
			m[key] = p.String()
		}
	}
	e.settings.saveTo(m)
	return m
}

// InvokeConfigFromMap reads a saved endpoint configuration (the map of
// llmeter.EndpointToMap) into an InvokeConfig: model_id, endpoint_name,
// region, max_attempts, endpoint_url and the four JMESPaths (a missing key
// means the default, null means Disabled). Stream is set from endpoint_type.
// Other keys are ignored.
func InvokeConfigFromMap(m map[string]any) (InvokeConfig, error) {
	var cfg InvokeConfig
	if err := stringKeys(m, map[string]*string{"model_id": &cfg.ModelID, "endpoint_name": &cfg.EndpointName,
		"region": &cfg.Region, "endpoint_url": &cfg.EndpointURL}); err != nil {
		return cfg, err
	}
	if err := intKey(m, "max_attempts", &cfg.MaxAttempts); err != nil {
		return cfg, err
	}
	for key, dst := range map[string]*string{
		"generated_text_jmespath":        &cfg.GeneratedTextJMESPath,
		"generated_token_count_jmespath": &cfg.GeneratedTokenCountJMESPath,
		"input_text_jmespath":            &cfg.InputTextJMESPath,
		"input_token_count_jmespath":     &cfg.InputTokenCountJMESPath,
	} {
		v, ok := m[key]
		switch s, isString := v.(string); {
		case !ok:
		case v == nil || (isString && s == ""):
			*dst = Disabled
		case isString:
			*dst = s
		default:
			return cfg, fmt.Errorf("bedrock: %s: want a string or null, got %T", key, v)
		}
	}
	switch t, _ := m["endpoint_type"].(string); t {
	case TypeInvokeStream:
		cfg.Stream = true
	case TypeInvoke, "":
	default:
		return cfg, fmt.Errorf("bedrock: endpoint_type %q is not an InvokeModel endpoint", t)
	}
	return cfg, nil
}

func loadInvoke(stream bool) llmeter.EndpointFactory {
	return func(m map[string]any) (llmeter.Endpoint, error) {
		cfg, err := InvokeConfigFromMap(m)
		if err != nil {
			return nil, err
		}
		cfg.Stream = stream
		return NewInvokeEndpoint(cfg)
	}
}

// PreparePayload implements llmeter.Endpoint. InvokeModel takes the model id
// as an argument, so nothing is injected: p is returned as is, unless it
// holds binary data ([]byte), which InvokeModel cannot send (the body is
// plain JSON, as in LLMeter): that is an error naming where the bytes are.
func (e *InvokeEndpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) {
	if at := findBytes(map[string]any(p), ""); at != "" {
		return nil, fmt.Errorf("bedrock: InvokeModel payloads must be plain JSON, but %s holds binary data "+
			"(use a Converse endpoint for images, documents and other media)", at)
	}
	return p, nil
}

// findBytes returns the path of the first []byte value in v, or "".
func findBytes(v any, at string) string {
	switch x := v.(type) {
	case []byte:
		if at == "" {
			return "the payload"
		}
		return at
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if p := findBytes(x[k], joinPath(at, k)); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := findBytes(e, at+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	case []map[string]any:
		for i, e := range x {
			if p := findBytes(e, at+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

func joinPath(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// ParsePayload implements llmeter.Endpoint (LLMeter's _parse_payload): what
// InputTextJMESPath finds in the payload, a string as is or a list of strings
// joined by "\n". Anything else (nothing found, other types, the path
// disabled) is an error, so the prompt stays null.
func (e *InvokeEndpoint) ParsePayload(p llmeter.Payload) (any, error) {
	if e.inputText == nil {
		return nil, errors.New("bedrock: input_text_jmespath is disabled")
	}
	// JMESPath works on values as encoding/json decodes them (maps and
	// []any); numbers stay json.Number, which cannot overflow.
	b, err := llmeter.AppendRequestJSON(nil, map[string]any(p))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	s, ok := e.inputText.Text(v, "\n")
	if !ok {
		return nil, fmt.Errorf("bedrock: input_text_jmespath %q finds no string or list of strings in the payload", e.inputText)
	}
	return s, nil
}

// CreateInvokePayload builds an InvokeModel payload for models with OpenAI
// Chat Completions-like bodies (LLMeter's create_payload):
// {"messages": [{"role": "user", "content": [{"text": m, "type": "text"}]},
// … one message per string], "max_tokens": maxTokens}, then the keys of
// extra. maxTokens must be positive and messages non-empty.
func CreateInvokePayload(messages []string, maxTokens int, extra map[string]any) (llmeter.Payload, error) {
	if maxTokens <= 0 {
		return nil, fmt.Errorf("bedrock: max_tokens must be a positive integer, got %d", maxTokens)
	}
	if len(messages) == 0 {
		return nil, errors.New("bedrock: no user message")
	}
	msgs := make([]any, len(messages))
	for i, m := range messages {
		msgs[i] = map[string]any{"role": "user", "content": []any{map[string]any{"text": m, "type": "text"}}}
	}
	p := llmeter.Payload{"messages": msgs, "max_tokens": maxTokens}
	maps.Copy(p, extra)
	return p, nil
}

// --- invoke ---

// Invoke implements llmeter.Endpoint: it sends the payload as the JSON body
// of InvokeModel or InvokeModelWithResponseStream (encoded inside the timer,
// as LLMeter does) and reports what the JMESPaths find in the response.
func (e *InvokeEndpoint) Invoke(ctx context.Context, p llmeter.Payload, rec *llmeter.Recorder) error {
	body, err := llmeter.AppendRequestJSON(make([]byte, 0, 1024), map[string]any(p))
	if err != nil {
		return fmt.Errorf("bedrock: encode request: %w", err)
	}
	// The body is also in the SDK's input (for its headers), but sent by the
	// replaceBody middleware.
	c := &call{rec: rec, body: body, received: !e.stream}
	ctx = withCall(ctx, c)
	if e.stream {
		return e.invokeStream(ctx, c, body)
	}
	out, err := e.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId: e.modelID, Body: body, Accept: e.accept, ContentType: e.ctype})
	c.report(rec, err)
	if err != nil {
		return callErr(err)
	}
	var v any
	if err := json.Unmarshal(out.Body, &v); err != nil {
		return &llmeter.ProtocolError{Err: fmt.Errorf("bedrock: response is not JSON %q: %w", httpep.Snippet(out.Body, 80), err)}
	}
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["id"].(string); ok {
			rec.SetID(id)
		}
	}
	if s, ok := e.text.Text(v, "\n"); ok {
		rec.SetText(s)
	}
	rec.SetUsage(llmeter.Usage{InputTokens: e.inTokens.Int(v), OutputTokens: e.outTokens.Int(v)})
	return nil
}

// invokeStream calls InvokeModelWithResponseStream and parses its chunks.
func (e *InvokeEndpoint) invokeStream(ctx context.Context, c *call, body []byte) error {
	rec := c.rec
	out, err := e.client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: e.modelID, Body: body, Accept: e.accept, ContentType: e.ctype}, ownProtocol)
	c.report(rec, err)
	if err != nil {
		return callErr(err)
	}
	stream := out.GetStream()
	defer stream.Close()

	var in, outTokens *int
	var perr error
	done := false // the last chunk, with Bedrock's invocation metrics, arrived
	for ev := range stream.Events() {
		chunk, ok := ev.(*types.ResponseStreamMemberChunk)
		if !ok {
			continue
		}
		var v any
		if err := json.Unmarshal(chunk.Value.Bytes, &v); err != nil {
			perr = &llmeter.ProtocolError{Err: fmt.Errorf("bedrock: chunk is not JSON %q: %w", httpep.Snippet(chunk.Value.Bytes, 80), err)}
			break
		}
		if m, ok := v.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				rec.SetID(id)
			}
			if _, ok := m[invocationMetricsKey]; ok {
				done = true
			}
		}
		if s, ok := e.text.Text(v, ""); ok {
			rec.Text(s)
		}
		if n := e.inTokens.Int(v); n != nil {
			in = n
		}
		if n := e.outTokens.Int(v); n != nil {
			outTokens = n
		}
	}
	rec.SetUsage(llmeter.Usage{InputTokens: in, OutputTokens: outTokens})
	if perr != nil {
		return perr
	}
	if terr := c.transportErr(); terr != nil {
		return fmt.Errorf("bedrock: %w", terr)
	}
	if err := stream.Err(); err != nil {
		err = streamErr(err)
		rec.SetError(err)
		rec.LastToken()
		return err
	}
	if !done {
		return fmt.Errorf("bedrock: %w (no chunk with %s)", llmeter.ErrIncompleteStream, invocationMetricsKey)
	}
	return nil
}

// invocationMetricsKey is the member Bedrock adds to the last chunk of every
// InvokeModelWithResponseStream response, whatever the model: the stream's
// terminator.
const invocationMetricsKey = "amazon-bedrock-invocationMetrics"
