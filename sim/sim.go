package sim

import (
	"context"
	"errors"
	"fmt"
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
	// fails; default {Error429, Error500, ErrorDropMidStream}.
	ErrorKinds []ErrorKind
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
	}
	for _, k := range c.ErrorKinds {
		switch k {
		case Error429, Error500, ErrorDropMidStream:
		default:
			return fmt.Errorf("sim: unknown ErrorKind %q", k)
		}
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
	// injected failures (429, 500, drops) and rejected requests (400, 404,
	// 405, 413). Clients that go away are not counted.
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
	model   string    // model name to echo
	idBits  uint64    // random bits for response ids
	created int64     // Unix time the request arrived
	prompt  int       // prompt tokens
	n       int       // output tokens
	finish  string    // finish_reason
	stream  bool      // SSE response
	usage   bool      // send usage
	drop    bool      // abort the connection after n/2 tokens
	t0      time.Time // start of the schedule
	ttft    time.Duration
	itl     time.Duration
	waitFor waiter
}

// waitWhole waits until a non-streaming response is due (the time of its
// last token) and reports true, or false if the client went away. A
// request drawn to drop has its connection aborted instead, at the time a
// stream would have broken off (after about half of its tokens).
func (p *plan) waitWhole() bool {
	if p.drop {
		at := p.t0
		if k := p.n / 2; k > 0 {
			at = p.at(k - 1)
		}
		if !p.waitFor.until(at) {
			return false
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
	// category: "invalid_request", "rate_limit" (HTTP 429, when injected
	// with Retry-After), "server" (HTTP 500), "not_found" or "method".
	reject(w http.ResponseWriter, code int, kind, msg string)
	// respond sends the response on the plan's schedule (p.drop: break the
	// connection after about half of the tokens, with panic(http.ErrAbortHandler)).
	respond(w http.ResponseWriter, st *reqState, p *plan)
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

	if float64(errDraw>>11)*0x1p-53 < s.cfg.ErrorRate {
		k, _ := bits.Mul64(kindDraw, uint64(len(s.kinds)))
		switch s.kinds[k] {
		case Error429:
			w.Header()["Retry-After"] = hdrOne
			s.reject(w, proto, http.StatusTooManyRequests, "rate_limit", "Rate limit reached for requests (simulated).")
			return
		case Error500:
			s.reject(w, proto, http.StatusInternalServerError, "server", "The server had an error while processing your request (simulated).")
			return
		default:
			s.stats.errors.Add(1)
			p.drop = true
		}
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
