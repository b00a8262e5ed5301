package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/bedrock"
	"github.com/llmeter-go/llmeter/prompt"
)

const (
	bedrockModel        = "amazon.nova-lite-v1:0"
	bedrockARN          = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"
	bedrockConverseBody = `{"messages":[{"role":"user","content":[{"text":"one two three"},{"image":{"format":"png","source":{"bytes":"AAAA"}}}]}],"system":[{"text":"be  brief"}],"inferenceConfig":{"maxTokens":%d}}`
	bedrockInvokeBody   = `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"one two three"}]}],"max_tokens":%d}`
)

var bedrockUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// serveBedrock runs one request through s.ServeHTTP in a new goroutine.
func serveBedrock(s *Server, path, body string, tw *timedWriter) <-chan served {
	ch := make(chan served, 1)
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	go func() {
		var res served
		res.w = tw
		defer func() {
			res.panic = recover()
			res.end = time.Since(tw.start)
			ch <- res
		}()
		s.ServeHTTP(tw, r)
	}()
	return ch
}

// bedrockEvent is a decoded event-stream frame.
type bedrockEvent struct {
	typ     string // :event-type or :exception-type
	payload map[string]any
}

// bedrockDecodeFrames decodes event-stream frames; partial is true when the data
// ends in the middle of a frame.
func bedrockDecodeFrames(t *testing.T, data []byte) (evs []bedrockEvent, partial bool) {
	t.Helper()
	dec := eventstream.NewDecoder()
	r := bytes.NewReader(data)
	for r.Len() > 0 {
		msg, err := dec.Decode(r, nil)
		if err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return evs, true
			}
			t.Fatalf("frame %d: %v", len(evs), err)
		}
		var ev bedrockEvent
		if h := msg.Headers.Get(":message-type"); h == nil || h.String() != "event" {
			t.Fatalf("frame %d: message type %v", len(evs), h)
		}
		if h := msg.Headers.Get(":content-type"); h == nil || h.String() != "application/json" {
			t.Fatalf("frame %d: content type %v", len(evs), h)
		}
		ev.typ = msg.Headers.Get(":event-type").String()
		if err := json.Unmarshal(msg.Payload, &ev.payload); err != nil {
			t.Fatalf("frame %d payload %q: %v", len(evs), msg.Payload, err)
		}
		evs = append(evs, ev)
	}
	return evs, false
}

// bedrockChunkJSON decodes the JSON inside a PayloadPart chunk.
func bedrockChunkJSON(t *testing.T, ev bedrockEvent) map[string]any {
	t.Helper()
	if ev.typ != "chunk" {
		t.Fatalf("event %q, want chunk", ev.typ)
	}
	raw, err := base64.StdEncoding.DecodeString(ev.payload["bytes"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("chunk %q: %v", raw, err)
	}
	return m
}

func bedrockWords(n int) string {
	var sb strings.Builder
	for i := range n {
		sb.WriteString(words[i%len(words)])
	}
	return sb.String()
}

func TestBedrockConverseWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{TTFT: 100 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 6})
		for _, tc := range []struct {
			max          int
			n            int
			stop, finish string
		}{{4, 4, "max_tokens", "length"}, {0, 6, "end_turn", "stop"}, {6, 6, "max_tokens", "length"}, {7, 6, "end_turn", "stop"}} {
			res := <-serveBedrock(s, "/model/"+bedrockModel+"/converse", fmt.Sprintf(bedrockConverseBody, tc.max), newTimedWriter())
			w := res.w
			if res.panic != nil || w.code != 200 {
				t.Fatalf("maxTokens %d: panic %v, status %d: %s", tc.max, res.panic, w.code, w.all)
			}
			if want := 100*time.Millisecond + time.Duration(tc.n-1)*10*time.Millisecond; res.end != want {
				t.Errorf("answered at %v, want %v", res.end, want)
			}
			if !bedrockUUID.MatchString(w.header.Get("X-Amzn-Requestid")) || w.header.Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", w.header)
			}
			want := fmt.Sprintf(`{"metrics":{"latencyMs":%d},"output":{"message":{"content":[{"text":%q}],"role":"assistant"}},`+
				`"stopReason":%q,"usage":{"cacheReadInputTokens":0,"cacheWriteInputTokens":0,"inputTokens":5,"outputTokens":%d,"totalTokens":%d}}`,
				100+10*(tc.n-1), bedrockWords(tc.n), tc.stop, tc.n, 5+tc.n)
			if string(w.all) != want {
				t.Errorf("body:\n got %s\nwant %s", w.all, want)
			}
		}
	})
}

func TestBedrockConverseStreamSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 100 * time.Millisecond, PrefillPerToken: time.Millisecond, ITL: 20 * time.Millisecond, OutputTokens: 5}
		s := newFake(cfg)
		res := <-serveBedrock(s, "/model/"+bedrockModel+"/converse-stream", fmt.Sprintf(bedrockConverseBody, 0), newTimedWriter())
		w := res.w
		if res.panic != nil {
			t.Fatal(res.panic)
		}
		ttft, ttlt := cfg.Truth(5, 5)
		if len(w.flushes) != 6 {
			t.Fatalf("got %d flushes, want 6", len(w.flushes))
		}
		if w.header.Get("Content-Type") != "application/vnd.amazon.eventstream" || !bedrockUUID.MatchString(w.header.Get("X-Amzn-Requestid")) {
			t.Errorf("headers %v", w.header)
		}
		first, _ := bedrockDecodeFrames(t, []byte(w.flushes[0].data))
		if w.flushes[0].at != 0 || len(first) != 1 || first[0].typ != "messageStart" || first[0].payload["role"] != "assistant" {
			t.Errorf("first flush at %v: %v, want messageStart at once", w.flushes[0].at, first)
		}
		for k := range 5 {
			f := w.flushes[k+1]
			if want := ttft + time.Duration(k)*cfg.ITL; f.at != want {
				t.Errorf("token %d flushed at %v, want %v", k, f.at, want)
			}
			evs, partial := bedrockDecodeFrames(t, []byte(f.data))
			if partial {
				t.Fatalf("flush %d ends mid-frame", k+1)
			}
			d := evs[0]
			if d.typ != "contentBlockDelta" || d.payload["contentBlockIndex"] != 0.0 ||
				d.payload["delta"].(map[string]any)["text"] != words[k] {
				t.Errorf("flush %d starts with %v, want the delta of token %q", k+1, d, words[k])
			}
			if k < 4 && len(evs) != 1 {
				t.Errorf("flush %d has %d events, want 1", k+1, len(evs))
			}
			if k == 4 {
				if len(evs) != 4 || evs[1].typ != "contentBlockStop" || evs[2].typ != "messageStop" || evs[3].typ != "metadata" {
					t.Fatalf("last flush %v, want delta, contentBlockStop, messageStop, metadata", evs)
				}
				if evs[2].payload["stopReason"] != "end_turn" {
					t.Errorf("messageStop %v", evs[2].payload)
				}
				md := evs[3].payload
				wantUsage := map[string]any{"inputTokens": 5.0, "outputTokens": 5.0, "totalTokens": 10.0,
					"cacheReadInputTokens": 0.0, "cacheWriteInputTokens": 0.0}
				if fmt.Sprint(md["usage"]) != fmt.Sprint(wantUsage) || md["metrics"].(map[string]any)["latencyMs"] != float64(ttlt.Milliseconds()) {
					t.Errorf("metadata %v, want usage %v and latencyMs %d", md, wantUsage, ttlt.Milliseconds())
				}
			}
		}
		if res.end != ttlt {
			t.Errorf("handler returned at %v, want %v", res.end, ttlt)
		}
	})
}

func TestBedrockInvokeWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{TTFT: 50 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 8})
		res := <-serveBedrock(s, "/model/openai.gpt-oss-20b-1:0/invoke", fmt.Sprintf(bedrockInvokeBody, 3), newTimedWriter())
		w := res.w
		if res.panic != nil || w.code != 200 {
			t.Fatalf("panic %v, status %d: %s", res.panic, w.code, w.all)
		}
		var c chunk
		if err := json.Unmarshal(w.all, &c); err != nil {
			t.Fatalf("body %s: %v", w.all, err)
		}
		if c.Object != "chat.completion" || c.Model != "openai.gpt-oss-20b-1:0" || !strings.HasPrefix(c.ID, "chatcmpl-") ||
			len(c.Choices) != 1 || c.Choices[0].Message.Content != bedrockWords(3) || *c.Choices[0].FinishReason != "length" ||
			c.Usage == nil || c.Usage.PromptTokens != 5 || c.Usage.CompletionTokens != 3 {
			t.Errorf("body %s", w.all)
		}
		for k, v := range map[string]string{"X-Amzn-Bedrock-Input-Token-Count": "5", "X-Amzn-Bedrock-Output-Token-Count": "3",
			"X-Amzn-Bedrock-Invocation-Latency": "70", "Content-Type": "application/json"} {
			if got := w.header.Get(k); got != v {
				t.Errorf("header %s: got %q, want %q", k, got, v)
			}
		}
	})
}

func TestBedrockInvokeStreamWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{TTFT: 50 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 4})
		res := <-serveBedrock(s, "/model/openai.gpt-oss-20b-1:0/invoke-with-response-stream", fmt.Sprintf(bedrockInvokeBody, 0),
			newTimedWriter())
		w := res.w
		if res.panic != nil || w.code != 200 {
			t.Fatalf("panic %v, status %d", res.panic, w.code)
		}
		if w.header.Get("Content-Type") != "application/vnd.amazon.eventstream" || w.header.Get("X-Amzn-Bedrock-Content-Type") != "application/json" {
			t.Errorf("headers %v", w.header)
		}
		evs, partial := bedrockDecodeFrames(t, w.all)
		if partial || len(evs) != 6 {
			t.Fatalf("got %d events (partial %v), want 6", len(evs), partial)
		}
		first := bedrockChunkJSON(t, evs[0])
		id, _ := first["id"].(string)
		if !strings.HasPrefix(id, "chatcmpl-") || first["object"] != "chat.completion.chunk" {
			t.Errorf("first chunk %v", first)
		}
		var text strings.Builder
		for _, ev := range evs[1:5] {
			m := bedrockChunkJSON(t, ev)
			text.WriteString(m["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)["content"].(string))
		}
		if text.String() != bedrockWords(4) {
			t.Errorf("text %q, want %q", text.String(), bedrockWords(4))
		}
		last := bedrockChunkJSON(t, evs[5])
		want := map[string]any{"inputTokenCount": 5.0, "outputTokenCount": 4.0, "invocationLatency": 80.0, "firstByteLatency": 50.0}
		if last["id"] != id || fmt.Sprint(last["amazon-bedrock-invocationMetrics"]) != fmt.Sprint(want) {
			t.Errorf("last chunk %v, want id %s and metrics %v", last, id, want)
		}
	})
}

func TestBedrockErrors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		method string
		path   string
		body   string
		code   int
		typ    string
	}{
		{"throttled", Config{ErrorRate: 1, ErrorKinds: []ErrorKind{Error429}}, "POST", "/model/m/converse-stream",
			fmt.Sprintf(bedrockConverseBody, 0), 429, "ThrottlingException"},
		{"server error", Config{ErrorRate: 1, ErrorKinds: []ErrorKind{Error500}}, "POST", "/model/m/invoke",
			fmt.Sprintf(bedrockInvokeBody, 0), 500, "InternalServerException"},
		{"bad JSON", Config{}, "POST", "/model/m/converse", `{"messages":`, 400, "ValidationException"},
		{"Converse content string", Config{}, "POST", "/model/m/converse", `{"messages":[{"role":"user","content":"hi"}]}`,
			400, "ValidationException"},
		{"bad maxTokens", Config{}, "POST", "/model/m/converse", `{"inferenceConfig":{"maxTokens":"x"}}`, 400, "ValidationException"},
		{"GET", Config{}, "GET", "/model/m/invoke", "", 405, "UnknownOperationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.cfg)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			if w.Code != tc.code {
				t.Errorf("status %d, want %d", w.Code, tc.code)
			}
			if got := w.Header().Get("X-Amzn-Errortype"); !strings.HasPrefix(got, tc.typ+":") {
				t.Errorf("x-amzn-ErrorType %q, want %s", got, tc.typ)
			}
			if !bedrockUUID.MatchString(w.Header().Get("X-Amzn-Requestid")) {
				t.Errorf("x-amzn-RequestId %q", w.Header().Get("X-Amzn-Requestid"))
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body) != 1 || body["message"] == "" {
				t.Errorf("body %s: want {\"message\": …}", w.Body.Bytes())
			}
		})
	}
}

func TestBedrockDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{OutputTokens: 8, ErrorRate: 1, ErrorKinds: []ErrorKind{ErrorDropMidStream}})
		for _, op := range []string{"converse-stream", "invoke-with-response-stream"} {
			res := <-serveBedrock(s, "/model/m/"+op, fmt.Sprintf(bedrockConverseBody, 0), newTimedWriter())
			if res.panic != http.ErrAbortHandler {
				t.Fatalf("%s: panic %v, want http.ErrAbortHandler", op, res.panic)
			}
			evs, _ := bedrockDecodeFrames(t, res.w.all)
			if len(evs) != 1+4 {
				t.Errorf("%s: %d events before the drop, want 5", op, len(evs))
			}
		}
		res := <-serveBedrock(s, "/model/m/converse", fmt.Sprintf(bedrockConverseBody, 0), newTimedWriter())
		if res.panic != http.ErrAbortHandler || len(res.w.all) != 0 {
			t.Errorf("converse: panic %v, body %q; want an abort without a response", res.panic, res.w.all)
		}
	})
}

func TestBedrockModelIDEscaped(t *testing.T) {
	srv, _ := Start(Config{OutputTokens: 2})
	defer srv.Close()
	escaped := strings.NewReplacer(":", "%3A", "/", "%2F").Replace(bedrockARN)
	resp, err := http.Post(srv.URL+"/model/"+escaped+"/invoke", "application/json", strings.NewReader(fmt.Sprintf(bedrockInvokeBody, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c chunk
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if c.Model != bedrockARN {
		t.Errorf("model %q, want %q", c.Model, bedrockARN)
	}
}

// --- the bedrock endpoints against the simulator ---

var bedrockCreds = credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", "")

// bedrockEndpoints builds the four endpoint types against url or an HTTP
// client, and their payloads.
func bedrockEndpoints(t *testing.T, url string, hc *http.Client, attempts int) []struct {
	ep      llmeter.Endpoint
	payload llmeter.Payload
} {
	t.Helper()
	var out []struct {
		ep      llmeter.Endpoint
		payload llmeter.Payload
	}
	cp, err := bedrock.CreateConversePayload([]prompt.Item{prompt.Text("one two three"),
		prompt.Media{Kind: prompt.Image, Data: []byte("\x89PNG\r\n\x1a\n"), MIMEType: "image/png"}}, 0,
		map[string]any{"system": []any{map[string]any{"text": "be brief"}}})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := bedrock.CreateInvokePayload([]string{"one two", "three four five"}, 256, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range []bool{false, true} {
		c, err := bedrock.NewConverseEndpoint(bedrock.ConverseConfig{ModelID: bedrockARN, Region: "us-east-1", EndpointURL: url,
			Stream: stream, Credentials: bedrockCreds, HTTPClient: hc, MaxAttempts: attempts})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, struct {
			ep      llmeter.Endpoint
			payload llmeter.Payload
		}{c, cp})
		i, err := bedrock.NewInvokeEndpoint(bedrock.InvokeConfig{ModelID: "openai.gpt-oss-20b-1:0", Region: "us-east-1",
			EndpointURL: url, Stream: stream, Credentials: bedrockCreds, HTTPClient: hc, MaxAttempts: attempts})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, struct {
			ep      llmeter.Endpoint
			payload llmeter.Payload
		}{i, ip})
	}
	return out
}

func bedrockIsStream(ep llmeter.Endpoint) bool {
	t := ep.Info().EndpointType
	return strings.HasSuffix(t, "Stream")
}

// TestBedrockEndpoints runs every Bedrock endpoint type against the
// simulator over HTTP.
func TestBedrockEndpoints(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "") // awsep cannot apply a CA bundle to its client
	srv, _ := Start(Config{OutputTokens: 7, Seed: 1})
	defer srv.Close()
	for _, e := range bedrockEndpoints(t, srv.URL, nil, 1) {
		t.Run(e.ep.Info().EndpointType, func(t *testing.T) {
			got := llmeter.Invoke(context.Background(), e.ep, e.payload)
			if got.Error != "" {
				t.Fatalf("Error: %s", got.Error)
			}
			if got.Text() != bedrockWords(7) {
				t.Errorf("text %q, want %q", got.Text(), bedrockWords(7))
			}
			const wantIn = 5 // "one two three" + "be brief" (Converse), "one two" + "three four five" (Invoke)
			if got.NumTokensInput == nil || *got.NumTokensInput != wantIn || got.NumTokensOutput == nil || *got.NumTokensOutput != 7 {
				t.Errorf("tokens in %s out %s, want %d and 7", bedrockFmtInt(got.NumTokensInput), bedrockFmtInt(got.NumTokensOutput), wantIn)
			}
			if stream := bedrockIsStream(e.ep); (got.TimeToFirstToken != nil) != stream || (stream && len(got.ChunkOffsets) != 7) {
				t.Errorf("TTFT %v with %d chunks (stream %v)", got.TimeToFirstToken, len(got.ChunkOffsets), stream)
			}
			if got.Retries == nil || *got.Retries != 0 || got.ID == "" {
				t.Errorf("retries %v, id %q", got.Retries, got.ID)
			}
		})
	}
}

func bedrockFmtInt(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// TestBedrockEndpointErrors checks how the endpoints classify the
// simulator's injected failures.
func TestBedrockEndpointErrors(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	for _, tc := range []struct {
		kind  ErrorKind
		class string
	}{{Error429, llmeter.ErrorClassHTTP429}, {Error500, llmeter.ErrorClassHTTP5xx}, {ErrorDropMidStream, llmeter.ErrorClassConnection}} {
		srv, _ := Start(Config{OutputTokens: 8, ErrorRate: 1, ErrorKinds: []ErrorKind{tc.kind}})
		for _, e := range bedrockEndpoints(t, srv.URL, nil, 1) {
			got := llmeter.Invoke(context.Background(), e.ep, e.payload)
			if got.ErrorClass != tc.class {
				t.Errorf("%s %s: class %q (error %q), want %q", e.ep.Info().EndpointType, tc.kind, got.ErrorClass, got.Error, tc.class)
			}
			if tc.kind == ErrorDropMidStream && bedrockIsStream(e.ep) && got.Text() != bedrockWords(4) {
				t.Errorf("%s: text before the drop %q, want %q", e.ep.Info().EndpointType, got.Text(), bedrockWords(4))
			}
		}
		srv.Close()
	}
}

// TestBedrockEndpointTiming runs the streaming endpoints against the
// simulator in memory on the fake clock: the measured times are the
// simulator's schedule, exactly.
func TestBedrockEndpointTiming(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 200 * time.Millisecond, ITL: 25 * time.Millisecond, OutputTokens: 6, TimersOnly: true}
		s := New(cfg)
		for _, e := range bedrockEndpoints(t, "http://bedrock.sim", &http.Client{Transport: Transport(s)}, 1) {
			got := llmeter.Invoke(context.Background(), e.ep, e.payload)
			if got.Error != "" {
				t.Fatalf("%s: %s", e.ep.Info().EndpointType, got.Error)
			}
			_, ttlt := cfg.Truth(0, 6)
			if bedrockIsStream(e.ep) {
				if got.TimeToFirstToken == nil || *got.TimeToFirstToken != cfg.TTFT.Seconds() {
					t.Errorf("%s: TTFT %v, want %v", e.ep.Info().EndpointType, got.TimeToFirstToken, cfg.TTFT.Seconds())
				}
			}
			if got.TimeToLastToken == nil || *got.TimeToLastToken != ttlt.Seconds() {
				t.Errorf("%s: TTLT %v, want %v", e.ep.Info().EndpointType, bedrockFmtSec(got.TimeToLastToken), ttlt.Seconds())
			}
		}
	})
}

func bedrockFmtSec(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// BenchmarkServeBedrockStream measures the handler's cost for one streamed
// response of 16 or 64 tokens with no delays; allocations must not grow with
// the number of tokens.
func BenchmarkServeBedrockStream(b *testing.B) {
	for _, op := range []string{"converse-stream", "invoke-with-response-stream"} {
		for _, n := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s/%d", op, n), func(b *testing.B) {
				s := New(Config{OutputTokens: n})
				body := []byte(fmt.Sprintf(bedrockConverseBody, 0))
				rd := bytes.NewReader(body)
				req := httptest.NewRequest(http.MethodPost, "/model/"+bedrockModel+"/"+op, rd)
				w := &discardFlusher{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					rd.Reset(body)
					req.Body = io.NopCloser(rd)
					clear(w.h)
					s.ServeHTTP(w, req)
				}
			})
		}
	}
}
