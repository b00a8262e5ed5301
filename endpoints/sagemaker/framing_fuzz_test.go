package sagemaker

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// framingEndpoint is built once (building an AWS client is slow) and
// answers from framingTransport, whose body each call replaces: the fuzz
// function runs one call at a time in each process.
var (
	framingTransport = &memTransport{status: http.StatusOK, contentType: "application/vnd.amazon.eventstream"}
	framingEndpoint  *Endpoint
)

// FuzzStreamFraming feeds arbitrary bytes as the event-stream body of
// InvokeEndpointWithResponseStream: the SDK's frame decoder, its error
// events and our handling of what it delivers. Seeded with the frames of
// the stream transcripts. llmeter.Invoke turns a panic in the endpoint
// into an error of class "other", which no parse path produces otherwise.
func FuzzStreamFraming(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "stream_*.jsonl"))
	if len(files) == 0 {
		f.Fatal("no seed transcripts testdata/stream_*.jsonl")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Join(encodeEvents(f, b), nil))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0})
	if framingEndpoint == nil {
		framingEndpoint = newTestEndpoint(f, "http://127.0.0.1:1", true, func(c *Config) {
			c.HTTPClient = &http.Client{Transport: framingTransport}
		})
	}
	payload := llmeter.Payload{"inputs": "hi"}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 1<<16 {
			return
		}
		framingTransport.body = body
		got := llmeter.Invoke(context.Background(), framingEndpoint, payload)
		if got.ErrorClass == llmeter.ErrorClassOther {
			t.Fatalf("unexpected error class %q: %s", got.ErrorClass, got.Error)
		}
		if got.Error != "" && got.ErrorClass == "" {
			t.Errorf("Error %q without a class", got.Error)
		}
		if got.Error != "" && !strings.HasPrefix(got.Error, "sagemaker: ") && !strings.HasPrefix(got.Error, "protocol error: sagemaker: ") &&
			got.ErrorClass != llmeter.ErrorClassAPI {
			t.Errorf("Error %q (class %q): want a sagemaker: prefix", got.Error, got.ErrorClass)
		}
		hasText := got.ResponseText != nil
		if hasText != (got.TimeToFirstToken != nil) || hasText != (len(got.ChunkOffsets) > 0) {
			t.Errorf("text set %v, TTFT set %v, %d chunks: want all or none", hasText, got.TimeToFirstToken != nil, len(got.ChunkOffsets))
		}
		if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken {
			t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
		}
		if got.Error == "" && got.NumTokensOutput == nil {
			t.Errorf("NumTokensOutput: got nil on success, want a count")
		}
		if got.ID != testRequestID {
			t.Errorf("ID: got %q, want %q", got.ID, testRequestID)
		}
	})
}
