package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/experiment"
)

type capacityFlags struct {
	openLoopCmdFlags
	slos             []string
	minRate, maxRate float64
	tolerance        float64
	maxProbes        int
}

func newCapacityCmd(e *env) *cobra.Command {
	f := &capacityFlags{}
	cmd := &cobra.Command{
		Use:   "capacity",
		Short: "Find the highest arrival rate that meets your SLOs",
		Long: `Find the capacity of a service: the highest open-loop arrival rate at which
every --slo holds. Probes run for --duration each (after --warmup), first at
--min-rate and --max-rate, then halving the bracket between the highest rate
that passed and the lowest that failed until it is narrower than --tolerance.
Each probe is a run folder <test folder>/rate-NNNNN.

An SLO is METRIC.pN<VALUE or METRIC.avg<VALUE on the run's statistics, where
METRIC is ttft, ttlt, tpot, itl, ttft_from_schedule, ttlt_from_schedule,
lag, or any statistic's name (failed_requests_rate<0.01, goodput_rate>0.95).
Times take units: 500ms, 2s.`,
		Example: `  # The simulator serves 8 requests at once in about 100 ms each: ~80/s
  llmeter capacity --sim-capacity 8 --sim-ttft 50ms --sim-itl 5ms --sim-tokens 10 \
      --slo 'ttft.p90<100ms' --min-rate 10 --max-rate 200 --duration 10s

  # A server: p90 TTFT under 500 ms and p90 TPOT under 50 ms, Poisson arrivals
  llmeter capacity --base-url http://localhost:8000/v1 --model m --arrival poisson \
      --slo 'ttft.p90<500ms' --slo 'tpot.p90<50ms' --min-rate 1 --max-rate 100`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) }),
	}
	f.openLoopCmdFlags.register(cmd)
	fs := cmd.Flags()
	fs.StringArrayVar(&f.slos, "slo", nil, "objective every passing probe meets, e.g. 'ttft.p90<500ms' (repeatable; required)")
	fs.Float64Var(&f.minRate, "min-rate", 1, "lowest rate to probe, requests per second")
	fs.Float64Var(&f.maxRate, "max-rate", 100, "highest rate to probe, requests per second")
	fs.Float64Var(&f.tolerance, "tolerance", 0.05, "stop when the bracket is narrower than this fraction of the capacity")
	fs.IntVar(&f.maxProbes, "max-probes", 20, "at most this many probes")
	return cmd
}

func (f *capacityFlags) run(cmd *cobra.Command, e *env) error {
	if len(f.slos) == 0 {
		return usageErrorf("--slo is required, e.g. --slo 'ttft.p90<500ms'")
	}
	var slos []llmeter.SLO
	for _, s := range f.slos {
		o, err := llmeter.ParseSLO(s)
		if err != nil {
			return usageErrorf("--slo: %v", err)
		}
		slos = append(slos, o)
	}
	switch {
	case !(f.minRate > 0) || !(f.maxRate > f.minRate):
		return usageErrorf("want 0 < --min-rate < --max-rate, got %v and %v", f.minRate, f.maxRate)
	case !(f.tolerance > 0):
		return usageErrorf("--tolerance must be positive, got %v", f.tolerance)
	case f.maxProbes < 2:
		return usageErrorf("--max-probes must be at least 2, got %d", f.maxProbes)
	}
	p, err := f.prepare(cmd, e, "capacity")
	if err != nil {
		return err
	}
	defer p.done()
	cs := &experiment.CapacitySearch{OpenLoop: p.ol, SLOs: slos, MinRate: f.minRate, MaxRate: f.maxRate,
		Tolerance: f.tolerance, MaxProbes: f.maxProbes}
	cs.OnProbe = func(n int, rate float64) {
		p.headers = []string{fmt.Sprintf("Capacity %s: probe %d at %v requests/s", llmeter.BasePath(p.dir), n, rate)}
		p.sess.setFolder(llmeter.JoinPath(p.dir, experiment.RateLevelName(rate)))
	}
	cs.Callbacks = append(cs.Callbacks, afterRun(func(r *llmeter.Result) {
		rate, _ := r.Stats().Float("asked_rate")
		verdict := "pass"
		var failed []string
		for _, o := range slos {
			if _, _, ok := o.Check(r); !ok {
				failed = append(failed, o.String())
			}
		}
		if len(failed) > 0 {
			verdict = "fail (" + strings.Join(failed, ", ") + ")"
		}
		p.levelDone(fmt.Sprintf("%v/s %s", rate, verdict), r)
	}))
	res, err := cs.Run(p.sess.ctx)
	if res == nil {
		return err
	}
	if f.json {
		if err := writeCapacityJSON(e, res); err != nil {
			return err
		}
	} else {
		writeCapacity(e, res, slos, f.minRate, f.maxRate)
	}
	if err != nil {
		return err
	}
	return f.finish(e, p, res.StoppedBy, "Capacity search")
}

func writeCapacity(e *env, res *experiment.CapacityResult, slos []llmeter.SLO, minRate, maxRate float64) {
	fmt.Fprintf(e.stdout, "Capacity search %s\n\n", res.TestName)
	t := &table{right: []bool{true, false}}
	head := []string{"rate/s", "result"}
	for _, o := range slos {
		head = append(head, o.String())
		t.right = append(t.right, true)
	}
	head = append(head, "achieved/s")
	t.right = append(t.right, true)
	t.rows = append(t.rows, head)
	for _, pr := range res.Bracket() {
		verdict := "pass"
		if !pr.Pass {
			verdict = "fail"
		}
		row := []string{strconv.FormatFloat(pr.Rate, 'f', -1, 64), verdict}
		for _, o := range slos {
			if v, ok := pr.Values[o.String()]; ok {
				row = append(row, formatStat(o.StatKey(), v))
			} else {
				row = append(row, "-")
			}
		}
		if v, ok := pr.Result.Stats().Float("achieved_rate"); ok {
			row = append(row, strconv.FormatFloat(v, 'f', 2, 64))
		} else {
			row = append(row, "-")
		}
		t.rows = append(t.rows, row)
	}
	t.write(e.stdout, "")
	fmt.Fprintln(e.stdout)
	switch {
	case res.Capacity == 0:
		fmt.Fprintf(e.stdout, "Capacity: below %v requests/s (the lowest rate probed failed)\n", minRate)
	case res.Fail == nil:
		fmt.Fprintf(e.stdout, "Capacity: at least %v requests/s (the highest rate probed passed)\n", maxRate)
	default:
		state := "within the tolerance"
		if !res.Converged {
			state = "not converged: out of probes"
		}
		fmt.Fprintf(e.stdout, "Capacity: %v requests/s (%v failed; %s)\n", res.Capacity, res.Fail.Rate, state)
	}
}

func writeCapacityJSON(e *env, res *experiment.CapacityResult) error {
	type probe struct {
		Rate   float64            `json:"rate"`
		Pass   bool               `json:"pass"`
		Values map[string]float64 `json:"values"`
		Failed []string           `json:"failed,omitempty"`
		Folder string             `json:"folder,omitempty"`
	}
	out := struct {
		TestName   string   `json:"test_name"`
		OutputPath string   `json:"output_path"`
		Capacity   float64  `json:"capacity"`
		FailedAt   *float64 `json:"failed_at"`
		Converged  bool     `json:"converged"`
		Probes     []probe  `json:"probes"`
	}{TestName: res.TestName, OutputPath: res.OutputPath, Capacity: res.Capacity, Converged: res.Converged}
	if res.Fail != nil {
		out.FailedAt = &res.Fail.Rate
	}
	ps := res.Bracket()
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Rate < ps[j].Rate })
	for _, p := range ps {
		out.Probes = append(out.Probes, probe{p.Rate, p.Pass, p.Values, p.Failed, p.Result.OutputPath})
	}
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	e.stdout.Write(append(b, '\n'))
	return nil
}
