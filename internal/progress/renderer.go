package progress

import (
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/charmbracelet/x/ansi"
)

// Renderer draws a block of lines on a terminal and redraws it in place:
// each Draw moves the cursor to the start of the block drawn before and
// erases everything below it (CR ESC[<n>A ESC[J, as LLMeter's live display
// does, plus the CR), then
// writes the new block in one Write. Lines must fit the terminal's width (see
// Lines): a line that wraps would take two rows and the next erase would
// miss one.
//
// A Renderer is safe for concurrent use: Print may be called from another
// goroutine (a signal handler) while a run draws.
type Renderer struct {
	mu    sync.Mutex
	w     io.Writer
	lines []string // the block on screen
	buf   []byte
}

// NewRenderer returns a Renderer writing to w.
func NewRenderer(w io.Writer) *Renderer { return &Renderer{w: w} }

// Draw replaces the block on screen with lines.
func (r *Renderer) Draw(lines []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = r.appendErase(r.buf[:0])
	r.buf = appendLines(r.buf, lines)
	r.lines = slices.Clone(lines)
	return r.flush()
}

// Print writes a message above the block: it erases the block, writes msg
// (a newline is added if it has none) and draws the block again below it.
func (r *Renderer) Print(msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = r.appendErase(r.buf[:0])
	r.buf = append(r.buf, msg...)
	if !strings.HasSuffix(msg, "\n") {
		r.buf = append(r.buf, '\n')
	}
	r.buf = appendLines(r.buf, r.lines)
	return r.flush()
}

// Clear erases the block.
func (r *Renderer) Clear() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = r.appendErase(r.buf[:0])
	r.lines = nil
	return r.flush()
}

// Release leaves the block on screen as it is: the next Draw or Print
// starts below it.
func (r *Renderer) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = nil
}

func (r *Renderer) appendErase(b []byte) []byte {
	if len(r.lines) == 0 {
		return b
	}
	// Back to the first column first: the terminal may have echoed
	// something (^C) after the block.
	b = append(b, ansi.CR)
	b = append(b, ansi.CursorUp(len(r.lines))...)
	return append(b, ansi.EraseScreenBelow...)
}

func appendLines(b []byte, lines []string) []byte {
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}

func (r *Renderer) flush() error {
	if len(r.buf) == 0 {
		return nil
	}
	_, err := r.w.Write(r.buf)
	return err
}
