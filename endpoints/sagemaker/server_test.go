package sagemaker

// A SageMaker runtime stand-in that replays the transcripts of testdata/.
//
// The wire format follows the SageMaker runtime API reference:
//   - InvokeEndpoint: POST /endpoints/{EndpointName}/invocations, the model's
//     body as is, x-amzn-RequestId, X-Amzn-Invoked-Production-Variant;
//     https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
//   - InvokeEndpointWithResponseStream: POST
//     /endpoints/{EndpointName}/invocations-response-stream, an
//     application/vnd.amazon.eventstream body of ResponseStream events:
//     PayloadPart (its Bytes member is the event payload, raw bytes),
//     ModelStreamError {Message, ErrorCode} and InternalStreamFailure
//     {Message} exceptions;
//     https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointWithResponseStream.html
//     https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_ResponseStream.html
//   - errors (restJson1): X-Amzn-ErrorType plus a JSON body; ValidationError
//     400, ModelError 424 (with OriginalStatusCode, OriginalMessage,
//     LogStreamArn), InternalFailure 500, ServiceUnavailable 503.
//
// The PayloadPart bytes are TGI's stream lines ("data:{…}\n\n", see the
// StreamResponse schema of TGI's OpenAPI document, router/src/lib.rs and
// server.rs of huggingface/text-generation-inference), or LMI's JSON Lines
// (djl-serving, docs/lmi/user_guides/lmi_input_output_schema.md).
//
// A stream transcript (*.jsonl) has one event per line: {"PayloadPart":
// "<bytes as a string>"}, {"ModelStreamError": {...}},
// {"InternalStreamFailure": {...}} or {"Raw": "<bytes written as they are>"}.
// Frames are encoded with the AWS SDK's event stream encoder.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// replay says how the test server answers a request.
type replay struct {
	file      string // under testdata/: *.jsonl event stream, *.json body
	status    int    // default 200
	errorType string // X-Amzn-ErrorType of an error answer
	requestID string // x-amzn-RequestId; default testRequestID
	raw       bool   // write the file as a plain body, even a *.jsonl
	drop      bool   // after the last event, break the connection
	hang      bool   // after hangAfter events, wait until the client goes away
	hangAfter int
}

const testRequestID = "c8a5b6e1-0f2d-4e1a-9b3c-7d4e5f6a7b8c"

// received is a request as the test server saw it.
type received struct {
	method string
	path   string
	header http.Header
	body   []byte
}

type testServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
	n    atomic.Int32
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// newTestServer starts a server that answers request number i (from 0) as
// pick says.
func newTestServer(tb testing.TB, pick func(i int, r *http.Request) replay) *testServer {
	tb.Helper()
	ts := &testServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ts.mu.Lock()
		ts.reqs = append(ts.reqs, received{method: req.Method, path: req.URL.EscapedPath(), header: req.Header.Clone(), body: body})
		ts.mu.Unlock()
		r := pick(int(ts.n.Add(1)-1), req)
		ts.serve(tb, w, req, r)
	}))
	tb.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) requests() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.reqs...)
}

func (ts *testServer) serve(tb testing.TB, w http.ResponseWriter, req *http.Request, r replay) {
	data := readTestdata(tb, r.file)
	id := r.requestID
	if id == "" {
		id = testRequestID
	}
	h := w.Header()
	h.Set("x-amzn-RequestId", id)
	if r.hang && r.hangAfter == 0 {
		<-req.Context().Done()
		return
	}
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	if status != http.StatusOK || filepath.Ext(r.file) != ".jsonl" || r.raw {
		h.Set("Content-Type", "application/json")
		if r.errorType != "" {
			h.Set("X-Amzn-ErrorType", r.errorType)
		} else {
			h.Set("X-Amzn-Invoked-Production-Variant", "AllTraffic")
		}
		w.WriteHeader(status)
		_, _ = w.Write(data)
		return
	}
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("X-Amzn-SageMaker-Content-Type", "text/event-stream")
	h.Set("X-Amzn-Invoked-Production-Variant", "AllTraffic")
	rc := http.NewResponseController(w)
	w.WriteHeader(status)
	_ = rc.Flush()
	for i, frame := range encodeEvents(tb, data) {
		if r.hang && i == r.hangAfter {
			<-req.Context().Done()
			return
		}
		_, _ = w.Write(frame)
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

// transcriptEvent is one line of a *.jsonl stream transcript.
type transcriptEvent struct {
	PayloadPart           *string         `json:"PayloadPart"`
	ModelStreamError      json.RawMessage `json:"ModelStreamError"`
	InternalStreamFailure json.RawMessage `json:"InternalStreamFailure"`
	Raw                   *string         `json:"Raw"`
}

// encodeEvents turns a stream transcript into event stream frames.
func encodeEvents(tb testing.TB, transcript []byte) [][]byte {
	tb.Helper()
	var frames [][]byte
	sc := bufio.NewScanner(bytes.NewReader(transcript))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var ev transcriptEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			tb.Fatalf("transcript line %q: %v", sc.Text(), err)
		}
		switch {
		case ev.PayloadPart != nil:
			frames = append(frames, payloadPartFrame(tb, []byte(*ev.PayloadPart)))
		case ev.ModelStreamError != nil:
			frames = append(frames, exceptionFrame(tb, "ModelStreamError", ev.ModelStreamError))
		case ev.InternalStreamFailure != nil:
			frames = append(frames, exceptionFrame(tb, "InternalStreamFailure", ev.InternalStreamFailure))
		case ev.Raw != nil:
			frames = append(frames, []byte(*ev.Raw))
		default:
			tb.Fatalf("transcript line %q: no event", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return frames
}

// payloadPartFrame encodes a PayloadPart event with the SDK's encoder.
func payloadPartFrame(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	err := eventstream.NewEncoder().Encode(&buf, eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":event-type", Value: eventstream.StringValue("PayloadPart")},
			{Name: ":content-type", Value: eventstream.StringValue("application/octet-stream")},
			{Name: ":message-type", Value: eventstream.StringValue("event")},
		},
		Payload: b,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// exceptionFrame encodes an exception event with the SDK's encoder.
func exceptionFrame(tb testing.TB, typ string, payload []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	err := eventstream.NewEncoder().Encode(&buf, eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":exception-type", Value: eventstream.StringValue(typ)},
			{Name: ":content-type", Value: eventstream.StringValue("application/json")},
			{Name: ":message-type", Value: eventstream.StringValue("exception")},
		},
		Payload: payload,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// memTransport answers every request in memory with the same response
// (fuzzing and benchmarks without a network).
type memTransport struct {
	status      int
	contentType string
	header      http.Header
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
	h := http.Header{"Content-Type": {m.contentType}, "X-Amzn-Requestid": {testRequestID}}
	for k, v := range m.header {
		h[k] = v
	}
	return &http.Response{
		Status:        http.StatusText(m.status),
		StatusCode:    m.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(m.body)),
		ContentLength: -1,
		Request:       req,
	}, nil
}
