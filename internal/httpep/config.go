package httpep

import (
	"fmt"
	"os"

	"github.com/llmeter-go/llmeter"
)

// Helpers for the endpoints' constructors and for reading their saved
// configurations (the maps of llmeter.EndpointToMap, as run_config.json
// holds them). Errors are prefixed with the endpoint's name ("openai: …").

// EnvOr returns v, else the value of the environment variable env, else def.
func EnvOr(v, env, def string) string {
	if v == "" {
		v = os.Getenv(env)
	}
	if v == "" {
		v = def
	}
	return v
}

// StringKey is a string key of a saved configuration and the field it is
// read into.
type StringKey struct {
	Key string
	Dst *string
}

// ConnectionKeys are the string keys every endpoint with a base URL saves:
// model_id, endpoint_name, provider and base_url.
func ConnectionKeys(modelID, endpointName, provider, baseURL *string) []StringKey {
	return []StringKey{{"model_id", modelID}, {"endpoint_name", endpointName}, {"provider", provider},
		{"base_url", baseURL}}
}

// ReadStrings reads string keys of a saved configuration, in order: a key
// that is absent or null leaves its field alone; a value that is not a
// string is an error.
func ReadStrings(name string, m map[string]any, keys ...StringKey) error {
	for _, k := range keys {
		v, ok := m[k.Key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %s: want a string, got %T", name, k.Key, v)
		}
		*k.Dst = s
	}
	return nil
}

// ReadHeaders reads "headers", an object of strings (which the endpoints
// never save, as values may be secrets, but a hand-written configuration
// may hold), into *dst; absent or null leaves *dst alone.
func ReadHeaders(name string, m map[string]any, dst *map[string]string) error {
	v, ok := m["headers"]
	if !ok || v == nil {
		return nil
	}
	hm, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: headers: want an object, got %T", name, v)
	}
	h := make(map[string]string, len(hm))
	for k, hv := range hm {
		s, ok := hv.(string)
		if !ok {
			return fmt.Errorf("%s: headers[%q]: want a string, got %T", name, k, hv)
		}
		h[k] = s
	}
	*dst = h
	return nil
}

// ReadReasoningTTFT reads LLMeter's ttft_visible_tokens_only, a boolean
// that the streaming endpoints save as the negation of their
// ReasoningCountsForTTFT, into *reasoningTTFT (negated); absent or null
// leaves it alone.
func ReadReasoningTTFT(name string, m map[string]any, reasoningTTFT *bool) error {
	const key = "ttft_visible_tokens_only"
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		return fmt.Errorf("%s: %s: want a boolean, got %T", name, key, v)
	}
	*reasoningTTFT = !b
	return nil
}

// ReadStream reads the endpoint_type of a saved configuration for an
// endpoint that comes as a pair of types, plain and streaming (LLMeter's
// classes): it reports whether the type is the streaming one. An absent or
// empty type is the plain one; any other is an error saying it is not what
// (for example "a Responses API endpoint").
func ReadStream(name string, m map[string]any, plain, stream, what string) (bool, error) {
	switch t, _ := m["endpoint_type"].(string); t {
	case stream:
		return true, nil
	case plain, "":
		return false, nil
	default:
		return false, fmt.Errorf("%s: endpoint_type %q is not %s", name, t, what)
	}
}

// RegisterPair registers (llmeter.RegisterEndpointType) the two types of an
// endpoint that comes as a plain and a streaming type: each reads the saved
// configuration with fromMap and builds the endpoint with build, streaming
// for the streaming type whatever the configuration says.
func RegisterPair[C any](plain, stream string, fromMap func(map[string]any) (C, error),
	build func(cfg C, stream bool) (llmeter.Endpoint, error)) {
	for _, t := range []struct {
		name   string
		stream bool
	}{{plain, false}, {stream, true}} {
		llmeter.RegisterEndpointType(t.name, func(m map[string]any) (llmeter.Endpoint, error) {
			cfg, err := fromMap(m)
			if err != nil {
				return nil, err
			}
			return build(cfg, t.stream)
		})
	}
}
