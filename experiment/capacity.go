package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/llmeter-go/llmeter"
)

// CapacitySearch finds the highest arrival rate at which every objective
// holds: it runs probes open-loop, first at MinRate and MaxRate, then
// bisects the bracket between the highest passing and the lowest failing
// rate until it is narrower than Tolerance (relative to the passing rate).
// Each probe is a run saved in OutputPath/TestName/rate-NNNNN.
type CapacitySearch struct {
	OpenLoop
	// SLOs are run-level objectives (e.g. ttft.p90<500ms,
	// failed_requests_rate<0.01); a probe passes when it meets all.
	// Required.
	SLOs             []llmeter.SLO
	MinRate, MaxRate float64 // requests per second; required
	// Tolerance is the width of the final bracket relative to its lower
	// end; default 0.05.
	Tolerance float64
	// MaxProbes bounds the number of runs; default 20.
	MaxProbes int
	// OnProbe, if set, is called before each probe.
	OnProbe func(probe int, rate float64)
}

// Probe is one run of a capacity search.
type Probe struct {
	Rate   float64
	Result *llmeter.Result
	Pass   bool
	// Values are the objectives' statistics, by SLO string.
	Values map[string]float64
	// Failed names the objectives not met.
	Failed []string
}

// CapacityResult is the outcome of a CapacitySearch.
type CapacityResult struct {
	// Capacity is the highest rate that passed (0 if none did).
	Capacity float64
	// Pass is the probe at Capacity; Fail the lowest failing probe above it
	// (nil if MaxRate passed: the capacity is at least MaxRate).
	Pass, Fail *Probe
	// Probes in the order they ran.
	Probes     []*Probe
	TestName   string
	OutputPath string
	// Converged is true when the bracket is narrower than the tolerance.
	Converged bool
	StoppedBy string
}

// Run runs the search.
func (c *CapacitySearch) Run(ctx context.Context) (*CapacityResult, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	switch {
	case len(c.SLOs) == 0:
		return nil, errors.New("experiment: capacity: no objectives")
	case !(c.MinRate > 0) || !(c.MaxRate > c.MinRate) || math.IsInf(c.MaxRate, 0):
		return nil, fmt.Errorf("experiment: capacity: want 0 < min rate < max rate, got %v and %v", c.MinRate, c.MaxRate)
	}
	tol := c.Tolerance
	if tol == 0 {
		tol = 0.05
	}
	if tol < 0 {
		return nil, errors.New("experiment: capacity: tolerance must be positive")
	}
	maxProbes := c.MaxProbes
	if maxProbes == 0 {
		maxProbes = 20
	}
	out := &CapacityResult{TestName: c.TestName, OutputPath: c.folder()}
	probe := func(rate float64) (*Probe, error) {
		if c.OnProbe != nil {
			c.OnProbe(len(out.Probes)+1, rate)
		}
		res, err := c.runAt(ctx, rate)
		if res == nil {
			return nil, err
		}
		p := &Probe{Rate: rate, Result: res, Pass: true, Values: map[string]float64{}}
		for _, o := range c.SLOs {
			v, found, ok := o.Check(res)
			if found {
				p.Values[o.String()] = v
			}
			if !ok {
				p.Pass = false
				p.Failed = append(p.Failed, o.String())
			}
		}
		out.Probes = append(out.Probes, p)
		if err != nil {
			return p, err
		}
		if res.Interrupted {
			return p, errStop
		}
		return p, nil
	}
	finish := func(err error) (*CapacityResult, error) {
		if errors.Is(err, errStop) {
			out.StoppedBy = "interrupted"
			return out, nil
		}
		return out, err
	}

	lo, err := probe(c.MinRate)
	if err != nil {
		return finish(err)
	}
	if !lo.Pass {
		out.Fail = lo
		return out, nil // the capacity is below MinRate
	}
	out.Pass, out.Capacity = lo, lo.Rate
	hi, err := probe(c.MaxRate)
	if err != nil {
		return finish(err)
	}
	if hi.Pass {
		out.Pass, out.Capacity = hi, hi.Rate
		return out, nil // at least MaxRate
	}
	out.Fail = hi
	for len(out.Probes) < maxProbes {
		if (out.Fail.Rate-out.Pass.Rate)/out.Pass.Rate <= tol {
			out.Converged = true
			break
		}
		mid := (out.Pass.Rate + out.Fail.Rate) / 2
		if out.Fail.Rate/out.Pass.Rate > 4 {
			mid = math.Sqrt(out.Pass.Rate * out.Fail.Rate) // wide bracket: halve it on a log scale
		}
		p, err := probe(roundRate(mid))
		if err != nil {
			return finish(err)
		}
		if p.Pass {
			out.Pass, out.Capacity = p, p.Rate
		} else {
			out.Fail = p
		}
	}
	if !out.Converged && (out.Fail.Rate-out.Pass.Rate)/out.Pass.Rate <= tol {
		out.Converged = true
	}
	return out, nil
}

var errStop = errors.New("stopped")

// roundRate keeps four significant digits, for readable folder names.
func roundRate(r float64) float64 {
	if r <= 0 {
		return r
	}
	scale := math.Pow(10, 3-math.Floor(math.Log10(r)))
	return math.Round(r*scale) / scale
}

// Bracket returns the probes sorted by rate.
func (r *CapacityResult) Bracket() []*Probe {
	ps := slices.Clone(r.Probes)
	slices.SortFunc(ps, func(a, b *Probe) int {
		switch {
		case a.Rate < b.Rate:
			return -1
		case a.Rate > b.Rate:
			return 1
		}
		return 0
	})
	return ps
}
