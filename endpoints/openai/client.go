package openai

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// unlimitedIdle stands for "no limit" in MaxIdleConnsPerHost, where 0 means
// http.DefaultMaxIdleConnsPerHost (2), which would make a load test with more
// than two concurrent clients reconnect all the time.
const unlimitedIdle = 1 << 16

// NewHTTPClient returns a client tuned for load generation. Its transport
// (a clone of http.DefaultTransport, so proxies from the environment still
// apply) keeps up to concurrency idle connections per host (no limit when
// concurrency ≤ 0), never queues a request waiting for a connection
// (MaxConnsPerHost = 0: a wait inside the transport would be measured as
// server latency), closes idle connections after 90 s, attempts HTTP/2,
// disables transparent gzip (so that streamed events are not buffered by a
// decompressor) and keeps the transport's default 4 KiB read buffer per
// connection (the SSE reader buffers lines itself, and large reads bypass
// bufio; a 64 KiB buffer would cost 60 KiB per idle connection at
// thousands of clients). The client has no
// Timeout: the Runner gives each request a context deadline.
func NewHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	idle := unlimitedIdle
	if concurrency > 0 {
		idle = concurrency
	}
	t.MaxIdleConns = 0 // no global limit
	t.MaxIdleConnsPerHost = idle
	t.MaxConnsPerHost = 0
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	t.DisableCompression = true
	return &http.Client{Transport: t}
}

var sharedClient = sync.OnceValue(func() *http.Client { return NewHTTPClient(0) })

// Request bodies are encoded once into a pooled buffer. The buffer goes back
// to the pool only when nothing can read it any more: Invoke holds one
// reference, and every reader handed to the transport (the body and those
// made by GetBody for retries and redirects) holds one until it is closed.
// The transport may close a body from another goroutine while still reading
// it (HTTP/2 aborts), hence the mutex in bodyReader.

const maxPooledBody = 1 << 20 // larger buffers are left to the GC

type reqBody struct {
	buf  []byte
	refs atomic.Int32
}

var reqBodyPool = sync.Pool{New: func() any { return &reqBody{buf: make([]byte, 0, 4<<10)} }}

func getReqBody() *reqBody {
	b := reqBodyPool.Get().(*reqBody)
	b.refs.Store(1)
	return b
}

func (b *reqBody) release() {
	if b.refs.Add(-1) == 0 && cap(b.buf) <= maxPooledBody {
		b.buf = b.buf[:0]
		reqBodyPool.Put(b)
	}
}

func (b *reqBody) reader() *bodyReader {
	b.refs.Add(1)
	return &bodyReader{b: b}
}

var errBodyClosed = errors.New("openai: request body read after close")

// bodyReader reads a reqBody; Close releases its reference.
type bodyReader struct {
	mu     sync.Mutex
	b      *reqBody
	off    int
	closed bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyClosed
	}
	if r.off >= len(r.b.buf) {
		return 0, io.EOF
	}
	n := copy(p, r.b.buf[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.b.release()
	}
	return nil
}

var drainPool = sync.Pool{New: func() any { b := make([]byte, 4<<10); return &b }}

// drainAndClose reads what is left of a response body, up to 64 KiB, so that
// the connection can be reused, and closes it.
func drainAndClose(body io.ReadCloser) {
	bp := drainPool.Get().(*[]byte)
	for i, n := 0, 0; i < 64 && n < 64<<10; i++ {
		m, err := body.Read(*bp)
		n += m
		if err != nil {
			break
		}
	}
	drainPool.Put(bp)
	_ = body.Close()
}
