// Package replay is test support for the endpoints that speak JSON over
// HTTP (endpoints/openai, endpoints/anthropic, endpoints/httpapi): a server
// that answers with the bytes of testdata transcripts, event by event, and
// records the requests it gets; an in-memory transport for fuzzing and
// benchmarks; and the checks their table tests share. Only tests import it.
package replay

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Reply says how the server answers a request: with the bytes of a
// testdata transcript, written one event at a time (SSE events for .txt,
// lines for .ndjson) and flushed after each.
type Reply struct {
	File        string // file under testdata/
	Status      int    // default 200
	ContentType string // default from the file's extension (see Options)
	SlowEvent   int    // > 0: sleep 50ms before writing this event (0-based)
	Drop        bool   // after the last event, close the connection (no end of body)
	Hang        bool   // after HangAfter events, wait until the client goes away
	HangAfter   int
}

// Request is a request as the server saw it.
type Request struct {
	Method string
	Path   string
	Query  string // the raw query
	Host   string
	Proto  int // major HTTP version
	Header http.Header
	Body   []byte
}

// Options are a server's settings.
type Options struct {
	// TLS serves TLS with HTTP/2 (see httptest.Server.Client for a client
	// that trusts it).
	TLS bool
	// JSONType is the Content-Type of .json files; default
	// "application/json".
	JSONType string
}

// Server is a test server replaying transcripts; it is closed when the test
// ends.
type Server struct {
	*httptest.Server
	// NewConns counts the connections clients opened.
	NewConns atomic.Int32

	opts Options
	mu   sync.Mutex
	reqs []Request
}

// NewServer starts a server that answers each request as pick says.
func NewServer(tb testing.TB, pick func(*http.Request) Reply) *Server {
	tb.Helper()
	return Start(tb, pick, Options{})
}

// Start is NewServer with options.
func Start(tb testing.TB, pick func(*http.Request) Reply, opts Options) *Server {
	tb.Helper()
	s := &Server{opts: opts}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Host: req.Host,
			Proto: req.ProtoMajor, Header: req.Header.Clone(), Body: body})
		s.mu.Unlock()
		s.serve(tb, w, req, pick(req))
	}))
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.NewConns.Add(1)
		}
	}
	if opts.TLS {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	tb.Cleanup(s.Close)
	return s
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Trust makes c, whose transport is an *http.Transport, trust the server's
// certificate (Options.TLS).
func (s *Server) Trust(c *http.Client) {
	c.Transport.(*http.Transport).TLSClientConfig = s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
}

// CheckHTTP2 checks that every request came over HTTP/2 with a JSON body.
func (s *Server) CheckHTTP2(t *testing.T) {
	t.Helper()
	for _, r := range s.Requests() {
		if r.Proto != 2 {
			t.Fatalf("request protocol: got HTTP/%d, want HTTP/2", r.Proto)
		}
		if !json.Valid(r.Body) {
			t.Fatalf("request body: got %q, want JSON", r.Body)
		}
	}
}

// FileHeader is the request header that names the reply's file for
// ByHeader.
const FileHeader = "X-Replay"

// ByHeader answers each request with the file its X-Replay header names,
// with the status statusOf gives for it (nil: 200).
func ByHeader(statusOf func(file string) int) func(*http.Request) Reply {
	return func(r *http.Request) Reply {
		rp := Reply{File: r.Header.Get(FileHeader)}
		if statusOf != nil {
			rp.Status = statusOf(rp.File)
		}
		return rp
	}
}

// ErrorStatus is a status function for ByHeader: status for the files
// whose names start with "error_", else 200.
func ErrorStatus(status int) func(file string) int {
	return func(file string) int {
		if strings.HasPrefix(file, "error_") {
			return status
		}
		return http.StatusOK
	}
}

// Testdata reads a file under testdata/.
func Testdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// waitGone blocks until the client goes away (or a safety timeout).
func waitGone(req *http.Request) {
	select {
	case <-req.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// contentType is the default Content-Type of a file.
func (s *Server) contentType(file string) string {
	switch filepath.Ext(file) {
	case ".txt":
		return "text/event-stream; charset=utf-8"
	case ".ndjson":
		return "application/x-ndjson"
	case ".json":
		if s.opts.JSONType != "" {
			return s.opts.JSONType
		}
		return "application/json"
	case ".html":
		return "text/html"
	}
	return "application/octet-stream"
}

func (s *Server) serve(tb testing.TB, w http.ResponseWriter, req *http.Request, r Reply) {
	data := Testdata(tb, r.File)
	ct := r.ContentType
	if ct == "" {
		ct = s.contentType(r.File)
	}
	if r.Hang && r.HangAfter == 0 {
		waitGone(req)
		return
	}
	w.Header().Set("Content-Type", ct)
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	ext := filepath.Ext(r.File)
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
		if r.Hang && i == r.HangAfter {
			waitGone(req)
			return
		}
		if r.SlowEvent > 0 && i == r.SlowEvent {
			time.Sleep(50 * time.Millisecond)
		}
		_, _ = w.Write(ev)
		_ = rc.Flush()
	}
	if r.Drop {
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

// MemTransport answers every request in memory with the same response
// (for fuzzing and benchmarks without a network).
type MemTransport struct {
	Status      int
	ContentType string
	Body        []byte
}

// MemClient is a client whose transport is a MemTransport answering 200
// with body.
func MemClient(contentType string, body []byte) *http.Client {
	return &http.Client{Transport: &MemTransport{Status: http.StatusOK, ContentType: contentType, Body: body}}
}

// RoundTrip implements http.RoundTripper.
func (m *MemTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return &http.Response{
		Status:        http.StatusText(m.Status),
		StatusCode:    m.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {m.ContentType}},
		Body:          io.NopCloser(bytes.NewReader(m.Body)),
		ContentLength: -1,
		Request:       req,
	}, nil
}

// EventServer starts a server that answers every request with the SSE
// events evs, flushing after each (for benchmarks over a real connection).
func EventServer(tb testing.TB, evs [][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = r.Body.Read(make([]byte, 0))
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		rc := http.NewResponseController(w)
		for _, ev := range evs {
			_, _ = w.Write(ev)
			_ = rc.Flush()
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// File is a testdata file.
type File struct {
	Name string // the path, testdata/…
	Data []byte
}

// Files reads the testdata files matching pattern (filepath.Glob order); it
// fails the test when there are none.
func Files(tb testing.TB, pattern string) []File {
	tb.Helper()
	names, _ := filepath.Glob(filepath.Join("testdata", pattern))
	if len(names) == 0 {
		tb.Fatalf("no testdata matches %s", pattern)
	}
	files := make([]File, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, File{Name: name, Data: b})
	}
	return files
}

// SSEData returns the data of the "data: " lines of the SSE transcripts
// matching pattern that hold valid JSON, each with the file it is from.
func SSEData(tb testing.TB, pattern string) []File {
	tb.Helper()
	var out []File
	for _, f := range Files(tb, pattern) {
		for _, line := range strings.Split(strings.ReplaceAll(string(f.Data), "\r", ""), "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if ok && json.Valid([]byte(data)) {
				out = append(out, File{Name: f.Name, Data: []byte(data)})
			}
		}
	}
	return out
}
