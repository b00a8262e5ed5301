package httpapi

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// replay says how the test server answers a request: with the bytes of a
// testdata transcript, written one event at a time (SSE events for .txt,
// lines for .ndjson) and flushed after each.
type replay struct {
	file        string // file under testdata/
	status      int    // default 200
	contentType string // default from the file extension
	slowEvent   int    // > 0: sleep 50ms before writing this event (0-based)
	drop        bool   // after the last event, close the connection (no end of body)
	hang        bool   // after hangAfter events, wait until the client goes away
	hangAfter   int
}

// received is a request as the test server saw it.
type received struct {
	method string
	path   string
	query  string
	header http.Header
	body   []byte
}

type testServer struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []received
	newConns atomic.Int32
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// newTestServer starts a server that answers each request as pick says.
func newTestServer(tb testing.TB, pick func(*http.Request) replay) *testServer {
	tb.Helper()
	ts := &testServer{}
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ts.mu.Lock()
		ts.reqs = append(ts.reqs, received{method: req.Method, path: req.URL.Path, query: req.URL.RawQuery,
			header: req.Header.Clone(), body: body})
		ts.mu.Unlock()
		serve(tb, w, req, pick(req))
	}))
	ts.Server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ts.newConns.Add(1)
		}
	}
	ts.Start()
	tb.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) requests() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.reqs...)
}

// waitGone blocks until the client goes away (or a safety timeout).
func waitGone(req *http.Request) {
	select {
	case <-req.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func contentTypeOf(file string) string {
	switch filepath.Ext(file) {
	case ".txt":
		return "text/event-stream; charset=utf-8"
	case ".ndjson":
		return "application/x-ndjson"
	case ".json":
		return "application/json; charset=utf-8"
	case ".html":
		return "text/html"
	}
	return "application/octet-stream"
}

func serve(tb testing.TB, w http.ResponseWriter, req *http.Request, r replay) {
	data := readTestdata(tb, r.file)
	ct := r.contentType
	if ct == "" {
		ct = contentTypeOf(r.file)
	}
	if r.hang && r.hangAfter == 0 {
		waitGone(req)
		return
	}
	w.Header().Set("Content-Type", ct)
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	ext := filepath.Ext(r.file)
	if status != http.StatusOK || (ext != ".txt" && ext != ".ndjson") {
		w.WriteHeader(status)
		_, _ = w.Write(data)
		return
	}
	rc := http.NewResponseController(w)
	w.WriteHeader(status)
	_ = rc.Flush()
	sep := []byte("\n\n")
	if ext == ".ndjson" {
		sep = []byte("\n")
	}
	for i, ev := range splitAfter(data, sep) {
		if r.hang && i == r.hangAfter {
			waitGone(req)
			return
		}
		if r.slowEvent > 0 && i == r.slowEvent {
			time.Sleep(50 * time.Millisecond)
		}
		_, _ = w.Write(ev)
		_ = rc.Flush()
	}
	if r.drop {
		conn, _, err := rc.Hijack()
		if err != nil {
			tb.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close()
	}
}

// splitAfter cuts data after each sep.
func splitAfter(data, sep []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		i := bytes.Index(data, sep)
		if i < 0 {
			out = append(out, data)
			break
		}
		out = append(out, data[:i+len(sep)])
		data = data[i+len(sep):]
	}
	return out
}

// memTransport answers every request in memory with the same response
// (for fuzzing and benchmarks without a network).
type memTransport struct {
	status      int
	contentType string
	body        []byte
}

func (m *memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return &http.Response{
		Status:        http.StatusText(m.status),
		StatusCode:    m.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {m.contentType}},
		Body:          io.NopCloser(bytes.NewReader(m.body)),
		ContentLength: -1,
		Request:       req,
	}, nil
}
