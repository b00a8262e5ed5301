package main

import (
	"context"
	"errors"
	"testing"

	"github.com/llmeter-go/llmeter"
)

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		code    int
		msg     string
		matched bool
	}{
		{"HTTP 401: Incorrect API key", 401, "Incorrect API key", true},
		{"HTTP 403", 403, "", true},
		{"openai: HTTP 404: no such model", 404, "no such model", true},
		{"HTTP 4011", 0, "", false},
		{"HTTP 40", 0, "", false},
		{"HTTP abc: x", 0, "", false},
		{"connection refused", 0, "", false},
	}
	for _, tt := range tests {
		code, msg, ok := httpStatus(tt.in)
		if code != tt.code || msg != tt.msg || ok != tt.matched {
			t.Errorf("httpStatus(%q) = %d, %q, %v; want %d, %q, %v", tt.in, code, msg, ok, tt.code, tt.msg, tt.matched)
		}
	}
}

func failed(class, msg string) *llmeter.InvocationResponse {
	return &llmeter.InvocationResponse{Error: msg, ErrorClass: class}
}

func TestEarlyAbort(t *testing.T) {
	t.Parallel()
	ok := &llmeter.InvocationResponse{}
	refused := failed(llmeter.ErrorClassConnection, `openai: Post "http://127.0.0.1:1/v1/chat/completions": dial tcp 127.0.0.1:1: connect: connection refused`)
	unauthorized := failed(llmeter.ErrorClassHTTP4xx, "HTTP 401: Incorrect API key provided: sk-x.")
	forbidden := failed(llmeter.ErrorClassHTTP4xx, "HTTP 403")
	notFound := failed(llmeter.ErrorClassHTTP4xx, "HTTP 404: The model `m` does not exist")
	badRequest := failed(llmeter.ErrorClassHTTP4xx, "HTTP 400: max_tokens too large")
	throttled := failed(llmeter.ErrorClassHTTP429, "HTTP 429: slow down")
	serverError := failed(llmeter.ErrorClassHTTP5xx, "HTTP 500: oops")
	tests := []struct {
		name      string
		need      int
		responses []*llmeter.InvocationResponse
		want      string // the abort message; "" = no abort
		wantN     int
	}{
		{"unreachable", 3, []*llmeter.InvocationResponse{refused, refused, refused},
			"cannot reach http://127.0.0.1:1/v1: dial tcp 127.0.0.1:1: connect: connection refused", 3},
		{"two failures are not enough", 3, []*llmeter.InvocationResponse{refused, refused}, "", 0},
		{"401", 3, []*llmeter.InvocationResponse{unauthorized, unauthorized, unauthorized, ok},
			"authentication failed (HTTP 401): Incorrect API key provided: sk-x. — check --api-key / OPENAI_API_KEY", 3},
		{"403 without a message", 3, []*llmeter.InvocationResponse{forbidden, forbidden, forbidden},
			"authentication failed (HTTP 403): (no message) — check --api-key / OPENAI_API_KEY", 3},
		{"404", 3, []*llmeter.InvocationResponse{notFound, notFound, notFound},
			"not found (HTTP 404) at http://127.0.0.1:1/v1/chat/completions: The model `m` does not exist — check --base-url and --model", 3},
		{"mixed hopeless failures: the first one is told", 3, []*llmeter.InvocationResponse{unauthorized, refused, notFound},
			"authentication failed (HTTP 401): Incorrect API key provided: sk-x. — check --api-key / OPENAI_API_KEY", 3},
		{"a success first turns it off", 3, []*llmeter.InvocationResponse{ok, refused, refused, refused}, "", 0},
		{"a success in between turns it off", 3, []*llmeter.InvocationResponse{refused, ok, refused, refused, refused}, "", 0},
		{"other failures are data", 3, []*llmeter.InvocationResponse{badRequest, throttled, serverError, refused, refused, refused}, "", 0},
		{"a run of one request", 1, []*llmeter.InvocationResponse{refused}, "cannot reach http://127.0.0.1:1/v1: dial tcp 127.0.0.1:1: connect: connection refused", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			a := &earlyAbort{baseURL: "http://127.0.0.1:1/v1", url: "http://127.0.0.1:1/v1/chat/completions",
				keyHint: "--api-key / OPENAI_API_KEY", need: tt.need, cancel: cancel}
			for _, r := range tt.responses {
				if err := a.AfterInvoke(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			var ae *abortError
			switch {
			case tt.want == "" && ctx.Err() != nil:
				t.Errorf("run aborted: %v", context.Cause(ctx))
			case tt.want == "":
			case !errors.As(context.Cause(ctx), &ae):
				t.Errorf("cause %v, want an abort", context.Cause(ctx))
			case ae.msg != tt.want || ae.n != tt.wantN:
				t.Errorf("abort %q after %d, want %q after %d", ae.msg, ae.n, tt.want, tt.wantN)
			}
		})
	}
}
