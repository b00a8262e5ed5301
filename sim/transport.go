package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport returns an http.RoundTripper that serves every request with s
// in memory, without a network: the response body streams through a pipe as
// the handler writes and flushes. With Config.TimersOnly it works inside a
// testing/synctest bubble, where timing tests then run on the fake clock.
// A handler that aborts (an injected drop) ends the body with
// io.ErrUnexpectedEOF, as a broken connection does; an injected reset ends
// it with a *net.OpError wrapping syscall.ECONNRESET.
func Transport(s *Server) http.RoundTripper { return transport{s} }

type transport struct{ s *Server }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		// Read the body here, as a client transport writes it before the
		// response, so the handler never races the caller's reader.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
	}
	if req.RequestURI == "" {
		req.RequestURI = req.URL.RequestURI()
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					w.writeHeader(http.StatusInternalServerError)
					pw.CloseWithError(errors.New("sim: handler panicked"))
					return
				}
				w.writeHeader(http.StatusOK)
				pw.CloseWithError(io.ErrUnexpectedEOF)
				return
			}
			w.writeHeader(http.StatusOK)
			if err := req.Context().Err(); err != nil {
				pw.CloseWithError(err) // the handler gave up because the client did
				return
			}
			pw.Close()
		}()
		t.s.ServeHTTP(w, req)
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	resp := &http.Response{
		Status:     strconv.Itoa(w.code) + " " + http.StatusText(w.code),
		StatusCode: w.code,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     w.sent,
		Body:       &ctxBody{pr: pr, ctx: req.Context()},
		Request:    req,
	}
	resp.ContentLength = -1
	if cl, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = cl
	}
	return resp, nil
}

// pipeWriter is the handler's http.ResponseWriter.
type pipeWriter struct {
	header http.Header
	sent   http.Header
	pw     *io.PipeWriter
	once   sync.Once
	code   int
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) writeHeader(code int) {
	w.once.Do(func() {
		w.code = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) WriteHeader(code int) { w.writeHeader(code) }

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.writeHeader(http.StatusOK)
	return w.pw.Write(b)
}

// reset fails the body with ECONNRESET, as a reset connection does
// (ErrorReset).
func (w *pipeWriter) reset() {
	w.writeHeader(http.StatusOK)
	w.pw.CloseWithError(errConnReset)
}

// Flush is a no-op: the pipe delivers each write as it happens.
func (w *pipeWriter) Flush() {}

// ctxBody is the response body; it fails once the request's context is done,
// as a real transport's body does.
type ctxBody struct {
	pr   *io.PipeReader
	ctx  context.Context
	once sync.Once
}

func (b *ctxBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		b.Close()
		return 0, err
	}
	return b.pr.Read(p)
}

func (b *ctxBody) Close() error {
	b.once.Do(func() { b.pr.CloseWithError(errors.New("sim: body closed")) })
	return nil
}
