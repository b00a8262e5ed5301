package llmeter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// Endpoint is an instrumented LLM API. A provider implements only its happy
// path: build the payload, make the call, and report what it parses to the
// Recorder as it goes. Timing, error capture and metadata back-fill happen in
// one place, Invoke, for every provider.
//
// An Endpoint is used by many goroutines at once and must keep no per-call
// state.
type Endpoint interface {
	// Info names the endpoint (endpoint_name, model_id, provider) and its
	// LLMeter type (endpoint_type, e.g. "OpenAICompletionStreamEndpoint").
	Info() EndpointInfo
	// PreparePayload returns the payload to send: p with the model id, stream
	// flags and the like injected. It runs outside the timer and must not
	// modify p (copy what it changes).
	PreparePayload(p Payload) (Payload, error)
	// Invoke sends p and reports what it parses to rec as it arrives. The
	// returned error marks the response as failed; everything reported before
	// it is kept. It must honour ctx.
	Invoke(ctx context.Context, p Payload, rec *Recorder) error
	// ParsePayload extracts the human-readable prompt from p (a string, or a
	// JSON value), or returns nil when there is none.
	ParsePayload(p Payload) (any, error)
}

// EndpointInfo identifies an endpoint, as saved in run_config.json.
type EndpointInfo struct {
	EndpointName string
	ModelID      string
	Provider     string
	EndpointType string // LLMeter's class name
}

// EndpointConfigurer is implemented by endpoints that save settings beyond
// EndpointInfo in run_config.json (never secrets). The map must load back
// through the factory registered for the endpoint type.
type EndpointConfigurer interface {
	EndpointConfig() map[string]any
}

// EndpointFactory builds an endpoint from its saved configuration (the
// "endpoint" object of run_config.json).
type EndpointFactory func(cfg map[string]any) (Endpoint, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]EndpointFactory{}
)

// RegisterEndpointType makes LoadEndpoint able to rebuild endpoints of the
// given type. Provider packages call it from init.
func RegisterEndpointType(endpointType string, f EndpointFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[endpointType] = f
}

// EndpointToMap returns the saved form of ep: its EndpointConfig (if any)
// plus endpoint_name, model_id, provider and endpoint_type.
func EndpointToMap(ep Endpoint) map[string]any {
	m := map[string]any{}
	if c, ok := ep.(EndpointConfigurer); ok {
		maps.Copy(m, c.EndpointConfig())
	}
	info := ep.Info()
	m["endpoint_name"] = info.EndpointName
	m["model_id"] = info.ModelID
	m["provider"] = info.Provider
	m["endpoint_type"] = info.EndpointType
	return m
}

// LoadEndpoint rebuilds an endpoint from its saved form.
func LoadEndpoint(cfg map[string]any) (Endpoint, error) {
	t, _ := cfg["endpoint_type"].(string)
	registryMu.RLock()
	f, ok := registry[t]
	known := slices.Sorted(maps.Keys(registry))
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("llmeter: unknown endpoint_type %q (known: %s)", t, strings.Join(known, ", "))
	}
	return f(cfg)
}

// Usage is the token accounting a provider reports; nil means unknown.
type Usage struct {
	InputTokens           *int
	OutputTokens          *int // all billed output tokens, reasoning included
	InputCachedTokens     *int
	OutputReasoningTokens *int
}

// Recorder receives what a provider parses during one invocation and stamps
// it with the one monotonic clock of that invocation. Only Invoke creates
// Recorders.
type Recorder struct {
	start        time.Time
	resp         *InvocationResponse
	text         strings.Builder
	textSeen     bool
	first, last  time.Duration
	firstSet     bool
	lastSet      bool
	progressed   bool // Progress was called
	recordChunks bool
	watch        *watchdog // first-token and idle timeouts; nil when off
}

func (r *Recorder) since() time.Duration { return time.Since(r.start) }

// received reports whether anything of the response was reported (then the
// request is not retried).
func (r *Recorder) received() bool { return r.textSeen || r.firstSet || r.lastSet || r.progressed }

// Text records a chunk of visible output text arriving now (streaming).
// Empty text is ignored. The first non-empty chunk sets the time to first
// token; every one moves the time to last token.
func (r *Recorder) Text(s string) {
	if s == "" {
		return
	}
	if r.text.Cap() == 0 {
		r.text.Grow(256)
	}
	r.text.WriteString(s)
	r.visible()
}

// TextBytes is Text for a byte slice (it is copied).
func (r *Recorder) TextBytes(b []byte) {
	if len(b) == 0 {
		return
	}
	r.text.Write(b)
	r.visible()
}

func (r *Recorder) visible() {
	now := r.since()
	r.textSeen = true
	if !r.firstSet {
		r.first, r.firstSet = now, true
		if r.watch != nil {
			r.watch.firstToken(now)
		}
	} else if r.watch != nil {
		r.watch.data(now)
	}
	r.last, r.lastSet = now, true
	if r.recordChunks {
		if r.resp.ChunkOffsets == nil {
			r.resp.ChunkOffsets = make([]time.Duration, 0, 32)
		}
		r.resp.ChunkOffsets = append(r.resp.ChunkOffsets, now)
	}
}

// FirstToken marks the first token as arrived now unless one already did: for
// output that counts toward the time to first token without being visible
// text (reasoning, when the endpoint is configured so).
//
// Every call counts as data for the idle timeout, so that a long stretch of
// reasoning is no stall.
func (r *Recorder) FirstToken() {
	if !r.firstSet {
		r.first, r.firstSet = r.since(), true
		if r.watch != nil {
			r.watch.firstToken(r.first)
		}
		return
	}
	r.Progress()
}

// LastToken sets the time to last token to now. It counts as data for the
// idle timeout.
func (r *Recorder) LastToken() {
	r.last, r.lastSet = r.since(), true
	if r.watch != nil {
		r.watch.data(r.last)
	}
}

// Received marks a non-streaming response as fully received now: the time to
// last token. Call it before parsing the body. It ends the first-token and
// idle timeouts (the response is in).
func (r *Recorder) Received() {
	r.LastToken()
	if r.watch != nil {
		r.watch.stop()
	}
}

// Progress reports that data of the stream arrived which is not output text
// (a usage event, a tool-call or reasoning delta not counted as a token, a
// metadata event). It keeps the idle timeout from firing, but does not end
// the wait for the first token. Keep-alive events (SSE comments, pings) must
// not be reported: a stream that sends only keep-alives is stalled. It
// costs an atomic store when the idle timeout is on, nothing otherwise.
func (r *Recorder) Progress() {
	r.progressed = true
	if r.watch != nil {
		r.watch.data(r.since())
	}
}

// SetText sets the whole response text without touching the timing
// (non-streaming responses).
func (r *Recorder) SetText(s string) {
	r.text.Reset()
	r.text.WriteString(s)
	r.textSeen = true
}

// SetID records the provider's response or request id.
func (r *Recorder) SetID(id string) {
	if id != "" {
		r.resp.ID = id
	}
}

// SetUsage records token counts; nil fields leave earlier values alone.
// Usage arriving counts as data for the idle timeout.
func (r *Recorder) SetUsage(u Usage) {
	r.Progress()
	if u.InputTokens != nil {
		r.resp.NumTokensInput = u.InputTokens
		r.resp.TokensInputSource = "usage"
	}
	if u.OutputTokens != nil {
		r.resp.NumTokensOutput = u.OutputTokens
		r.resp.TokensOutputSource = "usage"
	}
	if u.InputCachedTokens != nil {
		r.resp.NumTokensInputCached = u.InputCachedTokens
	}
	if u.OutputReasoningTokens != nil {
		r.resp.NumTokensOutputReasoning = u.OutputReasoningTokens
	}
}

// SetRetries records how many times the call was retried.
func (r *Recorder) SetRetries(n int) { r.resp.Retries = &n }

// SetError marks the response as failed without ending the parse (for APIs
// that report an error event and keep streaming). The first error wins.
func (r *Recorder) SetError(err error) {
	if r.resp.Error == "" && err != nil {
		r.resp.Error = err.Error()
		r.resp.ErrorClass = ClassifyError(err)
	}
}

// SetInputPayload replaces the recorded payload (when the transport changed
// what it actually sent).
func (r *Recorder) SetInputPayload(p Payload) { r.resp.InputPayload = p }

// SetInputPrompt records the prompt, when the provider knows it better than
// ParsePayload.
func (r *Recorder) SetInputPrompt(v any) { r.resp.InputPrompt = v }

// invokeOptions are the Runner's settings for one call.
type invokeOptions struct {
	runStart     time.Time // zero: SendOffset stays 0
	recordChunks bool
	// connectTimeout is passed to the dialer (WithConnectTimeout); 0 leaves
	// the dialer's default.
	connectTimeout time.Duration
	// firstTokenTimeout and idleTimeout: 0 is off (see Runner).
	firstTokenTimeout time.Duration
	idleTimeout       time.Duration
	// retries is the most retries of a request that failed before anything
	// was received (see Runner.Retries).
	retries int
}

// Invoke runs one request through ep and returns its record; it never fails
// and never panics: a failure is a response with Error set. This is the one
// lifecycle wrapper of LLMeter's llmeter_invoke:
//
//  1. prepare the payload (outside the timer);
//  2. stamp the id (UUID hex) and request_time (UTC wall clock);
//  3. start the monotonic clock, call the endpoint, which reports to a Recorder;
//  4. capture any error or panic, keeping every field parsed so far;
//  5. back-fill id, time to last token (when no error), input payload and
//     input prompt.
//
// A deadline of ctx whose cause (context.WithTimeoutCause) is a
// *TimeoutError gives failed responses that error and its class.
func Invoke(ctx context.Context, ep Endpoint, payload Payload) *InvocationResponse {
	return invoke(ctx, ep, payload, invokeOptions{recordChunks: true})
}

func invoke(ctx context.Context, ep Endpoint, payload Payload, o invokeOptions) (resp *InvocationResponse) {
	prepared, err := ep.PreparePayload(payload)
	if err != nil {
		resp = ErrorOutput(payload, fmt.Errorf("prepare payload: %w", err), ErrorClassOther)
		resp.RequestTime = Ptr(time.Now().UTC())
		return resp
	}
	if o.connectTimeout > 0 {
		ctx = WithConnectTimeout(ctx, o.connectTimeout)
	}
	id := NewID()
	start := time.Now()
	var rec *Recorder
	retries := 0
	for {
		// Every attempt starts from an empty record; the clock, request_time
		// and send offset stay the first attempt's, so that the time spent
		// retrying is part of the latency.
		resp = &InvocationResponse{ID: id, RequestTime: Ptr(start.UTC().Round(0))}
		if !o.runStart.IsZero() {
			resp.SendOffset = start.Sub(o.runStart)
		}
		rec = &Recorder{resp: resp, recordChunks: o.recordChunks, start: start}
		err = attempt(ctx, ep, prepared, rec, &o)
		if err == nil || retries >= o.retries || rec.received() || !retryable(resp.ErrorClass) {
			break
		}
		if !sleepCtx(ctx, retryDelay(err, retries)) {
			break // canceled, or the total timeout would end the wait: keep this error
		}
		retries++
	}
	end := rec.since()

	// No secret the process knows reaches the record, even when a server
	// echoes a key in its error body.
	resp.Error = Redact(resp.Error)
	if rec.textSeen {
		resp.ResponseText = Ptr(rec.text.String())
	}
	if rec.firstSet {
		resp.TimeToFirstToken = Ptr(rec.first.Seconds())
	}
	switch {
	case rec.lastSet:
		resp.TimeToLastToken = Ptr(rec.last.Seconds())
	case resp.Error == "":
		resp.TimeToLastToken = Ptr(end.Seconds())
	}
	if o.retries > 0 {
		// Ours, plus those the provider's SDK reported for the last attempt.
		n := retries
		if resp.Retries != nil {
			n += *resp.Retries
		}
		resp.Retries = &n
	}
	if resp.ID == "" {
		resp.ID = id
	}
	if resp.InputPayload == nil {
		resp.InputPayload = prepared
	}
	if resp.InputPrompt == nil {
		resp.InputPrompt = parsePrompt(ep, prepared)
	}
	return resp
}

// attempt makes one call of the endpoint under the first-token and idle
// timeouts, and records its error in rec.resp: a timeout of ours (the cause
// of the context's cancellation) wins over the transport's error it caused.
func attempt(ctx context.Context, ep Endpoint, p Payload, rec *Recorder, o *invokeOptions) error {
	actx, w := watch(ctx, rec.start, o)
	rec.watch = w
	err := callEndpoint(actx, ep, p, rec)
	if w != nil {
		w.stop()
		defer w.cancel(context.Canceled)
	}
	resp := rec.resp
	if err == nil {
		return nil
	}
	var te *TimeoutError
	if errors.As(context.Cause(actx), &te) {
		// Our own timeout cut the request short: it is the error, whatever
		// the provider made of the cancellation.
		switch msg := err.Error(); {
		case errors.As(err, new(*TimeoutError)):
			resp.Error = msg
		case msg == "":
			resp.Error = te.Error()
		default:
			resp.Error = te.Error() + " (" + msg + ")"
		}
		resp.ErrorClass = te.Class
		return err
	}
	if resp.Error == "" {
		resp.Error = err.Error()
		if resp.Error == "" {
			resp.Error = "invocation failed"
		}
		resp.ErrorClass = ClassifyError(err)
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			// The transport's error hides that our own deadline or
			// cancellation caused it.
			resp.ErrorClass = ClassifyError(ctxErr)
		}
	}
	return err
}

// callEndpoint turns a panic inside a provider into an error.
func callEndpoint(ctx context.Context, ep Endpoint, p Payload, rec *Recorder) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in endpoint %s: %v\n%s", ep.Info().EndpointType, v, debug.Stack())
			rec.resp.ErrorClass = ErrorClassOther
		}
	}()
	return ep.Invoke(ctx, p, rec)
}

// parsePrompt calls ParsePayload; a failure (or panic) leaves the prompt nil.
func parsePrompt(ep Endpoint, p Payload) (prompt any) {
	defer func() {
		if recover() != nil {
			prompt = nil
		}
	}()
	v, err := ep.ParsePayload(p)
	if err != nil {
		return nil
	}
	return v
}
