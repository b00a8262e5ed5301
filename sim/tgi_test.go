package sim_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/sagemaker"
	"github.com/llmeter-go/llmeter/prompt"
	"github.com/llmeter-go/llmeter/sim"
)

// tgiGenerateResponse is TGI's GenerateResponse.
type tgiGenerateResponse struct {
	GeneratedText *string `json:"generated_text"`
	Details       *struct {
		FinishReason    string            `json:"finish_reason"`
		GeneratedTokens int               `json:"generated_tokens"`
		Seed            *int              `json:"seed"`
		Prefill         []json.RawMessage `json:"prefill"`
		Tokens          []tgiToken        `json:"tokens"`
	} `json:"details"`
}

type tgiToken struct {
	ID      int     `json:"id"`
	Text    string  `json:"text"`
	Logprob float64 `json:"logprob"`
	Special bool    `json:"special"`
}

// tgiStreamResponse is TGI's StreamResponse.
type tgiStreamResponse struct {
	Index         int             `json:"index"`
	Token         tgiToken        `json:"token"`
	GeneratedText *string         `json:"generated_text"`
	Details       json.RawMessage `json:"details"`
	Error         string          `json:"error"`
}

func tgiBody(inputs string, maxNew int, details bool, stream string) string {
	s := fmt.Sprintf(`{"inputs":%q,"parameters":{"max_new_tokens":%d,"details":%v,"temperature":0.5}`, inputs, maxNew, details)
	if stream != "" {
		s += `,"stream":` + stream
	}
	return s + "}"
}

func tgiPost(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func tgiDecodeBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
}

// sseLines reads TGI's events: the JSON after each "data:".
func tgiSSELines(t *testing.T, r io.Reader) []tgiStreamResponse {
	t.Helper()
	var out []tgiStreamResponse
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			if sc.Text() != "" {
				t.Errorf("unexpected line %q", sc.Text())
			}
			continue
		}
		var ev tgiStreamResponse
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		out = append(out, ev)
	}
	return out
}

const tgiFourWords = "lorem ipsum dolor sit "

// checkTGIStream checks a complete TGI stream of n tokens.
func checkTGIStream(t *testing.T, evs []tgiStreamResponse, n int, finish string, details bool) {
	t.Helper()
	if len(evs) != n {
		t.Fatalf("got %d events, want %d", len(evs), n)
	}
	var text strings.Builder
	for i, ev := range evs {
		text.WriteString(ev.Token.Text)
		if ev.Index != i || ev.Token.Special || ev.Token.ID == 0 {
			t.Errorf("event %d: %+v", i, ev)
		}
		last := i == n-1
		if (ev.GeneratedText != nil) != last {
			t.Errorf("event %d: generated_text %v", i, ev.GeneratedText)
		}
		wantDetails := last && details
		if hasDetails := len(ev.Details) > 0 && string(ev.Details) != "null"; hasDetails != wantDetails {
			t.Errorf("event %d: details %s, want present %v", i, ev.Details, wantDetails)
		}
	}
	last := evs[n-1]
	if *last.GeneratedText != text.String() {
		t.Errorf("generated_text %q, want the tokens %q", *last.GeneratedText, text.String())
	}
	if details {
		var d struct {
			FinishReason    string `json:"finish_reason"`
			GeneratedTokens int    `json:"generated_tokens"`
			Seed            *int   `json:"seed"`
			InputLength     int    `json:"input_length"`
		}
		if err := json.Unmarshal(last.Details, &d); err != nil {
			t.Fatal(err)
		}
		if d.FinishReason != finish || d.GeneratedTokens != n || d.InputLength != 3 {
			t.Errorf("details %s: want finish_reason %q, generated_tokens %d, input_length 3", last.Details, finish, n)
		}
	}
}

// TestTGIGenerate checks POST /generate: one GenerateResponse object.
func TestTGIGenerate(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 6})
	defer srv.Close()
	for _, tc := range []struct {
		maxNew  int
		details bool
		n       int
		finish  string
	}{{4, true, 4, "length"}, {10, true, 6, "eos_token"}, {4, false, 4, ""}} {
		resp := tgiPost(t, srv.URL+"/generate", tgiBody("a b c", tc.maxNew, tc.details, "true"))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var got tgiGenerateResponse
		tgiDecodeBody(t, resp, &got)
		want := strings.Repeat("x ", tc.n)
		if got.GeneratedText == nil || len(strings.Fields(*got.GeneratedText)) != tc.n || len(*got.GeneratedText) < len(want) {
			t.Errorf("generated_text %v, want %d words", got.GeneratedText, tc.n)
		}
		if !tc.details {
			if got.Details != nil {
				t.Errorf("details %+v, want none", got.Details)
			}
			continue
		}
		d := got.Details
		if d == nil || d.FinishReason != tc.finish || d.GeneratedTokens != tc.n || d.Seed != nil || d.Prefill == nil ||
			len(d.Prefill) != 0 || len(d.Tokens) != tc.n {
			t.Errorf("details %+v: want finish_reason %q, %d tokens", d, tc.finish, tc.n)
		}
	}
}

// TestTGIGenerateStream checks POST /generate_stream: TGI's events.
func TestTGIGenerateStream(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 4})
	defer srv.Close()
	for _, details := range []bool{true, false} {
		resp := tgiPost(t, srv.URL+"/generate_stream", tgiBody("a b c", 10, details, ""))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		evs := tgiSSELines(t, resp.Body)
		checkTGIStream(t, evs, 4, "eos_token", details)
		if got := *evs[3].GeneratedText; got != tgiFourWords {
			t.Errorf("generated_text %q, want %q", got, tgiFourWords)
		}
	}
}

// TestTGIInvocations checks TGI's own SageMaker route: a list, or events
// when the request streams.
func TestTGIInvocations(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 4})
	defer srv.Close()
	var list []tgiGenerateResponse
	tgiDecodeBody(t, tgiPost(t, srv.URL+"/invocations", tgiBody("a b c", 3, true, "")), &list)
	if len(list) != 1 || list[0].Details == nil || list[0].Details.GeneratedTokens != 3 || list[0].Details.FinishReason != "length" {
		t.Errorf("got %+v, want a list of one GenerateResponse with 3 tokens", list)
	}
	resp := tgiPost(t, srv.URL+"/invocations", tgiBody("a b c", 10, true, "true"))
	checkTGIStream(t, tgiSSELines(t, resp.Body), 4, "eos_token", true)
}

// TestTGIPromptFromContentBlocks counts the text of multimodal inputs.
func TestTGIPromptFromContentBlocks(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 2})
	defer srv.Close()
	resp := tgiPost(t, srv.URL+"/generate_stream", `{"inputs":[{"text":"a b"},{"image":{"format":"png","source":{"bytes":"AAAA"}}},{"text":"c"}],"parameters":{"details":true}}`)
	evs := tgiSSELines(t, resp.Body)
	if len(evs) != 2 || !strings.Contains(string(evs[1].Details), `"input_length":3`) {
		t.Errorf("got %+v, want 2 tokens and input_length 3", evs)
	}
}

// readFrames decodes an event stream body with the SDK's decoder, and checks
// that the SDK's encoder writes the same bytes.
func tgiReadFrames(t *testing.T, body []byte) []eventstream.Message {
	t.Helper()
	var msgs []eventstream.Message
	r := bytes.NewReader(body)
	dec := eventstream.NewDecoder()
	for r.Len() > 0 {
		before := body[len(body)-r.Len():]
		msg, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatalf("frame %d: %v", len(msgs), err)
		}
		frame := before[:len(before)-r.Len()]
		var re bytes.Buffer
		if err := eventstream.NewEncoder().Encode(&re, msg); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re.Bytes(), frame) {
			t.Errorf("frame %d: the SDK's encoder writes %x, the simulator %x", len(msgs), re.Bytes(), frame)
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

func tgiHeader(m eventstream.Message, name string) string {
	if v := m.Headers.Get(name); v != nil {
		return v.String()
	}
	return ""
}

// TestTGISageMakerWire checks SageMaker's paths byte by byte: headers, the
// list answer, and the event stream of PayloadParts.
func TestTGISageMakerWire(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 4})
	defer srv.Close()

	resp := tgiPost(t, srv.URL+"/endpoints/my-tgi/invocations", tgiBody("a b c", 10, true, ""))
	if id := resp.Header.Get("X-Amzn-Requestid"); len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("x-amzn-RequestId %q, want a UUID", id)
	}
	if v := resp.Header.Get("X-Amzn-Invoked-Production-Variant"); v != "AllTraffic" {
		t.Errorf("X-Amzn-Invoked-Production-Variant %q", v)
	}
	var list []tgiGenerateResponse
	tgiDecodeBody(t, resp, &list)
	if len(list) != 1 || *list[0].GeneratedText != tgiFourWords {
		t.Errorf("got %+v", list)
	}

	resp = tgiPost(t, srv.URL+"/endpoints/my-tgi/invocations-response-stream", tgiBody("a b c", 10, true, "true"))
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.amazon.eventstream" {
		t.Errorf("Content-Type %q", ct)
	}
	if ct := resp.Header.Get("X-Amzn-Sagemaker-Content-Type"); ct != "text/event-stream" {
		t.Errorf("X-Amzn-SageMaker-Content-Type %q", ct)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	msgs := tgiReadFrames(t, body)
	var lines bytes.Buffer
	for i, m := range msgs {
		if tgiHeader(m, ":event-type") != "PayloadPart" || tgiHeader(m, ":message-type") != "event" ||
			tgiHeader(m, ":content-type") != "application/octet-stream" {
			t.Errorf("frame %d headers %v", i, m.Headers)
		}
		if !bytes.HasPrefix(m.Payload, []byte("data:{")) || !bytes.HasSuffix(m.Payload, []byte("}\n\n")) {
			t.Errorf("frame %d payload %q, want one TGI line", i, m.Payload)
		}
		lines.Write(m.Payload)
	}
	checkTGIStream(t, tgiSSELines(t, &lines), 4, "eos_token", true)

	// Without "stream": TGI answers with its list, in one PayloadPart.
	resp = tgiPost(t, srv.URL+"/endpoints/my-tgi/invocations-response-stream", tgiBody("a b c", 10, false, ""))
	body, _ = io.ReadAll(resp.Body)
	msgs = tgiReadFrames(t, body)
	if len(msgs) != 1 || resp.Header.Get("X-Amzn-Sagemaker-Content-Type") != "application/json" {
		t.Fatalf("got %d frames, content type %q", len(msgs), resp.Header.Get("X-Amzn-Sagemaker-Content-Type"))
	}
	var list2 []tgiGenerateResponse
	if err := json.Unmarshal(msgs[0].Payload, &list2); err != nil || len(list2) != 1 || list2[0].Details != nil {
		t.Errorf("payload %s: %v", msgs[0].Payload, err)
	}
}

// TestTGIDrop checks dropped connections: TGI's stream breaks off, SageMaker
// sends a ModelStreamError.
func TestTGIDrop(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 6, ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.ErrorDropMidStream}})
	defer srv.Close()
	resp := tgiPost(t, srv.URL+"/generate_stream", tgiBody("a b c", 10, true, ""))
	b, err := io.ReadAll(resp.Body)
	if err == nil || strings.Count(string(b), "data:") != 3 {
		t.Errorf("generate_stream: got %q, %v; want 3 events and a broken body", b, err)
	}
	resp = tgiPost(t, srv.URL+"/endpoints/e/invocations-response-stream", tgiBody("a b c", 10, true, "true"))
	b, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	msgs := tgiReadFrames(t, b)
	if len(msgs) != 4 {
		t.Fatalf("got %d frames, want 3 tokens and an exception", len(msgs))
	}
	last := msgs[3]
	if tgiHeader(last, ":message-type") != "exception" || tgiHeader(last, ":exception-type") != "ModelStreamError" ||
		!strings.Contains(string(last.Payload), `"ErrorCode":"StreamBroken"`) {
		t.Errorf("last frame %v %s, want a ModelStreamError StreamBroken", last.Headers, last.Payload)
	}
}

// TestTGIErrors checks the error shapes of both APIs.
func TestTGIErrors(t *testing.T) {
	srv, _ := sim.Start(sim.Config{})
	defer srv.Close()
	for _, tc := range []struct {
		path, body string
		status     int
		errType    string // X-Amzn-ErrorType (SageMaker) or error_type (TGI)
		msg        string
	}{
		{"/generate", `{"inputs":`, 422, "validation", "could not parse"},
		{"/generate_stream", `{"parameters":{}}`, 422, "validation", "missing field `inputs`"},
		{"/generate", `{"inputs":5}`, 422, "validation", "must be a string"},
		{"/endpoints/e/invocations", `{"inputs":`, 424, "ModelError", "Received client error (422) from primary"},
		{"/endpoints/e/invocations-response-stream", `[]`, 424, "ModelError", "OriginalStatusCode"},
	} {
		resp := tgiPost(t, srv.URL+tc.path, tc.body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.msg) {
			t.Errorf("%s %s: got %d %s, want %d with %q", tc.path, tc.body, resp.StatusCode, b, tc.status, tc.msg)
		}
		if strings.HasPrefix(tc.path, "/endpoints/") {
			if got := resp.Header.Get("X-Amzn-Errortype"); got != tc.errType {
				t.Errorf("%s: X-Amzn-ErrorType %q, want %q", tc.path, got, tc.errType)
			}
		} else if !strings.Contains(string(b), `"error_type":"`+tc.errType+`"`) {
			t.Errorf("%s: body %s, want error_type %q", tc.path, b, tc.errType)
		}
	}
	for _, kind := range []struct {
		kind    sim.ErrorKind
		status  int
		smType  string
		tgiType string
	}{{sim.Error429, 429, "ThrottlingException", "overloaded"}, {sim.Error500, 500, "InternalFailure", "incomplete_generation"}} {
		srv, _ := sim.Start(sim.Config{ErrorRate: 1, ErrorKinds: []sim.ErrorKind{kind.kind}})
		defer srv.Close()
		resp := tgiPost(t, srv.URL+"/endpoints/e/invocations", tgiBody("a", 1, false, ""))
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != kind.status || resp.Header.Get("X-Amzn-Errortype") != kind.smType || !strings.Contains(string(b), `"message":`) {
			t.Errorf("SageMaker %s: got %d %q %s", kind.kind, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), b)
		}
		resp = tgiPost(t, srv.URL+"/generate", tgiBody("a", 1, false, ""))
		b, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != kind.status || !strings.Contains(string(b), `"error_type":"`+kind.tgiType+`"`) {
			t.Errorf("TGI %s: got %d %s", kind.kind, resp.StatusCode, b)
		}
	}
	resp, err := http.Get(srv.URL + "/endpoints/e/invocations")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("X-Amzn-Errortype") == "" {
		t.Errorf("GET: got %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}

// TestTGISchedule checks the token times on the fake clock, through the
// SageMaker event stream.
func TestTGISchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim.New(sim.Config{TTFT: 100 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 3, TimersOnly: true})
		c := &http.Client{Transport: sim.Transport(s)}
		start := time.Now()
		resp, err := c.Post("http://sim/endpoints/e/invocations-response-stream", "application/json",
			strings.NewReader(tgiBody("a b", 10, true, "true")))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		dec := eventstream.NewDecoder()
		var times []time.Duration
		for {
			if _, err := dec.Decode(resp.Body, nil); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			times = append(times, time.Since(start))
		}
		want := []time.Duration{100 * time.Millisecond, 110 * time.Millisecond, 120 * time.Millisecond}
		if fmt.Sprint(times) != fmt.Sprint(want) {
			t.Errorf("frame times: got %v, want %v", times, want)
		}
	})
}

// TestTGIStreamAllocs checks that streaming a long response does not
// allocate per token, on every streaming route.
func TestTGIStreamAllocs(t *testing.T) {
	for _, path := range []string{"/generate_stream", "/endpoints/e/invocations-response-stream", "/generate"} {
		body := []byte(tgiBody("a b c", 0, true, "true"))
		w := &tgiDiscard{h: http.Header{}}
		allocs := func(n int) float64 {
			s := sim.New(sim.Config{OutputTokens: n})
			serve := func() {
				req, _ := http.NewRequest(http.MethodPost, path, bytes.NewReader(body))
				s.ServeHTTP(w, req)
			}
			serve()
			return testing.AllocsPerRun(10, serve)
		}
		long, one := allocs(1000), allocs(1)
		t.Logf("%s: allocations per request: %v for 1000 tokens, %v for 1", path, long, one)
		// A per-token allocation would show as 1000; buffer growth (again
		// and again under -race, whose sync.Pool drops items) as a few.
		if long-one > 50 {
			t.Errorf("%s: allocations %v for 1000 tokens, %v for 1: want no per-token allocations", path, long, one)
		}
	}
}

type tgiDiscard struct{ h http.Header }

func (d *tgiDiscard) Header() http.Header         { return d.h }
func (d *tgiDiscard) WriteHeader(int)             {}
func (d *tgiDiscard) Write(b []byte) (int, error) { return len(b), nil }
func (d *tgiDiscard) Flush()                      {}

// TestTGISageMakerEndpoint runs llmeter's SageMaker endpoints, both modes,
// against the simulator (SigV4-signed requests, the SDK's event stream
// decoder), then the failures the simulator injects.
func TestTGISageMakerEndpoint(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 5})
	defer srv.Close()
	for _, stream := range []bool{false, true} {
		ep := tgiSageMaker(t, srv.URL, stream)
		create := sagemaker.CreatePayload
		if stream {
			create = sagemaker.CreateStreamPayload
		}
		payload, err := create([]prompt.Item{prompt.Text("What is deep learning")}, 4, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, payload)
		if got.Error != "" || got.Text() != tgiFourWords || got.NumTokensOutput == nil || *got.NumTokensOutput != 4 ||
			got.InputPrompt != "What is deep learning" || len(got.ID) != 36 || got.Retries == nil || *got.Retries != 0 {
			t.Errorf("stream=%v: got error %q, text %q, tokens %v, prompt %v, id %q, retries %v", stream, got.Error,
				got.Text(), got.NumTokensOutput, got.InputPrompt, got.ID, got.Retries)
		}
		if stream && (len(got.ChunkOffsets) != 4 || *got.TimeToFirstToken > *got.TimeToLastToken) {
			t.Errorf("stream: %d chunks, TTFT %v, TTLT %v", len(got.ChunkOffsets), *got.TimeToFirstToken, *got.TimeToLastToken)
		}
	}

	drop, _ := sim.Start(sim.Config{OutputTokens: 6, ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.ErrorDropMidStream}})
	defer drop.Close()
	payload, _ := sagemaker.CreateStreamPayload([]prompt.Item{prompt.Text("hi")}, 10, nil, nil)
	got := llmeter.Invoke(context.Background(), tgiSageMaker(t, drop.URL, true), payload)
	if got.ErrorClass != llmeter.ErrorClassAPI || !strings.Contains(got.Error, "ModelStreamError (StreamBroken)") ||
		got.Text() != "lorem ipsum dolor " {
		t.Errorf("drop: got class %q, error %q, text %q", got.ErrorClass, got.Error, got.Text())
	}

	throttled, _ := sim.Start(sim.Config{ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.Error429}})
	defer throttled.Close()
	ep := tgiSageMaker(t, throttled.URL, false, func(c *sagemaker.Config) { c.MaxAttempts = 1 })
	got = llmeter.Invoke(context.Background(), ep, payload)
	if got.ErrorClass != llmeter.ErrorClassHTTP429 || !strings.Contains(got.Error, "ThrottlingException") {
		t.Errorf("throttled: got class %q, error %q", got.ErrorClass, got.Error)
	}
}

func tgiSageMaker(t *testing.T, url string, stream bool, mods ...func(*sagemaker.Config)) *sagemaker.Endpoint {
	t.Helper()
	// Keep the machine's AWS settings out; with AWS_CA_BUNDLE set the SDK
	// refuses any *http.Client but its own.
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	cfg := sagemaker.Config{EndpointName: "my-tgi", Region: "us-east-1", EndpointURL: url, Stream: stream,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", "")}
	for _, m := range mods {
		m(&cfg)
	}
	ep, err := sagemaker.NewEndpoint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}
