package callbacks_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/callbacks"
	"github.com/llmeter-go/llmeter/callbacks/cachebuster"
	"github.com/llmeter-go/llmeter/callbacks/cost"
	"github.com/llmeter-go/llmeter/callbacks/internal/cbtest"
	"github.com/llmeter-go/llmeter/callbacks/mlflow"
)

// A run's callbacks, saved in run_config.json, load back as the same
// callbacks.
func TestLoadFromRunConfig(t *testing.T) {
	t.Setenv(mlflow.EnvTrackingURI, "")
	model, err := cost.New(map[string]cost.RequestDimension{"InputTokens": &cost.InputTokens{PricePerMillion: 2}},
		map[string]cost.RunDimension{"Infra": &cost.EndpointTime{PricePerHour: 1, GranularitySecs: 60}})
	if err != nil {
		t.Fatal(err)
	}
	cbs := []llmeter.Callback{
		&cachebuster.CacheBuster{Mode: cachebuster.ModeCounter},
		model,
		&mlflow.Callback{Nested: true, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)},
	}
	dir := t.TempDir()
	r := &llmeter.Runner{
		Endpoint:   &cbtest.Endpoint{Text: "ok", InputTokens: 1, OutputTokens: 1},
		Payloads:   []llmeter.Payload{{"prompt": "hi"}},
		OutputPath: dir,
		RunName:    "run",
		Callbacks:  cbs,
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "run", llmeter.RunConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Callbacks []any `json:"callbacks"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	loaded, err := callbacks.LoadAll(cfg.Callbacks)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 3 {
		t.Fatalf("loaded %d callbacks", len(loaded))
	}
	if cb, ok := loaded[0].(*cachebuster.CacheBuster); !ok || cb.Mode != cachebuster.ModeCounter {
		t.Errorf("0: %#v", loaded[0])
	}
	if m, ok := loaded[1].(*cost.CostModel); !ok || m.RunDims["Infra"].(*cost.EndpointTime).GranularitySecs != 60 {
		t.Errorf("1: %#v", loaded[1])
	}
	if cb, ok := loaded[2].(*mlflow.Callback); !ok || !cb.Nested || cb.Timeout != time.Second {
		t.Errorf("2: %#v", loaded[2])
	}
	// Every callback's config saves and loads to the same config.
	for i, cb := range loaded {
		want := cbs[i].(llmeter.CallbackConfigurer).CallbackConfig()
		got := cb.(llmeter.CallbackConfigurer).CallbackConfig()
		a, _ := llmeter.MarshalJSONValue(want)
		b, _ := llmeter.MarshalJSONValue(got)
		if string(a) != string(b) {
			t.Errorf("%d: %s, want %s", i, b, a)
		}
	}
}

func TestLoadLLMeterForms(t *testing.T) {
	for _, src := range []string{
		// LLMeter's run_config.json: a cost model without _type.
		`{"request_dims": {"InputTokens": {"price_per_million": 1.0, "granularity": 1}}, "run_dims": {}}`,
		// LLMeter's cost model file.
		`{"_type": "CostModel", "request_dims": {}, "run_dims": {"T": {"_type": "EndpointTime", "price_per_hour": 5, "granularity_secs": 1}}}`,
		// LLMeter's MlflowCallback.to_dict.
		`{"_callback_type": "MlflowCallback", "step": 1, "nested": true}`,
	} {
		var cfg map[string]any
		if err := json.Unmarshal([]byte(src), &cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := callbacks.Load(cfg); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
	for _, bad := range []map[string]any{{}, {"type": "Nope"}, {"type": "CacheBuster", "mode": "x"}} {
		if _, err := callbacks.Load(bad); err == nil {
			t.Errorf("%v loaded", bad)
		}
	}
}
