package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/llmeter-go/llmeter"
)

// abortLookahead is how many of the first responses must all fail in the
// same hopeless way (the server cannot be reached, refuses the credentials,
// or does not know the path or model) for the run to stop early.
const abortLookahead = 3

// abortError is the cause of a run stopped early by earlyAbort.
type abortError struct {
	msg string
	n   int // failed responses seen
}

func (e *abortError) Error() string { return e.msg }

// earlyAbort is an after-invoke callback that stops a run whose first
// responses all fail for a reason that will not go away by itself, instead
// of recording hundreds of identical errors: it cancels the run's context
// with an *abortError that says what to fix. It looks at the first `need`
// responses only; one success turns it off.
type earlyAbort struct {
	baseURL string // for "cannot reach"
	url     string // the URL requests go to
	keyHint string // how to give the credentials, e.g. "--api-key / OPENAI_API_KEY"
	need    int
	cancel  context.CancelCauseFunc

	// owned by the Runner's consumer goroutine
	seen  int
	first string
	done  bool
}

// AfterInvoke implements llmeter.AfterInvokeCallback.
func (a *earlyAbort) AfterInvoke(_ context.Context, r *llmeter.InvocationResponse) error {
	if a.done {
		return nil
	}
	msg := a.diagnose(r)
	if msg == "" {
		a.done = true
		return nil
	}
	if a.seen == 0 {
		a.first = msg
	}
	a.seen++
	if a.seen >= a.need {
		a.done = true
		a.cancel(&abortError{msg: a.first, n: a.seen})
	}
	return nil
}

// diagnose returns what to tell the user about a failed response that
// stops the run, or "".
func (a *earlyAbort) diagnose(r *llmeter.InvocationResponse) string {
	if !r.Failed() {
		return ""
	}
	switch r.ErrorClass {
	case llmeter.ErrorClassConnection:
		return fmt.Sprintf("cannot reach %s: %s", a.baseURL, transportError(r.Error))
	case llmeter.ErrorClassHTTP4xx:
		code, msg, ok := httpStatus(r.Error)
		if !ok {
			return ""
		}
		if msg == "" {
			msg = "(no message)"
		}
		switch code {
		case 401, 403:
			return fmt.Sprintf("authentication failed (HTTP %d): %s — check %s", code, msg, a.keyHint)
		case 404:
			return fmt.Sprintf("not found (HTTP 404) at %s: %s — check --base-url and --model", a.url, msg)
		}
	}
	return ""
}

// httpStatus finds "HTTP <code>[: <message>]" (llmeter.StatusError's text)
// in an error message.
func httpStatus(s string) (code int, msg string, ok bool) {
	i := strings.Index(s, "HTTP ")
	if i < 0 || len(s) < i+8 {
		return 0, "", false
	}
	code, err := strconv.Atoi(s[i+5 : i+8])
	if err != nil || code < 100 || code > 599 {
		return 0, "", false
	}
	rest := s[i+8:]
	if m, found := strings.CutPrefix(rest, ": "); found {
		msg = m
	} else if rest != "" {
		return 0, "", false
	}
	return code, msg, true
}

// transportError drops the `openai: Post "<url>": ` that wraps a transport
// error (net/url.Error's form): the URL is already in the message.
func transportError(msg string) string {
	if i := strings.Index(msg, "\": "); i >= 0 && strings.Contains(msg[:i], "://") {
		return msg[i+3:]
	}
	return msg
}
