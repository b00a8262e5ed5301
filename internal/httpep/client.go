package httpep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmeter-go/llmeter"
)

// unlimitedIdle stands for "no limit" in MaxIdleConnsPerHost, where 0 means
// http.DefaultMaxIdleConnsPerHost (2), which would make a load test with more
// than two concurrent clients reconnect all the time.
const unlimitedIdle = 1 << 16

// NewClient returns a client tuned for load generation. Its transport
// (a clone of http.DefaultTransport, so proxies from the environment still
// apply) keeps up to concurrency idle connections per host (no limit when
// concurrency ≤ 0), never queues a request waiting for a connection
// (MaxConnsPerHost = 0: a wait inside the transport would be measured as
// server latency), closes idle connections after 90 s, attempts HTTP/2,
// disables transparent gzip (so that streamed events are not buffered by a
// decompressor) and keeps the transport's default 4 KiB read buffer per
// connection (the SSE reader buffers lines itself, and large reads bypass
// bufio; a 64 KiB buffer would cost 60 KiB per idle connection at
// thousands of clients). The client has no Timeout: the Runner gives each
// request a context deadline. Connecting is bounded by the request's connect
// timeout (see ConnectTimeout).
//
// The transport makes no retries of its own but one: net/http replays a
// request on a new connection when a reused keep-alive connection turns out
// to be closed before any byte of the request was written (or an HTTP/2
// server refuses the stream before processing it), so that the server never
// saw the first try. Retries the server can see are the Runner's alone
// (Runner.Retries, off by default).
func NewClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = Dial
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

// dialer is http.DefaultTransport's, without its 30 s timeout: the connect
// timeout comes from each request (ConnectTimeout).
var dialer = &net.Dialer{KeepAlive: 30 * time.Second}

// Dial dials like http.DefaultTransport, bounded by the request's connect
// timeout (see ConnectTimeout); it is the DialContext of NewClient's
// transport and of the AWS endpoints' clients.
func Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialWithTimeout(ctx, network, addr)
}

var dialWithTimeout = ConnectTimeout(dialer.DialContext)

// DialFunc is the type of http.Transport.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ConnectTimeout wraps dial so that every connection attempt gives up after
// the connect timeout of the request that asked for it
// (llmeter.ConnectTimeoutFromContext; llmeter.DefaultConnectTimeout when it
// has none), with an error wrapping a *llmeter.TimeoutError of class
// llmeter.ErrorClassTimeoutConnect. The Runner puts its ConnectTimeout in
// every request's context: clients are built before any Runner exists, and
// the context is how a per-run setting reaches the transport (net/http dials
// with a context that keeps the request's values).
func ConnectTimeout(dial DialFunc) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d, ok := llmeter.ConnectTimeoutFromContext(ctx)
		if !ok {
			d = llmeter.DefaultConnectTimeout
		}
		te := &llmeter.TimeoutError{Class: llmeter.ErrorClassTimeoutConnect, After: d}
		dctx, cancel := context.WithTimeoutCause(ctx, d, te)
		defer cancel()
		conn, err := dial(dctx, network, addr)
		if err != nil && ctx.Err() == nil && context.Cause(dctx) == error(te) {
			if conn != nil {
				_ = conn.Close()
			}
			return nil, fmt.Errorf("dial %s %s: %w", network, addr, te)
		}
		return conn, err
	}
}

// SharedClient is one NewClient(0) for every endpoint that is given none.
var SharedClient = sync.OnceValue(func() *http.Client { return NewClient(0) })

// Request bodies are encoded once into a pooled buffer. The buffer goes back
// to the pool only when nothing can read it any more: the caller holds one
// reference, and every reader handed to the transport (the body and those
// made by GetBody for retries and redirects) holds one until it is closed.
// The transport may close a body from another goroutine while still reading
// it (HTTP/2 aborts), hence the mutex in bodyReader.

// MaxPooled is the largest buffer put back into a pool; larger ones are left
// to the GC.
const MaxPooled = 1 << 20

// Body is a pooled request body.
type Body struct {
	Buf  []byte
	refs atomic.Int32
}

var bodyPool = sync.Pool{New: func() any { return &Body{Buf: make([]byte, 0, 4<<10)} }}

// GetBody returns an empty pooled body holding one reference; Release it.
func GetBody() *Body {
	b := bodyPool.Get().(*Body)
	b.refs.Store(1)
	return b
}

// Release drops a reference.
func (b *Body) Release() {
	if b.refs.Add(-1) == 0 && cap(b.Buf) <= MaxPooled {
		b.Buf = b.Buf[:0]
		bodyPool.Put(b)
	}
}

// Reader returns a reader of the body that holds a reference until closed.
func (b *Body) Reader() io.ReadCloser {
	b.refs.Add(1)
	return &bodyReader{b: b}
}

var errBodyClosed = errors.New("httpep: request body read after close")

// bodyReader reads a Body; Close releases its reference.
type bodyReader struct {
	mu     sync.Mutex
	b      *Body
	off    int
	closed bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyClosed
	}
	if r.off >= len(r.b.Buf) {
		return 0, io.EOF
	}
	n := copy(p, r.b.Buf[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.b.Release()
	}
	return nil
}

var drainPool = sync.Pool{New: func() any { b := make([]byte, 4<<10); return &b }}

// DrainAndClose reads what is left of a response body, up to 64 KiB, so that
// the connection can be reused, and closes it.
func DrainAndClose(body io.ReadCloser) {
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
