package cost

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/llmeter-go/llmeter"
)

// Dimension is one priced aspect of a deployment. Its Type is its `_type` in
// cost model files (LLMeter's class name); it is saved with encoding/json.
type Dimension interface {
	Type() string
}

// RequestDimension is a cost of each request. A nil cost means unknown.
type RequestDimension interface {
	Dimension
	RequestCost(r *llmeter.InvocationResponse) (*float64, error)
}

// RunDimension is a cost of a whole run. A nil cost means unknown.
type RunDimension interface {
	Dimension
	RunCost(ctx context.Context, res *llmeter.Result) (*float64, error)
}

// RunStarter is implemented by run dimensions that prepare before a run
// (LLMeter's before_run_start), e.g. to look up a price.
type RunStarter interface {
	BeforeRunStart(ctx context.Context, r *llmeter.Runner) error
}

// Validator is implemented by dimensions that check their settings.
type Validator interface {
	Validate() error
}

var (
	dimMu    sync.RWMutex
	dimTypes = map[string]func() Dimension{
		"InputTokens":                func() Dimension { return &InputTokens{} },
		"OutputTokens":               func() Dimension { return &OutputTokens{} },
		"CachedInputTokens":          func() Dimension { return &CachedInputTokens{} },
		"EndpointTime":               func() Dimension { return &EndpointTime{} },
		"SageMakerRTEndpointCompute": func() Dimension { return &SageMakerRTEndpointCompute{} },
		"SageMakerRTEndpointStorage": func() Dimension { return &SageMakerRTEndpointStorage{} },
	}
)

// RegisterDimension makes a custom dimension type loadable from cost model
// files (LLMeter's alt_classes). newDim returns a pointer to a zero value
// that encoding/json decodes into.
func RegisterDimension(typeName string, newDim func() Dimension) {
	dimMu.Lock()
	defer dimMu.Unlock()
	dimTypes[typeName] = newDim
}

func newDimension(typeName string) (Dimension, bool) {
	dimMu.RLock()
	defer dimMu.RUnlock()
	f, ok := dimTypes[typeName]
	if !ok {
		return nil, false
	}
	return f(), true
}

// billable rounds n up to a whole number of increments of g (g ≤ 0 counts
// as 1): ceil(n/g)·g.
func billable(n, g float64) float64 {
	if g <= 0 {
		g = 1
	}
	return math.Ceil(n/g) * g
}

func tokenCost(tokens int, granularity float64, pricePerMillion float64) *float64 {
	c := billable(float64(tokens), granularity) * pricePerMillion / 1e6
	return &c
}

func checkGranularity(name string, g float64) error {
	if g < 0 || math.IsNaN(g) {
		return fmt.Errorf("cost: %s: granularity must be positive, got %v", name, g)
	}
	return nil
}

// InputTokens prices the input (prompt) tokens of each request:
// ceil(tokens/Granularity)·Granularity · PricePerMillion / 1e6; unknown
// when the response has no input token count.
type InputTokens struct {
	PricePerMillion float64 `json:"price_per_million"`
	// Granularity is the billing increment in tokens; 0 means 1.
	Granularity float64 `json:"granularity"`
	// ExcludeCached bills only the input tokens that were not read from the
	// prompt cache (num_tokens_input − num_tokens_input_cached), for APIs
	// whose input count includes the cached tokens (OpenAI Chat Completions
	// and Responses) when CachedInputTokens prices those. Not in LLMeter:
	// saved only when set.
	ExcludeCached bool `json:"exclude_cached,omitempty"`
}

func (*InputTokens) Type() string { return "InputTokens" }

func (d *InputTokens) Validate() error { return checkGranularity("InputTokens", d.Granularity) }

func (d *InputTokens) RequestCost(r *llmeter.InvocationResponse) (*float64, error) {
	if r.NumTokensInput == nil {
		return nil, nil
	}
	n := *r.NumTokensInput
	if d.ExcludeCached && r.NumTokensInputCached != nil {
		n = max(n-*r.NumTokensInputCached, 0)
	}
	return tokenCost(n, d.Granularity, d.PricePerMillion), nil
}

// OutputTokens prices the output (completion) tokens of each request, as
// InputTokens does the input tokens.
type OutputTokens struct {
	PricePerMillion float64 `json:"price_per_million"`
	Granularity     float64 `json:"granularity"`
}

func (*OutputTokens) Type() string { return "OutputTokens" }

func (d *OutputTokens) Validate() error {
	return checkGranularity("OutputTokens", d.Granularity)
}

func (d *OutputTokens) RequestCost(r *llmeter.InvocationResponse) (*float64, error) {
	if r.NumTokensOutput == nil {
		return nil, nil
	}
	return tokenCost(*r.NumTokensOutput, d.Granularity, d.PricePerMillion), nil
}

// CachedInputTokens prices the input tokens read from the prompt cache
// (num_tokens_input_cached) at their own rate. Not in LLMeter. A response
// with an input count but no cached count read nothing from the cache (0);
// one with neither is unknown.
//
// Whether the input count includes the cached tokens depends on the API:
// OpenAI's does (set InputTokens.ExcludeCached), Anthropic's and Bedrock
// Converse's do not.
type CachedInputTokens struct {
	PricePerMillion float64 `json:"price_per_million"`
	Granularity     float64 `json:"granularity"`
}

func (*CachedInputTokens) Type() string { return "CachedInputTokens" }

func (d *CachedInputTokens) Validate() error {
	return checkGranularity("CachedInputTokens", d.Granularity)
}

func (d *CachedInputTokens) RequestCost(r *llmeter.InvocationResponse) (*float64, error) {
	switch {
	case r.NumTokensInputCached != nil:
		return tokenCost(*r.NumTokensInputCached, d.Granularity, d.PricePerMillion), nil
	case r.NumTokensInput != nil:
		return llmeter.Ptr(0.0), nil
	}
	return nil, nil
}

// EndpointTime prices the run's duration (total_test_time):
// ceil(T/GranularitySecs)·GranularitySecs · PricePerHour / 3600.
type EndpointTime struct {
	PricePerHour float64 `json:"price_per_hour"`
	// GranularitySecs is the billing increment in seconds; 0 means 1.
	GranularitySecs float64 `json:"granularity_secs"`
	// InstanceCount multiplies the price (instances billed by the hour);
	// 0 means 1. Not in LLMeter: saved only when set.
	InstanceCount float64 `json:"instance_count,omitempty"`
}

func (*EndpointTime) Type() string { return "EndpointTime" }

func (d *EndpointTime) Validate() error {
	if d.InstanceCount < 0 {
		return fmt.Errorf("cost: EndpointTime: instance count must be positive, got %v", d.InstanceCount)
	}
	return checkGranularity("EndpointTime", d.GranularitySecs)
}

func (d *EndpointTime) RunCost(_ context.Context, res *llmeter.Result) (*float64, error) {
	if res.TotalTestTime == nil {
		return nil, nil
	}
	n := d.InstanceCount
	if n == 0 {
		n = 1
	}
	c := billable(*res.TotalTestTime, d.GranularitySecs) * n * d.PricePerHour / 3600
	return &c, nil
}

// SageMakerRTEndpointCompute prices the instances of a SageMaker real-time
// endpoint: ceil(T)·InstanceCount·PricePerHour/3600. A nil PricePerHour is
// looked up in the AWS Price List (on-demand, USD) before the run.
type SageMakerRTEndpointCompute struct {
	InstanceType  string   `json:"instance_type"`
	InstanceCount float64  `json:"instance_count"`
	PricePerHour  *float64 `json:"price_per_hour"`
	Region        *string  `json:"region"`

	// Pricing overrides how the price is looked up (tests, other
	// endpoints); nil uses the AWS Price List API.
	Pricing *PriceList `json:"-"`
}

func (*SageMakerRTEndpointCompute) Type() string { return "SageMakerRTEndpointCompute" }

func (d *SageMakerRTEndpointCompute) Validate() error {
	if d.InstanceType == "" && d.PricePerHour == nil {
		return fmt.Errorf("cost: SageMakerRTEndpointCompute: no instance type")
	}
	return nil
}

// BeforeRunStart looks the price up when it is not set.
func (d *SageMakerRTEndpointCompute) BeforeRunStart(ctx context.Context, _ *llmeter.Runner) error {
	if d.PricePerHour != nil {
		return nil
	}
	p, err := d.Pricing.orDefault().HostingPrice(ctx, d.InstanceType, deref(d.Region))
	if err != nil {
		return err
	}
	d.PricePerHour = &p
	return nil
}

func (d *SageMakerRTEndpointCompute) RunCost(ctx context.Context, res *llmeter.Result) (*float64, error) {
	if res.TotalTestTime == nil {
		return nil, nil
	}
	if err := d.BeforeRunStart(ctx, nil); err != nil {
		return nil, err
	}
	n := d.InstanceCount
	if n == 0 {
		n = 1
	}
	c := math.Ceil(*res.TotalTestTime) * n * *d.PricePerHour / 3600
	return &c, nil
}

// SageMakerRTEndpointStorage prices the EBS volumes of a SageMaker real-time
// endpoint: ceil(T)·GBsProvisioned·PricePerGBHour/3600. A nil price is
// looked up in the AWS Price List (per GB-month, divided by 720 hours).
type SageMakerRTEndpointStorage struct {
	GBsProvisioned float64  `json:"gbs_provisioned"`
	PricePerGBHour *float64 `json:"price_per_gb_hour"`
	Region         *string  `json:"region"`

	Pricing *PriceList `json:"-"`
}

func (*SageMakerRTEndpointStorage) Type() string { return "SageMakerRTEndpointStorage" }

// BeforeRunStart looks the price up when it is not set.
func (d *SageMakerRTEndpointStorage) BeforeRunStart(ctx context.Context, _ *llmeter.Runner) error {
	if d.PricePerGBHour != nil {
		return nil
	}
	p, err := d.Pricing.orDefault().StoragePrice(ctx, deref(d.Region))
	if err != nil {
		return err
	}
	d.PricePerGBHour = &p
	return nil
}

func (d *SageMakerRTEndpointStorage) RunCost(ctx context.Context, res *llmeter.Result) (*float64, error) {
	if res.TotalTestTime == nil {
		return nil, nil
	}
	if err := d.BeforeRunStart(ctx, nil); err != nil {
		return nil, err
	}
	c := math.Ceil(*res.TotalTestTime) * d.GBsProvisioned * *d.PricePerGBHour / 3600
	return &c, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
