package bedrock

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// The fuzz targets feed arbitrary bytes as a response body through
// llmeter.Invoke over an in-memory transport and check the response's
// invariants. The fuzz function runs one call at a time in each worker
// process. llmeter.Invoke turns a panic in the endpoint into an error of
// class "other", which no parse path produces otherwise; a panic in one of the
// SDK's event-stream goroutines crashes the fuzzer.

const eventStreamType = "application/vnd.amazon.eventstream"

// addTranscripts seeds f with the wire bytes of the matching transcripts.
func addTranscripts(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	if len(files) == 0 {
		f.Fatalf("no seed transcripts %s", pattern)
	}
	for _, name := range files {
		tr := loadTranscript(f, filepath.Base(name))
		f.Add(tr.wire(f))
	}
}

// fuzzEndpoints are built once per kind (building an AWS client is slow)
// and answer from a transport whose response each call replaces.
var fuzzEndpoints struct {
	sync.Mutex
	eps [4]llmeter.Endpoint
	mts [4]*memTransport
}

func fuzzEndpoint(t *testing.T, kind int, contentType string, body []byte) llmeter.Endpoint {
	fuzzEndpoints.Lock()
	defer fuzzEndpoints.Unlock()
	mt := fuzzEndpoints.mts[kind]
	if mt == nil {
		mt = &memTransport{}
		hc := &http.Client{Transport: mt}
		var ep llmeter.Endpoint
		switch kind {
		case 0, 1:
			ep = newConverse(t, "http://bedrock.test", kind == 1, false, 1, hc)
		default:
			ep = newInvoke(t, "http://bedrock.test", InvokeConfig{Stream: kind == 3, HTTPClient: hc})
		}
		fuzzEndpoints.eps[kind], fuzzEndpoints.mts[kind] = ep, mt
	}
	mt.set(memResponse{status: http.StatusOK,
		header: http.Header{"Content-Type": {contentType}, "X-Amzn-Requestid": {"fuzz-request"}}, body: body})
	return fuzzEndpoints.eps[kind]
}

// checkInvariants checks what holds for any response body.
func checkInvariants(t *testing.T, got *llmeter.InvocationResponse, stream bool) {
	t.Helper()
	if got.ErrorClass == llmeter.ErrorClassOther {
		t.Fatalf("unexpected error class %q: %s", got.ErrorClass, got.Error)
	}
	if got.Error != "" && got.ErrorClass == "" {
		t.Errorf("Error %q without a class", got.Error)
	}
	if got.Error == "" && got.TimeToLastToken == nil {
		t.Errorf("TimeToLastToken: got nil on success, want set")
	}
	if stream {
		hasChunks := len(got.ChunkOffsets) > 0
		if hasChunks != (got.TimeToFirstToken != nil) {
			t.Errorf("TTFT set %v, %d chunks: want both or none", got.TimeToFirstToken != nil, len(got.ChunkOffsets))
		}
		if hasChunks && (got.ResponseText == nil || *got.ResponseText == "") {
			t.Errorf("text chunks without text")
		}
	} else if got.TimeToFirstToken != nil {
		t.Errorf("TimeToFirstToken: got %v, want nil", *got.TimeToFirstToken)
	}
	if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken {
		t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
	}
	if got.ID == "" {
		t.Errorf("ID: got empty")
	}
	if got.Error != "" && !strings.HasPrefix(got.Error, "bedrock: ") && !strings.HasPrefix(got.Error, "protocol error: bedrock: ") &&
		!strings.HasPrefix(got.Error, "Bedrock ") {
		t.Errorf("Error %q (class %q): want a bedrock prefix", got.Error, got.ErrorClass)
	}
}

// FuzzConverseStream fuzzes the event-stream body of ConverseStream.
func FuzzConverseStream(f *testing.F) {
	addTranscripts(f, "converse_stream_*.json")
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		ep := fuzzEndpoint(t, 1, eventStreamType, body)
		got := llmeter.Invoke(context.Background(), ep, conversePayload(t))
		checkInvariants(t, got, true)
		if got.Error == "" && got.Retries == nil {
			t.Errorf("Retries: got nil, want 0")
		}
	})
}

// FuzzInvokeStream fuzzes the event-stream body of
// InvokeModelWithResponseStream, chunks included.
func FuzzInvokeStream(f *testing.F) {
	addTranscripts(f, "invoke_stream_*.json")
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		ep := fuzzEndpoint(t, 3, eventStreamType, body)
		got := llmeter.Invoke(context.Background(), ep, invokePayload(t))
		checkInvariants(t, got, true)
	})
}

// FuzzInvokeJSON fuzzes the JSON body of InvokeModel (the JMESPath lookups).
func FuzzInvokeJSON(f *testing.F) {
	addTranscripts(f, "invoke_[ano]*.json")
	for _, s := range []string{`{"choices":[{"message":{"content":["a",null,"b"]}}],"usage":{"prompt_tokens":1.5}}`,
		`{"choices":{"0":1},"usage":{"completion_tokens":1e300}}`, `[]`, `null`, `"x"`, `{"id":7}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ep := fuzzEndpoint(t, 2, "application/json", body)
		got := llmeter.Invoke(context.Background(), ep, invokePayload(t))
		checkInvariants(t, got, false)
		if got.TimeToLastToken == nil {
			t.Errorf("TimeToLastToken: got nil, want set (the body was received)")
		}
	})
}

// FuzzConverseJSON fuzzes the JSON body of Converse (the SDK's decoder).
func FuzzConverseJSON(f *testing.F) {
	addTranscripts(f, "converse_[mnrt]*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		ep := fuzzEndpoint(t, 0, "application/json", body)
		got := llmeter.Invoke(context.Background(), ep, conversePayload(t))
		checkInvariants(t, got, false)
	})
}
