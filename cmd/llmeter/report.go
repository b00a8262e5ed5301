package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/experiment"
	"github.com/llmeter-go/llmeter/report"
)

type reportFlags struct {
	json, lazy, recompute, heatmap bool
	html, png                      string
}

func newReportCmd(e *env) *cobra.Command {
	f := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Print the statistics of a run folder",
		Long: `Print the statistics of a run folder, written by "llmeter run" or by Python
LLMeter (Runner with an output_path), as a table grouped like LLMeter's live
display (Throughput, TTFT, TTLT, TPOT, Tokens, Errors), or as JSON.

By default the statistics are recomputed from responses.jsonl (--recompute),
keeping what only stats.json knows (callback statistics, "interrupted"); with
--lazy they are stats.json as stored. A folder without summary.json (a run
that was killed) is recovered from responses.jsonl. Problems that do not stop
the report, such as a torn last line, are printed on stderr as warnings.`,
		Example: `  # The table
  llmeter report llmeter-runs/20260101-120000

  # The statistics as JSON, as stored by the run
  llmeter report llmeter-runs/20260101-120000 --json --lazy

  # One figure, with jq
  llmeter report results/run1 --json | jq '."time_to_first_token-p90"'

  # Charts: one HTML file that opens offline, or PNG files; a load test folder too
  llmeter report results/run1 --html run1.html
  llmeter report llmeter-runs/my-loadtest --png charts/

  # The heatmaps of a run written by "llmeter heatmap"
  llmeter report llmeter-runs/heatmap --heatmap --png charts/`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: runE(func(cmd *cobra.Command, args []string) error { return f.run(cmd, e, args[0]) }),
	}
	fs := cmd.Flags()
	fs.BoolVar(&f.json, "json", false, "print the statistics as JSON")
	fs.BoolVar(&f.recompute, "recompute", true, "recompute the statistics from responses.jsonl")
	fs.BoolVar(&f.lazy, "lazy", false, "use stats.json as stored (same as --recompute=false)")
	fs.StringVar(&f.html, "html", "", "write the charts and statistics as one self-contained HTML `file` (a run or a load test folder)")
	fs.StringVar(&f.png, "png", "", "write every chart as a PNG into this `folder`")
	fs.BoolVar(&f.heatmap, "heatmap", false, "chart the run as a latency heatmap (time to first and last token over input × output tokens)")
	return cmd
}

func (f *reportFlags) run(cmd *cobra.Command, e *env, dir string) error {
	if cmd.Flags().Changed("lazy") && cmd.Flags().Changed("recompute") {
		return usageErrorf("give --lazy or --recompute, not both")
	}
	if f.html != "" || f.png != "" {
		return f.charts(e, dir)
	}
	res, err := llmeter.LoadResult(dir, llmeter.LoadOptions{
		SkipResponses: f.lazy || !f.recompute,
		Warn:          func(msg string) { e.con.Printf("warning: %s\n", msg) },
	})
	if err != nil {
		return err
	}
	st := res.Stats()
	if f.json {
		b, err := statsJSON(st)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(b)
		return err
	}
	writeSummary(e.stdout, st)
	return nil
}

// charts writes the HTML report and/or the PNG charts of a folder.
func (f *reportFlags) charts(e *env, dir string) error {
	warn := func(msg string) { e.con.Printf("warning: %s\n", msg) }
	var r *report.Report
	if f.heatmap {
		res, err := llmeter.LoadResult(dir, llmeter.LoadOptions{Warn: warn})
		if err != nil {
			return err
		}
		r = report.Heatmap(&experiment.HeatmapResult{Result: res}, 10, 10)
	} else {
		var err error
		if r, err = loadForReport(dir, warn); err != nil {
			return err
		}
	}
	if f.html != "" {
		if err := writeHTML(r, f.html); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Report: %s\n", f.html)
	}
	if f.png != "" {
		files, err := r.WritePNGs(f.png)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d charts in %s\n", len(files), f.png)
	}
	return nil
}
