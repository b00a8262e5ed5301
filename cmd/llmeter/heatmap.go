package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/experiment"
	"github.com/llmeter-go/llmeter/report"
)

type heatmapFlags struct {
	endpointFlags
	callbackFlags
	timeoutFlags
	source                  string
	inputs, outputs         string
	perCombination, clients int
	timeout, grace          time.Duration
	output, runName, descr  string
	json, quiet, report     bool
}

func newHeatmapCmd(e *env) *cobra.Command {
	f := &heatmapFlags{}
	cmd := &cobra.Command{
		Use:   "heatmap",
		Short: "Measure latency over a grid of input and output lengths",
		Long: `Measure latency over a grid of input lengths × output lengths (LLMeter's
LatencyHeatmap): for each input length L a prompt of the first L tokens of
--source is made, and asked for each output length (as max_tokens) 
--requests-per-combination times. Every combination is sent exactly that many
times, by --clients concurrent clients, in one run saved in one folder.

The endpoint flags are those of "llmeter run"; without a destination the
requests go to the built-in simulator. Prompts are cut, and tokens the API
does not report are counted, by --tokenizer (default: words).`,
		Example: `  # Against the simulator, from a text file of your own
  llmeter heatmap --source book.txt --input-lengths 10,100,1000 --output-lengths 16,128

  # An OpenAI-compatible server, 3 requests per cell, JSON for a script
  llmeter heatmap --base-url http://localhost:8000/v1 --model m --source book.txt \
      --requests-per-combination 3 --json > heatmap.json`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) }),
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	f.endpointFlags.register(cmd, fs)
	fs.StringVar(&f.source, "source", "", "text `file` the prompts are taken from (required)")
	fs.StringVar(&f.inputs, "input-lengths", "10,50,200,500", "prompt lengths in tokens")
	fs.StringVar(&f.outputs, "output-lengths", "128,256,512,1024", "output lengths (max_tokens)")
	fs.IntVar(&f.perCombination, "requests-per-combination", 1, "requests for each input × output length")
	fs.IntVar(&f.clients, "clients", 4, "number of concurrent clients")
	fs.DurationVar(&f.timeout, "timeout", llmeter.DefaultTimeout, "timeout of each request")
	fs.DurationVar(&f.grace, "grace", llmeter.DefaultGracePeriod, "on Ctrl-C, how long requests in flight may still finish")
	fs.StringVar(&f.output, "output", "", "run `folder` to write (default ./"+defaultOutputDir+"/<run name>); must not exist")
	fs.StringVar(&f.runName, "run-name", "", "run name (default heatmap-YYYYMMDD-HHMMSS)")
	fs.StringVar(&f.descr, "description", "", "run description, saved in the results")
	f.callbackFlags.register(fs)
	f.timeoutFlags.register(fs)
	fs.BoolVar(&f.report, "report", false, "also write report.html (the TTFT and TTLT heatmaps) into the run folder")
	fs.BoolVar(&f.json, "json", false, "print the cells as JSON on stdout, and nothing else")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress and no notes on stderr (errors and warnings still)")
	cmd.MarkFlagFilename("source")
	cmd.MarkFlagDirname("output")
	return cmd
}

func (f *heatmapFlags) run(cmd *cobra.Command, e *env) error {
	if f.source == "" {
		return usageErrorf("--source is required: a text file to take the prompts from")
	}
	ins, err := parseInts("input-lengths", f.inputs)
	if err != nil {
		return err
	}
	outs, err := parseInts("output-lengths", f.outputs)
	if err != nil {
		return err
	}
	switch {
	case f.perCombination < 1:
		return usageErrorf("--requests-per-combination must be at least 1, got %d", f.perCombination)
	case f.clients < 1:
		return usageErrorf("--clients must be at least 1, got %d", f.clients)
	case f.timeout <= 0:
		return usageErrorf("--timeout must be positive, got %v", f.timeout)
	case f.grace < 0:
		return usageErrorf("--grace must not be negative, got %v", f.grace)
	}
	if !fileExists(f.source) {
		return usageErrorf("--source %s: no such file", f.source)
	}
	t, err := f.endpointFlags.check(cmd, e)
	if err != nil {
		return err
	}
	if err := f.callbackFlags.check(e); err != nil {
		return err
	}
	if t.saved != nil {
		return usageErrorf("heatmap builds its requests with the endpoint type's payload builder: use --endpoint, not --endpoint-config")
	}
	name := f.runName
	if name == "" {
		name = "heatmap-" + time.Now().Format("20060102-150405")
	}
	dir, err := outputFolder(f.output, name, "run-name")
	if err != nil {
		return err
	}
	con := e.con
	ep, _, _, closeSim, err := t.open(f.clients, func(format string, a ...any) { con.Printf(format, a...) })
	if err != nil {
		return err
	}
	defer closeSim()
	extra, err := f.callbackFlags.callbacks(e, ep)
	if err != nil {
		return err
	}
	sess := newSession(cmd.Context(), e, f.quiet)
	defer sess.close()
	sess.setFolder(dir)
	grace := f.grace
	if grace == 0 {
		grace = time.Nanosecond
	}
	header := []string{fmt.Sprintf("Heatmap: %d input × %d output lengths × %d", len(ins), len(outs), f.perCombination)}
	lh := &experiment.LatencyHeatmap{
		Configure:  f.timeoutFlags.apply,
		Endpoint:   ep,
		Tokenizer:  t.tokenizer,
		SourceFile: f.source,
		CreatePayload: func(text string, maxTokens int) (llmeter.Payload, error) {
			return t.spec.payload(text, maxTokens, t.stream)
		},
		Clients:                f.clients,
		InputLengths:           ins,
		OutputLengths:          outs,
		RequestsPerCombination: f.perCombination,
		OutputPath:             dir,
		Callbacks:              extra,
		RunDescription:         f.descr,
		Timeout:                f.timeout,
		GracePeriod:            grace,
		OnProgress:             sess.onProgress(func() []string { return header }, true),
	}
	res, err := lh.Run(sess.ctx)
	if res == nil {
		return err
	}
	if f.json {
		if err := writeHeatmapJSON(e, res); err != nil {
			return err
		}
	} else {
		writeHeatmapSummary(e, res, ins, outs)
	}
	if err != nil {
		return err
	}
	if f.report {
		if err := saveReport(e, report.Heatmap(res, 10, 10), dir); err != nil {
			return err
		}
	}
	if sess.interrupted() {
		con.Printf("Heatmap interrupted; partial results saved to %s\n", dir)
		return &exitError{code: exitInterrupted}
	}
	if !f.json {
		fmt.Fprintf(e.stdout, "\nResults saved to %s\n", dir)
	} else if !f.quiet {
		con.Printf("Results saved to %s\n", dir)
	}
	return nil
}

// writeHeatmapSummary prints the mean TTFT and TTLT of every cell as two
// grids, input lengths down, output lengths across.
func writeHeatmapSummary(e *env, res *experiment.HeatmapResult, ins, outs []int) {
	grid := func(title string, get func(c *experiment.Cell) *float64, key string) {
		fmt.Fprintf(e.stdout, "%s (input tokens down, max output tokens across)\n", title)
		t := &table{right: []bool{true}}
		head := []string{"in \\ out"}
		for _, o := range outs {
			head = append(head, strconv.Itoa(o))
			t.right = append(t.right, true)
		}
		t.rows = append(t.rows, head)
		for _, in := range ins {
			row := []string{strconv.Itoa(in)}
			for _, o := range outs {
				c, _ := res.Cell(in, o)
				if v := get(c); v != nil {
					row = append(row, formatStat(key, *v))
				} else {
					row = append(row, "-")
				}
			}
			t.rows = append(t.rows, row)
		}
		t.write(e.stdout, "")
		fmt.Fprintln(e.stdout)
	}
	grid("Mean time to first token", func(c *experiment.Cell) *float64 { return c.TTFT }, llmeter.MetricTTFT+"-average")
	grid("Mean time to last token", func(c *experiment.Cell) *float64 { return c.TTLT }, llmeter.MetricTTLT+"-average")
	grid("Mean output tokens", func(c *experiment.Cell) *float64 { return c.OutputTokens }, "num_tokens_output-average")
	failed := 0
	for _, c := range res.Cells {
		failed += c.Failed
	}
	fmt.Fprintf(e.stdout, "%d requests, %d failed\n", res.Result.TotalRequests, failed)
}

// writeHeatmapJSON prints {"cells": [{input_length, output_length,
// prompt_tokens, requests, failed, stats}, ...]}.
func writeHeatmapJSON(e *env, res *experiment.HeatmapResult) error {
	type cell struct {
		InputLength  int             `json:"input_length"`
		OutputLength int             `json:"output_length"`
		PromptTokens int             `json:"prompt_tokens"`
		Requests     int             `json:"requests"`
		Failed       int             `json:"failed"`
		Stats        json.RawMessage `json:"stats"`
	}
	out := struct {
		OutputPath string `json:"output_path"`
		Cells      []cell `json:"cells"`
	}{OutputPath: res.Result.OutputPath}
	for _, c := range res.Cells {
		b, err := llmeter.MarshalJSONValue(c.Stats)
		if err != nil {
			return err
		}
		out.Cells = append(out.Cells, cell{c.InputLength, c.OutputLength, c.PromptTokens, c.Requests, c.Failed, b})
	}
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	e.stdout.Write(append(b, '\n'))
	return nil
}
