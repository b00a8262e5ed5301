package main

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/progress"
)

// session is what every command that sends requests sets up: the signal
// handling (first Ctrl-C stops and saves, the second exits at once), a
// context canceled by either or by an early abort, and the live display.
type session struct {
	e      *env
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   func()
	live   *progress.Renderer // nil: no live display

	mu  sync.Mutex
	dir string // the folder being written, for the message of a hard exit
}

func newSession(parent context.Context, e *env, quiet bool) *session {
	s := &session{e: e}
	sigCtx, stop := notifyContext(parent,
		func(os.Signal) { e.con.Printf("Interrupted: stopping… (Ctrl-C again to exit at once)\n") },
		func(os.Signal) {
			if dir := s.folder(); dir != "" {
				e.con.Printf("Exiting at once; the responses processed so far are in %s\n", llmeter.JoinPath(dir, llmeter.ResponsesFile))
			}
			e.exit(exitInterrupted)
		})
	s.ctx, s.cancel = context.WithCancelCause(sigCtx)
	s.stop = stop
	if showLive(e, quiet) {
		s.live = progress.NewRenderer(e.stderr)
		e.con.setLive(s.live)
	}
	return s
}

// close ends the live display and the signal handling.
func (s *session) close() {
	s.cancel(nil)
	if s.live != nil {
		s.live.Release()
		s.e.con.setLive(nil)
	}
	s.stop()
}

// setFolder records the folder being written.
func (s *session) setFolder(dir string) {
	s.mu.Lock()
	s.dir = dir
	s.mu.Unlock()
}

func (s *session) folder() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir
}

// interrupted reports whether Ctrl-C (or SIGTERM) stopped the work.
func (s *session) interrupted() bool {
	var intr *interruptError
	return errors.As(context.Cause(s.ctx), &intr)
}

// onProgress returns the Runner's progress callback drawing the live
// display below the lines of header (nil: none); nil without a display.
// keepBar keeps the bar on screen when the run ends.
func (s *session) onProgress(header func() []string, keepBar bool) func(llmeter.Progress) {
	if s.live == nil {
		return nil
	}
	return func(p llmeter.Progress) {
		width := s.e.width() - 1 // a line as wide as the terminal may wrap
		var lines []string
		if header != nil {
			lines = header()
		}
		if p.Final {
			// Like LLMeter: the bar stays, the live statistics go.
			if keepBar {
				s.live.Draw(append(lines, progress.Bar(p, width)))
				s.live.Release()
			} else {
				s.live.Draw(lines)
			}
			return
		}
		if s.ctx.Err() != nil {
			// Interrupted or aborted: nothing more is sent, though the
			// Runner says so only once every client has returned.
			p.Sending = false
		}
		s.live.Draw(append(lines, progress.Lines(p, width)...))
	}
}

// showLive reports whether to draw the live progress display.
func showLive(e *env, quiet bool) bool {
	if quiet || !e.terminal() {
		return false
	}
	if v, err := strconv.ParseBool(e.getenv(envNoProgress)); err == nil && v {
		return false
	}
	return true
}
