package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/experiment"
)

// openLoopCmdFlags are the flags of sweep and capacity.
type openLoopCmdFlags struct {
	endpointFlags
	arrivalFlags
	callbackFlags
	timeoutFlags
	prompt, payload          string
	maxTokens                int
	duration, timeout, grace time.Duration
	output, testName, descr  string
	lowMemory, json, quiet   bool
}

func (f *openLoopCmdFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.SortFlags = false
	f.endpointFlags.register(cmd, fs)
	fs.StringVar(&f.prompt, "prompt", defaultPrompt, "prompt `text` of the request (exclusive with --payload)")
	fs.IntVar(&f.maxTokens, "max-tokens", defaultMaxTokens, "max_tokens of the request built from --prompt")
	fs.StringVar(&f.payload, "payload", "", "request bodies: a .json/.jsonl `file` or a folder of them")
	fs.DurationVar(&f.duration, "duration", 30*time.Second, "length of each level, after --warmup")
	f.arrivalFlags.register(fs, false)
	f.callbackFlags.register(fs)
	f.timeoutFlags.register(fs)
	fs.DurationVar(&f.timeout, "timeout", llmeter.DefaultTimeout, "timeout of each request")
	fs.DurationVar(&f.grace, "grace", llmeter.DefaultGracePeriod, "on Ctrl-C, how long requests in flight may still finish")
	fs.StringVar(&f.output, "output", "", "test `folder` to write (default ./"+defaultOutputDir+"/<test name>); must not exist")
	fs.StringVar(&f.testName, "test-name", "", "test name (default the local time YYYYMMDD-HHMM)")
	fs.StringVar(&f.descr, "description", "", "description saved with every level")
	fs.BoolVar(&f.lowMemory, "low-memory", false, "keep responses on disk only (the statistics are still exact)")
	fs.BoolVar(&f.json, "json", false, "print the results as JSON on stdout, and nothing else")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress and no notes on stderr (errors and warnings still)")
	cmd.MarkFlagFilename("payload", "json", "jsonl")
	cmd.MarkFlagDirname("output")
}

// prepared is what sweep and capacity set up before running.
type prepared struct {
	ol      experiment.OpenLoop
	sess    *session
	dir     string
	close   func()
	note    func(string, ...any)
	headers []string
}

func (f *openLoopCmdFlags) prepare(cmd *cobra.Command, e *env, what string) (*prepared, error) {
	changed := cmd.Flags().Changed
	if changed("prompt") && changed("payload") {
		return nil, usageErrorf("give --prompt or --payload, not both")
	}
	switch {
	case f.duration <= 0:
		return nil, usageErrorf("--duration must be positive, got %v", f.duration)
	case f.timeout <= 0:
		return nil, usageErrorf("--timeout must be positive, got %v", f.timeout)
	case f.grace < 0:
		return nil, usageErrorf("--grace must not be negative, got %v", f.grace)
	case f.maxTokens < 1:
		return nil, usageErrorf("--max-tokens must be at least 1, got %d", f.maxTokens)
	}
	arrival, goodput, _, err := f.arrivalFlags.parse(cmd, true)
	if err != nil {
		return nil, err
	}
	if f.warmupRequests > 0 {
		return nil, usageErrorf("--warmup-requests: give --warmup (a duration) for %s levels", what)
	}
	t, err := f.endpointFlags.check(cmd, e)
	if err != nil {
		return nil, err
	}
	if err := f.callbackFlags.check(e); err != nil {
		return nil, err
	}
	name := f.testName
	if name == "" {
		name = time.Now().Format("20060102-1504")
	}
	dir, err := outputFolder(f.output, name, "test-name")
	if err != nil {
		return nil, err
	}
	payloads, err := loadPayloads(t, f.payload, f.prompt, f.maxTokens)
	if err != nil {
		return nil, err
	}
	p := &prepared{dir: dir}
	p.note = func(format string, a ...any) {
		if !f.quiet {
			e.con.Printf(format, a...)
		}
	}
	ep, _, _, closeSim, err := t.open(0, func(format string, a ...any) { e.con.Printf(format, a...) })
	if err != nil {
		return nil, err
	}
	p.close = closeSim
	extra, err := f.callbackFlags.callbacks(e, ep)
	if err != nil {
		closeSim()
		return nil, err
	}
	p.sess = newSession(cmd.Context(), e, f.quiet)
	grace := f.grace
	if grace == 0 {
		grace = time.Nanosecond
	}
	parentDir, testName := llmeter.SplitPath(dir)
	p.ol = experiment.OpenLoop{
		Configure: f.timeoutFlags.apply,
		Endpoint:  ep, Tokenizer: t.tokenizer, Payloads: payloads, Arrival: arrival, Duration: f.duration, Warmup: f.warmup,
		OutputPath: parentDir, TestName: testName, RunDescription: f.descr,
		GoodputSLOs: goodput, LowMemory: f.lowMemory, Timeout: f.timeout, GracePeriod: grace,
		Callbacks: extra,
	}
	p.ol.OnProgress = p.sess.onProgress(func() []string { return p.headers }, false)
	return p, nil
}

func (p *prepared) done() {
	p.sess.close()
	p.close()
}

// levelDone prints a line about a finished level.
func (p *prepared) levelDone(label string, res *llmeter.Result) {
	if p.sess.live != nil {
		p.sess.live.Clear()
	}
	p.note("%s\n", label+": "+strings.TrimSpace(levelLine(res)))
}

type sweepFlags struct {
	openLoopCmdFlags
	rates  string
	stopIf []string
}

func newSweepCmd(e *env) *cobra.Command {
	f := &sweepFlags{}
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run open-loop levels at increasing arrival rates",
		Long: `Run the same requests open-loop (see "llmeter run --rate") at each arrival rate
of --rates, for --duration each, one run folder per level:
<test folder>/rate-NNNNN. A level's latency is reported both as service time
and from each request's intended send time, with the schedule lag; --stop-if
ends the sweep after a level that passes a limit.`,
		Example: `  # The simulator with a capacity of 8 requests at once, 10 s per level
  llmeter sweep --sim-capacity 8 --rates 5,10,20,40 --duration 10s

  # A server, Poisson arrivals, stop once p90 TTFT passes 2 s
  llmeter sweep --base-url http://localhost:8000/v1 --model m --rates 1,2,4,8,16 \
      --arrival poisson --stop-if 'time_to_first_token-p90>2'`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) }),
	}
	f.openLoopCmdFlags.register(cmd)
	cmd.Flags().StringVar(&f.rates, "rates", "1,2,4,8,16", "arrival rates of the levels, requests per second, in order")
	cmd.Flags().StringArrayVar(&f.stopIf, "stop-if", nil, "end the sweep after a level where `STAT>VALUE` (repeatable)")
	return cmd
}

func parseRates(flag, s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || !(r > 0) {
			return nil, usageErrorf("--%s %q: want positive rates separated by commas, e.g. 5,10,20", flag, s)
		}
		out = append(out, r)
	}
	return out, nil
}

func (f *sweepFlags) run(cmd *cobra.Command, e *env) error {
	rates, err := parseRates("rates", f.rates)
	if err != nil {
		return err
	}
	limits, err := parseLimits(f.stopIf)
	if err != nil {
		return err
	}
	p, err := f.prepare(cmd, e, "sweep")
	if err != nil {
		return err
	}
	defer p.done()
	s := &experiment.Sweep{OpenLoop: p.ol, Rates: rates, StopIf: limits}
	s.OnLevel = func(level, levels int, rate float64) {
		p.headers = []string{fmt.Sprintf("Sweep %s: level %d of %d, %v requests/s", llmeter.BasePath(p.dir), level, levels, rate)}
		p.sess.setFolder(llmeter.JoinPath(p.dir, experiment.RateLevelName(rate)))
	}
	s.Callbacks = append(s.Callbacks, afterRun(func(res *llmeter.Result) {
		rate, _ := res.Stats().Float("asked_rate")
		p.levelDone(fmt.Sprintf("%v/s", rate), res)
	}))
	res, err := s.Run(p.sess.ctx)
	if res == nil {
		return err
	}
	levels := make([]levelRow, 0, len(res.Rates))
	for _, r := range res.Rates {
		levels = append(levels, levelRow{label: strconv.FormatFloat(r, 'f', -1, 64), key: r, res: res.Results[r]})
	}
	if f.json {
		if err := writeLevelsJSON(e, res.TestName, res.OutputPath, res.StoppedBy, "rate", levels); err != nil {
			return err
		}
	} else {
		writeLevels(e, "Sweep "+res.TestName, "rate/s", levels, sweepColumns)
	}
	if err != nil {
		return err
	}
	return f.finish(e, p, res.StoppedBy, "Sweep")
}

// finish reports how an experiment ended.
func (f *openLoopCmdFlags) finish(e *env, p *prepared, stoppedBy, what string) error {
	if p.sess.interrupted() {
		e.con.Printf("%s interrupted; the levels run so far are in %s\n", what, p.dir)
		return &exitError{code: exitInterrupted}
	}
	if stoppedBy != "" {
		p.note("Stopped after %s\n", stoppedBy)
	}
	if f.json {
		p.note("Results saved to %s\n", p.dir)
	} else {
		fmt.Fprintf(e.stdout, "\nResults saved to %s\n", p.dir)
	}
	return nil
}

// levelRow is a row of a table of levels.
type levelRow struct {
	label string
	key   float64
	res   *llmeter.Result
}

// column is a column of a table of levels: its title and statistic.
type column struct{ title, key string }

var sweepColumns = []column{
	{"achieved/s", "achieved_rate"}, {"requests", "total_requests"}, {"failed", "failed_requests"},
	{"TTFT p50", "time_to_first_token-p50"}, {"TTFT p90", "time_to_first_token-p90"},
	{"sched TTFT p90", "time_to_first_token_from_schedule-p90"}, {"TTLT p90", "time_to_last_token-p90"},
	{"lag p99", "schedule_lag-p99"}, {"out tok/s", "output_tps"},
}

// writeLevels prints one row per level.
func writeLevels(e *env, title, first string, levels []levelRow, columns []column) {
	fmt.Fprintf(e.stdout, "%s\n\n", title)
	t := &table{right: []bool{true}}
	head := []string{first}
	for _, c := range columns {
		head = append(head, c.title)
		t.right = append(t.right, true)
	}
	t.rows = append(t.rows, head)
	var notes []string
	for _, l := range levels {
		st := l.res.Stats()
		row := []string{l.label}
		for _, col := range columns {
			v, ok := st.Get(col.key)
			if !ok || v == nil {
				row = append(row, "-")
				continue
			}
			row = append(row, formatStat(col.key, v))
		}
		t.rows = append(t.rows, row)
		if v, ok := st.Get("server_saturated"); ok {
			notes = append(notes, fmt.Sprintf("%s: the server is saturated: %v", l.label, v))
		}
		if v, ok := st.Get("load_generator_warning"); ok {
			notes = append(notes, fmt.Sprintf("%s: %v", l.label, v))
		}
	}
	t.write(e.stdout, "")
	if len(notes) > 0 {
		fmt.Fprintln(e.stdout)
		for _, n := range notes {
			fmt.Fprintln(e.stdout, n)
		}
	}
}

// writeLevelsJSON prints {"test_name", "output_path", "stopped_by",
// "levels": [{<keyName>: K, "stats": {...}}, ...]}.
func writeLevelsJSON(e *env, name, path, stoppedBy, keyName string, levels []levelRow) error {
	out := map[string]any{"test_name": name, "output_path": path}
	if stoppedBy != "" {
		out["stopped_by"] = stoppedBy
	}
	var ls []map[string]any
	for _, l := range levels {
		b, err := llmeter.MarshalJSONValue(l.res.Stats())
		if err != nil {
			return err
		}
		ls = append(ls, map[string]any{keyName: l.key, "stats": json.RawMessage(b)})
	}
	out["levels"] = ls
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	e.stdout.Write(append(b, '\n'))
	return nil
}
