package llmeter

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultConnectTimeout bounds the connection set-up (DNS and TCP connect) of
// a request when the Runner sets no ConnectTimeout, and for the HTTP clients
// of llmeter's endpoints used outside a Runner.
const DefaultConnectTimeout = 10 * time.Second

// Backoff between retries when the server gives no Retry-After: the n-th
// retry waits a random time in [d/2, d] with d = retryBase·2ⁿ, at most
// retryCap.
const (
	retryBase = 500 * time.Millisecond
	retryCap  = 20 * time.Second
)

type connectTimeoutKey struct{}

// WithConnectTimeout returns a context asking the dialer of the HTTP clients
// of llmeter's endpoints (see httpep.ConnectTimeout) to give up connecting
// after d, with a *TimeoutError of class ErrorClassTimeoutConnect. The
// Runner sets it on every request from Runner.ConnectTimeout. The value
// travels with the request: net/http dials with a context that keeps the
// request's values (though not its cancellation).
func WithConnectTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, connectTimeoutKey{}, d)
}

// ConnectTimeoutFromContext returns the connect timeout set by
// WithConnectTimeout; ok is false when there is none.
func ConnectTimeoutFromContext(ctx context.Context) (d time.Duration, ok bool) {
	d, ok = ctx.Value(connectTimeoutKey{}).(time.Duration)
	return d, ok && d > 0
}

// watchdog enforces the first-token and idle timeouts of one attempt with one
// timer, which cancels the attempt's context with a *TimeoutError as cause.
//
// Until the first token the timer is armed for the first-token timeout (if
// any). From the first token on it watches the idle timeout (if any): the
// Recorder stores the time of every piece of data in last (one atomic store,
// no timer operation per chunk), and when the timer fires it re-arms itself
// for the rest of the idle period if data arrived meanwhile, else cancels.
type watchdog struct {
	start      time.Time // the Recorder's clock origin
	firstAfter time.Duration
	idleAfter  time.Duration
	cancel     context.CancelCauseFunc
	last       atomic.Int64 // offset from start of the latest data, in ns

	mu       sync.Mutex // guards the fields below, and the timer's Reset/Stop
	timer    *time.Timer
	gotFirst bool
	stopped  bool
}

// watch returns ctx wrapped for the first-token and idle timeouts of o (nil
// watchdog when both are off), for a Recorder whose clock started at start.
func watch(ctx context.Context, start time.Time, o *invokeOptions) (context.Context, *watchdog) {
	if o.firstTokenTimeout <= 0 && o.idleTimeout <= 0 {
		return ctx, nil
	}
	wctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{start: start, firstAfter: o.firstTokenTimeout, idleAfter: o.idleTimeout, cancel: cancel}
	if w.firstAfter > 0 {
		w.mu.Lock()
		w.timer = time.AfterFunc(w.firstAfter, w.fire)
		w.mu.Unlock()
	}
	return wctx, w
}

// data records that data arrived at offset now (any goroutine may call it).
func (w *watchdog) data(now time.Duration) { w.last.Store(int64(now)) }

// firstToken ends the first-token phase: from now on the idle timeout runs.
func (w *watchdog) firstToken(now time.Duration) {
	w.last.Store(int64(now))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gotFirst || w.stopped {
		return
	}
	w.gotFirst = true
	switch {
	case w.idleAfter <= 0:
		if w.timer != nil {
			w.timer.Stop()
		}
	case w.timer == nil:
		w.timer = time.AfterFunc(w.idleAfter, w.fire)
	default:
		w.timer.Reset(w.idleAfter)
	}
}

// fire runs when the timer expires.
func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if !w.gotFirst {
		w.stopped = true
		w.cancel(&TimeoutError{Class: ErrorClassTimeoutFirstToken, After: w.firstAfter})
		return
	}
	quiet := time.Since(w.start) - time.Duration(w.last.Load())
	if rest := w.idleAfter - quiet; rest > 0 {
		w.timer.Reset(rest)
		return
	}
	w.stopped = true
	w.cancel(&TimeoutError{Class: ErrorClassTimeoutIdle, After: w.idleAfter})
}

// stop disarms the watchdog for good (the response is complete, or the
// attempt is over). It does not cancel the context.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

// retryable reports whether a failed attempt of this class may be retried:
// the server refused or failed before answering, or no connection was made.
func retryable(class string) bool {
	switch class {
	case ErrorClassHTTP429, ErrorClassHTTP5xx, ErrorClassConnection, ErrorClassTimeoutConnect:
		return true
	}
	return false
}

// retryDelay is the wait before retry number n (0 for the first): the
// server's Retry-After when the error carries one, else exponential backoff
// with jitter.
func retryDelay(err error, n int) time.Duration {
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return se.RetryAfter
	}
	d := retryCap
	if n < 16 && retryBase<<n < retryCap {
		d = retryBase << n
	}
	return d/2 + rand.N(d/2+1)
}

// sleepCtx waits d unless ctx ends first or its deadline comes before the
// wait is over (a retry that could not complete); it reports whether the
// whole wait happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// describeTimeouts adds the timeout and retry settings to a run's stats (in
// seconds; null when off). run_config.json keeps exactly LLMeter's keys, which
// LLMeter's loader requires; "timeout" is there.
func (r *Runner) describeTimeouts(st *Stats) {
	secondsOrNull := func(d time.Duration) any {
		if d <= 0 {
			return nil
		}
		return d.Seconds()
	}
	st.Set("connect_timeout", r.ConnectTimeout.Seconds())
	st.Set("first_token_timeout", secondsOrNull(r.FirstTokenTimeout))
	st.Set("idle_timeout", secondsOrNull(r.IdleTimeout))
	st.Set("max_retries", r.Retries)
}
