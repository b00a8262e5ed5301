package experiment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

// LatencyHeatmap measures latency over a grid of input lengths × output
// lengths (LLMeter's LatencyHeatmap): prompts of each input length are
// sampled from SourceFile by the tokenizer, each is asked for each output
// length RequestsPerCombination times, and one run sends them all. Unlike
// LLMeter (defect D2), every combination is really sent exactly
// RequestsPerCombination times, whatever the number of clients.
type LatencyHeatmap struct {
	Endpoint   llmeter.Endpoint // required
	SourceFile string           // required: the text prompts are sampled from
	// CreatePayload builds a request from a prompt and an output length; it
	// is the endpoint package's create-payload helper. Required.
	CreatePayload prompt.CreatePayload
	// Clients default 4; InputLengths default 10, 50, 200, 500;
	// OutputLengths default 128, 256, 512, 1024; RequestsPerCombination
	// default 1 (LLMeter's defaults).
	Clients                int
	InputLengths           []int
	OutputLengths          []int
	RequestsPerCombination int
	// OutputPath is the run folder (written directly there, as LLMeter
	// does); empty writes nothing.
	OutputPath     string
	RunDescription string
	Tokenizer      llmeter.Tokenizer // samples prompts and counts tokens; default Dummy
	Callbacks      []llmeter.Callback
	Timeout        time.Duration
	GracePeriod    time.Duration
	OnProgress     func(llmeter.Progress)
	// Configure, if set, adjusts every Runner the experiment builds before
	// it runs (connect, first-token and idle timeouts, retries, …).
	Configure func(*llmeter.Runner)
}

// Cell is one combination of the heatmap and what was measured for it.
type Cell struct {
	InputLength  int // target input tokens
	OutputLength int // max output tokens asked for
	PromptTokens int // tokens of the prompt sent, by the tokenizer
	Requests     int
	Failed       int
	// Means over the successful responses (nil when there are none or the
	// value was not measured).
	InputTokens  *float64 // measured input tokens (usage, else tokenizer)
	OutputTokens *float64 // measured output tokens
	TTFT         *float64 // seconds
	TTLT         *float64 // seconds
	// Stats holds "<metric>-average" and "-p50", "-p90", "-p99" of
	// num_tokens_input, num_tokens_output, time_to_first_token and
	// time_to_last_token over the successful responses.
	Stats     *llmeter.Stats
	Responses []*llmeter.InvocationResponse
}

// HeatmapResult is the outcome of a LatencyHeatmap.
type HeatmapResult struct {
	Result *llmeter.Result
	Cells  []Cell // input length major, in the order of the lengths given
}

// Cell returns the cell of an input and output length.
func (h *HeatmapResult) Cell(in, out int) (*Cell, bool) {
	for i := range h.Cells {
		if h.Cells[i].InputLength == in && h.Cells[i].OutputLength == out {
			return &h.Cells[i], true
		}
	}
	return nil, false
}

// Run samples the prompts, sends every combination and groups the responses
// by combination.
func (lh *LatencyHeatmap) Run(ctx context.Context) (*HeatmapResult, error) {
	if lh.Endpoint == nil || lh.CreatePayload == nil || lh.SourceFile == "" {
		return nil, errors.New("experiment: heatmap: Endpoint, CreatePayload and SourceFile are required")
	}
	ins, outs := lh.InputLengths, lh.OutputLengths
	if len(ins) == 0 {
		ins = []int{10, 50, 200, 500}
	}
	if len(outs) == 0 {
		outs = []int{128, 256, 512, 1024}
	}
	clients := lh.Clients
	if clients == 0 {
		clients = 4
	}
	coll := &prompt.PromptCollection{
		InputLengths: ins, OutputLengths: outs, SourceFile: lh.SourceFile,
		RequestsPerCombination: lh.RequestsPerCombination, Tokenizer: lh.Tokenizer,
	}
	samples, err := coll.Create()
	if err != nil {
		return nil, fmt.Errorf("experiment: heatmap: %w", err)
	}
	payloads := make([]llmeter.Payload, len(samples))
	for i, s := range samples {
		if payloads[i], err = lh.CreatePayload(s.Text, s.OutputLength); err != nil {
			return nil, fmt.Errorf("experiment: heatmap: create payload (input %d, output %d): %w", s.InputLength, s.OutputLength, err)
		}
	}
	r := &llmeter.Runner{
		Endpoint:       lh.Endpoint,
		Tokenizer:      lh.Tokenizer,
		Clients:        clients,
		TotalRequests:  len(payloads),
		Payloads:       payloads,
		RunDescription: lh.RunDescription,
		Timeout:        lh.Timeout,
		GracePeriod:    lh.GracePeriod,
		Callbacks:      lh.Callbacks,
		OnProgress:     lh.OnProgress,
	}
	if lh.OutputPath != "" {
		r.OutputPath, r.RunName = llmeter.SplitPath(lh.OutputPath)
	}
	if lh.Configure != nil {
		lh.Configure(r)
	}
	res, err := r.Run(ctx)
	if res == nil {
		return nil, err
	}
	return &HeatmapResult{Result: res, Cells: cells(ins, outs, samples, res.Responses)}, err
}

// cells groups responses by the combination of their payload.
func cells(ins, outs []int, samples []prompt.Sample, resps []*llmeter.InvocationResponse) []Cell {
	var out []Cell
	index := map[[2]int]int{}
	for _, in := range ins {
		for _, o := range outs {
			index[[2]int{in, o}] = len(out)
			out = append(out, Cell{InputLength: in, OutputLength: o})
		}
	}
	for _, s := range samples {
		out[index[[2]int{s.InputLength, s.OutputLength}]].PromptTokens = s.Tokens
	}
	for _, r := range resps {
		if r.PayloadIndex == nil || *r.PayloadIndex >= len(samples) {
			continue
		}
		s := samples[*r.PayloadIndex]
		c := &out[index[[2]int{s.InputLength, s.OutputLength}]]
		c.Requests++
		c.Responses = append(c.Responses, r)
		if r.Failed() {
			c.Failed++
		}
	}
	for i := range out {
		c := &out[i]
		c.Stats = llmeter.NewStats()
		c.InputTokens = summarize(c, "num_tokens_input", true, func(r *llmeter.InvocationResponse) *float64 { return intF(r.NumTokensInput) })
		c.OutputTokens = summarize(c, "num_tokens_output", true, func(r *llmeter.InvocationResponse) *float64 { return intF(r.NumTokensOutput) })
		c.TTFT = summarize(c, "time_to_first_token", false, func(r *llmeter.InvocationResponse) *float64 { return r.TimeToFirstToken })
		c.TTLT = summarize(c, "time_to_last_token", false, func(r *llmeter.InvocationResponse) *float64 { return r.TimeToLastToken })
	}
	return out
}

func intF(p *int) *float64 {
	if p == nil {
		return nil
	}
	f := float64(*p)
	return &f
}

// summarize adds the average and percentiles of a value over the cell's
// successful responses to its Stats, and returns the mean (nil if none).
func summarize(c *Cell, name string, integers bool, get func(*llmeter.InvocationResponse) *float64) *float64 {
	s := llmeter.NewSample(integers)
	for _, r := range c.Responses {
		if v := get(r); v != nil && !r.Failed() {
			s.Add(*v)
		}
	}
	if s.Len() == 0 {
		return nil
	}
	s.Summary(c.Stats, name, llmeter.DefaultPercentiles)
	m, _ := c.Stats.Float(name + "-average")
	return &m
}
