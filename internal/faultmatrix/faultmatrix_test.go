package faultmatrix

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/anthropic"
	"github.com/llmeter-go/llmeter/endpoints/bedrock"
	"github.com/llmeter-go/llmeter/endpoints/httpapi"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/endpoints/sagemaker"
	"github.com/llmeter-go/llmeter/prompt"
	"github.com/llmeter-go/llmeter/sim"
)

// The simulated model of every run: 8 output tokens, the first after 100 ms,
// then one every 10 ms. Mid-stream faults strike after 4 tokens.
const (
	ttft      = 100 * time.Millisecond
	itl       = 10 * time.Millisecond
	nTokens   = 8
	faultWait = 30 * time.Second // Config.FaultDelay: stalls and slow starts

	// The Runner's timeouts: a stall trips the idle timeout, a slow start
	// the first-token timeout, both well before the total one.
	idleTimeout       = 5 * time.Second
	firstTokenTimeout = 10 * time.Second
	totalTimeout      = 20 * time.Second
)

var (
	fullText    = "lorem ipsum dolor sit amet consectetur adipiscing elit "
	partialText = "lorem ipsum dolor sit " // the 4 tokens before a mid-stream fault
)

// protocol is one endpoint under test, streaming or not.
type protocol struct {
	name string
	// build returns the endpoint for a server at base (scheme://host, no
	// path) reached with hc (nil: the endpoint's default client).
	build   func(base string, hc *http.Client, stream bool) (llmeter.Endpoint, error)
	payload func(prompt string, stream bool) (llmeter.Payload, error)
	// inBandDrop: the provider reports a broken connection to the model as
	// an error event of its own (SageMaker's ModelStreamError StreamBroken).
	inBandDrop bool
	// eventClass is the class of the provider's in-stream error event when
	// it is not "api": Bedrock's exceptions count by the HTTP status the API
	// reference gives them (modelStreamErrorException: 424, http_4xx), as
	// endpoints/bedrock documents.
	eventClass string
}

var simCreds = credentials.NewStaticCredentialsProvider("SIMULATOR", "SIMULATOR", "")

var protocols = []protocol{
	{
		name: "openai-chat",
		build: func(base string, hc *http.Client, stream bool) (llmeter.Endpoint, error) {
			return openai.NewChatEndpoint(openai.ChatConfig{ModelID: "sim-model", BaseURL: base + "/v1",
				APIKey: "sk-test", Stream: stream, HTTPClient: hc})
		},
		payload: func(p string, _ bool) (llmeter.Payload, error) {
			return openai.CreatePayload([]string{p}, 100, nil)
		},
	},
	{
		name: "openai-responses",
		build: func(base string, hc *http.Client, stream bool) (llmeter.Endpoint, error) {
			return openai.NewResponsesEndpoint(openai.ResponsesConfig{ModelID: "sim-model", BaseURL: base + "/v1",
				APIKey: "sk-test", Stream: stream, HTTPClient: hc})
		},
		payload: func(p string, _ bool) (llmeter.Payload, error) {
			return openai.CreateResponsesPayload([]string{p}, 100, "", nil)
		},
	},
	{
		name: "anthropic",
		build: func(base string, hc *http.Client, stream bool) (llmeter.Endpoint, error) {
			return anthropic.NewMessagesEndpoint(anthropic.Config{ModelID: "sim-model", BaseURL: base,
				APIKey: "sk-ant-test", Stream: stream, HTTPClient: hc})
		},
		payload: func(p string, _ bool) (llmeter.Payload, error) {
			return anthropic.CreatePayload(p, 100, nil, nil)
		},
	},
	{
		name: "bedrock-converse",
		build: func(base string, hc *http.Client, stream bool) (llmeter.Endpoint, error) {
			return bedrock.NewConverseEndpoint(bedrock.ConverseConfig{ModelID: "sim-model", Region: "us-east-1",
				EndpointURL: base, Stream: stream, MaxAttempts: 1, HTTPClient: hc, Credentials: simCreds})
		},
		payload: func(p string, _ bool) (llmeter.Payload, error) {
			return bedrock.CreateConversePayload([]prompt.Item{prompt.Text(p)}, 100, nil)
		},
		eventClass: llmeter.ErrorClassHTTP4xx,
	},
	{
		name: "bedrock-invoke",
		build: func(base string, hc *http.Client, stream bool) (llmeter.Endpoint, error) {
			return bedrock.NewInvokeEndpoint(bedrock.InvokeConfig{ModelID: "sim-model", Region: "us-east-1",
				EndpointURL: base, Stream: stream, MaxAttempts: 1, HTTPClient: hc, Credentials: simCreds})
		},
		payload: func(p string, _ bool) (llmeter.Payload, error) {
			return bedrock.CreateInvokePayload([]string{p}, 100, nil)
		},
		eventClass: llmeter.ErrorClassHTTP4xx,
	},
	{
		name: "sagemaker",
		build: func(base string, hc *http.Client, stream bool) (llmeter.Endpoint, error) {
			return sagemaker.NewEndpoint(sagemaker.Config{EndpointName: "sim-endpoint", ModelID: "sim-model",
				Region: "us-east-1", EndpointURL: base, Stream: stream, MaxAttempts: 1, HTTPClient: hc, Credentials: simCreds})
		},
		payload: func(p string, stream bool) (llmeter.Payload, error) {
			if stream {
				return sagemaker.CreateStreamPayload([]prompt.Item{prompt.Text(p)}, 100, nil, nil)
			}
			return sagemaker.CreatePayload([]prompt.Item{prompt.Text(p)}, 100, nil, nil)
		},
		inBandDrop: true,
	},
	{
		name:    "tgi",
		build:   presetBuilder("tgi"),
		payload: presetPayload("tgi"),
	},
	{
		name:    "ollama",
		build:   presetBuilder("ollama-chat"),
		payload: presetPayload("ollama-chat"),
	},
}

func presetBuilder(preset string) func(string, *http.Client, bool) (llmeter.Endpoint, error) {
	return func(base string, hc *http.Client, stream bool) (llmeter.Endpoint, error) {
		cfg, err := httpapi.FromPreset(preset, base, "sim-model", stream)
		if err != nil {
			return nil, err
		}
		cfg.HTTPClient = hc
		return httpapi.New(cfg)
	}
}

func presetPayload(preset string) func(string, bool) (llmeter.Payload, error) {
	return func(p string, _ bool) (llmeter.Payload, error) { return httpapi.CreatePayload(preset, p, 100) }
}

// endpoint builds p's endpoint for base.
func (p protocol) endpoint(t *testing.T, base string, hc *http.Client, stream bool) llmeter.Endpoint {
	t.Helper()
	ep, err := p.build(base, hc, stream)
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	return ep
}

// body builds p's payload for a prompt.
func (p protocol) body(t *testing.T, prompt string, stream bool) llmeter.Payload {
	t.Helper()
	pl, err := p.payload(prompt, stream)
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	return pl
}

// expectation is what a faulted request must look like.
type expectation struct {
	class string
	// inMessage are substrings of the error message (the status code and
	// the provider's own message).
	inMessage []string
	// partial: the text before the fault and the time to first token are
	// kept.
	partial bool
}

// expect returns what a fault of kind must produce on protocol p.
func expect(kind sim.ErrorKind, p protocol, stream bool) expectation {
	if code, ok := statusOf[kind]; ok {
		return expectation{class: code.class, inMessage: []string{code.status, "(simulated)"}}
	}
	if !stream {
		return expectWhole(kind)
	}
	switch kind {
	case sim.ErrorDropMidStream:
		if p.inBandDrop {
			return expectation{class: llmeter.ErrorClassAPI, inMessage: []string{"StreamBroken"}, partial: true}
		}
		return expectation{class: llmeter.ErrorClassConnection, partial: true}
	case sim.ErrorReset:
		return expectation{class: llmeter.ErrorClassConnection, inMessage: []string{"reset"}, partial: true}
	case sim.ErrorStall:
		return expectation{class: llmeter.ErrorClassTimeoutIdle, partial: true}
	case sim.ErrorSlowStart:
		return expectation{class: llmeter.ErrorClassTimeoutFirstToken}
	case sim.ErrorTruncate, sim.ErrorMalformed, sim.ErrorOversized:
		return expectation{class: llmeter.ErrorClassProtocol, partial: true}
	case sim.ErrorEvent:
		want := expectation{class: llmeter.ErrorClassAPI, inMessage: []string{"simulated"}, partial: true}
		if p.eventClass != "" {
			want.class = p.eventClass
		}
		return want
	}
	panic("no expectation for " + kind)
}

// statusOf are the faults answered with an HTTP error status.
var statusOf = map[sim.ErrorKind]struct{ status, class string }{
	sim.Error401: {"401", llmeter.ErrorClassHTTP4xx},
	sim.Error403: {"403", llmeter.ErrorClassHTTP4xx},
	sim.Error429: {"429", llmeter.ErrorClassHTTP429},
	sim.Error500: {"500", llmeter.ErrorClassHTTP5xx},
	sim.Error503: {"503", llmeter.ErrorClassHTTP5xx},
}

// expectWhole returns what a fault must produce on a non-streaming request:
// no partial text; a stall half-way through the body, like a slow start,
// trips the first-token timeout (the whole response is the first token);
// an error event becomes an HTTP 500.
func expectWhole(kind sim.ErrorKind) expectation {
	switch kind {
	case sim.ErrorDropMidStream:
		return expectation{class: llmeter.ErrorClassConnection}
	case sim.ErrorReset:
		return expectation{class: llmeter.ErrorClassConnection, inMessage: []string{"reset"}}
	case sim.ErrorStall, sim.ErrorSlowStart:
		return expectation{class: llmeter.ErrorClassTimeoutFirstToken}
	case sim.ErrorTruncate, sim.ErrorMalformed:
		return expectation{class: llmeter.ErrorClassProtocol}
	case sim.ErrorOversized:
		return expectation{class: llmeter.ErrorClassProtocol, inMessage: []string{"larger than"}}
	case sim.ErrorEvent:
		return expectation{class: llmeter.ErrorClassHTTP5xx, inMessage: []string{"500", "(simulated)"}}
	}
	panic("no expectation for " + kind)
}

// payloads returns two faulted and two clean payloads.
func payloads(t *testing.T, p protocol, kind sim.ErrorKind, stream bool) []llmeter.Payload {
	return []llmeter.Payload{
		p.body(t, "first clean request", stream),
		p.body(t, "first faulted request "+sim.FaultMarker(kind), stream),
		p.body(t, "second clean request", stream),
		p.body(t, "second faulted request "+sim.FaultMarker(kind), stream),
	}
}

// faulted reports whether a response's payload carries a fault marker.
func faulted(t *testing.T, r *llmeter.InvocationResponse) bool {
	b, err := json.Marshal(r.InputPayload)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), "[[sim-fault:")
}

// TestFaultMatrix runs every fault against every endpoint, streaming and
// not, on the simulator's in-memory transport and the fake clock.
func TestFaultMatrix(t *testing.T) {
	for _, stream := range []bool{true, false} {
		mode := "stream"
		if !stream {
			mode = "whole"
		}
		for _, p := range protocols {
			for _, kind := range sim.FaultKinds {
				t.Run(mode+"/"+p.name+"/"+string(kind), func(t *testing.T) {
					if raceEnabled && !stream && kind == sim.ErrorOversized {
						t.Skip("64 MiB bodies are too slow under the race detector (the streaming cells run)")
					}
					t.Parallel()
					synctest.Test(t, func(t *testing.T) { runMatrixCell(t, p, kind, stream) })
				})
			}
		}
	}
}

// runMatrixCell runs 4 requests, 2 of them faulted with kind, and checks
// the run.
func runMatrixCell(t *testing.T, p protocol, kind sim.ErrorKind, stream bool) {
	srv := sim.New(sim.Config{TTFT: ttft, ITL: itl, OutputTokens: nTokens, FaultDelay: faultWait, TimersOnly: true})
	runner := &llmeter.Runner{
		Endpoint:          p.endpoint(t, "http://sim.test", &http.Client{Transport: sim.Transport(srv)}, stream),
		OutputPath:        t.TempDir(),
		RunName:           "run",
		Clients:           2,
		TotalRequests:     4,
		Payloads:          payloads(t, p, kind, stream),
		Timeout:           totalTimeout,
		FirstTokenTimeout: firstTokenTimeout,
		IdleTimeout:       idleTimeout,
	}
	res, err := runner.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, res, runner.RunDir(), expect(kind, p, stream), 2, stream)
}

// TestOversizedWithinLimits checks the framing of the simulator's
// oversized events: at 256 KiB, below every client limit, each endpoint
// reads the big event as text like any other.
func TestOversizedWithinLimits(t *testing.T) {
	const size = 256 << 10
	for _, stream := range []bool{true, false} {
		for _, p := range protocols {
			t.Run(fmt.Sprintf("%s/stream=%v", p.name, stream), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					srv := sim.New(sim.Config{TTFT: ttft, ITL: itl, OutputTokens: nTokens, OversizeBytes: size, TimersOnly: true})
					ep := p.endpoint(t, "http://sim.test", &http.Client{Transport: sim.Transport(srv)}, stream)
					r := llmeter.Invoke(t.Context(), ep, p.body(t, "big "+sim.FaultMarker(sim.ErrorOversized), stream))
					if r.Error != "" {
						t.Fatalf("error %q (class %s)", r.Error, r.ErrorClass)
					}
					// The big event comes on top of the 8 tokens; a whole
					// body has at least size bytes of text, in whole cycles
					// of the simulator's 121 bytes of words.
					lo, hi := size+len(fullText), size+len(fullText)
					if !stream {
						lo, hi = size, size+121
					}
					if got := len(r.Text()); got < lo || got > hi {
						t.Errorf("text of %d bytes, want %d to %d", got, lo, hi)
					}
					if stream && !strings.HasPrefix(r.Text(), partialText+"lorem ipsum") {
						t.Errorf("text %s, want the 4 tokens then the big event", short(r.Text()))
					}
				})
			})
		}
	}
}

// checkRun checks the responses of a run of which wantFailed requests
// were faulted, and its stats.json.
func checkRun(t *testing.T, res *llmeter.Result, dir string, want expectation, wantFailed int, stream bool) {
	t.Helper()
	failed := 0
	for _, r := range res.Responses {
		if !faulted(t, r) {
			checkSuccess(t, r, stream)
			continue
		}
		failed++
		if failed == 1 {
			t.Logf("%s: %s", r.ErrorClass, r.Error) // what a user sees, in -v output
		}
		checkFailure(t, r, want)
	}
	if failed != wantFailed {
		t.Errorf("faulted responses: got %d, want %d", failed, wantFailed)
	}
	checkStats(t, dir, len(res.Responses), map[string]int{want.class: failed})
}

func checkSuccess(t *testing.T, r *llmeter.InvocationResponse, stream bool) {
	t.Helper()
	if r.Error != "" {
		t.Errorf("clean request failed: %s (class %s)", r.Error, r.ErrorClass)
		return
	}
	if r.Text() != fullText {
		t.Errorf("clean request: text %s, want %q", short(r.Text()), fullText)
	}
	if stream && (r.TimeToFirstToken == nil || math.Abs(*r.TimeToFirstToken-ttft.Seconds()) > 1e-9) {
		t.Errorf("clean request: time to first token %v, want %v", fmtPtr(r.TimeToFirstToken), ttft.Seconds())
	}
	last := (ttft + (nTokens-1)*itl).Seconds()
	if r.TimeToLastToken == nil || math.Abs(*r.TimeToLastToken-last) > 1e-9 {
		t.Errorf("clean request: time to last token %v, want %v", fmtPtr(r.TimeToLastToken), last)
	}
}

func checkFailure(t *testing.T, r *llmeter.InvocationResponse, want expectation) {
	t.Helper()
	if r.Error == "" {
		t.Errorf("faulted request succeeded (text %s)", short(r.Text()))
		return
	}
	if r.ErrorClass != want.class {
		t.Errorf("error class: got %q, want %q (error %q)", r.ErrorClass, want.class, r.Error)
	}
	for _, s := range want.inMessage {
		if !strings.Contains(r.Error, s) {
			t.Errorf("error %q does not contain %q", r.Error, s)
		}
	}
	if !want.partial {
		if r.Text() != "" {
			t.Errorf("text: got %s, want none", short(r.Text()))
		}
		return
	}
	if r.Text() != partialText {
		t.Errorf("partial text: got %s, want %q (error %q)", short(r.Text()), partialText, r.Error)
	}
	if r.TimeToFirstToken == nil || math.Abs(*r.TimeToFirstToken-ttft.Seconds()) > 1e-9 {
		t.Errorf("time to first token: got %v, want %v", fmtPtr(r.TimeToFirstToken), ttft.Seconds())
	}
	lastTok := (ttft + 3*itl).Seconds()
	if r.TimeToLastToken == nil || math.Abs(*r.TimeToLastToken-lastTok) > 1e-9 {
		t.Errorf("time to last token: got %v, want %v (the 4th token)", fmtPtr(r.TimeToLastToken), lastTok)
	}
}

// checkStats checks that stats.json counts total responses, the failures
// per class in want, and that its totals add up.
func checkStats(t *testing.T, dir string, total int, want map[string]int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, llmeter.StatsFile))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", llmeter.StatsFile, err)
	}
	num := func(k string) int {
		v, ok := st[k]
		if !ok {
			return 0
		}
		f, ok := v.(float64)
		if !ok {
			t.Errorf("stats %s: got %v, want a number", k, v)
		}
		return int(f)
	}
	wantFailed := 0
	for _, n := range want {
		wantFailed += n
	}
	if got := num("total_requests"); got != total {
		t.Errorf("stats total_requests: got %d, want %d", got, total)
	}
	if got := num("failed_requests"); got != wantFailed {
		t.Errorf("stats failed_requests: got %d, want %d", got, wantFailed)
	}
	sum := 0
	for _, c := range llmeter.ErrorClasses {
		n := num("failed_requests_" + c)
		sum += n
		if n != want[c] {
			t.Errorf("stats failed_requests_%s: got %d, want %d", c, n, want[c])
		}
	}
	if sum != num("failed_requests") {
		t.Errorf("stats: failed_requests_<class> add up to %d, failed_requests is %d", sum, num("failed_requests"))
	}
	if ok := total - num("failed_requests"); ok != total-wantFailed {
		t.Errorf("stats: %d successful requests, want %d", ok, total-wantFailed)
	}
}

// short quotes s, or its start and length when it is long.
func short(s string) string {
	if len(s) <= 200 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:200], len(s))
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// TestClientSideFaults runs every endpoint against servers it cannot use:
// a closed port (connection refused), a TLS server whose certificate it
// does not trust, and, on a real TCP connection, a simulator that resets
// the connection mid-stream.
func TestClientSideFaults(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name+"/refused", func(t *testing.T) {
			t.Parallel()
			runAll(t, p, closedPort(t), nil, "", llmeter.ErrorClassConnection, "refused")
		})
		t.Run(p.name+"/untrusted-tls", func(t *testing.T) {
			t.Parallel()
			srv, _ := sim.StartTLS(sim.Config{OutputTokens: nTokens})
			t.Cleanup(srv.Close)
			runAll(t, p, srv.URL, nil, "", llmeter.ErrorClassTLS, "certificate")
		})
		t.Run(p.name+"/tcp-reset", func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(sim.New(sim.Config{OutputTokens: nTokens, ITL: time.Millisecond}))
			t.Cleanup(srv.Close)
			// A fresh transport per test: no connection shared with other
			// tests.
			hc := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(hc.CloseIdleConnections)
			runAll(t, p, srv.URL, hc, sim.FaultMarker(sim.ErrorReset), llmeter.ErrorClassConnection, "reset")
		})
	}
}

// closedPort returns the URL of a 127.0.0.1 port nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// runAll runs 2 requests (with marker in their prompts) against base; all
// must fail with class, their messages containing inMessage.
func runAll(t *testing.T, p protocol, base string, hc *http.Client, marker, class, inMessage string) {
	ep := p.endpoint(t, base, hc, true)
	runner := &llmeter.Runner{
		Endpoint:      ep,
		OutputPath:    t.TempDir(),
		RunName:       "run",
		Clients:       2,
		TotalRequests: 2,
		Payloads:      []llmeter.Payload{p.body(t, "a request "+marker, true), p.body(t, "another request "+marker, true)},
		Timeout:       totalTimeout,
	}
	res, err := runner.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Responses {
		if r.Error == "" {
			t.Errorf("request succeeded (text %s)", short(r.Text()))
			continue
		}
		if r.ErrorClass != class {
			t.Errorf("error class: got %q, want %q (error %q)", r.ErrorClass, class, r.Error)
		}
		if !strings.Contains(r.Error, inMessage) {
			t.Errorf("error %q does not contain %q", r.Error, inMessage)
		}
	}
	checkStats(t, runner.RunDir(), 2, map[string]int{class: 2})
}
