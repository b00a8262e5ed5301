package llmeter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the Runner's zero values.
const (
	DefaultTimeout          = 60 * time.Second
	DefaultGracePeriod      = 10 * time.Second
	DefaultProgressInterval = 500 * time.Millisecond
)

// ErrRunExists is returned when the run folder already exists: a run never
// appends to an earlier run's files (LLMeter's defect D6 fixed).
var ErrRunExists = errors.New("llmeter: run folder already exists")

// Runner runs one batch of requests through an Endpoint: Clients concurrent
// clients, each sending its requests one after the other (closed loop),
// either NRequests each, TotalRequests among them, or for RunDuration. It is a plain configuration
// struct; its zero values have the documented defaults, and it is saved as
// run_config.json.
type Runner struct {
	// Endpoint is the API under test. Required.
	Endpoint Endpoint
	// OutputPath is the folder under which the run folder OutputPath/RunName
	// is written; empty writes nothing.
	OutputPath string
	// Tokenizer counts tokens the API did not report; default DummyTokenizer.
	Tokenizer Tokenizer
	// Clients is the number of concurrent clients; default 1.
	Clients int
	// NRequests is the number of requests per client; default the number of
	// payloads. Exclusive with RunDuration and TotalRequests.
	NRequests int
	// TotalRequests, instead of NRequests, is the number of requests of the
	// whole run, shared among the clients: each client takes the next one
	// when it is free, so exactly this many are sent (with Payloads in their
	// shared sequence, every payload is sent equally often when it is a
	// multiple of their number). run_config.json saves n_requests as
	// TotalRequests/Clients rounded up.
	TotalRequests int
	// RunDuration bounds the run by time instead of count: no request is sent
	// after it (requests in flight complete).
	RunDuration time.Duration
	// Arrival makes the run open-loop: requests are sent on its schedule
	// (TotalRequests of them, or for RunDuration) instead of by Clients
	// closed-loop clients, which are then ignored. See Arrival.
	Arrival *Arrival
	// Warmup and WarmupRequests leave the requests sent in the first Warmup
	// of the run, or the first WarmupRequests, out of the statistics (they
	// are saved, marked "warmup" in the sidecar).
	Warmup         time.Duration
	WarmupRequests int
	// GoodputSLOs are per-request objectives (ParseSLO, e.g. "ttft<500ms");
	// the stats then count the requests that meet all of them (goodput).
	GoodputSLOs []SLO
	// Payloads are the request bodies; clients take them in turn from one
	// shared sequence (shuffled with a fixed seed), so every payload is sent
	// once before any is sent twice.
	Payloads []Payload
	// PayloadSource serves the payloads by index instead of Payloads, for
	// sets too large to hold decoded (see PayloadLines).
	PayloadSource PayloadSource
	// PayloadPath is a .json/.jsonl file or a folder of them, read when
	// Payloads and PayloadSource are empty (see LoadPayloads). A local
	// .jsonl or .manifest file is read on demand (OpenPayloadLines), so that
	// a million payloads cost about 12 MB.
	PayloadPath string
	// RunName names the run folder; default the local time YYYYMMDD-HHMMSS
	// (with a suffix if that folder exists).
	RunName        string
	RunDescription string
	// Timeout bounds each request, retries included (error class
	// "timeout"); default 60 s.
	Timeout time.Duration
	// ConnectTimeout bounds the connection set-up of a request (DNS and TCP
	// connect; error class "timeout_connect"); default DefaultConnectTimeout
	// (10 s). The endpoints' default HTTP clients and those of their
	// NewHTTPClient honour it (it travels in the request's context, see
	// WithConnectTimeout); a client of your own keeps its dialer's timeout.
	ConnectTimeout time.Duration
	// FirstTokenTimeout bounds the wait for the first token (or, without
	// streaming, the whole response) from the moment the request (each
	// attempt, with Retries) is sent; error class "timeout_first_token".
	// 0 is off.
	FirstTokenTimeout time.Duration
	// IdleTimeout detects stalled streams: after the first token, the most
	// time allowed without data (text, or other data the provider reports
	// with Recorder.Progress; keep-alives do not count); error class
	// "timeout_idle", the text received so far kept. 0 is off.
	IdleTimeout time.Duration
	// Retries is the most times a request is retried; default 0 (off:
	// retries hide errors and distort latency). Only a request that failed
	// before anything was received, with class http_429, http_5xx,
	// connection or timeout_connect, is retried, after the server's
	// Retry-After or an exponential backoff with jitter (0.5 s doubling, at
	// most 20 s), and only if Timeout leaves time for the wait. The time
	// spent retrying is part of the latencies (they are measured from the
	// first attempt), and each response counts its retries in "retries".
	Retries int
	// GracePeriod is how long requests in flight may still complete after
	// the run's context is canceled; then they are canceled and recorded as
	// failed. Default 10 s.
	GracePeriod time.Duration
	// Callbacks hook into the run (see Callback).
	Callbacks []Callback
	// LowMemory keeps responses only on disk; the statistics stay exact.
	LowMemory bool
	// BoundedStats bounds the memory of the live statistics too: each
	// metric keeps DefaultBound exact values, then estimates its
	// percentiles within 0.5% from logarithmic buckets (stats.json then has
	// "approximate_percentiles": true; recomputing from responses.jsonl, as
	// "llmeter report" does, gives the exact values). With LowMemory, for
	// runs of many millions of requests.
	BoundedStats bool
	// NoChunkTimes turns off recording of per-chunk arrival times.
	NoChunkTimes bool
	// OnProgress, if set, receives a snapshot at most every ProgressInterval
	// (default 0.5 s) and once at the end. It is called from the Runner's
	// consumer goroutine: it must return quickly.
	OnProgress       func(Progress)
	ProgressInterval time.Duration
}

// Progress is a snapshot of a run in progress.
type Progress struct {
	Done     int           // responses processed
	Failed   int           // of which failed
	Total    int           // requests planned (count-bound runs), else 0
	Elapsed  time.Duration // since the run started
	Duration time.Duration // RunDuration (time-bound runs), else 0
	InFlight int           // requests sent and not answered
	Backlog  int           // responses received, not yet processed
	Sending  bool          // false once no more requests will be sent
	Final    bool          // the last snapshot
	Stats    *Stats        // live statistics (same definitions as the final ones)
}

// RunDir returns the folder the run writes to ("" when OutputPath is empty).
func (r *Runner) RunDir() string {
	if r.OutputPath == "" {
		return ""
	}
	return JoinPath(r.OutputPath, r.RunName)
}

// Validate applies the defaults and checks the configuration; Run calls it.
func (r *Runner) Validate() error {
	if r.Endpoint == nil {
		return errors.New("llmeter: runner: no endpoint")
	}
	if r.Clients == 0 {
		r.Clients = 1
	}
	if r.Clients < 0 {
		return fmt.Errorf("llmeter: runner: clients must be positive, got %d", r.Clients)
	}
	if len(r.Payloads) == 0 && r.PayloadSource == nil && r.PayloadPath != "" {
		if IsPayloadFile(r.PayloadPath) {
			pl, err := OpenPayloadLines(r.PayloadPath)
			if err != nil {
				return err
			}
			r.PayloadSource = pl
		} else {
			ps, err := LoadPayloads(r.PayloadPath)
			if err != nil {
				return err
			}
			r.Payloads = ps
		}
	}
	if r.payloadCount() == 0 {
		return errors.New("llmeter: runner: no payload")
	}
	if r.RunDuration < 0 {
		return fmt.Errorf("llmeter: runner: run duration must be positive, got %v", r.RunDuration)
	}
	if r.NRequests < 0 {
		return fmt.Errorf("llmeter: runner: number of requests must be positive, got %d", r.NRequests)
	}
	if r.TotalRequests < 0 {
		return fmt.Errorf("llmeter: runner: total number of requests must be positive, got %d", r.TotalRequests)
	}
	if r.RunDuration > 0 && r.NRequests > 0 {
		return errors.New("llmeter: runner: cannot set both n_requests and run_duration")
	}
	if r.TotalRequests > 0 && (r.NRequests > 0 || r.RunDuration > 0) {
		return errors.New("llmeter: runner: total requests exclude n_requests and run_duration")
	}
	if r.RunDuration == 0 && r.NRequests == 0 && r.TotalRequests == 0 {
		r.NRequests = r.payloadCount()
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Timeout < 0 {
		return fmt.Errorf("llmeter: runner: timeout must be positive, got %v", r.Timeout)
	}
	if r.ConnectTimeout == 0 {
		r.ConnectTimeout = DefaultConnectTimeout
	}
	if r.ConnectTimeout < 0 {
		return fmt.Errorf("llmeter: runner: connect timeout must be positive, got %v", r.ConnectTimeout)
	}
	if r.FirstTokenTimeout < 0 {
		return fmt.Errorf("llmeter: runner: first-token timeout must not be negative, got %v", r.FirstTokenTimeout)
	}
	if r.IdleTimeout < 0 {
		return fmt.Errorf("llmeter: runner: idle timeout must not be negative, got %v", r.IdleTimeout)
	}
	if r.Retries < 0 {
		return fmt.Errorf("llmeter: runner: retries must not be negative, got %d", r.Retries)
	}
	if r.GracePeriod == 0 {
		r.GracePeriod = DefaultGracePeriod
	}
	if r.ProgressInterval <= 0 {
		r.ProgressInterval = DefaultProgressInterval
	}
	if r.Tokenizer == nil {
		r.Tokenizer = &DummyTokenizer{}
	}
	if r.LowMemory && r.OutputPath == "" {
		return errors.New("llmeter: runner: low_memory needs an output path")
	}
	if r.Warmup < 0 || r.WarmupRequests < 0 {
		return errors.New("llmeter: runner: warm-up must not be negative")
	}
	for _, o := range r.GoodputSLOs {
		if !o.PerRequest() {
			return fmt.Errorf("llmeter: runner: goodput objective %s is not per request (use e.g. ttft<500ms)", o)
		}
	}
	if r.Arrival != nil {
		if err := r.Arrival.Validate(); err != nil {
			return err
		}
		if r.NRequests > 0 && r.TotalRequests == 0 {
			if r.NRequests != r.payloadCount() || r.RunDuration > 0 {
				return errors.New("llmeter: runner: an open-loop run takes TotalRequests or RunDuration, not n_requests")
			}
			// The default count: once per payload.
			r.TotalRequests, r.NRequests = r.NRequests, 0
		}
	}
	return nil
}

// Run executes the run. It returns a Go error only when the run could not
// happen (bad configuration, a before-run callback failing, an output folder
// that exists) or when saving failed; failed requests are responses.
//
// Canceling ctx stops sending at once; requests in flight get GracePeriod to
// complete; then everything received is saved with "interrupted": true, the
// after-run callbacks run, and the Result is returned (with a nil error).
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	cfg := *r
	cfg.Payloads = append([]Payload(nil), r.Payloads...)
	cfg.Callbacks = append([]Callback(nil), r.Callbacks...)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pl, ok := cfg.PayloadSource.(*PayloadLines); ok && cfg.PayloadSource != r.PayloadSource {
		defer pl.Close() // opened from PayloadPath for this run
	}
	if cfg.PayloadSource == nil {
		cfg.PayloadSource = payloadSlice(cfg.Payloads) // one way to the payloads from here on
	}
	explicitName := cfg.RunName != ""
	if !explicitName {
		cfg.RunName = time.Now().Format("20060102-150405")
	}
	for _, cb := range cfg.Callbacks {
		if c, ok := cb.(BeforeRunCallback); ok {
			if err := c.BeforeRun(ctx, &cfg); err != nil {
				return nil, fmt.Errorf("llmeter: before_run callback %T: %w", cb, err)
			}
		}
	}
	if err := cfg.Validate(); err != nil { // callbacks may have changed it
		return nil, err
	}
	x := &execution{cfg: &cfg}
	if err := x.createFolder(ctx, explicitName); err != nil {
		return nil, err
	}
	return x.run(ctx)
}

// execution is the state of one Run.
type execution struct {
	cfg      *Runner
	dir      string
	writer   *responseWriter
	order    []int // indexes into cfg.Payloads, shuffled
	next     atomic.Uint64
	inflight atomic.Int64
	peak     atomic.Int64 // most requests in flight at once
	notSent  atomic.Int64 // open loop: due while the cap was reached, dropped
	capWaits atomic.Int64 // open loop: due while the cap was reached, queued
	sending  atomic.Bool
	results  chan *InvocationResponse
	start    time.Time
	ctx      context.Context // the run's context: done = stop sending

	beforeInvoke []BeforeInvokeCallback
	afterInvoke  []AfterInvokeCallback

	// owned by the consumer goroutine
	acc       *accumulator
	responses []*InvocationResponse
	writeErr  error
}

func (x *execution) createFolder(ctx context.Context, explicitName bool) error {
	cfg := x.cfg
	if cfg.OutputPath == "" {
		return nil
	}
	st, err := StorageFor(cfg.OutputPath)
	if err != nil {
		return err
	}
	base := cfg.RunName
	for i := 2; ; i++ {
		err := st.Claim(ctx, cfg.RunDir())
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("llmeter: %w", err)
		}
		if explicitName || i > 1000 {
			return fmt.Errorf("%w: %s", ErrRunExists, cfg.RunDir())
		}
		cfg.RunName = fmt.Sprintf("%s-%d", base, i)
	}
	x.dir = cfg.RunDir()
	payloadPath, err := savePayloadSource(ctx, cfg.PayloadSource, x.dir, PayloadFile)
	if err != nil {
		return err
	}
	if err := writeJSONFile(JoinPath(x.dir, RunConfigFile), cfg.configStats(x.dir, payloadPath)); err != nil {
		return err
	}
	x.writer, err = createResponseWriter(ctx, x.dir)
	return err
}

// payloadCount is the number of payloads, from Payloads or PayloadSource.
func (r *Runner) payloadCount() int {
	if r.PayloadSource != nil {
		return r.PayloadSource.Len()
	}
	return len(r.Payloads)
}

// perClient is n_requests: per client, or the total shared out, rounded up.
func (r *Runner) perClient() int {
	if r.TotalRequests > 0 {
		return (r.TotalRequests + r.Clients - 1) / r.Clients
	}
	return r.NRequests
}

// planned is the number of requests of a count-bound run, else 0.
func (r *Runner) planned() int {
	switch {
	case r.RunDuration > 0:
		return 0
	case r.TotalRequests > 0:
		return r.TotalRequests
	}
	return r.Clients * r.NRequests
}

// configStats is run_config.json, with exactly LLMeter's keys.
func (r *Runner) configStats(dir, payloadPath string) *Stats {
	st := NewStats()
	st.Set("endpoint", EndpointToMap(r.Endpoint))
	st.Set("output_path", dir)
	st.Set("tokenizer", TokenizerToMap(r.Tokenizer))
	st.Set("clients", r.Clients)
	st.Set("n_requests", r.perClient())
	if r.RunDuration > 0 {
		st.Set("run_duration", r.RunDuration.Seconds())
	} else {
		st.Set("run_duration", nil)
	}
	st.Set("payload", payloadPath)
	st.Set("run_name", r.RunName)
	st.Set("run_description", nullIfEmpty(r.RunDescription))
	st.Set("timeout", r.Timeout.Seconds())
	var cbs []any
	for _, cb := range r.Callbacks {
		if c, ok := cb.(CallbackConfigurer); ok {
			cbs = append(cbs, c.CallbackConfig())
		}
	}
	if cbs == nil {
		st.Set("callbacks", nil)
	} else {
		st.Set("callbacks", cbs)
	}
	st.Set("low_memory", r.LowMemory)
	st.Set("progress_bar_stats", nil)
	return st
}

func (x *execution) run(ctx context.Context) (*Result, error) {
	cfg := x.cfg
	for _, cb := range cfg.Callbacks {
		if c, ok := cb.(BeforeInvokeCallback); ok {
			x.beforeInvoke = append(x.beforeInvoke, c)
		}
		if c, ok := cb.(AfterInvokeCallback); ok {
			x.afterInvoke = append(x.afterInvoke, c)
		}
	}
	x.order = make([]int, cfg.payloadCount())
	for i := range x.order {
		x.order[i] = i
	}
	rand.New(rand.NewPCG(0, 0)).Shuffle(len(x.order), func(i, j int) { x.order[i], x.order[j] = x.order[j], x.order[i] })
	x.acc = newAccumulator()
	if cfg.BoundedStats {
		x.acc.bound(DefaultBound)
	}
	x.acc.slos = cfg.GoodputSLOs
	x.results = make(chan *InvocationResponse, max(4096, 4*cfg.Clients))

	// Requests in flight outlive a cancellation of ctx by GracePeriod.
	inflightCtx, cancelInflight := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelInflight()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(cfg.GracePeriod, cancelInflight) })
	defer stopGrace()

	startWall := time.Now().UTC()
	x.ctx = ctx
	x.start = time.Now()
	x.sending.Store(true)
	consumerDone := make(chan struct{})
	go func() {
		defer close(consumerDone)
		x.consume(ctx)
	}()
	cpu0 := cpuSample()
	if cfg.Arrival != nil {
		x.openLoop(ctx, inflightCtx)
	} else {
		var wg sync.WaitGroup
		for i := range cfg.Clients {
			wg.Go(func() { x.client(ctx, inflightCtx, i) })
		}
		wg.Wait()
	}
	totalTestTime := time.Since(x.start).Seconds()
	cpuUse := cpuSample().utilizationSince(cpu0)
	x.sending.Store(false)
	close(x.results)
	<-consumerDone
	endTime := time.Now().UTC()
	interrupted := ctx.Err() != nil

	res := &Result{
		TotalRequests:  x.acc.count,
		Clients:        cfg.Clients,
		NRequests:      cfg.perClient(),
		TotalTestTime:  &totalTestTime,
		ModelID:        cfg.Endpoint.Info().ModelID,
		OutputPath:     x.dir,
		EndpointName:   cfg.Endpoint.Info().EndpointName,
		Provider:       cfg.Endpoint.Info().Provider,
		RunName:        cfg.RunName,
		RunDescription: cfg.RunDescription,
		StartTime:      &startWall,
		EndTime:        &endTime,
		Interrupted:    interrupted,
	}
	if !cfg.LowMemory {
		res.Responses = x.responses
	}
	if cfg.RunDuration > 0 || interrupted {
		res.NRequests = x.acc.count / cfg.Clients
	}
	if x.acc.haveSend {
		first, last := x.acc.firstSend, x.acc.lastSend
		res.FirstRequestTime, res.LastRequestTime = &first, &last
	}
	if cfg.Arrival != nil {
		// Open loop: "clients" is the most requests that were in flight.
		res.Clients = max(int(x.peak.Load()), 1)
		res.NRequests = x.acc.count + x.acc.warmup
	}
	res.slos = cfg.GoodputSLOs
	res.stats = x.acc.stats(res.summary(), totalTestTime)
	if interrupted {
		res.stats.Set("interrupted", true)
	}
	x.selfCheck(res.stats, cpuUse)
	cfg.describeTimeouts(res.stats)

	var errs []error
	// After-run callbacks run for interrupted runs too (LLMeter's D11 fixed),
	// with a context that is not canceled so they can finish their work.
	cbCtx := context.WithoutCancel(ctx)
	for _, cb := range cfg.Callbacks {
		if c, ok := cb.(AfterRunCallback); ok {
			if err := c.AfterRun(cbCtx, res); err != nil {
				errs = append(errs, fmt.Errorf("llmeter: after_run callback %T: %w", cb, err))
			}
		}
	}
	if x.writer != nil {
		if err := x.writer.close(); err != nil && x.writeErr == nil {
			x.writeErr = err
		}
		errs = append(errs, x.writeErr)
		if err := res.Save(x.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// client is one closed-loop client: it sends its requests one after the
// other until its count is reached, the run's time is up, or ctx is done.
func (x *execution) client(ctx, inflightCtx context.Context, i int) {
	cfg := x.cfg
	// Spread the clients' first requests over 10 ms, as LLMeter's start
	// jitter does, but evenly, so that they do not start in one burst.
	if cfg.Clients > 1 {
		t := time.NewTimer(time.Duration(i) * 10 * time.Millisecond / time.Duration(cfg.Clients))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	opts := invokeOptions{runStart: x.start, recordChunks: !cfg.NoChunkTimes}
	for k := 0; cfg.RunDuration > 0 || cfg.TotalRequests > 0 || k < cfg.NRequests; k++ {
		if ctx.Err() != nil {
			return
		}
		if cfg.RunDuration > 0 && time.Since(x.start) >= cfg.RunDuration {
			return
		}
		n := x.next.Add(1) - 1
		if cfg.TotalRequests > 0 && n >= uint64(cfg.TotalRequests) {
			return
		}
		pi := x.order[n%uint64(len(x.order))]
		storeMax(&x.peak, x.inflight.Add(1))
		resp := x.invokeOne(inflightCtx, pi, opts)
		x.inflight.Add(-1)
		resp.PayloadIndex = &pi
		resp.Warmup = x.isWarmup(n, resp.SendOffset)
		x.results <- resp
	}
}

// invokeOne sends payload pi. A payload that cannot be read (a payload file
// changed under the run) is a failed response.
func (x *execution) invokeOne(ctx context.Context, pi int, opts invokeOptions) *InvocationResponse {
	p, err := x.cfg.PayloadSource.Payload(pi)
	if err != nil {
		resp := ErrorOutput(nil, err, ErrorClassOther)
		resp.RequestTime = Ptr(time.Now().UTC())
		resp.SendOffset = time.Since(x.start)
		return resp
	}
	if len(x.beforeInvoke) > 0 {
		p = CopyPayload(p)
		for _, cb := range x.beforeInvoke {
			if err := cb.BeforeInvoke(ctx, p); err != nil {
				resp := ErrorOutput(p, fmt.Errorf("before_invoke callback %T: %w", cb, err), ErrorClassOther)
				resp.RequestTime = Ptr(time.Now().UTC())
				resp.SendOffset = time.Since(x.start)
				return resp
			}
		}
	}
	cfg := x.cfg
	opts.connectTimeout, opts.firstTokenTimeout, opts.idleTimeout = cfg.ConnectTimeout, cfg.FirstTokenTimeout, cfg.IdleTimeout
	opts.retries = cfg.Retries
	rctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, &TimeoutError{Class: ErrorClassTimeout, After: cfg.Timeout})
	defer cancel()
	return invoke(rctx, cfg.Endpoint, p, opts)
}

// consume is the single consumer: for each response in arrival order it
// fills in token counts and TPOT, runs the after-invoke callbacks, updates
// the statistics and appends the response to disk.
func (x *execution) consume(ctx context.Context) {
	cfg := x.cfg
	var tick <-chan time.Time
	if cfg.OnProgress != nil {
		t := time.NewTicker(cfg.ProgressInterval)
		defer t.Stop()
		tick = t.C
		cfg.OnProgress(x.progress(false))
	}
	cbCtx := context.WithoutCancel(ctx)
	for {
		select {
		case resp, ok := <-x.results:
			if !ok {
				if cfg.OnProgress != nil {
					cfg.OnProgress(x.progress(true))
				}
				return
			}
			x.process(cbCtx, resp)
			if len(x.results) == 0 && x.writer != nil && x.writeErr == nil {
				x.writeErr = x.writer.flush()
			}
		case <-tick:
			cfg.OnProgress(x.progress(false))
		}
	}
}

func (x *execution) process(ctx context.Context, resp *InvocationResponse) {
	fillTokenCounts(resp, x.cfg.Tokenizer)
	fillTPOT(resp)
	for _, cb := range x.afterInvoke {
		if err := cb.AfterInvoke(ctx, resp); err != nil {
			x.acc.callbackErrors++
			if resp.Extra == nil {
				resp.Extra = map[string]any{}
			}
			resp.Extra["callback_error"] = fmt.Sprintf("%T: %v", cb, err)
		}
	}
	x.acc.add(resp)
	if !x.cfg.LowMemory {
		x.responses = append(x.responses, resp)
	}
	if x.writer != nil && x.writeErr == nil {
		x.writeErr = x.writer.write(resp)
	}
}

func (x *execution) progress(final bool) Progress {
	cfg := x.cfg
	elapsed := time.Since(x.start)
	p := Progress{
		Done:     x.acc.count,
		Failed:   x.acc.failed,
		Elapsed:  elapsed,
		Duration: cfg.RunDuration,
		InFlight: int(x.inflight.Load()),
		Backlog:  len(x.results),
		// No request is sent once the run is canceled or its time is up,
		// even while clients still wait for their last responses.
		Sending: x.sending.Load() && x.ctx.Err() == nil && (cfg.RunDuration == 0 || elapsed < cfg.RunDuration),
		Final:   final,
		Stats:   x.acc.stats(NewStats(), elapsed.Seconds()),
	}
	p.Total = cfg.planned()
	return p
}

// fillTokenCounts counts with the tokenizer the tokens the API did not
// report, for successful responses. A missing text stays a missing count
// (LLMeter's defect D3 fixed); a structured prompt is counted as its JSON.
func fillTokenCounts(r *InvocationResponse, t Tokenizer) {
	if r.Failed() {
		return
	}
	if r.NumTokensInput == nil && r.InputPrompt != nil {
		var text string
		switch p := r.InputPrompt.(type) {
		case string:
			text = p
		default:
			b, err := json.Marshal(p)
			if err != nil {
				break
			}
			text = string(b)
		}
		r.NumTokensInput = Ptr(CountTokens(t, text))
		r.TokensInputSource = "tokenizer"
	}
	if r.NumTokensOutput == nil && r.ResponseText != nil {
		r.NumTokensOutput = Ptr(CountTokens(t, *r.ResponseText))
		r.TokensOutputSource = "tokenizer"
	}
}

// fillTPOT computes the time per output token: (TTLT − TTFT) / (n − 1), for
// responses with both times and more than one output token.
func fillTPOT(r *InvocationResponse) {
	if r.TimePerOutputToken != nil || r.TimeToLastToken == nil || r.TimeToFirstToken == nil || r.NumTokensOutput == nil {
		return
	}
	if *r.TimeToLastToken == 0 || *r.TimeToFirstToken == 0 || *r.NumTokensOutput <= 1 {
		return
	}
	r.TimePerOutputToken = Ptr((*r.TimeToLastToken - *r.TimeToFirstToken) / float64(*r.NumTokensOutput-1))
}
