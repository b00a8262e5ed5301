package bedrock

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The transcripts in testdata are JSON descriptions of Bedrock responses,
// shaped like the examples of the Bedrock API reference (each names its page
// in "source"):
//
//	{"status": 200, "headers": {…}, "body": <JSON> | "raw": "<text>" | "events": [event, …]}
//
// An event is {"event": "<:event-type>", "payload": <JSON>} (for
// InvokeModelWithResponseStream: {"event": "chunk", "bytes": <JSON>} or
// "bytes_raw": "<text>", which become the PayloadPart {"bytes": base64}),
// or {"exception": "<:exception-type>", "payload": <JSON>}; "corrupt": true
// spoils the frame's CRC. Event streams are encoded into frames at test time
// with the SDK's own encoder (aws/protocol/eventstream).

func TestMain(m *testing.M) {
	// Keep the developer's AWS environment out of the tests: a CA bundle
	// (awsep cannot apply one to its HTTP client), a profile, or a Bedrock
	// API key (bearer auth instead of SigV4).
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_BEARER_TOKEN_BEDROCK",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"} {
		os.Unsetenv(k)
	}
	os.Exit(m.Run())
}

const (
	testRegion = "us-east-1"
	testKeyID  = "AKIDTEST"
	testSecret = "SECRET"
)

var testCreds = credentials.NewStaticCredentialsProvider(testKeyID, testSecret, "")

type transcript struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	Raw     *string           `json:"raw"`
	Events  []transcriptEvent `json:"events"`
}

type transcriptEvent struct {
	Event     string          `json:"event"`
	Exception string          `json:"exception"`
	Payload   json.RawMessage `json:"payload"`
	Bytes     json.RawMessage `json:"bytes"`
	BytesRaw  *string         `json:"bytes_raw"`
	Corrupt   bool            `json:"corrupt"`
}

func loadTranscript(tb testing.TB, name string) transcript {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var tr transcript
	if err := json.Unmarshal(b, &tr); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if tr.Status == 0 {
		tr.Status = http.StatusOK
	}
	return tr
}

// compactJSON re-encodes raw JSON without spaces.
func compactJSON(tb testing.TB, raw json.RawMessage) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// body returns the non-streaming body of a transcript.
func (tr *transcript) body(tb testing.TB) []byte {
	if tr.Raw != nil {
		return []byte(*tr.Raw)
	}
	if tr.Body == nil {
		return nil
	}
	return compactJSON(tb, tr.Body)
}

// frames encodes the events of a transcript, one frame each.
func (tr *transcript) frames(tb testing.TB) [][]byte {
	tb.Helper()
	enc := eventstream.NewEncoder()
	out := make([][]byte, len(tr.Events))
	for i, ev := range tr.Events {
		var msg eventstream.Message
		switch {
		case ev.Exception != "":
			msg.Headers.Set(":exception-type", eventstream.StringValue(ev.Exception))
			msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
			msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
			msg.Payload = compactJSON(tb, ev.Payload)
		default:
			msg.Headers.Set(":event-type", eventstream.StringValue(ev.Event))
			msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
			msg.Headers.Set(":message-type", eventstream.StringValue("event"))
			switch {
			case ev.BytesRaw != nil:
				msg.Payload = chunkPayload([]byte(*ev.BytesRaw))
			case ev.Bytes != nil:
				msg.Payload = chunkPayload(compactJSON(tb, ev.Bytes))
			case ev.Payload != nil:
				msg.Payload = compactJSON(tb, ev.Payload)
			}
		}
		var buf bytes.Buffer
		if err := enc.Encode(&buf, msg); err != nil {
			tb.Fatal(err)
		}
		f := buf.Bytes()
		if ev.Corrupt {
			f[len(f)-1] ^= 0xff
		}
		out[i] = f
	}
	return out
}

// chunkPayload is a PayloadPart: {"bytes": "<base64>"}.
func chunkPayload(b []byte) []byte {
	return fmt.Appendf(nil, `{"bytes":%q}`, base64.StdEncoding.EncodeToString(b))
}

// wire returns the whole response body of a transcript.
func (tr *transcript) wire(tb testing.TB) []byte {
	if tr.Events == nil {
		return tr.body(tb)
	}
	return bytes.Join(tr.frames(tb), nil)
}

// replay says how the test server answers a request.
type replay struct {
	file      string
	status    int    // overrides the transcript's status
	exception string // replaces the exception type of exception events
	slowEvent int    // > 0: sleep 30ms before writing this event (0-based)
	drop      bool   // close the connection after the events (no end of body)
	dropAfter int    // with drop: after this many events (0: all)
	dropHalf  bool   // with drop: also write half of the next frame first
	hang      bool   // after hangAfter events, wait until the client goes away
	hangAfter int
}

// received is a request as the test server saw it.
type received struct {
	method  string
	path    string // decoded
	rawPath string // as sent
	header  http.Header
	body    []byte
}

type testServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newTestServer(tb testing.TB, pick func(*http.Request) replay) *testServer {
	tb.Helper()
	ts := &testServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ts.mu.Lock()
		ts.reqs = append(ts.reqs, received{method: req.Method, path: req.URL.Path, rawPath: req.URL.EscapedPath(),
			header: req.Header.Clone(), body: body})
		ts.mu.Unlock()
		ts.serve(tb, w, req, pick(req))
	}))
	tb.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) requests() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.reqs...)
}

func waitGone(req *http.Request) {
	select {
	case <-req.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func (ts *testServer) serve(tb testing.TB, w http.ResponseWriter, req *http.Request, r replay) {
	tr := loadTranscript(tb, r.file)
	if r.status != 0 {
		tr.Status = r.status
	}
	if r.exception != "" {
		for i := range tr.Events {
			if tr.Events[i].Exception != "" {
				tr.Events[i].Exception = r.exception
			}
		}
	}
	if r.hang && r.hangAfter == 0 {
		waitGone(req)
		return
	}
	for k, v := range tr.Headers {
		w.Header().Set(k, v)
	}
	if tr.Events == nil {
		w.WriteHeader(tr.Status)
		_, _ = w.Write(tr.body(tb))
		return
	}
	rc := http.NewResponseController(w)
	w.WriteHeader(tr.Status)
	_ = rc.Flush()
	frames := tr.frames(tb)
	for i, f := range frames {
		if r.hang && i == r.hangAfter {
			waitGone(req)
			return
		}
		if r.drop && r.dropAfter > 0 && i == r.dropAfter {
			if r.dropHalf {
				_, _ = w.Write(f[:len(f)/2])
				_ = rc.Flush()
			}
			break
		}
		if r.slowEvent > 0 && i == r.slowEvent {
			time.Sleep(30 * time.Millisecond)
		}
		_, _ = w.Write(f)
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

// memTransport answers requests in memory, in turn with each of its
// responses (the last one repeats), and records the requests.
type memTransport struct {
	mu        sync.Mutex
	responses []memResponse
	n         int
}

type memResponse struct {
	status int
	header http.Header
	body   []byte
}

// memFromTranscript makes an in-memory response of a transcript.
func memFromTranscript(tb testing.TB, name string) memResponse {
	tr := loadTranscript(tb, name)
	h := http.Header{}
	for k, v := range tr.Headers {
		h.Set(k, v)
	}
	return memResponse{status: tr.Status, header: h, body: tr.wire(tb)}
}

func (m *memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	r := m.responses[min(m.n, len(m.responses)-1)]
	m.n++
	m.mu.Unlock()
	return &http.Response{
		Status:        http.StatusText(r.status),
		StatusCode:    r.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(r.body)),
		ContentLength: int64(len(r.body)),
		Request:       req,
	}, nil
}

// set makes r the only response, from now on.
func (m *memTransport) set(r memResponse) {
	m.mu.Lock()
	m.responses, m.n = []memResponse{r}, 0
	m.mu.Unlock()
}

func (m *memTransport) calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}
