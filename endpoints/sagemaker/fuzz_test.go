package sagemaker

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// parserEndpoint runs the stream parser over in-memory PayloadParts, so that
// the parser can be tested and fuzzed with a real Recorder and no SDK.
type parserEndpoint struct{ parts [][]byte }

func (e *parserEndpoint) Info() llmeter.EndpointInfo {
	return llmeter.EndpointInfo{EndpointName: "parser", Provider: Provider, EndpointType: TypeStreamEndpoint}
}
func (e *parserEndpoint) PreparePayload(p llmeter.Payload) (llmeter.Payload, error) { return p, nil }
func (e *parserEndpoint) ParsePayload(llmeter.Payload) (any, error)                 { return nil, nil }
func (e *parserEndpoint) Invoke(_ context.Context, _ llmeter.Payload, rec *llmeter.Recorder) error {
	p := getParser()
	defer p.release()
	for _, part := range e.parts {
		if err := p.feed(part, rec); err != nil {
			return err
		}
	}
	return p.finish(rec)
}

// splitAt cuts data into parts whose lengths are taken in turn from cuts
// (0 means 1; no cuts: one part).
func splitAt(data, cuts []byte) [][]byte {
	if len(cuts) == 0 {
		return [][]byte{data}
	}
	var parts [][]byte
	for i := 0; len(data) > 0; i++ {
		n := max(int(cuts[i%len(cuts)]), 1)
		n = min(n, len(data))
		parts = append(parts, data[:n])
		data = data[n:]
	}
	return parts
}

// streamBytes concatenates the PayloadParts of a transcript.
func streamBytes(tb testing.TB, transcript []byte) []byte {
	tb.Helper()
	var b []byte
	for _, line := range bytes.Split(transcript, []byte("\n")) {
		var ev transcriptEvent
		if json.Unmarshal(line, &ev) == nil && ev.PayloadPart != nil {
			b = append(b, *ev.PayloadPart...)
		}
	}
	return b
}

// FuzzStreamParser feeds arbitrary bytes, cut into PayloadParts at arbitrary
// places, to the stream parser. The response must not depend on where the
// parts were cut, and must be consistent.
func FuzzStreamParser(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "stream_*.jsonl"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(streamBytes(f, b), []byte{1, 7, 3, 200})
	}
	f.Add([]byte("data:{\"token\":{\"text\":\"x\"},\"generated_text\":\"x\"}"), []byte{})
	f.Add([]byte("data:{\"token\":null,\"details\":{}}\n"), []byte{2})
	f.Add([]byte("{\"error\":{\"message\":\"m\"}}\n{\"token\":{\"text\":5}}\n"), []byte{5})
	f.Add([]byte("data: {\"token\":{\"text\":\"\\ud83d\\ude00\\u0000\"},\"details\":{\"generated_tokens\":1e400}}\r\n"), []byte{9})

	payload := llmeter.Payload{"inputs": "hi"}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		whole := llmeter.Invoke(context.Background(), &parserEndpoint{parts: [][]byte{data}}, payload)
		got := llmeter.Invoke(context.Background(), &parserEndpoint{parts: splitAt(data, cuts)}, payload)

		if got.ErrorClass == llmeter.ErrorClassOther {
			t.Fatalf("unexpected error class %q: %s", got.ErrorClass, got.Error)
		}
		if got.Text() != whole.Text() || got.Error != whole.Error || fmtPtr(got.NumTokensOutput) != fmtPtr(whole.NumTokensOutput) ||
			len(got.ChunkOffsets) != len(whole.ChunkOffsets) {
			t.Errorf("cut into parts: text %q, error %q, tokens %s, %d chunks; whole: %q, %q, %s, %d",
				got.Text(), got.Error, fmtPtr(got.NumTokensOutput), len(got.ChunkOffsets),
				whole.Text(), whole.Error, fmtPtr(whole.NumTokensOutput), len(whole.ChunkOffsets))
		}
		hasText := got.ResponseText != nil
		if hasText != (got.TimeToFirstToken != nil) || hasText != (len(got.ChunkOffsets) > 0) {
			t.Errorf("text set %v, TTFT set %v, %d chunks: want all or none", hasText, got.TimeToFirstToken != nil, len(got.ChunkOffsets))
		}
		if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken {
			t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
		}
		if got.Error == "" {
			if got.NumTokensOutput == nil {
				t.Errorf("NumTokensOutput: got nil on success, want a count")
			}
			lower := bytes.ToLower(data) // encoding/json matches keys case-insensitively
			if !bytes.Contains(lower, []byte("generated_text")) && !bytes.Contains(lower, []byte("details")) &&
				!bytes.Contains(data, []byte(`\u`)) {
				t.Errorf("success without a final line in %q", data)
			}
		} else if !strings.HasPrefix(got.Error, "sagemaker: ") && !strings.HasPrefix(got.Error, "protocol error: sagemaker: ") &&
			got.ErrorClass != llmeter.ErrorClassAPI {
			t.Errorf("Error %q (class %q): want a sagemaker: prefix", got.Error, got.ErrorClass)
		}
	})
}

// FuzzStreamInvoke sends arbitrary PayloadPart bytes through the SDK (frames
// encoded by its encoder) over an in-memory transport.
func FuzzStreamInvoke(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "stream_*.jsonl"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(streamBytes(f, b), []byte{64})
	}
	payload := llmeter.Payload{"inputs": "hi"}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var body []byte
		for _, part := range splitAt(data, cuts) {
			body = append(body, payloadPartFrame(t, part)...)
		}
		ep := newTestEndpoint(t, "http://127.0.0.1:1", true, func(c *Config) {
			c.HTTPClient = &http.Client{Transport: &memTransport{status: http.StatusOK,
				contentType: "application/vnd.amazon.eventstream", body: body}}
		})
		got := llmeter.Invoke(context.Background(), ep, payload)
		want := llmeter.Invoke(context.Background(), &parserEndpoint{parts: [][]byte{data}}, payload)
		if got.ErrorClass == llmeter.ErrorClassOther {
			t.Fatalf("unexpected error class %q: %s", got.ErrorClass, got.Error)
		}
		if got.Text() != want.Text() || got.Error != want.Error || fmtPtr(got.NumTokensOutput) != fmtPtr(want.NumTokensOutput) {
			t.Errorf("through the SDK: text %q, error %q, tokens %s; parser alone: %q, %q, %s",
				got.Text(), got.Error, fmtPtr(got.NumTokensOutput), want.Text(), want.Error, fmtPtr(want.NumTokensOutput))
		}
		if got.ID != testRequestID {
			t.Errorf("ID: got %q, want %q", got.ID, testRequestID)
		}
	})
}

// FuzzParseJSON feeds arbitrary non-streaming bodies.
func FuzzParseJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	payload := llmeter.Payload{"inputs": "hi"}
	f.Fuzz(func(t *testing.T, body []byte) {
		ep := newTestEndpoint(t, "http://127.0.0.1:1", false, func(c *Config) {
			c.HTTPClient = &http.Client{Transport: &memTransport{status: http.StatusOK, contentType: "application/json", body: body}}
		})
		got := llmeter.Invoke(context.Background(), ep, payload)
		if got.ErrorClass == llmeter.ErrorClassOther {
			t.Fatalf("unexpected error class %q: %s", got.ErrorClass, got.Error)
		}
		if got.TimeToFirstToken != nil {
			t.Errorf("TimeToFirstToken: got %v, want nil", *got.TimeToFirstToken)
		}
		if got.TimeToLastToken == nil {
			t.Errorf("TimeToLastToken: got nil, want set (the body was received)")
		}
	})
}

// checkFastLine decodes data with the fast path and, when it accepts it,
// with encoding/json, and reports any difference.
func checkFastLine(t *testing.T, data []byte) (handled bool) {
	t.Helper()
	if !json.Valid(data) {
		return false
	}
	var f fastLine
	if !f.decode(data) {
		return false
	}
	var tok tgiToken
	l := tgiLine{Token: &tok}
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json: %v", data, err)
	}
	// The parser reads token.text only when the token is an object; without
	// a "token" key encoding/json leaves the preset Token, whose Text stays
	// empty: the same "no token.text".
	var text, fastText []byte
	if l.Token != nil {
		text = tok.Text
	}
	if f.token {
		fastText = f.text
	}
	if !bytes.Equal(fastText, text) || f.genText != bool(l.GeneratedText) ||
		!bytes.Equal(f.details, l.Details) || !bytes.Equal(f.errRaw, l.Error) {
		t.Errorf("%q: fast token %v text %q gen %v details %q error %q; encoding/json %v %q %v %q %q", data,
			f.token, f.text, f.genText, f.details, f.errRaw, l.Token != nil, text, bool(l.GeneratedText), l.Details, l.Error)
	}
	return true
}

// fastLineSeeds are lines meant to trip the fast path.
var fastLineSeeds = []string{
	`{"index":0,"token":{"id":1,"text":" a","logprob":-0.1,"special":false},"generated_text":null,"details":null}`,
	`{"token":{"text":"x"},"generated_text":"x","details":{"finish_reason":"length","generated_tokens":1}}`,
	` { "token" : { "text" : "sp" , "x" : [ {"a":[1,{"b":"}"}]} ] } , "details" : { } } `,
	`{"token":null}`, `{"token":"x"}`, `{"token":[1]}`, `{"token":{}}`, `{"token":{"text":null}}`, `{"token":{"text":5}}`,
	`{"Token":{"text":"x"}}`, `{"token":{"TEXT":"x"}}`, `{"tok\u0065n":{"text":"x"}}`, "{\"to\u212aen\":{\"text\":\"x\"}}",
	"{\"detail\u017f\":1}", `{"token":{"text":"a","text":"b"}}`, `{"token":{"text":"a"},"token":{"id":1}}`,
	`{"details":1,"details":2}`, `{"error":"x","error":null}`, `{"generated_text":1,"generated_text":null}`,
	`{"error":"boom","error_type":"generation"}`, `{"error":{"message":"m"}}`, `{"generated_text":""}`,
	`{"token":{"text":"line\nbreak \"q\" \\ \/ \u00e9 \ud83d\ude00"}}`, `{"token":{"text":"é 中 😀"}}`,
	`{"a":"\"}","token":{"b":"\\","text":"ok"}}`, `{"x":{"token":{"text":"no"}},"y":["token"],"token":{"text":"yes"}}`,
	`{"z":-1.5e+10,"t":true,"f":false,"n":null,"s":"\"}","token":{"text":""}}`,
	`{}`, `[]`, `null`, `"x"`, `1`, `{"a":1}`,
}

func TestFastLine(t *testing.T) {
	for _, s := range fastLineSeeds {
		checkFastLine(t, []byte(s))
	}
	// Every line of the testdata streams goes through the fast path.
	files, _ := filepath.Glob(filepath.Join("testdata", "stream_*.jsonl"))
	n := 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(streamBytes(t, b)), "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "data:"))
			if !strings.HasPrefix(line, "{") || !json.Valid([]byte(line)) {
				continue
			}
			if !checkFastLine(t, []byte(line)) {
				t.Errorf("%s: fast path declined %s", name, line)
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("fast path checked on %d testdata lines, want at least 100", n)
	}
}

// FuzzFastLine compares the fast line decoder with encoding/json.
func FuzzFastLine(f *testing.F) {
	for _, s := range fastLineSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastLine(t, data)
	})
}
