package llmeter

import "context"

// Callback is a value that hooks into a run. It implements any of
// BeforeRunCallback, BeforeInvokeCallback, AfterInvokeCallback and
// AfterRunCallback; the Runner calls the hooks a callback has, in the order
// of Runner.Callbacks, one at a time.
type Callback any

// BeforeRunCallback runs once before anything is saved or sent; it may change
// the run's configuration. An error stops the run before it starts.
type BeforeRunCallback interface {
	BeforeRun(ctx context.Context, r *Runner) error
}

// BeforeInvokeCallback runs before every request on a copy of the payload,
// which it may change in place: the copy is what is sent. An error turns the
// request into a failed response without sending it.
type BeforeInvokeCallback interface {
	BeforeInvoke(ctx context.Context, p Payload) error
}

// AfterInvokeCallback runs on every response after token counting and TPOT,
// before statistics and before the response is written; it may change the
// response. It runs on the Runner's single consumer goroutine: keep it
// quick. An error is counted (stat callback_errors) and recorded with the
// response; the run goes on.
type AfterInvokeCallback interface {
	AfterInvoke(ctx context.Context, r *InvocationResponse) error
}

// AfterRunCallback runs when the statistics are final (also for an
// interrupted run) and before the Result is saved; it may contribute stats
// with Result.UpdateContributedStats. Errors are returned by Runner.Run next
// to the Result.
type AfterRunCallback interface {
	AfterRun(ctx context.Context, r *Result) error
}

// CallbackConfigurer is implemented by callbacks that can be saved in
// run_config.json.
type CallbackConfigurer interface {
	CallbackConfig() map[string]any
}
