package cost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Price is what a per-token API charges for one model, in USD per million
// tokens. Unset prices add no dimension.
type Price struct {
	Input       *float64 `json:"input_per_million,omitempty" yaml:"input_per_million,omitempty"`
	Output      *float64 `json:"output_per_million,omitempty" yaml:"output_per_million,omitempty"`
	CachedInput *float64 `json:"cached_input_per_million,omitempty" yaml:"cached_input_per_million,omitempty"`
	// Granularity is the billing increment in tokens (default 1).
	Granularity float64 `json:"granularity,omitempty" yaml:"granularity,omitempty"`
}

// PriceTable maps model ids to prices. In a file (YAML or JSON) it is one
// object keyed by model id:
//
//	anthropic.claude-3-5-haiku-20241022-v1:0:
//	  input_per_million: 0.8
//	  output_per_million: 4
//	  cached_input_per_million: 0.08
type PriceTable map[string]Price

// crossRegionPrefixes are Bedrock inference profile prefixes, priced as the
// model they route to.
var crossRegionPrefixes = []string{"global.", "us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov."}

// LoadPriceTable reads a price table: YAML for .yaml/.yml files, else JSON.
func LoadPriceTable(path string) (PriceTable, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cost: %w", err)
	}
	t := PriceTable{}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("cost: price table %s: %w", path, err)
		}
	default:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("cost: price table %s: %w", path, err)
		}
	}
	for id, p := range t {
		for _, v := range []*float64{p.Input, p.Output, p.CachedInput} {
			if v != nil && *v < 0 {
				return nil, fmt.Errorf("cost: price table %s: %s: negative price", path, id)
			}
		}
		if p.Granularity < 0 {
			return nil, fmt.Errorf("cost: price table %s: %s: negative granularity", path, id)
		}
	}
	return t, nil
}

// ErrNoPrice is returned when a price table has no price for a model.
var ErrNoPrice = errors.New("cost: no price for model")

// Lookup returns the price of a model id: an exact match, else the id
// without a Bedrock cross-region prefix ("us.", "eu.", "global.", …), else
// without an ARN's path ("arn:…/model-id").
func (t PriceTable) Lookup(modelID string) (Price, bool) {
	if p, ok := t[modelID]; ok {
		return p, true
	}
	id := modelID
	if strings.HasPrefix(id, "arn:") {
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
			if p, ok := t[id]; ok {
				return p, true
			}
		}
	}
	for _, pre := range crossRegionPrefixes {
		if rest, ok := strings.CutPrefix(id, pre); ok {
			if p, ok := t[rest]; ok {
				return p, true
			}
		}
	}
	return Price{}, false
}

// CostModel returns a cost model with the request dimensions of a model's
// price: InputTokens, OutputTokens and CachedInputTokens. inputIncludesCached
// tells whether the API's input count includes the cached tokens (OpenAI
// Chat Completions and Responses: true; Anthropic Messages, Bedrock
// Converse: false); when it does and the price has a cached rate, the
// cached tokens are billed only at that rate.
func (t PriceTable) CostModel(modelID string, inputIncludesCached bool) (*CostModel, error) {
	p, ok := t.Lookup(modelID)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNoPrice, modelID)
	}
	return p.CostModel(inputIncludesCached)
}

// CostModel returns a cost model with the request dimensions of p (see
// PriceTable.CostModel).
func (p Price) CostModel(inputIncludesCached bool) (*CostModel, error) {
	g := p.Granularity
	if g == 0 {
		g = 1
	}
	req := map[string]RequestDimension{}
	if p.Input != nil {
		req["InputTokens"] = &InputTokens{PricePerMillion: *p.Input, Granularity: g,
			ExcludeCached: inputIncludesCached && p.CachedInput != nil}
	}
	if p.Output != nil {
		req["OutputTokens"] = &OutputTokens{PricePerMillion: *p.Output, Granularity: g}
	}
	if p.CachedInput != nil {
		req["CachedInputTokens"] = &CachedInputTokens{PricePerMillion: *p.CachedInput, Granularity: g}
	}
	return New(req, nil)
}

// InputIncludesCached reports whether an endpoint type (LLMeter's class
// name, EndpointInfo.EndpointType) counts cached tokens in its input count:
// the OpenAI APIs do; Anthropic's and Bedrock's do not.
func InputIncludesCached(endpointType string) bool {
	t := strings.ToLower(endpointType)
	return strings.HasPrefix(t, "openai")
}
