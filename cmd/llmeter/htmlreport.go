package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/experiment"
	"github.com/llmeter-go/llmeter/report"
)

// reportFile is the HTML report written into a results folder by --report.
const reportFile = "report.html"

// writeHTML writes a report to a local path or a URL, atomically.
func writeHTML(r *report.Report, path string) error {
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		return err
	}
	return llmeter.WriteFile(context.Background(), path, b.Bytes())
}

// saveReport writes the HTML report of a finished command into its folder
// and says where.
func saveReport(e *env, r *report.Report, dir string) error {
	if dir == "" {
		return nil
	}
	path := llmeter.JoinPath(dir, reportFile)
	if err := writeHTML(r, path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	e.con.Printf("Report: %s\n", path)
	return nil
}

// loadForReport loads a run folder or a load test folder (one run per
// subfolder) and builds its report.
func loadForReport(dir string, warn func(string)) (*report.Report, error) {
	opts := llmeter.LoadOptions{Warn: warn}
	if llmeter.IsRunFolder(dir) {
		res, err := llmeter.LoadResult(dir, opts)
		if err != nil {
			return nil, err
		}
		return report.Run(res), nil
	}
	lt, err := experiment.LoadLoadTest(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a run folder nor a load test folder: %w", dir, err)
	}
	return report.LoadTest(lt), nil
}

type compareFlags struct {
	html string
	json bool
	seed uint64
}

func newCompareCmd(e *env) *cobra.Command {
	f := &compareFlags{}
	cmd := &cobra.Command{
		Use:   "compare BASELINE RUN...",
		Short: "Compare runs with a baseline: percentiles, confidence intervals, verdicts",
		Long: `Compare the latency percentiles (p50, p90, p99 of time to first token, time to
last token and time per output token) of one or more runs with the first one,
the baseline. Each difference gets a 95% bootstrap confidence interval and a
verdict: faster, slower, or no significant difference. Percentiles from too
few samples are flagged (p90 under 50, p99 under 500: LLMeter's rule of
thumb). --html writes the comparison with overlaid distributions.`,
		Example: `  llmeter compare llmeter-runs/before llmeter-runs/after
  llmeter compare base new --html compare.html`,
		Args: cobra.MinimumNArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error { return f.run(e, args) }),
	}
	cmd.Flags().StringVar(&f.html, "html", "", "write the comparison as an HTML `file`")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the comparison as JSON")
	cmd.Flags().Uint64Var(&f.seed, "seed", 0, "seed of the bootstrap")
	return cmd
}

func (f *compareFlags) run(e *env, dirs []string) error {
	var runs []*llmeter.Result
	for _, d := range dirs {
		res, err := llmeter.LoadResult(d, llmeter.LoadOptions{Warn: func(m string) { e.con.Printf("warning: %s\n", m) }})
		if err != nil {
			return err
		}
		runs = append(runs, res)
	}
	cmp, err := report.Compare(report.CompareOptions{Seed: f.seed}, runs...)
	if err != nil {
		return err
	}
	if f.html != "" {
		if err := writeHTML(report.CompareRuns(cmp, runs...), f.html); err != nil {
			return err
		}
		e.con.Printf("Report: %s\n", f.html)
	}
	if f.json {
		b, err := json.MarshalIndent(cmp, "", "    ")
		if err != nil {
			return err
		}
		e.stdout.Write(append(b, '\n'))
		return nil
	}
	fmt.Fprintf(e.stdout, "Baseline: %s\n", cmp.Baseline)
	for _, rc := range cmp.Runs {
		fmt.Fprintf(e.stdout, "\n%s\n", rc.Run)
		t := &table{right: []bool{false, true, true, true, false, false}}
		t.rows = append(t.rows, []string{"metric", "baseline", "this run", "difference (95% CI)", "verdict", ""})
		for _, m := range rc.Metrics {
			key := m.Metric + "-p" + strconv.Itoa(m.Percentile)
			t.rows = append(t.rows, []string{key, formatStat(key, m.Baseline.Value), formatStat(key, m.Candidate.Value),
				fmt.Sprintf("%s [%s, %s]", formatStat(key, m.Diff.Value), formatStat(key, m.Diff.Low), formatStat(key, m.Diff.High)),
				string(m.Verdict), m.Warning})
		}
		t.write(e.stdout, "  ")
	}
	return nil
}
