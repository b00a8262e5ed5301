package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/llmeter-go/llmeter"
)

// OpenLoop is what the open-loop experiments (Sweep, CapacitySearch) share:
// the endpoint, the requests and how each level or probe runs.
type OpenLoop struct {
	Endpoint    llmeter.Endpoint // required
	Payloads    []llmeter.Payload
	PayloadPath string
	// Arrival is the template of every level's arrivals; its Rate is set
	// by the experiment (Process, Burstiness, MaxInFlight, QueueAtCap and
	// Seed are kept). Nil: constant arrivals.
	Arrival *llmeter.Arrival
	// Duration of each level (default 30 s), after Warmup.
	Duration time.Duration
	Warmup   time.Duration
	// OutputPath/TestName is the experiment's folder; empty OutputPath
	// writes nothing.
	OutputPath     string
	TestName       string
	RunDescription string
	Tokenizer      llmeter.Tokenizer
	Callbacks      []llmeter.Callback
	GoodputSLOs    []llmeter.SLO
	LowMemory      bool
	Timeout        time.Duration
	GracePeriod    time.Duration
	OnProgress     func(llmeter.Progress)
	// Configure, if set, adjusts every Runner the experiment builds before
	// it runs (connect, first-token and idle timeouts, retries, …).
	Configure func(*llmeter.Runner)
}

// RateLevelName is the run name of a level at a rate: "rate-0012.5".
func RateLevelName(rate float64) string {
	s := strconv.FormatFloat(rate, 'f', -1, 64)
	i, frac, _ := strings.Cut(s, ".")
	for len(i) < 5 {
		i = "0" + i
	}
	if frac != "" {
		return "rate-" + i + "." + frac
	}
	return "rate-" + i
}

func (o *OpenLoop) validate() error {
	if o.Endpoint == nil {
		return errors.New("experiment: no endpoint")
	}
	if len(o.Payloads) == 0 {
		if o.PayloadPath == "" {
			return errors.New("experiment: no payload")
		}
		ps, err := llmeter.LoadPayloads(o.PayloadPath)
		if err != nil {
			return err
		}
		o.Payloads = ps
	}
	if o.Duration == 0 {
		o.Duration = 30 * time.Second
	}
	if o.Duration < 0 || o.Warmup < 0 {
		return errors.New("experiment: durations must be positive")
	}
	if o.TestName == "" {
		o.TestName = time.Now().Format("20060102-1504")
	}
	return nil
}

// folder is the experiment's folder ("" when nothing is written).
func (o *OpenLoop) folder() string {
	if o.OutputPath == "" {
		return ""
	}
	return llmeter.JoinPath(o.OutputPath, o.TestName)
}

// runAt runs one level at rate.
func (o *OpenLoop) runAt(ctx context.Context, rate float64) (*llmeter.Result, error) {
	a := llmeter.Arrival{}
	if o.Arrival != nil {
		a = *o.Arrival
	}
	a.Rate = rate
	a.RampTo, a.RampDuration = 0, 0
	r := &llmeter.Runner{
		Endpoint:       o.Endpoint,
		OutputPath:     o.folder(),
		RunName:        RateLevelName(rate),
		Tokenizer:      o.Tokenizer,
		Payloads:       o.Payloads,
		Arrival:        &a,
		RunDuration:    o.Warmup + o.Duration,
		Warmup:         o.Warmup,
		RunDescription: o.RunDescription,
		Callbacks:      o.Callbacks,
		GoodputSLOs:    o.GoodputSLOs,
		LowMemory:      o.LowMemory,
		Timeout:        o.Timeout,
		GracePeriod:    o.GracePeriod,
		OnProgress:     o.OnProgress,
	}
	if o.Configure != nil {
		o.Configure(r)
	}
	return r.Run(ctx)
}

// Sweep runs the same requests open-loop at a sequence of arrival rates,
// one run per rate in OutputPath/TestName/rate-NNNNN (a LoadTest over rates).
type Sweep struct {
	OpenLoop
	Rates []float64 // requests per second, in order; required
	// StopIf ends the sweep after a level that passes one of the limits.
	StopIf []Limit
	// OnLevel, if set, is called before each level (counting from 1).
	OnLevel func(level, levels int, rate float64)
}

// SweepResult is the outcome of a Sweep.
type SweepResult struct {
	Rates      []float64 // the rates run, in order
	Results    map[float64]*llmeter.Result
	TestName   string
	OutputPath string
	StoppedBy  string
}

// Run runs every level in order; see LoadTest.Run for errors and
// cancellation.
func (s *Sweep) Run(ctx context.Context) (*SweepResult, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if len(s.Rates) == 0 {
		return nil, errors.New("experiment: sweep: no rates")
	}
	for _, r := range s.Rates {
		if !(r > 0) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("experiment: sweep: rates must be positive, got %v", r)
		}
	}
	out := &SweepResult{Results: map[float64]*llmeter.Result{}, TestName: s.TestName, OutputPath: s.folder()}
	for i, rate := range s.Rates {
		if err := ctx.Err(); err != nil {
			out.StoppedBy = err.Error()
			return out, nil
		}
		if s.OnLevel != nil {
			s.OnLevel(i+1, len(s.Rates), rate)
		}
		res, err := s.runAt(ctx, rate)
		if res != nil {
			out.Results[rate] = res
			out.Rates = append(out.Rates, rate)
		}
		if err != nil {
			return out, fmt.Errorf("experiment: sweep: rate %v: %w", rate, err)
		}
		if res.Interrupted {
			out.StoppedBy = "interrupted"
			return out, nil
		}
		if l, v, ok := passed(res, s.StopIf); ok && i < len(s.Rates)-1 {
			out.StoppedBy = fmt.Sprintf("%v requests/s: %s = %g > %g", rate, l.Stat, v, l.Max)
			return out, nil
		}
	}
	return out, nil
}
