package llmeter

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// scriptEndpoint runs its script as the provider's Invoke.
type scriptEndpoint struct {
	fakeEndpoint
	script func(ctx context.Context, rec *Recorder) error
}

func (e *scriptEndpoint) Invoke(ctx context.Context, _ Payload, rec *Recorder) error {
	return e.script(ctx, rec)
}

// sleep waits d or until ctx ends, returning context.Cause like net/http.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Data that is not text keeps the idle timeout quiet: Progress, reasoning
// (FirstToken after the first token) and usage.
func TestProgressKeepsIdleTimeoutOff(t *testing.T) {
	signals := map[string]func(*Recorder){
		"Progress":   (*Recorder).Progress,
		"FirstToken": (*Recorder).FirstToken,
		"SetUsage":   func(r *Recorder) { r.SetUsage(Usage{OutputTokens: Ptr(1)}) },
	}
	for name, signal := range signals {
		t.Run(name, func(t *testing.T) { testProgressKeepsIdleTimeoutOff(t, signal) })
	}
}

func testProgressKeepsIdleTimeoutOff(t *testing.T, signal func(*Recorder)) {
	for _, progress := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			ep := &scriptEndpoint{script: func(ctx context.Context, rec *Recorder) error {
				rec.Text("a")
				for range 5 { // 5 s without text
					if err := sleep(ctx, time.Second); err != nil {
						return err
					}
					if progress {
						signal(rec)
					}
				}
				rec.Text("b")
				return nil
			}}
			resp := invoke(t.Context(), ep, Payload{}, invokeOptions{idleTimeout: 1500 * time.Millisecond})
			switch {
			case progress && resp.Failed():
				t.Errorf("with Progress: error %q, want success", resp.Error)
			case !progress && resp.ErrorClass != ErrorClassTimeoutIdle:
				t.Errorf("without Progress: error %q class %q, want %s", resp.Error, resp.ErrorClass, ErrorClassTimeoutIdle)
			}
		})
	}
}

// Received (a non-streamed response is in) ends the first-token timeout.
func TestReceivedEndsFirstTokenTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := &scriptEndpoint{script: func(ctx context.Context, rec *Recorder) error {
			if err := sleep(ctx, 500*time.Millisecond); err != nil {
				return err
			}
			rec.Received()
			if err := sleep(ctx, 2*time.Second); err != nil {
				return err
			}
			rec.SetText("whole")
			return nil
		}}
		resp := invoke(t.Context(), ep, Payload{}, invokeOptions{firstTokenTimeout: time.Second, idleTimeout: time.Second})
		if resp.Failed() || resp.TimeToLastToken == nil || *resp.TimeToLastToken != 0.5 {
			t.Errorf("error %q, TTLT %v; want success with TTLT 0.5", resp.Error, resp.TimeToLastToken)
		}
	})
}

// Retries made by a provider's SDK add to the Runner's.
func TestRetriesAddSDKRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		ep := &scriptEndpoint{script: func(ctx context.Context, rec *Recorder) error {
			calls++
			rec.SetRetries(2)
			if calls == 1 {
				return &StatusError{StatusCode: 503, Message: "busy", RetryAfter: time.Second}
			}
			rec.Text("ok")
			return nil
		}}
		resp := invoke(t.Context(), ep, Payload{}, invokeOptions{retries: 1})
		if resp.Failed() || resp.Retries == nil || *resp.Retries != 3 || *resp.TimeToFirstToken != 1 {
			t.Errorf("error %q, retries %v, TTFT %v; want success, 1+2 retries, TTFT 1", resp.Error, resp.Retries, resp.TimeToFirstToken)
		}
	})
}

// The per-chunk cost of Recorder.Text with the idle timeout off and on.
func BenchmarkRecorderChunk(b *testing.B) {
	for _, bc := range []struct {
		name string
		o    invokeOptions
	}{
		{"idle=off", invokeOptions{}},
		{"idle=on", invokeOptions{idleTimeout: time.Hour, firstTokenTimeout: time.Hour}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const perRecorder = 4096
			var rec *Recorder
			fresh := func() {
				if rec != nil && rec.watch != nil {
					rec.watch.stop()
				}
				rec = &Recorder{resp: &InvocationResponse{}, start: time.Now()}
				_, rec.watch = watch(context.Background(), rec.start, &bc.o)
				rec.text.Grow(perRecorder * 4)
				rec.Text("tok ") // the first token, once per response
			}
			fresh()
			b.ReportAllocs()
			for i := 1; b.Loop(); i++ {
				if i%perRecorder == 0 {
					b.StopTimer()
					fresh()
					b.StartTimer()
				}
				rec.Text("tok ")
			}
			b.StopTimer()
			if rec.watch != nil {
				rec.watch.stop()
			}
		})
	}
}

func TestRunnerValidatesTimeouts(t *testing.T) {
	base := func() *Runner { return &Runner{Endpoint: &fakeEndpoint{}, Payloads: []Payload{{"prompt": "x"}}} }
	r := base()
	if err := r.Validate(); err != nil || r.ConnectTimeout != DefaultConnectTimeout || r.FirstTokenTimeout != 0 || r.IdleTimeout != 0 || r.Retries != 0 {
		t.Errorf("defaults: %v, connect %v first %v idle %v retries %d", err, r.ConnectTimeout, r.FirstTokenTimeout, r.IdleTimeout, r.Retries)
	}
	for name, set := range map[string]func(*Runner){
		"connect":     func(r *Runner) { r.ConnectTimeout = -time.Second },
		"first-token": func(r *Runner) { r.FirstTokenTimeout = -time.Second },
		"idle":        func(r *Runner) { r.IdleTimeout = -time.Second },
		"retries":     func(r *Runner) { r.Retries = -1 },
	} {
		r := base()
		set(r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: a negative value was accepted", name)
		}
	}
}
