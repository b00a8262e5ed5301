package replay

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitAfter(t *testing.T) {
	for _, tc := range []struct {
		data, sep string
		want      []string
	}{
		{"a\n\nb\n\n", "\n\n", []string{"a\n\n", "b\n\n"}},
		{"a\n\nb", "\n\n", []string{"a\n\n", "b"}},
		{"x\ny\n", "\n", []string{"x\n", "y\n"}},
		{"", "\n", nil},
	} {
		var got []string
		for _, b := range splitAfter([]byte(tc.data), []byte(tc.sep)) {
			got = append(got, string(b))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitAfter(%q, %q): got %q, want %q", tc.data, tc.sep, got, tc.want)
		}
	}
}

func get(t *testing.T, c *http.Client, url, file string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/p?q=1", strings.NewReader(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(FileHeader, file)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestServer(t *testing.T) {
	srv := Start(t, ByHeader(ErrorStatus(503)), Options{JSONType: "application/json; charset=utf-8"})
	for _, tc := range []struct {
		file, ct string
		status   int
	}{
		{"events.txt", "text/event-stream; charset=utf-8", 200},
		{"lines.ndjson", "application/x-ndjson", 200},
		{"body.json", "application/json; charset=utf-8", 200},
	} {
		resp, body := get(t, srv.Client(), srv.URL, tc.file)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ct || body != string(Testdata(t, tc.file)) {
			t.Errorf("%s: got %d %q %q", tc.file, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("requests: got %d, want 3", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/p" || r.Query != "q=1" || r.Proto != 1 || string(r.Body) != `{"x":1}` ||
		r.Header.Get(FileHeader) != "events.txt" || r.Host == "" {
		t.Errorf("request: got %+v", r)
	}
	if n := srv.NewConns.Load(); n != 1 {
		t.Errorf("connections: got %d, want 1", n)
	}
	if got := ErrorStatus(429)("error_x.json"); got != 429 {
		t.Errorf("ErrorStatus: got %d for an error_ file", got)
	}
	if got := ErrorStatus(429)("x_error_.json"); got != http.StatusOK {
		t.Errorf("ErrorStatus: got %d for another file", got)
	}
}

// TestServerEvents checks that events are flushed one at a time: the first
// arrives while the server holds the second back.
func TestServerEvents(t *testing.T) {
	srv := NewServer(t, func(*http.Request) Reply {
		return Reply{File: "events.txt", Hang: true, HangAfter: 1, ContentType: "x/y"}
	})
	resp, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "x/y" {
		t.Errorf("Content-Type: got %q, want the reply's", ct)
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(resp.Body, buf, len("data: {\"a\":1}\n\n"))
	if err != nil || string(buf[:n]) != "data: {\"a\":1}\n\n" {
		t.Errorf("first event: got %q (%v)", buf[:n], err)
	}
}

func TestServerHangAndTLS(t *testing.T) {
	srv := Start(t, func(*http.Request) Reply { return Reply{File: "body.json", Hang: true} }, Options{TLS: true})
	c := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true}}
	srv.Trust(c)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
	if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("hanging server: got %v, want a deadline error", err)
	}
	srv.CheckHTTP2(t)
}

func TestMemTransport(t *testing.T) {
	c := MemClient("text/plain", []byte("hello"))
	resp, err := c.Post("http://127.0.0.1:1/x", "application/json", bytes.NewReader([]byte("{}")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain" || string(b) != "hello" {
		t.Errorf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/x", nil)
	if _, err := c.Do(req); err == nil {
		t.Error("canceled request: got no error")
	}
}

func TestSSEData(t *testing.T) {
	got := SSEData(t, "*.txt")
	if len(got) != 1 || string(got[0].Data) != `{"a":1}` || got[0].Name != "testdata/events.txt" {
		t.Errorf("got %+v, want the one JSON event", got)
	}
}
