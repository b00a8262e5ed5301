package main

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
)

func TestWatchSignals(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sigc := make(chan os.Signal, 2)
		done := make(chan struct{})
		ctx, cancel := context.WithCancelCause(context.Background())
		var mu sync.Mutex
		var calls []string
		record := func(stage string) func(os.Signal) {
			return func(s os.Signal) {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, stage+" "+s.String())
			}
		}
		got := func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), calls...)
		}
		go watchSignals(sigc, done, cancel, record("first"), record("second"))

		synctest.Wait()
		if ctx.Err() != nil || len(got()) != 0 {
			t.Fatalf("before any signal: ctx %v, calls %q", ctx.Err(), got())
		}
		sigc <- os.Interrupt
		synctest.Wait()
		var ie *interruptError
		if !errors.As(context.Cause(ctx), &ie) || ie.sig != os.Interrupt {
			t.Errorf("after the first signal: cause %v, want the interrupt", context.Cause(ctx))
		}
		if c := got(); len(c) != 1 || c[0] != "first interrupt" {
			t.Errorf("after the first signal: calls %q", c)
		}
		sigc <- syscall.SIGTERM
		synctest.Wait()
		if c := got(); len(c) != 2 || c[1] != "second terminated" {
			t.Errorf("after the second signal: calls %q", c)
		}
		close(done)
	})
}

func TestWatchSignalsStopped(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sigc := make(chan os.Signal, 2)
		done := make(chan struct{})
		ctx, cancel := context.WithCancelCause(context.Background())
		called := false
		go watchSignals(sigc, done, cancel, func(os.Signal) { called = true }, func(os.Signal) { called = true })
		close(done)
		synctest.Wait() // the watcher has returned: a bubble waits for its goroutines
		if ctx.Err() != nil || called {
			t.Errorf("stopped watcher acted: ctx %v, called %v", ctx.Err(), called)
		}
	})
}

func TestNotifyContextStop(t *testing.T) {
	t.Parallel()
	ctx, stop := notifyContext(context.Background(), func(os.Signal) {}, func(os.Signal) {})
	stop()
	stop() // idempotent
	if ctx.Err() == nil {
		t.Error("context not canceled by stop")
	}
	var ie *interruptError
	if errors.As(context.Cause(ctx), &ie) {
		t.Error("stop looks like an interrupt")
	}
}
