package cost

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// maxFuzzFile bounds the files the fuzz targets write.
const maxFuzzFile = 1 << 13

func addTestdata(f *testing.F, names ...string) [][]byte {
	var out [][]byte
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// fuzzResponse is a response every cost model can price.
func fuzzResponse() *llmeter.InvocationResponse {
	return &llmeter.InvocationResponse{NumTokensInput: llmeter.Ptr(1000), NumTokensInputCached: llmeter.Ptr(200),
		NumTokensOutput: llmeter.Ptr(100), NumTokensOutputReasoning: llmeter.Ptr(10), TimeToLastToken: llmeter.Ptr(1.5)}
}

// FuzzLoad loads arbitrary cost model files (LLMeter's format). A model
// that loads prices a response, and saves to a file that loads back to
// the same model.
func FuzzLoad(f *testing.F) {
	for _, b := range addTestdata(f, "llmeter_cost_model.json") {
		f.Add(b)
	}
	for _, s := range []string{
		`{"request_dims": {"InputTokens": {"price_per_million": 3}, "OutputTokens": {"price_per_million": 15, "granularity": 1000}}}`,
		`{"request_dims": {"x": {"_type": "CachedInputTokens", "price_per_million": 1e308}}, "run_dims": {"EndpointTime": {"price_per_hour": 1.5}}}`,
		`{"request_dims": {"a": {"_type": "Nope"}}}`, `{"run_dims": []}`, `{"request_dims": {"a": {"price_per_million": "1"}}}`,
		`{"request_dims": {"InputTokens": {"price_per_million": -1, "granularity": 0}}}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	// The fuzz function runs one call at a time in each process: the calls
	// can share files (a t.TempDir for each costs more than the call).
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzFile {
			return
		}
		path := filepath.Join(dir, "cost.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cost: ") {
				t.Errorf("error %q: want the prefix %q", err, "cost: ")
			}
			return
		}
		_, _ = m.RequestCost(fuzzResponse())
		saved, err := m.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of a loaded model: %v", err)
		}
		path2 := filepath.Join(dir, "saved.json")
		if err := m.Save(path2); err != nil {
			t.Fatalf("Save of a loaded model: %v", err)
		}
		again, err := Load(path2)
		if err != nil {
			t.Fatalf("loading the saved model %s: %v", saved, err)
		}
		resaved, err := again.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resaved, saved) {
			t.Errorf("saved and loaded back:\n got %s\nwant %s", resaved, saved)
		}
	})
}

// FuzzLoadPriceTable loads arbitrary price tables, YAML or JSON. A table
// that loads has no negative price, and every model in it gives a cost
// model.
func FuzzLoadPriceTable(f *testing.F) {
	files := addTestdata(f, "prices.yaml", "prices.json", "prices_bad.yaml")
	for i, b := range files {
		f.Add(b, i != 1)
	}
	f.Add([]byte("a: {input_per_million: 1, granularity: 1000}\nb: &x {output_per_million: 2}\nc: *x\n"), true)
	f.Add([]byte(`{"m": {"input_per_million": 1e400}}`), false)
	f.Add([]byte(`{"m": {"input_per_million": -0, "cached_input_per_million": 0.1, "granularity": 0.5}}`), false)
	dir := f.TempDir() // shared by the calls, as in FuzzLoad
	f.Fuzz(func(t *testing.T, data []byte, yaml bool) {
		if len(data) > maxFuzzFile {
			return
		}
		name := "prices.json"
		if yaml {
			name = "prices.yaml"
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		pt, err := LoadPriceTable(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cost: ") {
				t.Errorf("error %q: want the prefix %q", err, "cost: ")
			}
			return
		}
		for id, p := range pt {
			for _, v := range []*float64{p.Input, p.Output, p.CachedInput} {
				if v != nil && (*v < 0 || math.IsNaN(*v)) {
					t.Errorf("%q: price %v loaded", id, *v)
				}
			}
			if p.Granularity < 0 || math.IsNaN(p.Granularity) {
				t.Errorf("%q: granularity %v loaded", id, p.Granularity)
			}
			if _, ok := pt.Lookup(id); !ok {
				t.Errorf("Lookup(%q): not found", id)
			}
			for _, cached := range []bool{false, true} {
				if m, err := pt.CostModel(id, cached); err == nil {
					_, _ = m.RequestCost(fuzzResponse())
				}
			}
		}
		_, _ = pt.Lookup("us.arn:aws:bedrock:us-east-1::foundation-model/" + "m")
	})
}
