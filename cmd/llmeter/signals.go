package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interruptError is the cause of a context canceled by a signal.
type interruptError struct{ sig os.Signal }

func (e *interruptError) Error() string { return "interrupted (" + e.sig.String() + ")" }

// notifyContext is signal.NotifyContext with a second stage: the first
// SIGINT or SIGTERM calls onFirst and cancels the returned context (cause
// *interruptError); a second one calls onSecond, which is expected to exit.
// stop releases the signals.
func notifyContext(parent context.Context, onFirst, onSecond func(os.Signal)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go watchSignals(sigc, done, cancel, onFirst, onSecond)
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigc)
			close(done)
			cancel(nil)
		})
	}
}

// watchSignals runs the two stages of notifyContext on sigc until done.
func watchSignals(sigc <-chan os.Signal, done <-chan struct{}, cancel context.CancelCauseFunc, onFirst, onSecond func(os.Signal)) {
	select {
	case s := <-sigc:
		onFirst(s)
		cancel(&interruptError{s})
	case <-done:
		return
	}
	select {
	case s := <-sigc:
		onSecond(s)
	case <-done:
	}
}
