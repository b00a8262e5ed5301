package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/experiment"
	"github.com/llmeter-go/llmeter/internal/progress"
	"github.com/llmeter-go/llmeter/report"
)

type loadTestFlags struct {
	endpointFlags
	callbackFlags
	timeoutFlags
	prompt, payload          string
	maxTokens                int
	clients                  string
	minPerClient, minPerRun  int
	duration, timeout, grace time.Duration
	output, testName, descr  string
	stopIf                   []string
	lowMemory, json, quiet   bool
	report                   bool
}

func newLoadTestCmd(e *env) *cobra.Command {
	f := &loadTestFlags{}
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Run the same requests at increasing numbers of clients",
		Long: `Run a load test: one run per client count in --clients, in that order, each
saved in its own folder <test folder>/NNNNN-clients (LLMeter's LoadTest layout,
which "llmeter report" and Python LLMeter's LoadTestResult.load read).

Each level sends --min-requests-per-client requests per client, or more so
that the level sends at least --min-requests-per-run (LLMeter's rule), or
runs for --duration. --stop-if ends the test after a level whose statistics
pass a limit, since going further only burns quota.

The endpoint flags are those of "llmeter run"; without a destination the test
goes to the built-in simulator (--sim-capacity gives it a capacity to find).
Ctrl-C stops the level in progress, saves it and ends the test (exit code
130).`,
		Example: `  # Find the simulator's capacity: it serves 8 requests at once
  llmeter loadtest --sim-capacity 8 --clients 1,2,4,8,16,32

  # An OpenAI-compatible server, 30 s per level, stop when over 5% fail
  llmeter loadtest --base-url http://localhost:8000/v1 --model m --clients 1,8,32,128 \
      --duration 30s --stop-if 'failed_requests_rate>0.05'

  # The statistics of every level as JSON
  llmeter loadtest --clients 1,4 --json > levels.json`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) }),
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	f.endpointFlags.register(cmd, fs)
	fs.StringVar(&f.prompt, "prompt", defaultPrompt, "prompt `text` of the request (exclusive with --payload)")
	fs.IntVar(&f.maxTokens, "max-tokens", defaultMaxTokens, "max_tokens of the request built from --prompt")
	fs.StringVar(&f.payload, "payload", "", "request bodies: a .json/.jsonl `file` or a folder of them")
	fs.StringVar(&f.clients, "clients", "1,2,4,8,16,32", "client counts of the levels, in order")
	fs.IntVar(&f.minPerClient, "min-requests-per-client", experiment.DefaultMinRequestsPerClient, "requests per client in each level, at least")
	fs.IntVar(&f.minPerRun, "min-requests-per-run", experiment.DefaultMinRequestsPerRun, "requests per level, at least")
	fs.DurationVar(&f.duration, "duration", 0, "run each level for this long instead, e.g. 30s")
	fs.StringArrayVar(&f.stopIf, "stop-if", nil, "end the test after a level where `STAT>VALUE`, e.g. failed_requests_rate>0.05 or time_to_first_token-p90>2 (repeatable)")
	fs.DurationVar(&f.timeout, "timeout", llmeter.DefaultTimeout, "timeout of each request")
	fs.DurationVar(&f.grace, "grace", llmeter.DefaultGracePeriod, "on Ctrl-C, how long requests in flight may still finish")
	fs.StringVar(&f.output, "output", "", "test `folder` to write (default ./"+defaultOutputDir+"/<test name>); must not exist")
	fs.StringVar(&f.testName, "test-name", "", "test name (default the local time YYYYMMDD-HHMM)")
	fs.StringVar(&f.descr, "description", "", "description saved with every level")
	f.callbackFlags.register(fs)
	f.timeoutFlags.register(fs)
	fs.BoolVar(&f.report, "report", false, "also write report.html (the load test charts) into the test folder")
	fs.BoolVar(&f.lowMemory, "low-memory", false, "keep responses on disk only (the statistics are still exact)")
	fs.BoolVar(&f.json, "json", false, "print the statistics of every level as JSON on stdout, and nothing else")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress and no notes on stderr (errors and warnings still)")
	cmd.MarkFlagFilename("payload", "json", "jsonl")
	cmd.MarkFlagDirname("output")
	return cmd
}

// parseInts reads a comma-separated list of positive integers.
func parseInts(flag, s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return nil, usageErrorf("--%s %q: want positive integers separated by commas, e.g. 1,4,16", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseLimits reads --stop-if values: STAT>VALUE.
func parseLimits(values []string) ([]experiment.Limit, error) {
	var out []experiment.Limit
	for _, v := range values {
		stat, num, ok := strings.Cut(v, ">")
		x, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if !ok || err != nil || strings.TrimSpace(stat) == "" {
			return nil, usageErrorf("--stop-if %q: want STAT>VALUE, e.g. failed_requests_rate>0.05", v)
		}
		out = append(out, experiment.Limit{Stat: strings.TrimSpace(stat), Max: x})
	}
	return out, nil
}

// outputFolder resolves --output or a name under the default folder; the
// folder must not exist.
func outputFolder(output, name, nameFlag string) (string, error) {
	var dir string
	switch {
	case output != "":
		var b string
		if llmeter.IsURL(output) {
			dir = strings.TrimRight(output, "/")
			_, b = llmeter.SplitPath(dir)
		} else {
			dir = filepath.Clean(output)
			b = filepath.Base(dir)
		}
		if b == "" || b == "." || b == ".." || b == string(filepath.Separator) {
			return "", usageErrorf("--output %q: give the folder to create, e.g. results/test1", output)
		}
	default:
		if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			return "", usageErrorf("--%s %q: a name, not a path (use --output for a path)", nameFlag, name)
		}
		dir = filepath.Join(defaultOutputDir, name)
	}
	if outputExists(dir) {
		return "", &exitError{code: exitFailure, err: existsError(dir)}
	}
	return dir, nil
}

// loadPayloads returns the requests of --payload, or the one built from
// --prompt.
func loadPayloads(t *target, payload, prompt string, maxTokens int) ([]llmeter.Payload, error) {
	if payload != "" {
		return llmeter.LoadPayloads(payload)
	}
	p, err := t.payload(prompt, maxTokens)
	if err != nil {
		return nil, err
	}
	return []llmeter.Payload{p}, nil
}

func (f *loadTestFlags) run(cmd *cobra.Command, e *env) error {
	changed := cmd.Flags().Changed
	if changed("prompt") && changed("payload") {
		return usageErrorf("give --prompt or --payload, not both")
	}
	if changed("duration") && (changed("min-requests-per-client") || changed("min-requests-per-run")) {
		return usageErrorf("give --duration or --min-requests-per-*, not both")
	}
	clients, err := parseInts("clients", f.clients)
	if err != nil {
		return err
	}
	limits, err := parseLimits(f.stopIf)
	if err != nil {
		return err
	}
	switch {
	case f.minPerClient < 1 || f.minPerRun < 1:
		return usageErrorf("--min-requests-per-client and --min-requests-per-run must be at least 1")
	case f.duration < 0 || (f.duration == 0 && changed("duration")):
		return usageErrorf("--duration must be positive, got %v", f.duration)
	case f.timeout <= 0:
		return usageErrorf("--timeout must be positive, got %v", f.timeout)
	case f.grace < 0:
		return usageErrorf("--grace must not be negative, got %v", f.grace)
	case f.maxTokens < 1:
		return usageErrorf("--max-tokens must be at least 1, got %d", f.maxTokens)
	}
	t, err := f.endpointFlags.check(cmd, e)
	if err != nil {
		return err
	}
	if err := f.callbackFlags.check(e); err != nil {
		return err
	}
	name := f.testName
	if name == "" {
		name = time.Now().Format("20060102-1504")
	}
	dir, err := outputFolder(f.output, name, "test-name")
	if err != nil {
		return err
	}
	payloads, err := loadPayloads(t, f.payload, f.prompt, f.maxTokens)
	if err != nil {
		return err
	}

	con := e.con
	note := func(format string, a ...any) {
		if !f.quiet {
			con.Printf(format, a...)
		}
	}
	ep, url, baseURL, closeSim, err := t.open(slices.Max(clients), func(format string, a ...any) { con.Printf(format, a...) })
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
	grace := f.grace
	if grace == 0 {
		grace = time.Nanosecond // the Runner's zero value means its default
	}
	parentDir, testName := llmeter.SplitPath(dir)
	var header []string
	lt := &experiment.LoadTest{
		Configure:            f.timeoutFlags.apply,
		Endpoint:             ep,
		Tokenizer:            t.tokenizer,
		Payloads:             payloads,
		SequenceOfClients:    clients,
		MinRequestsPerClient: f.minPerClient,
		MinRequestsPerRun:    f.minPerRun,
		RunDuration:          f.duration,
		OutputPath:           parentDir,
		TestName:             testName,
		RunDescription:       f.descr,
		LowMemory:            f.lowMemory,
		Timeout:              f.timeout,
		GracePeriod:          grace,
		StopIf:               limits,
		Callbacks: []llmeter.Callback{&earlyAbort{
			baseURL: baseURL, url: url, keyHint: t.keyHint(),
			need: min(abortLookahead, max(clients[0]*experiment.RequestsPerClient(clients[0], f.minPerClient, f.minPerRun), 1)), cancel: sess.cancel,
		}},
		OnLevel: func(level, levels, c int) {
			header = []string{fmt.Sprintf("Load test %s: level %d of %d, %d clients", testName, level, levels, c)}
			sess.setFolder(llmeter.JoinPath(dir, experiment.LevelName(c)))
		},
	}
	lt.OnProgress = sess.onProgress(func() []string { return header }, false)
	levelDone := func(res *llmeter.Result) {
		if sess.live != nil {
			sess.live.Clear()
		}
		note("%s\n", levelLine(res))
	}
	// Report each level as it ends: wrap the callbacks' after-run.
	lt.Callbacks = append(append(lt.Callbacks, extra...), afterRun(levelDone))

	res, err := lt.Run(sess.ctx)
	if res == nil {
		return err
	}
	var abort *abortError
	if errors.As(context.Cause(sess.ctx), &abort) {
		first := "its first response"
		if abort.n > 1 {
			first = fmt.Sprintf("its first %d responses", abort.n)
		}
		return fmt.Errorf("%s\nThe test was stopped because %s failed this way; what it recorded is in %s", abort.msg, first, dir)
	}
	if f.json {
		if err := writeLevelsJSON(e, res.TestName, res.OutputPath, res.StoppedBy, "clients", loadTestLevels(res)); err != nil {
			return err
		}
	} else {
		writeLevels(e, "Load test "+res.TestName, "clients", loadTestLevels(res), levelColumns)
	}
	if err != nil {
		return err
	}
	if f.report && !f.lowMemory {
		if err := saveReport(e, report.LoadTest(res), res.OutputPath); err != nil {
			return err
		}
	}
	if sess.interrupted() {
		con.Printf("Load test interrupted; the levels run so far are in %s\n", dir)
		return &exitError{code: exitInterrupted}
	}
	if res.StoppedBy != "" {
		note("Stopped after %s\n", res.StoppedBy)
	}
	if f.json {
		note("Results saved to %s\n", dir)
	} else {
		fmt.Fprintf(e.stdout, "\nResults saved to %s\n", dir)
	}
	return nil
}

// afterRun is a callback that calls f with each run's result.
type afterRun func(*llmeter.Result)

func (f afterRun) AfterRun(_ context.Context, r *llmeter.Result) error { f(r); return nil }

// levelLine is one line about a finished level.
func levelLine(res *llmeter.Result) string {
	st := res.Stats()
	get := func(k string) string {
		v, ok := st.Get(k)
		if !ok || v == nil {
			return "-"
		}
		return progress.FormatValue(k, v, false)
	}
	failed, _ := st.Float("failed_requests")
	return fmt.Sprintf("%4d clients: %d requests, %d failed, %s requests/min, TTFT p50 %s, TTLT p50 %s",
		res.Clients, res.TotalRequests, int(failed), get("requests_per_minute"), get("time_to_first_token-p50"), get("time_to_last_token-p50"))
}

// levelColumns are the columns of the load test summary.
var levelColumns = []column{
	{"requests", "total_requests"}, {"failed", "failed_requests"}, {"req/min", "requests_per_minute"},
	{"out tok/s", "output_tps"}, {"TTFT p50", "time_to_first_token-p50"}, {"TTFT p90", "time_to_first_token-p90"},
	{"TTLT p50", "time_to_last_token-p50"}, {"TTLT p90", "time_to_last_token-p90"},
}

// loadTestLevels are the rows of a load test's summary.
func loadTestLevels(res *experiment.LoadTestResult) []levelRow {
	var rows []levelRow
	for _, c := range res.Clients() {
		rows = append(rows, levelRow{label: strconv.Itoa(c), key: float64(c), res: res.Results[c]})
	}
	return rows
}
