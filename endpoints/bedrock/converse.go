package bedrock

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

func init() {
	llmeter.RegisterEndpointType(TypeConverse, loadConverse(false))
	llmeter.RegisterEndpointType(TypeConverseStream, loadConverse(true))
}

// ConverseConfig configures a Converse or ConverseStream endpoint. Only
// ModelID is required.
type ConverseConfig struct {
	// ModelID is the model id, inference profile id or ARN.
	ModelID string
	// EndpointName defaults to "amazon bedrock".
	EndpointName string
	// Region defaults to the standard AWS chain ($AWS_REGION, the profile).
	Region string
	// MaxAttempts is the SDK's total attempts per call in standard retry
	// mode; 0 means 1 (no retries).
	MaxAttempts int
	// EndpointURL overrides the bedrock-runtime URL (a VPC endpoint, a
	// gateway, the simulator).
	EndpointURL string
	// InferenceConfig is sent as "inferenceConfig" when a payload has none
	// (or null); nil sends {}.
	InferenceConfig map[string]any
	// Stream selects ConverseStream (BedrockConverseStream).
	Stream bool
	// ReasoningCountsForTTFT makes reasoning deltas count toward the time to
	// first token (LLMeter's ttft_visible_tokens_only=False); by default
	// only visible text does.
	ReasoningCountsForTTFT bool
	// HTTPClient defaults to a shared client tuned for load generation.
	HTTPClient *http.Client
	// Credentials override the standard AWS chain. They are never saved.
	Credentials aws.CredentialsProvider
}

// ConverseEndpoint is a Bedrock Converse or ConverseStream endpoint. It is
// safe for concurrent use and keeps no per-call state.
type ConverseEndpoint struct {
	info            llmeter.EndpointInfo
	client          *bedrockruntime.Client
	settings        settings
	stream          bool
	reasoningTTFT   bool
	inferenceConfig map[string]any
}

var _ interface {
	llmeter.Endpoint
	llmeter.EndpointConfigurer
} = (*ConverseEndpoint)(nil)

// NewConverseEndpoint validates cfg, fills in its defaults, resolves the AWS
// configuration (region, credentials chain) and returns the endpoint.
// Credentials are resolved at the first call.
func NewConverseEndpoint(cfg ConverseConfig) (*ConverseEndpoint, error) {
	if cfg.ModelID == "" {
		return nil, errors.New("bedrock: ModelID is required")
	}
	if cfg.EndpointName == "" {
		cfg.EndpointName = DefaultEndpointName
	}
	client, s, err := newClient("converse", awsConfig(cfg.Region, cfg.MaxAttempts, cfg.EndpointURL, cfg.HTTPClient, cfg.Credentials))
	if err != nil {
		return nil, err
	}
	e := &ConverseEndpoint{
		info: llmeter.EndpointInfo{
			EndpointName: cfg.EndpointName,
			ModelID:      cfg.ModelID,
			Provider:     Provider,
			EndpointType: TypeConverse,
		},
		client:        client,
		settings:      s,
		stream:        cfg.Stream,
		reasoningTTFT: cfg.ReasoningCountsForTTFT,
	}
	if cfg.InferenceConfig != nil {
		e.inferenceConfig = llmeter.DeepCopy(cfg.InferenceConfig).(map[string]any)
	}
	if cfg.Stream {
		e.info.EndpointType = TypeConverseStream
	}
	return e, nil
}

// Info implements llmeter.Endpoint.
func (e *ConverseEndpoint) Info() llmeter.EndpointInfo { return e.info }

// Stream reports whether the endpoint streams.
func (e *ConverseEndpoint) Stream() bool { return e.stream }

// Region returns the resolved AWS region.
func (e *ConverseEndpoint) Region() string { return e.settings.region }

// EndpointConfig implements llmeter.EndpointConfigurer: "region" (as
// resolved), "max_attempts", "endpoint_url" (when set, credentials in it
// redacted), "inference_config" (null when unset) and
// "ttft_visible_tokens_only" (the negation of ReasoningCountsForTTFT).
// Credentials are never saved.
func (e *ConverseEndpoint) EndpointConfig() map[string]any {
	m := map[string]any{
		"inference_config":         nil,
		"ttft_visible_tokens_only": !e.reasoningTTFT,
	}
	if e.inferenceConfig != nil {
		m["inference_config"] = llmeter.DeepCopy(e.inferenceConfig)
	}
	e.settings.saveTo(m)
	return m
}

// ConverseConfigFromMap reads a saved endpoint configuration (the map of
// llmeter.EndpointToMap) into a ConverseConfig: model_id, endpoint_name,
// region, max_attempts, endpoint_url, inference_config and
// ttft_visible_tokens_only. Stream is set from endpoint_type. Other keys
// (provider, which is always "bedrock") are ignored.
func ConverseConfigFromMap(m map[string]any) (ConverseConfig, error) {
	var cfg ConverseConfig
	if err := stringKeys(m, map[string]*string{"model_id": &cfg.ModelID, "endpoint_name": &cfg.EndpointName,
		"region": &cfg.Region, "endpoint_url": &cfg.EndpointURL}); err != nil {
		return cfg, err
	}
	if err := intKey(m, "max_attempts", &cfg.MaxAttempts); err != nil {
		return cfg, err
	}
	if v, ok := m["inference_config"]; ok && v != nil {
		ic, ok := v.(map[string]any)
		if !ok {
			return cfg, fmt.Errorf("bedrock: inference_config: want an object, got %T", v)
		}
		cfg.InferenceConfig = ic
	}
	visible, ok, err := boolKey(m, "ttft_visible_tokens_only")
	if err != nil {
		return cfg, err
	}
	cfg.ReasoningCountsForTTFT = ok && !visible
	switch t, _ := m["endpoint_type"].(string); t {
	case TypeConverseStream:
		cfg.Stream = true
	case TypeConverse, "":
	default:
		return cfg, fmt.Errorf("bedrock: endpoint_type %q is not a Converse endpoint", t)
	}
	return cfg, nil
}

func loadConverse(stream bool) llmeter.EndpointFactory {
	return func(m map[string]any) (llmeter.Endpoint, error) {
		cfg, err := ConverseConfigFromMap(m)
		if err != nil {
			return nil, err
		}
		cfg.Stream = stream
		return NewConverseEndpoint(cfg)
	}
}

// PreparePayload implements llmeter.Endpoint: a shallow copy of p with
// "modelId" set to the model id and, when p has no "inferenceConfig" (or a
// null one), the endpoint's InferenceConfig (or {}). p is not modified.
func (e *ConverseEndpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) {
	q := make(llmeter.Payload, len(p)+2)
	maps.Copy(q, p)
	if q["inferenceConfig"] == nil {
		if e.inferenceConfig != nil {
			q["inferenceConfig"] = llmeter.DeepCopy(e.inferenceConfig)
		} else {
			q["inferenceConfig"] = map[string]any{}
		}
	}
	q["modelId"] = e.info.ModelID
	return q, nil
}

// ParsePayload implements llmeter.Endpoint (LLMeter's _parse_payload): the
// "text" of every content block of every message (a string, or a list of
// strings), empty ones dropped, joined by "\n". A malformed payload (messages
// or content blocks that are not lists of objects, non-string texts) gives
// "".
func (e *ConverseEndpoint) ParsePayload(p llmeter.Payload) (any, error) {
	return PromptText(p), nil
}

// PromptText is the Converse endpoint's ParsePayload as a function.
func PromptText(p llmeter.Payload) string {
	msgs, ok := objects(p, "messages")
	if !ok {
		return ""
	}
	var texts []string
	add := func(v any) bool {
		switch t := v.(type) {
		case string:
			if t != "" {
				texts = append(texts, t)
			}
		case nil:
		default:
			return false
		}
		return true
	}
	for _, m := range msgs {
		if m == nil {
			return ""
		}
		blocks, ok := objects(m, "content")
		if !ok {
			return ""
		}
		for _, b := range blocks {
			if b == nil {
				return ""
			}
			switch t := b["text"].(type) {
			case []any:
				for _, x := range t {
					if !add(x) {
						return ""
					}
				}
			case []string:
				for _, x := range t {
					add(x)
				}
			default:
				if !add(t) {
					return ""
				}
			}
		}
	}
	return strings.Join(texts, "\n")
}

// objects reads m[key], a JSON array of objects ([]any or
// []map[string]any); an element that is not an object is returned as nil. A
// missing key is an empty list; null or another type is not ok (Python's
// m.get(key, []) iterated).
func objects(m map[string]any, key string) ([]map[string]any, bool) {
	v, present := m[key]
	switch x := v.(type) {
	case nil:
		return nil, !present
	case []map[string]any:
		return x, true
	case []any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i], _ = e.(map[string]any)
		}
		return out, true
	}
	return nil, false
}

// DefaultMaxTokens is CreateConversePayload's maxTokens when 0 is given.
const DefaultMaxTokens = 256

// CreateConversePayload builds a Converse payload (LLMeter's
// create_payload): {"messages": [{"role": "user", "content": [blocks]}]},
// then the keys of extra, then "inferenceConfig" = extra's inferenceConfig
// (an object, or {} when absent or null) with "maxTokens" set to maxTokens,
// which always wins. Each item becomes a content block in order
// (prompt.BedrockBlock: {"text": …}, or an image, audio, video or document
// block whose source bytes stay []byte). maxTokens 0 means 256; negative
// values and an empty items list are errors.
func CreateConversePayload(items []prompt.Item, maxTokens int, extra map[string]any) (llmeter.Payload, error) {
	if maxTokens == 0 {
		maxTokens = DefaultMaxTokens
	}
	if maxTokens < 0 {
		return nil, fmt.Errorf("bedrock: max_tokens must be a positive integer, got %d", maxTokens)
	}
	if len(items) == 0 {
		return nil, errors.New("bedrock: no user message")
	}
	blocks := make([]any, len(items))
	for i, it := range items {
		b, err := prompt.BedrockBlock(it)
		if err != nil {
			return nil, fmt.Errorf("bedrock: content item %d: %w", i, err)
		}
		blocks[i] = b
	}
	p := llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": blocks}}}
	maps.Copy(p, extra)
	ic := map[string]any{}
	switch x := p["inferenceConfig"].(type) {
	case nil:
	case map[string]any:
		maps.Copy(ic, x)
	default:
		return nil, fmt.Errorf("bedrock: inferenceConfig: want an object, got %T", x)
	}
	ic["maxTokens"] = maxTokens
	p["inferenceConfig"] = ic
	return p, nil
}

// --- invoke ---

// Invoke implements llmeter.Endpoint: it calls Converse or ConverseStream
// with the payload as the request body (see the package documentation) and
// reports the response to rec as it is parsed.
func (e *ConverseEndpoint) Invoke(ctx context.Context, p llmeter.Payload, rec *llmeter.Recorder) error {
	body, err := converseBody(p)
	if err != nil {
		return err
	}
	modelID, _ := p["modelId"].(string)
	if modelID == "" {
		modelID = e.info.ModelID
	}
	c := &call{rec: rec, body: body, received: !e.stream}
	ctx = withCall(ctx, c)
	if e.stream {
		return e.converseStream(ctx, c, modelID)
	}
	out, err := e.client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: &modelID})
	c.report(rec, err)
	if err != nil {
		return callErr(err)
	}
	if m, ok := out.Output.(*types.ConverseOutputMemberMessage); ok {
		var sb strings.Builder
		for _, b := range m.Value.Content {
			if t, ok := b.(*types.ContentBlockMemberText); ok {
				sb.WriteString(t.Value)
			}
		}
		rec.SetText(sb.String())
	}
	if u := out.Usage; u != nil {
		rec.SetUsage(llmeter.Usage{InputTokens: ptrInt32(u.InputTokens), OutputTokens: ptrInt32(u.OutputTokens),
			InputCachedTokens: ptrInt32(u.CacheReadInputTokens)})
	}
	return nil
}

// converseBody encodes the request body: the payload without "modelId"
// (which goes in the URL), []byte values as base64 strings.
func converseBody(p llmeter.Payload) ([]byte, error) {
	q := p
	if _, ok := p["modelId"]; ok {
		q = maps.Clone(p)
		delete(q, "modelId")
	}
	b, err := llmeter.AppendRequestJSON(make([]byte, 0, 1024), map[string]any(q))
	if err != nil {
		return nil, fmt.Errorf("bedrock: encode request: %w", err)
	}
	return b, nil
}

// converseStream calls ConverseStream and parses its events.
func (e *ConverseEndpoint) converseStream(ctx context.Context, c *call, modelID string) error {
	rec := c.rec
	out, err := e.client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: &modelID}, ownProtocol)
	c.report(rec, err)
	if err != nil {
		return callErr(err)
	}
	stream := out.GetStream()
	defer stream.Close()

	var (
		stopped, metadata bool
		sum               [3]int  // input, output, cache read
		seen              [3]bool // sums with at least one value
	)
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				rec.Text(d.Value)
			case *types.ContentBlockDeltaMemberReasoningContent:
				if e.reasoningTTFT {
					rec.FirstToken()
				}
			}
		case *types.ConverseStreamOutputMemberContentBlockStop:
			rec.LastToken()
		case *types.ConverseStreamOutputMemberMessageStop:
			stopped = true
		case *types.ConverseStreamOutputMemberMetadata:
			metadata = true
			if u := v.Value.Usage; u != nil {
				for i, n := range [3]*int32{u.InputTokens, u.OutputTokens, u.CacheReadInputTokens} {
					if n != nil {
						sum[i] += int(*n)
						seen[i] = true
					}
				}
				var lu llmeter.Usage
				for i, dst := range [3]**int{&lu.InputTokens, &lu.OutputTokens, &lu.InputCachedTokens} {
					if seen[i] {
						*dst = llmeter.Ptr(sum[i])
					}
				}
				rec.SetUsage(lu)
			}
		}
	}
	if terr := c.transportErr(); terr != nil {
		return fmt.Errorf("bedrock: %w", terr)
	}
	if err := stream.Err(); err != nil {
		rec.LastToken()
		return streamErr(err)
	}
	if !stopped || !metadata {
		return fmt.Errorf("bedrock: %w (no messageStop and metadata events)", llmeter.ErrIncompleteStream)
	}
	return nil
}
