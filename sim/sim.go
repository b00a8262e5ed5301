package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"math/bits"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes the simulated model: its latency model, output lengths,
// capacity and failure behaviour. The zero value is a valid configuration (no
// delays, 16 output tokens, unlimited capacity, no failures).
type Config struct {
	// TTFT is the base time to first token (default 0).
	TTFT time.Duration
	// PrefillPerToken is added to TTFT for every prompt token.
	PrefillPerToken time.Duration
	// ITL is the inter-token latency between consecutive output tokens.
	ITL time.Duration
	// OutputTokens is the mean output length, used when the request has no
	// max_tokens limit below it; default 16.
	OutputTokens int
	// OutputJitter spreads output lengths: 0 means always OutputTokens,
	// otherwise the length is uniform over the integers in
	// [OutputTokens*(1-j), OutputTokens*(1+j)], and at least 1.
	OutputJitter float64
	// Capacity is the maximum number of requests served at once; 0 means
	// unlimited. Requests above it wait in a FIFO queue, and the wait adds to
	// their time to first token.
	Capacity int
	// ErrorRate is the fraction of requests that fail (0..1).
	ErrorRate float64
	// ErrorKinds are the failures drawn from, uniformly, when a request
	// fails (any of FaultKinds); default {Error429, Error500,
	// ErrorDropMidStream}.
	ErrorKinds []ErrorKind
	// Faults are failures with rates of their own: beyond the ErrorRate
	// draw, a request gets Faults[i].Kind with probability Faults[i].Rate.
	// ErrorRate plus the rates must not exceed 1. A fault marker in a
	// request (FaultMarker) overrides every draw.
	Faults []Fault
	// FaultDelay is how long an ErrorStall stalls and an ErrorSlowStart
	// waits before its headers; default 30 s.
	FaultDelay time.Duration
	// OversizeBytes is the text size of an ErrorOversized response;
	// default 64 MiB.
	OversizeBytes int
	// NoUsage suppresses token usage in all responses, even when the request
	// asks for it with stream_options.include_usage.
	NoUsage bool
	// Seed seeds all randomness (math/rand/v2 PCG). The same seed and the
	// same request order give the same outputs.
	Seed uint64
	// Model is the model name echoed when the request names none; default
	// "sim-model".
	Model string
	// TimersOnly waits with runtime timers alone, without the precise
	// nanosleep finish (see the package documentation). It is required inside
	// a testing/synctest bubble, where only runtime timers follow the fake
	// clock.
	TimersOnly bool
}

// ErrorKind is a kind of injected failure.
type ErrorKind string

// The failures the server can inject (see [Config.ErrorRate]).
const (
	// Error429 answers at once with HTTP 429, "Retry-After: 1" and an
	// OpenAI-style JSON error body of type "rate_limit_error" with code
	// "rate_limit_exceeded".
	Error429 ErrorKind = "429"
	// Error500 answers at once with HTTP 500 and an OpenAI-style JSON error
	// body of type "server_error".
	Error500 ErrorKind = "500"
	// ErrorDropMidStream aborts the connection in the middle of the response:
	// a streaming response sends about half of its tokens on schedule and
	// then breaks off without the finish chunk or [DONE]; a non-streaming
	// request gets its connection closed without a response at the time the
	// stream would have broken off.
	ErrorDropMidStream ErrorKind = "drop"
)

const (
	defaultOutputTokens = 16
	defaultModel        = "sim-model"

	maxBodyBytes = 32 << 20 // largest accepted request body
)

var defaultErrorKinds = []ErrorKind{Error429, Error500, ErrorDropMidStream}

// validate reports the first problem with c, ignoring fields that have
// defaults.
func (c *Config) validate() error {
	switch {
	case c.TTFT < 0:
		return fmt.Errorf("sim: negative TTFT %v", c.TTFT)
	case c.PrefillPerToken < 0:
		return fmt.Errorf("sim: negative PrefillPerToken %v", c.PrefillPerToken)
	case c.ITL < 0:
		return fmt.Errorf("sim: negative ITL %v", c.ITL)
	case c.OutputTokens < 0:
		return fmt.Errorf("sim: negative OutputTokens %d", c.OutputTokens)
	case !(c.OutputJitter >= 0) || math.IsInf(c.OutputJitter, 0):
		return fmt.Errorf("sim: OutputJitter %v must be a finite number >= 0", c.OutputJitter)
	case c.Capacity < 0:
		return fmt.Errorf("sim: negative Capacity %d", c.Capacity)
	case !(c.ErrorRate >= 0 && c.ErrorRate <= 1):
		return fmt.Errorf("sim: ErrorRate %v outside [0, 1]", c.ErrorRate)
	case c.FaultDelay < 0:
		return fmt.Errorf("sim: negative FaultDelay %v", c.FaultDelay)
	case c.OversizeBytes < 0:
		return fmt.Errorf("sim: negative OversizeBytes %d", c.OversizeBytes)
	}
	for _, k := range c.ErrorKinds {
		if !k.valid() {
			return fmt.Errorf("sim: unknown ErrorKind %q (known: %s)", k, kindList())
		}
	}
	total := c.ErrorRate
	for _, f := range c.Faults {
		if !f.Kind.valid() {
			return fmt.Errorf("sim: unknown fault kind %q (known: %s)", f.Kind, kindList())
		}
		if !(f.Rate >= 0 && f.Rate <= 1) {
			return fmt.Errorf("sim: fault %s: rate %v outside [0, 1]", f.Kind, f.Rate)
		}
		total += f.Rate
	}
	if total > 1+1e-9 {
		return fmt.Errorf("sim: ErrorRate and fault rates add up to %v, more than 1", total)
	}
	return nil
}

// Truth returns the latency the model intends for a request with the given
// prompt and output token counts when it does not wait for capacity:
//
//	ttft = c.TTFT + promptTokens*c.PrefillPerToken
//	ttlt = ttft + (outputTokens-1)*c.ITL
//
// ttft is when the first content token is sent, ttlt when the last one (and,
// for a non-streaming request, the whole response) is sent, both measured
// from the moment the handler starts. outputTokens below 1 count as 1.
func (c Config) Truth(promptTokens, outputTokens int) (ttft, ttlt time.Duration) {
	ttft = c.TTFT + time.Duration(promptTokens)*c.PrefillPerToken
	if outputTokens < 1 {
		outputTokens = 1
	}
	return ttft, ttft + time.Duration(outputTokens-1)*c.ITL
}

// Stats is a snapshot of a server's request counters.
type Stats struct {
	// Requests counts every request the handler received.
	Requests int64
	// Errors counts requests that did not get a complete response by design:
	// injected failures (every ErrorKind but ErrorStall, ErrorSlowStart and
	// ErrorOversized, whose responses are complete) and rejected requests
	// (400, 404, 405, 413). Clients that go away are not counted.
	Errors int64
	// Active is the number of requests being served now (past the capacity
	// queue, not yet finished).
	Active int64
	// MaxActive is the highest Active seen.
	MaxActive int64
	// Queued is the number of requests waiting for capacity now.
	Queued int64
}

// Server is the simulated LLM server, an [http.Handler]. Create it with
// [New]; it is safe for concurrent use.
type Server struct {
	cfg   Config
	kinds []ErrorKind
	lenLo int // sampled output lengths are uniform in [lenLo, lenHi]
	lenHi int
	sem   chan struct{} // capacity slots; nil when unlimited
	seq   atomic.Uint64 // index of the next accepted request (seeds its RNG)
	stats struct{ requests, errors, active, maxActive, queued atomic.Int64 }
	fine  time.Duration // last stretch of each wait slept precisely; 0 = timers only (tests in synctest bubbles)
}

// New returns a server for cfg after filling in defaults (OutputTokens 16,
// Model "sim-model", ErrorKinds all kinds). It panics if cfg is invalid:
// negative durations, OutputTokens or Capacity, a negative or non-finite
// OutputJitter, ErrorRate outside [0, 1] or an unknown ErrorKind.
// ListenAndServe reports the same problems as an error instead.
func New(cfg Config) *Server {
	if err := cfg.validate(); err != nil {
		panic(err)
	}
	if cfg.OutputTokens == 0 {
		cfg.OutputTokens = defaultOutputTokens
	}
	if cfg.Model == "" {
		cfg.Model = defaultModel
	}
	if cfg.FaultDelay == 0 {
		cfg.FaultDelay = defaultFaultDelay
	}
	if cfg.OversizeBytes == 0 {
		cfg.OversizeBytes = defaultOversizeBytes
	}
	cfg.Faults = append([]Fault(nil), cfg.Faults...)
	s := &Server{cfg: cfg, fine: fineWait}
	if cfg.TimersOnly {
		s.fine = 0
	}
	if len(cfg.ErrorKinds) == 0 {
		s.kinds = defaultErrorKinds
	} else {
		s.kinds = append([]ErrorKind(nil), cfg.ErrorKinds...)
	}
	s.cfg.ErrorKinds = s.kinds
	s.lenLo, s.lenHi = cfg.OutputTokens, cfg.OutputTokens
	if j := cfg.OutputJitter; j > 0 {
		const eps = 1e-9 // absorb rounding in n*(1±j)
		n := float64(cfg.OutputTokens)
		s.lenLo = int(math.Ceil(n*(1-j) - eps))
		s.lenHi = int(math.Floor(n*(1+j) + eps))
		s.lenLo = max(s.lenLo, 1)
		s.lenHi = max(s.lenHi, s.lenLo)
	}
	if cfg.Capacity > 0 {
		s.sem = make(chan struct{}, cfg.Capacity)
	}
	return s
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:  s.stats.requests.Load(),
		Errors:    s.stats.errors.Load(),
		Active:    s.stats.active.Load(),
		MaxActive: s.stats.maxActive.Load(),
		Queued:    s.stats.queued.Load(),
	}
}

// Start runs a server for cfg on a new [httptest.Server] listening on
// 127.0.0.1. The caller must Close the httptest.Server. It panics like [New]
// if cfg is invalid.
func Start(cfg Config) (*httptest.Server, *Server) {
	s := New(cfg)
	return httptest.NewServer(s), s
}

// StartTLS is Start with TLS (HTTP/1.1 and HTTP/2) and httptest's
// self-signed certificate, which only the httptest.Server's Client trusts:
// any other client fails its handshake, as with a server whose certificate
// is not trusted. The server does not log errors (such failed handshakes).
func StartTLS(cfg Config) (*httptest.Server, *Server) {
	s := New(cfg)
	ts := httptest.NewUnstartedServer(s)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	return ts, s
}

// shutdownGrace is how long ListenAndServe lets in-flight requests finish
// after its context is done.
const shutdownGrace = 10 * time.Second

// ListenAndServe serves a server for cfg on the TCP address addr (for example
// "127.0.0.1:0") until ctx is done. Once listening, it calls ready (if not
// nil) with the bound address. When ctx is done it stops accepting
// connections and waits up to 10 seconds for in-flight requests to finish,
// then closes the remaining connections and returns nil. It returns an error
// if cfg is invalid, the address cannot be bound or serving fails.
func ListenAndServe(ctx context.Context, addr string, cfg Config, ready func(net.Addr)) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	s := New(cfg)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: time.Minute}
	if ready != nil {
		ready(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err // Serve failed on its own (ErrServerClosed cannot happen here)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// plan is what the server decided for one request.
type plan struct {
	model    string        // model name to echo
	idBits   uint64        // random bits for response ids
	created  int64         // Unix time the request arrived
	prompt   int           // prompt tokens
	n        int           // output tokens
	finish   string        // finish_reason
	stream   bool          // SSE response
	usage    bool          // send usage
	fault    ErrorKind     // injected mid-stream fault (see cut), or ""
	proto    protocol      // the protocol serving the request
	delay    time.Duration // Config.FaultDelay
	oversize int           // Config.OversizeBytes
	t0       time.Time     // start of the schedule
	ttft     time.Duration
	itl      time.Duration
	waitFor  waiter
}

// waitWhole waits until a non-streaming response is due (the time of its
// last token) and reports true, or false if the client went away. A
// request drawn to drop or reset has its connection aborted or reset
// instead, at the time a stream would have broken off (after about half of
// its tokens). w is the request's ResponseWriter.
func (p *plan) waitWhole(w http.ResponseWriter) bool {
	if p.fault == ErrorDropMidStream || p.fault == ErrorReset {
		if !p.waitFor.until(p.cutTime()) {
			return false
		}
		if p.fault == ErrorReset {
			resetConn(w)
		}
		panic(http.ErrAbortHandler)
	}
	return p.waitFor.until(p.at(p.n - 1))
}

// at returns the scheduled time of output token i.
func (p *plan) at(i int) time.Time {
	return p.t0.Add(p.ttft + time.Duration(i)*p.itl)
}

// A protocol is one wire API the simulator speaks. Each lives in a file of
// its own and shares the request lifecycle of [Server.serve]: decode the
// request, draw its random decisions, wait for capacity, then answer on the
// plan's schedule.
type protocol interface {
	// decode parses the request (st.body holds the body) into what the
	// latency model needs.
	decode(st *reqState, r *http.Request) (request, error)
	// reject answers with the protocol's error shape. kind is the error
	// category: "invalid_request", "unauthorized" (401), "forbidden" (403),
	// "rate_limit" (HTTP 429, when injected with Retry-After), "server"
	// (HTTP 500), "unavailable" (503), "not_found" or "method".
	reject(w http.ResponseWriter, code int, kind, msg string)
	// respond sends the response on the plan's schedule, with its
	// mid-stream fault (p.fault) if any: streams run it through
	// output.tokens, whole bodies through plan.waitWhole and
	// plan.sendWhole.
	respond(w http.ResponseWriter, st *reqState, p *plan)
	// streamFault appends the protocol's own bytes for a mid-stream fault:
	// for ErrorMalformed an event that does not parse, for ErrorEvent the
	// provider's in-stream error event, for ErrorDropMidStream the event
	// that reports a broken stream where the provider sends one (ok false
	// when it does not).
	streamFault(b []byte, st *reqState, p *plan, kind ErrorKind) (_ []byte, ok bool)
	// bigEvent returns the framing of a text event, for ErrorOversized.
	bigEvent(st *reqState, p *plan) bigEvent
}

// request is what a protocol decoded from a request.
type request struct {
	model  string // empty: Config.Model
	prompt int    // prompt tokens (whitespace-separated words of its text)
	limit  int    // max output tokens; 0 or less: no limit
	stream bool
	usage  bool // report usage (subject to Config.NoUsage)
}

// routers find the protocol of a request path; each protocol's file adds its
// own from init. The first that answers non-nil wins.
var routers []func(path string) protocol

func init() {
	routers = append(routers, func(path string) protocol {
		if strings.HasSuffix(path, "/chat/completions") {
			return chatProtocol{}
		}
		return nil
	})
}

// route returns the protocol that serves path, or nil.
func route(path string) protocol {
	for _, r := range routers {
		if p := r(path); p != nil {
			return p
		}
	}
	return nil
}

// ServeHTTP serves one request of any protocol the simulator speaks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.stats.requests.Add(1)
	proto := route(r.URL.Path)
	if r.Method != http.MethodPost {
		w.Header()["Allow"] = hdrPost
		if proto == nil {
			proto = chatProtocol{}
		}
		s.reject(w, proto, http.StatusMethodNotAllowed, "method", "Method "+r.Method+" not allowed; use POST.")
		return
	}
	if proto == nil {
		s.reject(w, chatProtocol{}, http.StatusNotFound, "not_found", "Unknown path "+r.URL.Path+"; the simulator serves /v1/chat/completions, /v1/responses, /v1/messages, /model/{id}/converse…, /endpoints/{name}/invocations…, /generate, /api/chat and /api/generate.")
		return
	}
	s.serve(w, r, start, proto)
}

// serve runs the request lifecycle shared by all protocols.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, start time.Time, proto protocol) {
	st := statePool.Get().(*reqState)
	defer st.release()
	if err := st.readBody(r.Body); err != nil {
		if errors.Is(err, errBodyTooLarge) {
			s.reject(w, proto, http.StatusRequestEntityTooLarge, "invalid_request", "Request body too large.")
		} else {
			s.reject(w, proto, http.StatusBadRequest, "invalid_request", "Could not read the request body: "+err.Error())
		}
		return
	}
	req, err := proto.decode(st, r)
	if err != nil {
		s.reject(w, proto, http.StatusBadRequest, "invalid_request", "We could not parse the JSON body of your request: "+err.Error())
		return
	}

	// All random draws for this request, in a fixed order, from a generator
	// seeded with the seed and the request's index.
	var rng rand.PCG
	rng.Seed(s.cfg.Seed, mix64(s.seq.Add(1)-1))
	idBits, errDraw, kindDraw, lenDraw := rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()

	p := plan{prompt: req.prompt, stream: req.stream, ttft: s.cfg.TTFT + time.Duration(req.prompt)*s.cfg.PrefillPerToken, itl: s.cfg.ITL}
	p.model = req.model
	if p.model == "" {
		p.model = s.cfg.Model
	}
	p.idBits, p.created = idBits, start.Unix()
	p.usage = !s.cfg.NoUsage && req.usage
	sampled := s.lenLo
	if s.lenHi > s.lenLo {
		k, _ := bits.Mul64(lenDraw, uint64(s.lenHi-s.lenLo+1))
		sampled += int(k)
	}
	p.n, p.finish = sampled, "stop"
	if req.limit > 0 && req.limit <= sampled {
		p.n, p.finish = req.limit, "length"
	}

	var fault ErrorKind
	if u := float64(errDraw>>11) * 0x1p-53; u < s.cfg.ErrorRate {
		k, _ := bits.Mul64(kindDraw, uint64(len(s.kinds)))
		fault = s.kinds[k]
	} else {
		u -= s.cfg.ErrorRate
		for _, f := range s.cfg.Faults {
			if u < f.Rate {
				fault = f.Kind
				break
			}
			u -= f.Rate
		}
	}
	if k, found, err := markedFault(st.body); err != nil {
		s.reject(w, proto, http.StatusBadRequest, "invalid_request", err.Error())
		return
	} else if found {
		fault = k
	}
	if fault == ErrorEvent && !req.stream {
		fault = Error500
	}
	if code, kind, msg, ok := fault.status(); ok {
		if fault == Error429 {
			w.Header()["Retry-After"] = hdrOne
		}
		s.reject(w, proto, code, kind, msg)
		return
	}
	switch fault {
	case ErrorStall, ErrorSlowStart, ErrorOversized, "":
	default:
		s.stats.errors.Add(1)
	}
	p.proto, p.delay, p.oversize = proto, s.cfg.FaultDelay, s.cfg.OversizeBytes
	if fault.midStream() {
		p.fault = fault
	}
	if fault == ErrorOversized && !req.stream {
		// A whole body with that much text, at once.
		p.n, p.itl, p.finish = (p.oversize/wordsBytes+1)*len(words), 0, "stop"
		st.out = make([]byte, 0, p.oversize+64<<10) // one allocation, not a doubling series
	}

	ctx := r.Context()
	p.t0 = start
	if s.sem != nil {
		select {
		case s.sem <- struct{}{}:
		default:
			s.stats.queued.Add(1)
			select {
			case s.sem <- struct{}{}:
				s.stats.queued.Add(-1)
			case <-ctx.Done():
				s.stats.queued.Add(-1)
				return
			}
			p.t0 = time.Now()
		}
		defer func() { <-s.sem }()
	}
	active := s.stats.active.Add(1)
	defer s.stats.active.Add(-1)
	for {
		m := s.stats.maxActive.Load()
		if active <= m || s.stats.maxActive.CompareAndSwap(m, active) {
			break
		}
	}

	p.waitFor = waiter{done: ctx.Done(), fine: s.fine}
	defer p.waitFor.stop()
	if fault == ErrorSlowStart {
		p.t0 = p.t0.Add(p.delay)
		if !p.waitFor.until(p.t0) {
			return
		}
	}
	proto.respond(w, st, &p)
}

// reject counts an error and lets the protocol answer it.
func (s *Server) reject(w http.ResponseWriter, proto protocol, code int, kind, msg string) {
	s.stats.errors.Add(1)
	proto.reject(w, code, kind, msg)
}

// writeJSON writes a complete JSON response.
func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Content-Length"] = []string{itoa(len(body))}
	w.WriteHeader(code)
	w.Write(body)
}

// mix64 is the splitmix64 finaliser; it spreads consecutive request indexes
// over the PCG seed space.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

var statePool = sync.Pool{New: func() any { return new(reqState) }}
