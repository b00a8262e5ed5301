package progress

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

func TestRendererSequence(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := NewRenderer(&buf)
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"first draw", func() error { return r.Draw([]string{"a", "b"}) }, "a\nb\n"},
		{"redraw erases two lines", func() error { return r.Draw([]string{"c"}) }, "\r\x1b[2A\x1b[Jc\n"},
		{"print above the block", func() error { return r.Print("msg") }, "\r\x1b[A\x1b[Jmsg\nc\n"},
		{"print keeps its own newline", func() error { return r.Print("two\n") }, "\r\x1b[A\x1b[Jtwo\nc\n"},
		{"draw an empty block", func() error { return r.Draw(nil) }, "\r\x1b[A\x1b[J"},
		{"draw after an empty block", func() error { return r.Draw([]string{"d", "e", "f"}) }, "d\ne\nf\n"},
		{"release leaves the block", func() error { r.Release(); return r.Draw([]string{"g"}) }, "g\n"},
		{"clear", func() error { return r.Clear() }, "\r\x1b[A\x1b[J"},
		{"clear twice writes nothing", func() error { return r.Clear() }, ""},
		{"print without a block", func() error { return r.Print("hello") }, "hello\n"},
	}
	for _, s := range steps {
		buf.Reset()
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := buf.String(); got != s.want {
			t.Errorf("%s: wrote %q, want %q", s.name, got, s.want)
		}
	}
}

// lockedBuffer counts writes; each Draw or Print must be one Write, so that
// a terminal never shows half a redraw.
type lockedBuffer struct {
	mu     sync.Mutex
	writes int
	bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.Buffer.Write(p)
}

func TestRendererConcurrent(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	r := NewRenderer(&buf)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				if i%2 == 0 {
					r.Draw([]string{fmt.Sprint(i, j), "x"})
				} else {
					r.Print(fmt.Sprint("message ", i, j))
				}
			}
		})
	}
	wg.Wait()
	if buf.writes != 200 {
		t.Errorf("%d writes, want 200 (one per call)", buf.writes)
	}
}
