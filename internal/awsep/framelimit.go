package awsep

import (
	"encoding/binary"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
)

// MaxEventMessage is the largest AWS event-stream message a response may
// carry: the format's limits of 16 MiB of payload and 128 KiB of headers,
// plus the prelude and CRC. The SDK's decoder has no limit of its own: it
// would read a message of any size into memory.
const MaxEventMessage = 16<<20 + 128<<10 + 16

// limitBody bounds what the SDK reads of a response: the size of each
// event-stream message (MaxEventMessage), or of a whole body
// (httpep.MaxResponseBody). The SDK reads a non-streaming body whole into
// memory, and its event-stream decoder reads a message of any announced
// size.
func limitBody(resp *http.Response) io.ReadCloser {
	if isEventStream(resp) {
		return &frameLimiter{ReadCloser: resp.Body, max: MaxEventMessage}
	}
	return &sizeLimiter{ReadCloser: resp.Body, max: httpep.MaxResponseBody}
}

// sizeLimiter fails with a *llmeter.ProtocolError once more than max bytes
// were read.
type sizeLimiter struct {
	io.ReadCloser
	max, n int
	err    error
}

func (l *sizeLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.ReadCloser.Read(p)
	l.n += n
	if l.n > l.max {
		l.err = &llmeter.ProtocolError{Err: fmt.Errorf("aws: response body larger than %d bytes", l.max)}
		return n - (l.n - l.max), l.err
	}
	return n, err
}

// isEventStream reports whether a response is an AWS event stream.
func isEventStream(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == "application/vnd.amazon.eventstream"
}

// frameLimiter passes an event stream through, failing with a
// *llmeter.ProtocolError at the first message whose prelude announces more
// than max bytes, before more than its 4-byte length is passed on.
type frameLimiter struct {
	io.ReadCloser
	max  int
	left int     // bytes left of the current message; 0 at a boundary
	pre  [4]byte // total length of the next message, as far as read
	npre int
	err  error
}

func (f *frameLimiter) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.ReadCloser.Read(p)
	for i := 0; i < n; {
		if f.left > 0 {
			k := min(f.left, n-i)
			f.left -= k
			i += k
			continue
		}
		f.pre[f.npre] = p[i]
		f.npre++
		i++
		if f.npre < len(f.pre) {
			continue
		}
		f.npre = 0
		total := int(binary.BigEndian.Uint32(f.pre[:]))
		if total > f.max {
			f.err = &llmeter.ProtocolError{Err: fmt.Errorf("aws event stream: a message of %d bytes, more than the limit of %d", total, f.max)}
			return max(i-len(f.pre), 0), f.err
		}
		f.left = max(total-len(f.pre), 0)
	}
	return n, err
}
