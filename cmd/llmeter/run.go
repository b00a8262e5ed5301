package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/fdlimit"
	"github.com/llmeter-go/llmeter/report"
)

// Defaults of "llmeter run".
const (
	defaultPrompt    = "Tell me a story about a lighthouse keeper."
	defaultMaxTokens = 256
	defaultClients   = 4
	defaultNRequests = 8
	defaultOutputDir = "llmeter-runs"
	defaultSimModel  = "sim-model"
	envNoProgress    = "LLMETER_DISABLE_ALL_PROGRESS_BARS"
)

// The built-in simulator's default latency model (also llmeter simulate's).
const (
	defaultSimTTFT    = 200 * time.Millisecond
	defaultSimITL     = 10 * time.Millisecond
	defaultSimPrefill = 200 * time.Microsecond
	defaultSimTokens  = 64
	defaultSimJitter  = 0.5
)

type runFlags struct {
	endpointFlags
	arrivalFlags
	callbackFlags
	timeoutFlags
	rate                         float64
	rampTo                       float64
	rampDuration                 time.Duration
	prompt                       string
	maxTokens                    int
	payload                      string
	clients, nRequests           int
	duration, timeout, grace     time.Duration
	output, runName, description string
	lowMemory, json, quiet       bool
	boundedStats                 bool
	report                       bool
	from                         string
}

func newRunCmd(e *env) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a load test: N clients sending requests, one after the other",
		Long: `Run one load test: --clients concurrent clients each send requests one after
the other (closed loop), --n-requests each or for --duration, and every
response is saved in a run folder (run_config.json, payload.jsonl,
responses.jsonl, then summary.json and stats.json) that "llmeter report" and
Python LLMeter's Result.load read.

Without --base-url (and without OPENAI_BASE_URL), the run goes to the built-in
simulator, started in this process (see "llmeter simulate"); --sim-ttft,
--sim-itl and --sim-tokens set its latency model.

While it runs, a progress bar and the live statistics are drawn on stderr when
stderr is a terminal (not with --quiet or LLMETER_DISABLE_ALL_PROGRESS_BARS=1).
At the end the statistics are printed on stdout (as JSON with --json).

Ctrl-C (or SIGTERM) stops sending, waits up to --grace for the requests in
flight, saves the folder marked "interrupted" and exits with code 130; a
second Ctrl-C exits at once. The run also stops early, with an explanation,
when its first responses all fail because the server cannot be reached or
refuses the credentials.`,
		Example: `  # Try it: 4 clients × 8 requests against the built-in simulator
  llmeter run

  # An OpenAI-compatible server, 8 clients for 30 seconds
  llmeter run --base-url http://localhost:8000/v1 --model my-model --clients 8 --duration 30s

  # OpenAI, key from OPENAI_API_KEY, your own payloads (one JSON request per line)
  llmeter run --base-url https://api.openai.com/v1 --model gpt-4o-mini --payload prompts.jsonl

  # Non-streaming, extra header, statistics as JSON for a script
  llmeter run --base-url http://localhost:8000/v1 --model m --no-stream --header X-Team=search --json > stats.json

  # The same run again, from its folder (endpoint, payloads, settings, callbacks), with 16 clients
  llmeter run --from llmeter-runs/20260101-120000 --clients 16`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) }),
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	f.endpointFlags.register(cmd, fs)
	fs.StringVar(&f.prompt, "prompt", defaultPrompt, "prompt `text` of the request (exclusive with --payload)")
	fs.IntVar(&f.maxTokens, "max-tokens", defaultMaxTokens, "max_tokens of the request built from --prompt")
	fs.StringVar(&f.payload, "payload", "", "request bodies: a .json/.jsonl `file` or a folder of them")
	fs.IntVar(&f.clients, "clients", defaultClients, "number of concurrent clients")
	fs.IntVar(&f.nRequests, "n-requests", defaultNRequests, "requests per client (with --payload: default the number of payloads; with --rate: in all)")
	fs.DurationVar(&f.duration, "duration", 0, "run for this long instead of --n-requests, e.g. 30s or 5m")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: send requests at this rate (per second) instead of by --clients clients")
	fs.Float64Var(&f.rampTo, "ramp-to", 0, "open loop: move the rate linearly from --rate to this one over --ramp-duration")
	fs.DurationVar(&f.rampDuration, "ramp-duration", 0, "open loop: length of the ramp")
	f.arrivalFlags.register(fs, true)
	f.callbackFlags.register(fs)
	fs.BoolVar(&f.report, "report", false, "also write report.html (charts and statistics) into the run folder")
	fs.DurationVar(&f.timeout, "timeout", llmeter.DefaultTimeout, "timeout of each request, retries included")
	f.timeoutFlags.register(fs)
	fs.DurationVar(&f.grace, "grace", llmeter.DefaultGracePeriod, "on Ctrl-C, how long requests in flight may still finish")
	fs.StringVar(&f.from, "from", "", "run again the run saved in this `folder` (or URL): its endpoint, payloads, clients, requests, timeout and callbacks; flags given override them")
	fs.StringVar(&f.output, "output", "", "run `folder` to write (default ./"+defaultOutputDir+"/<run name>); must not exist")
	fs.StringVar(&f.runName, "run-name", "", "run name, the folder ./"+defaultOutputDir+"/<run name> (default the local time YYYYMMDD-HHMMSS)")
	fs.StringVar(&f.description, "description", "", "run description, saved in the results")
	fs.BoolVar(&f.lowMemory, "low-memory", false, "keep responses on disk only (the statistics are still exact)")
	fs.BoolVar(&f.boundedStats, "bounded-stats", false, "bound the statistics' memory too: past 10,000 values per metric, percentiles are estimated within 0.5% (for runs of millions of requests; \"llmeter report\" recomputes them exactly)")
	fs.BoolVar(&f.json, "json", false, "print the statistics as JSON on stdout, and nothing else")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress and no notes on stderr (errors and warnings still)")
	cmd.MarkFlagFilename("payload", "json", "jsonl")
	cmd.MarkFlagDirname("output")
	return cmd
}

// runPlan is a validated command line.
type runPlan struct {
	target      *target
	arrival     *llmeter.Arrival // nil: closed loop
	goodput     []llmeter.SLO
	failOn      []llmeter.SLO
	parent      string // Runner.OutputPath
	name        string // Runner.RunName; "" = generate
	explicitDir bool
	// fromCallbacks are the callbacks of the --from run.
	fromCallbacks []llmeter.Callback
}

// check validates the flags that need no file or network; its errors are
// usage errors.
func (f *runFlags) check(cmd *cobra.Command, e *env) (*runPlan, error) {
	changed := cmd.Flags().Changed
	p := &runPlan{}
	if f.from != "" {
		saved, err := loadSavedRun(f.from)
		if err != nil {
			return nil, err
		}
		if err := saved.applyFlags(cmd, f); err != nil {
			return nil, err
		}
		p.fromCallbacks = saved.callbacks
	}
	for _, pair := range [][2]string{{"prompt", "payload"}, {"n-requests", "duration"}, {"output", "run-name"}} {
		if changed(pair[0]) && changed(pair[1]) {
			return nil, usageErrorf("give --%s or --%s, not both", pair[0], pair[1])
		}
	}
	t, err := f.endpointFlags.check(cmd, e)
	if err != nil {
		return nil, err
	}
	p.target = t
	if err := f.callbackFlags.check(e); err != nil {
		return nil, err
	}
	openLoop := f.rate > 0
	if f.rate < 0 {
		return nil, usageErrorf("--rate must be positive, got %v", f.rate)
	}
	if !openLoop && (changed("ramp-to") || changed("ramp-duration")) {
		return nil, usageErrorf("--ramp-to and --ramp-duration are for open-loop runs: give --rate")
	}
	if openLoop && changed("clients") {
		return nil, usageErrorf("give --rate (open loop) or --clients (closed loop), not both; cap the requests in flight with --max-in-flight")
	}
	arrival, goodput, failOn, err := f.arrivalFlags.parse(cmd, openLoop)
	if err != nil {
		return nil, err
	}
	if openLoop {
		arrival.Rate, arrival.RampTo, arrival.RampDuration = f.rate, f.rampTo, f.rampDuration
		if err := arrival.Validate(); err != nil {
			return nil, usageErrorf("%v", err)
		}
		p.arrival = arrival
	}
	p.goodput, p.failOn = goodput, failOn
	switch {
	case f.clients < 1:
		return nil, usageErrorf("--clients must be at least 1, got %d", f.clients)
	case f.nRequests < 1 && changed("n-requests"):
		return nil, usageErrorf("--n-requests must be at least 1, got %d", f.nRequests)
	case f.duration < 0 || (f.duration == 0 && changed("duration")):
		return nil, usageErrorf("--duration must be positive, got %v", f.duration)
	case f.timeout <= 0:
		return nil, usageErrorf("--timeout must be positive, got %v", f.timeout)
	case f.grace < 0:
		return nil, usageErrorf("--grace must not be negative, got %v", f.grace)
	case f.maxTokens < 1:
		return nil, usageErrorf("--max-tokens must be at least 1, got %d", f.maxTokens)
	}
	switch {
	case f.output != "":
		p.parent, p.name = llmeter.SplitPath(f.output)
		if p.name == "" || p.name == "." || p.name == ".." || p.name == string(filepath.Separator) {
			return nil, usageErrorf("--output %q: give the run folder to create, e.g. results/run1", f.output)
		}
		p.explicitDir = true
	case f.runName != "":
		if strings.ContainsAny(f.runName, `/\`) || f.runName == "." || f.runName == ".." {
			return nil, usageErrorf("--run-name %q: a name, not a path (use --output for a path)", f.runName)
		}
		p.parent, p.name = defaultOutputDir, f.runName
		p.explicitDir = true
	default:
		p.parent = defaultOutputDir
	}
	if p.explicitDir {
		// The Runner refuses it too, but only once everything is set up.
		if dir := llmeter.JoinPath(p.parent, p.name); outputExists(dir) {
			return nil, &exitError{code: exitFailure, err: existsError(dir)}
		}
	}
	return p, nil
}

func (f *runFlags) run(cmd *cobra.Command, e *env) error {
	plan, err := f.check(cmd, e)
	if err != nil {
		return err
	}
	var payloads []llmeter.Payload
	var source llmeter.PayloadSource // a .jsonl file, read on demand
	nPayloads := 1
	switch {
	case llmeter.IsPayloadFile(f.payload):
		pl, err := llmeter.OpenPayloadLines(f.payload)
		if err != nil {
			return err
		}
		defer pl.Close()
		source, nPayloads = pl, pl.Len()
	case f.payload != "":
		if payloads, err = llmeter.LoadPayloads(f.payload); err != nil {
			return err
		}
		nPayloads = len(payloads)
	default:
		p, err := plan.target.payload(f.prompt, f.maxTokens)
		if err != nil {
			return err
		}
		payloads = []llmeter.Payload{p}
	}

	if err := checkOpenFiles(f.clients, plan); err != nil {
		return err
	}
	con := e.con
	note := func(format string, a ...any) {
		if !f.quiet {
			con.Printf(format, a...)
		}
	}
	ep, url, baseURL, closeSim, err := plan.target.open(f.clients, func(format string, a ...any) { con.Printf(format, a...) })
	if err != nil {
		return err
	}
	defer closeSim()
	extra, err := f.callbackFlags.callbacks(e, ep)
	if err != nil {
		return err
	}
	extra = append(plan.fromCallbacks, extra...)
	if plan.target.sim {
		extra = append(extra, recordStats(f.endpointFlags.simStats()))
	}
	if f.insecure {
		con.Printf("Warning: --insecure: TLS certificates are not verified\n")
		extra = append(extra, recordStats{insecureStat: true})
	}

	nRequests := f.nRequests
	if f.duration > 0 || (f.payload != "" && !cmd.Flags().Changed("n-requests")) {
		nRequests = 0 // time-bound, or one request per payload
	}
	planned := f.clients * nRequests
	if nRequests == 0 && f.duration == 0 {
		planned = f.clients * nPayloads
	}
	total, duration, clients := 0, f.duration, f.clients
	if plan.arrival != nil {
		clients = 1 // unused by an open-loop run
		// Open loop: --n-requests is the total; the default is 10 s.
		total, nRequests, planned = nRequests, 0, nRequests
		if !cmd.Flags().Changed("n-requests") {
			total, planned = 0, 0
			if duration == 0 {
				duration = 10 * time.Second
			}
		}
		if f.payload != "" && !cmd.Flags().Changed("n-requests") && f.duration == 0 {
			total, duration, planned = nPayloads, 0, nPayloads
		}
	}

	// The run's context: canceled by the first Ctrl-C or by the early abort.
	sess := newSession(cmd.Context(), e, f.quiet)
	defer sess.close()
	ctx, cancel := sess.ctx, sess.cancel

	grace := f.grace
	if grace == 0 {
		grace = time.Nanosecond // the Runner's zero value means its default
	}
	runner := &llmeter.Runner{
		Endpoint:       ep,
		Tokenizer:      plan.target.tokenizer,
		OutputPath:     plan.parent,
		Clients:        clients,
		NRequests:      nRequests,
		TotalRequests:  total,
		RunDuration:    duration,
		Arrival:        plan.arrival,
		Warmup:         f.warmup,
		WarmupRequests: f.warmupRequests,
		GoodputSLOs:    plan.goodput,
		Payloads:       payloads,
		PayloadSource:  source,
		RunDescription: f.description,
		Timeout:        f.timeout,
		GracePeriod:    grace,
		LowMemory:      f.lowMemory,
		BoundedStats:   f.boundedStats,
		Callbacks: append([]llmeter.Callback{&earlyAbort{
			baseURL: baseURL, url: url, keyHint: plan.target.keyHint(),
			need: min(abortLookahead, max(planned, 1)), cancel: cancel,
		}}, extra...),
	}
	f.timeoutFlags.apply(runner)
	runner.OnProgress = sess.onProgress(nil, true)

	// A generated name is the local time; if that folder exists (two runs
	// in one second), the next free "-2", "-3"… is taken.
	var res *llmeter.Result
	base := plan.name
	if base == "" {
		base = time.Now().Format("20060102-150405")
	}
	for i := 1; ; i++ {
		runner.RunName = base
		if i > 1 {
			runner.RunName = base + "-" + strconv.Itoa(i)
		}
		sess.setFolder(runner.RunDir())
		res, err = runner.Run(ctx)
		if res == nil && errors.Is(err, llmeter.ErrRunExists) && !plan.explicitDir && i < 100 {
			continue
		}
		break
	}
	dir := sess.folder()
	if res == nil {
		if errors.Is(err, llmeter.ErrRunExists) {
			return existsError(dir)
		}
		return err
	}
	saveErr := err

	cause := context.Cause(ctx)
	var abort *abortError
	if errors.As(cause, &abort) {
		first := "its first response"
		if abort.n > 1 {
			first = fmt.Sprintf("its first %d responses", abort.n)
		}
		return fmt.Errorf("%s\nThe run was stopped because %s failed this way; what it recorded is in %s (marked \"interrupted\")", abort.msg, first, dir)
	}
	st := res.Stats()
	if f.json {
		b, err := statsJSON(st)
		if err != nil {
			return err
		}
		e.stdout.Write(b)
	} else {
		writeSummary(e.stdout, st)
	}
	if saveErr != nil {
		return saveErr
	}
	out := e.stdout
	if f.json {
		out = e.stderr // stdout holds the JSON, and nothing else
	}
	thresholdErr := checkThresholds(out, res, plan.failOn)
	if f.report && !f.lowMemory {
		if err := saveReport(e, report.Run(res), dir); err != nil {
			return err
		}
	}
	if res.TotalRequests > 0 {
		if failed, _ := st.Float("failed_requests"); int(failed) == res.TotalRequests {
			con.Printf("warning: all %d requests failed; the first error: %s\n", res.TotalRequests, firstError(res))
		}
	}
	if sess.interrupted() {
		con.Printf("Run interrupted; partial results saved to %s\n", dir)
		return &exitError{code: exitInterrupted}
	}
	if f.json {
		note("Results saved to %s\n", dir)
	} else {
		fmt.Fprintf(e.stdout, "\nResults saved to %s\n", dir)
	}
	return thresholdErr
}

// firstError returns the error of the first failed response in memory.
func firstError(res *llmeter.Result) string {
	for _, r := range res.Responses {
		if r.Failed() {
			return r.Error
		}
	}
	return "(see responses.jsonl)"
}

func existsError(dir string) error {
	return fmt.Errorf("output folder %s already exists; choose another --output or --run-name", dir)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// outputExists reports whether an output folder (local or a URL) exists.
func outputExists(dir string) bool { return llmeter.PathExists(context.Background(), dir) }

// checkOpenFiles refuses, before it starts, a run whose connections would
// not fit under the open-file limit.
func checkOpenFiles(clients int, plan *runPlan) error {
	conns, what := clients, fmt.Sprintf("--clients %d", clients)
	if plan.arrival != nil {
		if plan.arrival.MaxInFlight == 0 {
			return nil // unbounded: as many as the rate and the latency make
		}
		conns, what = plan.arrival.MaxInFlight, fmt.Sprintf("--max-in-flight %d", plan.arrival.MaxInFlight)
	}
	if plan.target.sim {
		conns *= 2 // the built-in simulator's end of each connection is in this process too
		what += " with the built-in simulator"
	}
	if err := fdlimit.Check(conns, what); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	return nil
}
