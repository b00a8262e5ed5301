package cost

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/llmeter-go/llmeter"
)

// KeyPrefix starts every cost key, on responses and in the stats.
const KeyPrefix = "cost_"

// Costs maps dimension names to costs (LLMeter's
// CalculatedCostWithDimensions); nil is an unknown cost.
type Costs map[string]*float64

// Total is the sum of the costs, nil if any is unknown.
func (c Costs) Total() *float64 {
	t := 0.0
	for _, v := range c {
		if v == nil {
			return nil
		}
		t += *v
	}
	return &t
}

// Names returns the dimension names, sorted.
func (c Costs) Names() []string { return slices.Sorted(maps.Keys(c)) }

// CostModel estimates costs from request and run dimensions. It is a
// callback (BeforeRun, AfterInvoke, AfterRun): use one CostModel for one run
// at a time.
type CostModel struct {
	RequestDims map[string]RequestDimension
	RunDims     map[string]RunDimension

	mu  sync.Mutex
	run *runCosts // costs of the run in progress, set by BeforeRun
}

// runCosts are the per-request costs gathered during a run, so that the
// run's cost needs no responses in memory (low-memory runs).
type runCosts struct {
	requests  []Costs
	outTokens int
}

// New returns a cost model; a dimension name used twice (in either group)
// is an error, as in LLMeter.
func New(requestDims map[string]RequestDimension, runDims map[string]RunDimension) (*CostModel, error) {
	m := &CostModel{RequestDims: requestDims, RunDims: runDims}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate checks the names and the dimensions' settings.
func (m *CostModel) Validate() error {
	for name := range m.RequestDims {
		if _, dup := m.RunDims[name]; dup {
			return fmt.Errorf("cost: duplicate cost dimension name %q", name)
		}
	}
	var errs []error
	check := func(name string, d Dimension) {
		if d == nil {
			errs = append(errs, fmt.Errorf("cost: dimension %q is nil", name))
			return
		}
		if v, ok := d.(Validator); ok {
			if err := v.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%q: %w", name, err))
			}
		}
	}
	for name, d := range m.RequestDims {
		check(name, d)
	}
	for name, d := range m.RunDims {
		check(name, d)
	}
	return errors.Join(errs...)
}

// RequestCost returns the cost of one response per request dimension.
func (m *CostModel) RequestCost(r *llmeter.InvocationResponse) (Costs, error) {
	c := make(Costs, len(m.RequestDims))
	for _, name := range slices.Sorted(maps.Keys(m.RequestDims)) {
		v, err := m.RequestDims[name].RequestCost(r)
		if err != nil {
			return nil, fmt.Errorf("cost: %s: %w", name, err)
		}
		c[name] = v
	}
	return c, nil
}

// SaveRequestCost records c on the response: "cost_<dim>" and "cost_total"
// in r.Extra (LLMeter's save_on_namespace with include_total).
func SaveRequestCost(r *llmeter.InvocationResponse, c Costs) {
	if r.Extra == nil {
		r.Extra = map[string]any{}
	}
	for name, v := range c {
		r.Extra[KeyPrefix+name] = nullable(v)
	}
	r.Extra[KeyPrefix+"total"] = nullable(c.Total())
}

// ResponseCost reads back the costs SaveRequestCost recorded on a response
// (also from a loaded run's sidecar), without the total; empty if none.
func ResponseCost(r *llmeter.InvocationResponse) Costs {
	c := Costs{}
	for k, v := range r.Extra {
		name, ok := strings.CutPrefix(k, KeyPrefix)
		if !ok || name == "total" {
			continue
		}
		switch x := v.(type) {
		case float64:
			c[name] = &x
		case int:
			c[name] = llmeter.Ptr(float64(x))
		case nil:
			c[name] = nil
		}
	}
	return c
}

func nullable(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// BeforeRun is the callback hook: it starts gathering the run's request
// costs and lets run dimensions prepare (LLMeter's before_run_start).
func (m *CostModel) BeforeRun(ctx context.Context, r *llmeter.Runner) error {
	for _, name := range slices.Sorted(maps.Keys(m.RunDims)) {
		if s, ok := m.RunDims[name].(RunStarter); ok {
			if err := s.BeforeRunStart(ctx, r); err != nil {
				return fmt.Errorf("cost: %s: %w", name, err)
			}
		}
	}
	m.mu.Lock()
	m.run = &runCosts{}
	m.mu.Unlock()
	return nil
}

// AfterInvoke is the callback hook: it records the response's cost.
func (m *CostModel) AfterInvoke(_ context.Context, r *llmeter.InvocationResponse) error {
	c, err := m.RequestCost(r)
	if err != nil {
		return err
	}
	SaveRequestCost(r, c)
	m.mu.Lock()
	if m.run != nil {
		m.run.requests = append(m.run.requests, c)
		if r.NumTokensOutput != nil {
			m.run.outTokens += *r.NumTokensOutput
		}
	}
	m.mu.Unlock()
	return nil
}

// AfterRun is the callback hook: it computes the run's cost from the run
// dimensions and the request costs recorded during the run (or, for a
// Result this model did not watch, those saved on its responses) and
// contributes the cost stats.
func (m *CostModel) AfterRun(ctx context.Context, res *llmeter.Result) error {
	m.mu.Lock()
	run := m.run
	m.run = nil
	m.mu.Unlock()
	var reqs []Costs
	outTokens := 0
	if run != nil {
		reqs, outTokens = run.requests, run.outTokens
	} else {
		reqs, outTokens = savedCosts(res.Responses)
	}
	rc, err := m.runCost(ctx, res, reqs)
	if err != nil {
		return err
	}
	return res.UpdateContributedStats(RunStats(rc, reqs, outTokens))
}

// RunCost computes the cost of a run: the run dimensions, plus the sum of
// the request costs per dimension. With recalculate the request costs are
// computed again from the responses (a new model applied to a loaded run,
// LLMeter's include_request_costs="recalculate"); otherwise they are read
// from the responses' cost_* values.
func (m *CostModel) RunCost(ctx context.Context, res *llmeter.Result, recalculate bool) (Costs, []Costs, error) {
	var reqs []Costs
	if recalculate {
		for _, r := range res.Responses {
			c, err := m.RequestCost(r)
			if err != nil {
				return nil, nil, err
			}
			reqs = append(reqs, c)
		}
	} else {
		reqs, _ = savedCosts(res.Responses)
	}
	rc, err := m.runCost(ctx, res, reqs)
	return rc, reqs, err
}

// Apply applies the model to a finished (e.g. loaded) run: it computes
// every response's cost again and records it on the response, then
// contributes the run's cost stats, as LLMeter's calculate_run_cost with
// include_request_costs="recalculate" and save does.
func (m *CostModel) Apply(ctx context.Context, res *llmeter.Result) error {
	var reqs []Costs
	out := 0
	for _, r := range res.Responses {
		c, err := m.RequestCost(r)
		if err != nil {
			return err
		}
		SaveRequestCost(r, c)
		reqs = append(reqs, c)
		if r.NumTokensOutput != nil {
			out += *r.NumTokensOutput
		}
	}
	rc, err := m.runCost(ctx, res, reqs)
	if err != nil {
		return err
	}
	return res.UpdateContributedStats(RunStats(rc, reqs, out))
}

func savedCosts(responses []*llmeter.InvocationResponse) ([]Costs, int) {
	var reqs []Costs
	out := 0
	for _, r := range responses {
		if c := ResponseCost(r); len(c) > 0 { // responses without costs are skipped
			reqs = append(reqs, c)
			if r.NumTokensOutput != nil {
				out += *r.NumTokensOutput
			}
		}
	}
	return reqs, out
}

func (m *CostModel) runCost(ctx context.Context, res *llmeter.Result, reqs []Costs) (Costs, error) {
	rc := Costs{}
	for _, name := range slices.Sorted(maps.Keys(m.RunDims)) {
		v, err := m.RunDims[name].RunCost(ctx, res)
		if err != nil {
			return nil, fmt.Errorf("cost: %s: %w", name, err)
		}
		rc[name] = v
	}
	for name, v := range sumCosts(reqs) {
		if prev, ok := rc[name]; ok && prev != nil && v != nil {
			rc[name] = llmeter.Ptr(*prev + *v)
		} else if !ok {
			rc[name] = v
		}
	}
	return rc, nil
}

// sumCosts adds the request costs per dimension; unknown costs count for
// nothing, and a dimension no request knows stays unknown.
func sumCosts(reqs []Costs) Costs {
	sum := Costs{}
	for _, c := range reqs {
		for name, v := range c {
			switch prev, ok := sum[name]; {
			case v == nil:
				if !ok {
					sum[name] = nil
				}
			case prev == nil:
				sum[name] = llmeter.Ptr(*v)
			default:
				*prev += *v
			}
		}
	}
	return sum
}

// RunStats returns the stats a cost model contributes for a run (see the
// package documentation); unknown values are left out. outputTokens is the
// number of output tokens of the requests.
func RunStats(run Costs, requests []Costs, outputTokens int) map[string]any {
	st := map[string]any{}
	for name, v := range run {
		if v != nil {
			st[KeyPrefix+name] = *v
		}
	}
	total := run.Total()
	if total != nil {
		st[KeyPrefix+"total"] = *total
	}
	if len(requests) > 0 {
		byDim := map[string][]float64{}
		for _, c := range requests {
			for name, v := range c {
				if v != nil {
					byDim[name] = append(byDim[name], *v)
				}
			}
			if t := c.Total(); t != nil {
				byDim[""] = append(byDim[""], *t)
			}
		}
		for name, vals := range byDim {
			prefix := KeyPrefix + name + "_per_request"
			if name == "" {
				// "total_per_request" could be confusing: LLMeter omits "total".
				prefix = KeyPrefix + "per_request"
			}
			s := llmeter.SummaryStats(vals)
			for _, k := range s.Keys() {
				v, _ := s.Get(k)
				st[prefix+"-"+k] = v
			}
		}
		if total != nil {
			st[KeyPrefix+"total_per_request"] = *total / float64(len(requests))
		}
	}
	if total != nil && outputTokens > 0 {
		st[KeyPrefix+"total_per_million_output_tokens"] = *total / float64(outputTokens) * 1e6
	}
	return st
}

// CallbackConfig saves the model in run_config.json: LLMeter's cost model
// format with "type": "CostModel".
func (m *CostModel) CallbackConfig() map[string]any {
	cfg, err := m.ToMap()
	if err != nil {
		return map[string]any{"type": "CostModel", "error": err.Error()}
	}
	cfg["type"] = "CostModel"
	return cfg
}

// FromConfig re-creates a cost model from its CallbackConfig, or from
// LLMeter's serialized forms (with or without `_type` keys).
func FromConfig(cfg map[string]any) (*CostModel, error) {
	c := maps.Clone(cfg)
	delete(c, "type")
	return FromMap(c)
}
