package callbacks

import (
	"fmt"
	"sync"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/callbacks/cachebuster"
	"github.com/llmeter-go/llmeter/callbacks/cost"
	"github.com/llmeter-go/llmeter/callbacks/mlflow"
)

// Factory builds a callback from its saved configuration.
type Factory func(cfg map[string]any) (llmeter.Callback, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{
		"CostModel":      func(c map[string]any) (llmeter.Callback, error) { return cost.FromConfig(c) },
		mlflow.Type:      func(c map[string]any) (llmeter.Callback, error) { return mlflow.FromConfig(c) },
		cachebuster.Type: func(c map[string]any) (llmeter.Callback, error) { return cachebuster.FromConfig(c) },
	}
)

// Register makes a callback type loadable by Load (its CallbackConfig must
// then hold "type": typeName).
func Register(typeName string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	factories[typeName] = f
}

// TypeOf returns the type a saved configuration names: its "type", else
// LLMeter's "_type" or "_callback_type"; a configuration with request_dims
// or run_dims and no type (LLMeter's run_config.json) is a CostModel.
func TypeOf(cfg map[string]any) string {
	for _, k := range []string{"type", "_type", "_callback_type"} {
		if s, ok := cfg[k].(string); ok && s != "" {
			return s
		}
	}
	if _, ok := cfg["request_dims"]; ok {
		return "CostModel"
	}
	if _, ok := cfg["run_dims"]; ok {
		return "CostModel"
	}
	return ""
}

// Load re-creates a callback from the configuration its CallbackConfig
// returned (an entry of run_config.json's "callbacks").
func Load(cfg map[string]any) (llmeter.Callback, error) {
	typ := TypeOf(cfg)
	if typ == "" {
		return nil, fmt.Errorf("callbacks: configuration without a type: %v", cfg)
	}
	mu.RLock()
	f, ok := factories[typ]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("callbacks: unknown callback type %q", typ)
	}
	cb, err := f(cfg)
	if err != nil {
		return nil, fmt.Errorf("callbacks: %s: %w", typ, err)
	}
	return cb, nil
}

// LoadAll re-creates the callbacks of run_config.json's "callbacks" list
// (nil or empty gives none).
func LoadAll(cfgs []any) ([]llmeter.Callback, error) {
	var out []llmeter.Callback
	for i, c := range cfgs {
		m, ok := c.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("callbacks: entry %d is not an object", i)
		}
		cb, err := Load(m)
		if err != nil {
			return nil, err
		}
		out = append(out, cb)
	}
	return out, nil
}
