package cost

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/callbacks/internal/cbtest"
)

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want))
}

func resp(in, out, cached *int, failed bool) *llmeter.InvocationResponse {
	r := &llmeter.InvocationResponse{ID: llmeter.NewID(), NumTokensInput: in, NumTokensOutput: out, NumTokensInputCached: cached}
	if failed {
		r.Error = "boom"
	}
	return r
}

// testModel: input $3/M, output $15/M billed by 10 tokens, cached input
// $0.30/M, and 2 instances at $7.20/h billed by the minute.
func testModel(t *testing.T) *CostModel {
	t.Helper()
	m, err := New(map[string]RequestDimension{
		"InputTokens":       &InputTokens{PricePerMillion: 3, Granularity: 1},
		"OutputTokens":      &OutputTokens{PricePerMillion: 15, Granularity: 10},
		"CachedInputTokens": &CachedInputTokens{PricePerMillion: 0.3},
	}, map[string]RunDimension{
		"EndpointTime": &EndpointTime{PricePerHour: 7.2, GranularitySecs: 60, InstanceCount: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The expected values below are worked out by hand from LLMeter's formulas:
// cost = ceil(n/g)·g · price / 1e6 per request, ceil(T/g)·g · price / 3600
// per run.
func TestCostModelCallback(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	if err := m.BeforeRun(ctx, &llmeter.Runner{}); err != nil {
		t.Fatal(err)
	}
	rs := []*llmeter.InvocationResponse{
		// 1000 in → 0.003; 95 out → 100 billed → 0.0015; no cached count → 0
		resp(llmeter.Ptr(1000), llmeter.Ptr(95), nil, false),
		// 2001 in → 0.006003; 10 out → 0.00015; 1000 cached → 0.0003
		resp(llmeter.Ptr(2001), llmeter.Ptr(10), llmeter.Ptr(1000), false),
		// failed, no counts: every cost unknown
		resp(nil, nil, nil, true),
	}
	for _, r := range rs {
		if err := m.AfterInvoke(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	wantReq := []map[string]any{
		{"cost_InputTokens": 0.003, "cost_OutputTokens": 0.0015, "cost_CachedInputTokens": 0.0, "cost_total": 0.0045},
		{"cost_InputTokens": 0.006003, "cost_OutputTokens": 0.00015, "cost_CachedInputTokens": 0.0003, "cost_total": 0.006453},
		{"cost_InputTokens": nil, "cost_OutputTokens": nil, "cost_CachedInputTokens": nil, "cost_total": nil},
	}
	for i, r := range rs {
		if len(r.Extra) != len(wantReq[i]) {
			t.Errorf("response %d: got extra %v, want %v", i, r.Extra, wantReq[i])
		}
		for k, want := range wantReq[i] {
			got, ok := r.Extra[k]
			switch {
			case !ok:
				t.Errorf("response %d: no %s", i, k)
			case want == nil && got != nil:
				t.Errorf("response %d: %s = %v, want null", i, k, got)
			case want != nil && (got == nil || !near(got.(float64), want.(float64))):
				t.Errorf("response %d: %s = %v, want %v", i, k, got, want)
			}
		}
	}

	res := &llmeter.Result{Responses: rs, TotalTestTime: llmeter.Ptr(61.5)}
	if err := m.AfterRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	st := res.Stats()
	// 61.5 s → 120 s billed × 2 instances × 7.2 / 3600 = 0.48
	in := []float64{0.003, 0.006003}
	tot := []float64{0.0045, 0.006453}
	want := map[string]float64{
		"cost_EndpointTime":      0.48,
		"cost_InputTokens":       0.009003,
		"cost_OutputTokens":      0.00165,
		"cost_CachedInputTokens": 0.0003,
		"cost_total":             0.490953,
		// two known values: the median is the mean; p90 and p99 are
		// Python's exclusive quantiles, extrapolated for n=2:
		// p90 = (17·x2 − 7·x1)/10, p99 = (197·x2 − 97·x1)/100.
		"cost_InputTokens_per_request-average":       0.0045015,
		"cost_InputTokens_per_request-p50":           0.0045015,
		"cost_InputTokens_per_request-p90":           (17*in[1] - 7*in[0]) / 10,
		"cost_InputTokens_per_request-p99":           (197*in[1] - 97*in[0]) / 100,
		"cost_OutputTokens_per_request-average":      0.000825,
		"cost_CachedInputTokens_per_request-average": 0.00015,
		"cost_per_request-average":                   0.0054765,
		"cost_per_request-p50":                       0.0054765,
		"cost_per_request-p90":                       (17*tot[1] - 7*tot[0]) / 10,
		"cost_per_request-p99":                       (197*tot[1] - 97*tot[0]) / 100,
		"cost_total_per_request":                     0.490953 / 3,
		"cost_total_per_million_output_tokens":       0.490953 / 105 * 1e6,
	}
	for k, w := range want {
		got, ok := st.Float(k)
		if !ok || !near(got, w) {
			v, _ := st.Get(k)
			t.Errorf("%s = %v, want %v", k, v, w)
		}
	}
	// LLMeter's key set: 4 stats per request dimension and for the totals,
	// one per dimension, the total; plus our two figures.
	n := 0
	for _, k := range st.Keys() {
		if len(k) > 5 && k[:5] == "cost_" {
			n++
		}
	}
	if want := 3*4 + 4 + 4 + 1 + 2; n != want {
		t.Errorf("got %d cost stats, want %d: %v", n, want, st.Keys())
	}
}

func TestRunCostFromSavedResponses(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	rs := []*llmeter.InvocationResponse{
		resp(llmeter.Ptr(1000), llmeter.Ptr(95), nil, false),
		resp(llmeter.Ptr(2001), llmeter.Ptr(10), llmeter.Ptr(1000), false),
		{ID: "no-cost"}, // no cost_* values: skipped
	}
	for _, r := range rs[:2] {
		c, err := m.RequestCost(r)
		if err != nil {
			t.Fatal(err)
		}
		SaveRequestCost(r, c)
	}
	res := &llmeter.Result{Responses: rs, TotalTestTime: llmeter.Ptr(30.0)}
	run, reqs, err := m.RunCost(ctx, res, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 {
		t.Errorf("got %d request costs, want 2", len(reqs))
	}
	// 30 s → 60 s billed × 2 × 7.2/3600 = 0.24
	if got := *run.Total(); !near(got, 0.24+0.009003+0.00165+0.0003) {
		t.Errorf("total = %v", got)
	}
	// A recalculation with another model (no cached price) ignores what
	// the responses hold.
	m2, _ := New(map[string]RequestDimension{"InputTokens": &InputTokens{PricePerMillion: 1}}, nil)
	run2, _, err := m2.RunCost(ctx, res, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := *run2["InputTokens"]; !near(got, 0.003001) {
		t.Errorf("recalculated InputTokens = %v, want 0.003001", got)
	}
	// Apply recomputes and saves every response's cost, then the stats.
	res2 := &llmeter.Result{Responses: []*llmeter.InvocationResponse{resp(llmeter.Ptr(500), llmeter.Ptr(1), nil, false)}, TotalTestTime: llmeter.Ptr(1.0)}
	if err := m2.Apply(ctx, res2); err != nil {
		t.Fatal(err)
	}
	if got := res2.Responses[0].Extra["cost_total"]; got != 0.0005 {
		t.Errorf("applied cost_total = %v, want 0.0005", got)
	}
	if got, _ := res2.Stats().Float("cost_total_per_million_output_tokens"); !near(got, 500) {
		t.Errorf("applied cost_total_per_million_output_tokens = %v, want 500", got)
	}
	// AfterRun on a Result this model did not watch reads the saved costs.
	if err := m.AfterRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	if got, _ := res.Stats().Float("cost_total"); !near(got, 0.24+0.010953) {
		t.Errorf("cost_total = %v", got)
	}
}

func TestGranularity(t *testing.T) {
	cases := []struct {
		name string
		dim  RequestDimension
		in   int
		want float64
	}{
		{"exact", &InputTokens{PricePerMillion: 1e6, Granularity: 1}, 7, 7},
		{"zero means one", &InputTokens{PricePerMillion: 1e6}, 7, 7},
		{"round up", &InputTokens{PricePerMillion: 1e6, Granularity: 1000}, 1001, 2000},
		{"multiple", &InputTokens{PricePerMillion: 1e6, Granularity: 1000}, 2000, 2000},
		{"zero tokens", &InputTokens{PricePerMillion: 1e6, Granularity: 1000}, 0, 0},
		{"exclude cached", &InputTokens{PricePerMillion: 1e6, ExcludeCached: true}, 7, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := resp(llmeter.Ptr(c.in), nil, llmeter.Ptr(3), false)
			got, err := c.dim.RequestCost(r)
			if err != nil || got == nil || !near(*got, c.want) {
				t.Errorf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
	for _, c := range []struct {
		t, g, want float64
	}{{0.2, 1, 1}, {1, 1, 1}, {59.9, 60, 60}, {60.1, 60, 120}, {10, 0.5, 10}, {10.1, 0.5, 10.5}} {
		d := &EndpointTime{PricePerHour: 3600, GranularitySecs: c.g}
		got, _ := d.RunCost(context.Background(), &llmeter.Result{TotalTestTime: llmeter.Ptr(c.t)})
		if got == nil || !near(*got, c.want) {
			t.Errorf("EndpointTime(T=%v, g=%v) = %v, want %v", c.t, c.g, got, c.want)
		}
	}
	got, _ := (&EndpointTime{PricePerHour: 1}).RunCost(context.Background(), &llmeter.Result{})
	if got != nil {
		t.Errorf("no test time: got %v, want unknown", *got)
	}
}

func TestDuplicateNames(t *testing.T) {
	_, err := New(map[string]RequestDimension{"X": &InputTokens{}}, map[string]RunDimension{"X": &EndpointTime{}})
	if err == nil {
		t.Fatal("no error for a duplicate name")
	}
}

// The cost model file of LLMeter's documentation loads, and saves back to
// the same JSON.
func TestLLMeterFileRoundTrip(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "llmeter_cost_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, ok := m.RequestDims["TokensIn"].(*InputTokens)
	if !ok || in.PricePerMillion != 30 || in.Granularity != 1 {
		t.Errorf("TokensIn = %#v", m.RequestDims["TokensIn"])
	}
	et, ok := m.RunDims["ComputeSeconds"].(*EndpointTime)
	if !ok || et.PricePerHour != 50 || et.GranularitySecs != 1 {
		t.Errorf("ComputeSeconds = %#v", m.RunDims["ComputeSeconds"])
	}
	out := filepath.Join(t.TempDir(), "sub", "model.json")
	if err := m.Save(out); err != nil {
		t.Fatal(err)
	}
	var a, b any
	orig, _ := os.ReadFile(filepath.Join("testdata", "llmeter_cost_model.json"))
	saved, _ := os.ReadFile(out)
	if err := json.Unmarshal(orig, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(saved, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("saved\n%s\nwant\n%s", jb, ja)
	}
	if !strings.HasPrefix(string(saved), "{\n    \"_type\": \"CostModel\",\n") {
		t.Errorf("_type is not first: %s", saved)
	}
}

func TestRoundTripAllDimensions(t *testing.T) {
	m, err := New(map[string]RequestDimension{
		"in":     &InputTokens{PricePerMillion: 1.5, Granularity: 1, ExcludeCached: true},
		"out":    &OutputTokens{PricePerMillion: 2, Granularity: 4},
		"cached": &CachedInputTokens{PricePerMillion: 0.1, Granularity: 1},
	}, map[string]RunDimension{
		"time":    &EndpointTime{PricePerHour: 3, GranularitySecs: 60, InstanceCount: 4},
		"compute": &SageMakerRTEndpointCompute{InstanceType: "ml.g5.xlarge", InstanceCount: 2, PricePerHour: llmeter.Ptr(1.408), Region: llmeter.Ptr("us-east-1")},
		"storage": &SageMakerRTEndpointStorage{GBsProvisioned: 8, PricePerGBHour: llmeter.Ptr(0.14 / 720), Region: llmeter.Ptr("us-east-1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	b1, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var m2 CostModel
	if err := json.Unmarshal(b1, &m2); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&m2)
	if string(b1) != string(b2) {
		t.Errorf("round trip:\n%s\n%s", b1, b2)
	}
	// And through the callback configuration (run_config.json).
	cfg := m.CallbackConfig()
	if cfg["type"] != "CostModel" {
		t.Errorf("type = %v", cfg["type"])
	}
	cj, _ := llmeter.MarshalJSONValue(cfg)
	var back map[string]any
	if err := json.Unmarshal(cj, &back); err != nil {
		t.Fatal(err)
	}
	m3, err := FromConfig(back)
	if err != nil {
		t.Fatal(err)
	}
	b3, _ := json.Marshal(m3)
	if string(b1) != string(b3) {
		t.Errorf("config round trip:\n%s\n%s", b1, b3)
	}
}

// LLMeter's run_config.json saves cost models without _type keys.
func TestFromLLMeterRunConfig(t *testing.T) {
	var cfg map[string]any
	src := `{"request_dims": {"InputTokens": {"price_per_million": 1.0, "granularity": 1}}, "run_dims": {"Infra": {"price_per_hour": 3600, "granularity_secs": 1}}}`
	if err := json.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.RequestDims["InputTokens"].(*InputTokens); !ok {
		t.Errorf("InputTokens = %T", m.RequestDims["InputTokens"])
	}
	if _, ok := m.RunDims["Infra"].(*EndpointTime); !ok {
		t.Errorf("Infra = %T", m.RunDims["Infra"])
	}
	bad := map[string]any{"request_dims": map[string]any{"TokensIn": map[string]any{"price_per_million": 1.0}}}
	if _, err := FromConfig(bad); err == nil {
		t.Error("an untyped, ambiguous dimension loaded")
	}
	unknown := map[string]any{"request_dims": map[string]any{"X": map[string]any{"_type": "InputTokens", "price": 1.0}}}
	if _, err := FromConfig(unknown); err == nil {
		t.Error("an unknown field loaded")
	}
}

// A whole run: costs land in the sidecar and stats.json, and load back.
func TestRunnerSavesCosts(t *testing.T) {
	m := testModel(t)
	dir := t.TempDir()
	r := &llmeter.Runner{
		Endpoint:   &cbtest.Endpoint{Text: "hi", InputTokens: 1000, OutputTokens: 95},
		Payloads:   []llmeter.Payload{{"prompt": "a"}, {"prompt": "b"}},
		OutputPath: dir,
		RunName:    "run",
		Callbacks:  []llmeter.Callback{m},
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := res.Stats().Float("cost_InputTokens"); !near(got, 0.006) {
		t.Errorf("cost_InputTokens = %v, want 0.006", got)
	}
	loaded, err := llmeter.LoadResult(filepath.Join(dir, "run"), llmeter.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := loaded.Stats().Float("cost_OutputTokens"); !near(got, 0.003) {
		t.Errorf("loaded cost_OutputTokens = %v, want 0.003", got)
	}
	for _, resp := range loaded.Responses {
		if v, ok := resp.Extra["cost_total"].(float64); !ok || !near(v, 0.0045) {
			t.Errorf("loaded response cost_total = %v", resp.Extra["cost_total"])
		}
	}
	cfgData, err := os.ReadFile(filepath.Join(dir, "run", llmeter.RunConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Callbacks []map[string]any `json:"callbacks"`
	}
	if err := json.Unmarshal(cfgData, &cfg); err != nil || len(cfg.Callbacks) != 1 {
		t.Fatalf("callbacks in run_config.json: %v %s", err, cfgData)
	}
	if _, err := FromConfig(cfg.Callbacks[0]); err != nil {
		t.Errorf("reload from run_config.json: %v", err)
	}
}
