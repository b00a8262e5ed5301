package anthropic

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
// testdata transcript, written one SSE event at a time for event streams.
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
	host   string
	proto  int // major HTTP version
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
	return startTestServer(tb, pick, false)
}

// startTestServer is newTestServer, optionally with TLS and HTTP/2.
func startTestServer(tb testing.TB, pick func(*http.Request) replay, h2 bool) *testServer {
	tb.Helper()
	ts := &testServer{}
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ts.mu.Lock()
		ts.reqs = append(ts.reqs, received{method: req.Method, path: req.URL.Path, host: req.Host,
			proto: req.ProtoMajor, header: req.Header.Clone(), body: body})
		ts.mu.Unlock()
		r := pick(req)
		ts.serve(tb, w, req, r)
	}))
	ts.Server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ts.newConns.Add(1)
		}
	}
	if h2 {
		ts.EnableHTTP2 = true
		ts.StartTLS()
	} else {
		ts.Start()
	}
	tb.Cleanup(ts.Close)
	return ts
}

// waitGone blocks until the client goes away (or a safety timeout).
func waitGone(req *http.Request) {
	select {
	case <-req.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func (ts *testServer) serve(tb testing.TB, w http.ResponseWriter, req *http.Request, r replay) {
	data := readTestdata(tb, r.file)
	ct := r.contentType
	if ct == "" {
		switch filepath.Ext(r.file) {
		case ".txt":
			ct = "text/event-stream; charset=utf-8"
		case ".json":
			ct = "application/json"
		case ".html":
			ct = "text/html"
		}
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
	if status != http.StatusOK || filepath.Ext(r.file) != ".txt" {
		w.WriteHeader(status)
		_, _ = w.Write(data)
		return
	}
	rc := http.NewResponseController(w)
	w.WriteHeader(status)
	_ = rc.Flush()
	for i, ev := range splitEvents(data) {
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

// splitEvents cuts an SSE body after each blank line ("\n\n").
func splitEvents(data []byte) [][]byte {
	var evs [][]byte
	for len(data) > 0 {
		i := bytes.Index(data, []byte("\n\n"))
		if i < 0 {
			evs = append(evs, data)
			break
		}
		evs = append(evs, data[:i+2])
		data = data[i+2:]
	}
	return evs
}

func (ts *testServer) requests() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.reqs...)
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
