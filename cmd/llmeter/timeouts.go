package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/llmeter-go/llmeter"
)

// timeoutFlags are the per-request timeouts beyond --timeout, and retries.
type timeoutFlags struct {
	connectTimeout    time.Duration
	firstTokenTimeout time.Duration
	idleTimeout       time.Duration
	retries           int
}

func (f *timeoutFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.connectTimeout, "connect-timeout", llmeter.DefaultConnectTimeout,
		"give up connecting (DNS and TCP) after this long: error class timeout_connect")
	fs.DurationVar(&f.firstTokenTimeout, "first-token-timeout", 0,
		"fail a request whose first token (or whole non-streamed response) takes longer: error class timeout_first_token (0: off)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", 0,
		"fail a stream that stalls this long after its first token (text kept): error class timeout_idle (0: off)")
	fs.IntVar(&f.retries, "retries", 0,
		"retry a request that failed before any token with HTTP 429/5xx or a connection error up to N times, "+
			"after Retry-After or a backoff; the wait counts in the latency (0: off)")
}

// apply sets the Runner's fields.
func (f *timeoutFlags) apply(r *llmeter.Runner) {
	r.ConnectTimeout, r.FirstTokenTimeout, r.IdleTimeout, r.Retries = f.connectTimeout, f.firstTokenTimeout, f.idleTimeout, f.retries
}
