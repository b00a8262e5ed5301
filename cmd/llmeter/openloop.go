package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/llmeter-go/llmeter"
)

// arrivalFlags configure open-loop arrivals (all but the rate), warm-up,
// goodput and pass/fail thresholds; shared by run, sweep and capacity.
type arrivalFlags struct {
	arrival        string
	burstiness     float64
	maxInFlight    int
	queueAtCap     bool
	seed           uint64
	warmup         time.Duration
	warmupRequests int
	goodput        []string
	failOn         []string
}

func (f *arrivalFlags) register(fs *pflag.FlagSet, withFailOn bool) {
	fs.StringVar(&f.arrival, "arrival", llmeter.ArrivalConstant, "open loop: arrival process, constant, poisson or gamma")
	fs.Float64Var(&f.burstiness, "burstiness", 1, "open loop: gamma shape; 1 is Poisson, below 1 burstier")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 0, "open loop: at most this many requests in flight; requests due beyond it are not sent (0: no cap)")
	fs.BoolVar(&f.queueAtCap, "queue-at-cap", false, "open loop: requests due at the cap wait for a free slot instead (and are sent late)")
	fs.Uint64Var(&f.seed, "seed", 0, "open loop: seed of the arrival process")
	fs.DurationVar(&f.warmup, "warmup", 0, "leave requests sent in this first part of the run out of the statistics")
	fs.IntVar(&f.warmupRequests, "warmup-requests", 0, "leave the first N requests out of the statistics")
	fs.StringArrayVar(&f.goodput, "goodput", nil, "per-request objective for goodput, e.g. 'ttft<500ms' or 'tpot<50ms' (repeatable)")
	if withFailOn {
		fs.StringArrayVar(&f.failOn, "fail-on", nil, "exit with code 3 unless the run meets this objective, e.g. 'ttft.p99<1s' or 'failed_requests_rate<0.01' (repeatable)")
	}
}

// isOpenLoopFlag reports whether a flag only makes sense with a rate.
var openLoopOnly = []string{"arrival", "burstiness", "max-in-flight", "queue-at-cap", "seed"}

// parse validates the flags and returns the arrival template (Rate 0),
// the goodput objectives and the thresholds.
func (f *arrivalFlags) parse(cmd *cobra.Command, openLoop bool) (*llmeter.Arrival, []llmeter.SLO, []llmeter.SLO, error) {
	if !openLoop {
		for _, name := range openLoopOnly {
			if cmd.Flags().Changed(name) {
				return nil, nil, nil, usageErrorf("--%s is for open-loop runs: give --rate", name)
			}
		}
	}
	a := &llmeter.Arrival{Rate: 1, Process: f.arrival, Burstiness: f.burstiness, MaxInFlight: f.maxInFlight, QueueAtCap: f.queueAtCap, Seed: f.seed}
	if err := a.Validate(); err != nil {
		return nil, nil, nil, usageErrorf("%v", err)
	}
	if f.queueAtCap && f.maxInFlight == 0 {
		return nil, nil, nil, usageErrorf("--queue-at-cap needs --max-in-flight")
	}
	if f.warmup < 0 || f.warmupRequests < 0 {
		return nil, nil, nil, usageErrorf("--warmup and --warmup-requests must not be negative")
	}
	var goodput, failOn []llmeter.SLO
	for _, s := range f.goodput {
		o, err := llmeter.ParseSLO(s)
		if err != nil {
			return nil, nil, nil, usageErrorf("--goodput: %v", err)
		}
		if !o.PerRequest() {
			return nil, nil, nil, usageErrorf("--goodput %q: give a per-request objective, such as ttft<500ms (no percentile)", s)
		}
		goodput = append(goodput, o)
	}
	for _, s := range f.failOn {
		o, err := llmeter.ParseSLO(s)
		if err != nil {
			return nil, nil, nil, usageErrorf("--fail-on: %v", err)
		}
		failOn = append(failOn, o)
	}
	a.Rate = 0
	return a, goodput, failOn, nil
}

// checkThresholds prints each --fail-on objective with the run's value and
// returns an exit error when one is not met.
func checkThresholds(w io.Writer, res *llmeter.Result, slos []llmeter.SLO) error {
	if len(slos) == 0 {
		return nil
	}
	failed := 0
	fmt.Fprintln(w)
	for _, o := range slos {
		v, found, ok := o.Check(res)
		switch {
		case !found:
			failed++
			fmt.Fprintf(w, "FAIL  %s: the run has no %s\n", o, o.StatKey())
		case !ok:
			failed++
			fmt.Fprintf(w, "FAIL  %s: %s\n", o, formatStat(o.StatKey(), v))
		default:
			fmt.Fprintf(w, "ok    %s: %s\n", o, formatStat(o.StatKey(), v))
		}
	}
	if failed > 0 {
		return &exitError{code: exitThresholds, err: fmt.Errorf("%d of %d --fail-on objectives not met", failed, len(slos))}
	}
	return nil
}
