package llmeter_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/sim"
)

var timeoutPayload = llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hello"}}, "max_tokens": 100}

// chatEndpoint is a streaming OpenAI chat endpoint over client.
func chatEndpoint(t *testing.T, client *http.Client) llmeter.Endpoint {
	t.Helper()
	ep, err := openai.NewChatEndpoint(openai.ChatConfig{ModelID: "m", BaseURL: "http://llm.test/v1", Stream: true, APIKey: "k", HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// simChat is chatEndpoint served by the simulator in memory (fake clock).
func simChat(t *testing.T, cfg sim.Config) llmeter.Endpoint {
	cfg.TimersOnly = true
	return chatEndpoint(t, &http.Client{Transport: sim.Transport(sim.New(cfg))})
}

// runOne runs a single request and returns its response.
func runOne(t *testing.T, r *llmeter.Runner) *llmeter.InvocationResponse {
	t.Helper()
	r.Payloads = []llmeter.Payload{timeoutPayload}
	res, err := r.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 1 {
		t.Fatalf("got %d responses, want 1", len(res.Responses))
	}
	return res.Responses[0]
}

func wantClass(t *testing.T, resp *llmeter.InvocationResponse, class, msg string) {
	t.Helper()
	if resp.ErrorClass != class || !strings.Contains(resp.Error, msg) {
		t.Errorf("error %q class %q, want class %q and a message with %q", resp.Error, resp.ErrorClass, class, msg)
	}
}

func TestFirstTokenTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := simChat(t, sim.Config{TTFT: 5 * time.Second, ITL: 10 * time.Millisecond})
		start := time.Now()
		resp := runOne(t, &llmeter.Runner{Endpoint: ep, FirstTokenTimeout: time.Second})
		wantClass(t, resp, llmeter.ErrorClassTimeoutFirstToken, "no first token within 1s")
		if resp.TimeToFirstToken != nil || resp.TimeToLastToken != nil {
			t.Errorf("TTFT %v TTLT %v, want none", resp.TimeToFirstToken, resp.TimeToLastToken)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("the run took %v on the fake clock, want the 1s of the timeout", d)
		}
	})
}

// A slow first token (3 s) and a slow but steady stream (a token every
// 0.9 s) stay within an idle timeout of 1 s: it counts only gaps between
// data, after the first token.
func TestIdleTimeoutSparesSteadyStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := simChat(t, sim.Config{TTFT: 3 * time.Second, ITL: 900 * time.Millisecond, OutputTokens: 10})
		resp := runOne(t, &llmeter.Runner{Endpoint: ep, IdleTimeout: time.Second, FirstTokenTimeout: 4 * time.Second})
		if resp.Failed() {
			t.Fatalf("error %q (%s), want success", resp.Error, resp.ErrorClass)
		}
		if got := *resp.NumTokensOutput; got != 10 {
			t.Errorf("output tokens %d, want 10", got)
		}
	})
}

// stallTransport serves an OpenAI chat stream in memory: tokens "tok "
// every gap, then a stall of stall (0: none) before the rest.
type stallTransport struct {
	tokens, stallAfter int
	gap, stall         time.Duration
}

func (s stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	_ = req.Body.Close()
	pr, pw := io.Pipe()
	stop := context.AfterFunc(req.Context(), func() { pw.CloseWithError(context.Cause(req.Context())) })
	go func() {
		defer stop()
		write := func(s string) bool { _, err := io.WriteString(pw, s); return err == nil }
		pause := func(d time.Duration) bool {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return true
			case <-req.Context().Done():
				return false
			}
		}
		for i := range s.tokens {
			d := s.gap
			if i == s.stallAfter && s.stall > 0 {
				d = s.stall
			}
			if i > 0 && !pause(d) {
				return
			}
			if !write(`data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}` + "\n\n") {
				return
			}
		}
		write(`data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n")
		pw.Close()
	}()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: pr, Request: req}, nil
}

func TestIdleTimeoutDetectsStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := chatEndpoint(t, &http.Client{Transport: stallTransport{tokens: 6, stallAfter: 3, gap: 100 * time.Millisecond, stall: time.Hour}})
		start := time.Now()
		resp := runOne(t, &llmeter.Runner{Endpoint: ep, IdleTimeout: 2 * time.Second})
		wantClass(t, resp, llmeter.ErrorClassTimeoutIdle, "stream stalled: no data within 2s")
		if resp.ResponseText == nil || *resp.ResponseText != "tok tok tok " {
			t.Errorf("text %v, want the three tokens received", resp.ResponseText)
		}
		if resp.TimeToFirstToken == nil || *resp.TimeToFirstToken != 0 {
			t.Errorf("TTFT %v, want 0 (kept)", resp.TimeToFirstToken)
		}
		// Last token at 0.2 s, stall detected 2 s later.
		if d := time.Since(start); d != 2200*time.Millisecond {
			t.Errorf("the run took %v on the fake clock, want 2.2s", d)
		}
	})
}

func TestTotalTimeoutKeepsItsClass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := simChat(t, sim.Config{ITL: time.Second, OutputTokens: 100})
		resp := runOne(t, &llmeter.Runner{Endpoint: ep, Timeout: 5 * time.Second, IdleTimeout: 2 * time.Second, FirstTokenTimeout: time.Second})
		wantClass(t, resp, llmeter.ErrorClassTimeout, "request timed out after 5s")
		if resp.ResponseText == nil || !strings.HasPrefix(*resp.ResponseText, "tok") && *resp.ResponseText == "" || resp.TimeToFirstToken == nil {
			t.Errorf("text %v TTFT %v, want the partial text and its TTFT", resp.ResponseText, resp.TimeToFirstToken)
		}
	})
}

// blockingDial never connects: it waits for its context, like a SYN to a
// host that drops it.
type blockingDial struct{ calls atomic.Int32 }

func (b *blockingDial) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	b.calls.Add(1)
	<-ctx.Done()
	return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
}

func TestConnectTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d blockingDial
		client := &http.Client{Transport: &http.Transport{DialContext: httpep.ConnectTimeout(d.dial)}}
		start := time.Now()
		resp := runOne(t, &llmeter.Runner{Endpoint: chatEndpoint(t, client), ConnectTimeout: 2 * time.Second})
		wantClass(t, resp, llmeter.ErrorClassTimeoutConnect, "no connection within 2s")
		if el := time.Since(start); el != 2*time.Second {
			t.Errorf("the run took %v on the fake clock, want 2s", el)
		}
		if resp.Retries != nil {
			t.Errorf("retries %d, want null (retries off)", *resp.Retries)
		}
	})
}

// Without a Runner (no connect timeout in the context) the dialer gives up
// after DefaultConnectTimeout.
func TestConnectTimeoutDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d blockingDial
		dial := httpep.ConnectTimeout(d.dial)
		start := time.Now()
		_, err := dial(t.Context(), "tcp", "192.0.2.1:443")
		if got := llmeter.ClassifyError(err); got != llmeter.ErrorClassTimeoutConnect {
			t.Errorf("error %v of class %q, want %q", err, got, llmeter.ErrorClassTimeoutConnect)
		}
		if el := time.Since(start); el != llmeter.DefaultConnectTimeout {
			t.Errorf("gave up after %v, want %v", el, llmeter.DefaultConnectTimeout)
		}
	})
}

func TestRetriesConnectTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d blockingDial
		client := &http.Client{Transport: &http.Transport{DialContext: httpep.ConnectTimeout(d.dial)}}
		resp := runOne(t, &llmeter.Runner{Endpoint: chatEndpoint(t, client), ConnectTimeout: time.Second, Retries: 2})
		wantClass(t, resp, llmeter.ErrorClassTimeoutConnect, "no connection within 1s")
		if got := d.calls.Load(); got != 3 {
			t.Errorf("%d dials, want 3", got)
		}
		if resp.Retries == nil || *resp.Retries != 2 {
			t.Errorf("retries %v, want 2", resp.Retries)
		}
	})
}

// throttleTransport answers the first `throttled` requests with 429 and
// Retry-After (when retryAfter is set), the others with a 3-token stream.
type throttleTransport struct {
	throttled  int32
	retryAfter string
	calls      atomic.Int32
}

func (s *throttleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if s.calls.Add(1) <= s.throttled {
		_ = req.Body.Close()
		h := http.Header{"Content-Type": {"application/json"}}
		if s.retryAfter != "" {
			h.Set("Retry-After", s.retryAfter)
		}
		body := `{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}`
		return &http.Response{StatusCode: 429, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	}
	return stallTransport{tokens: 3}.RoundTrip(req)
}

func TestRetries429(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retries    int
		retryAfter string
		timeout    time.Duration
		wantErr    bool
		wantCalls  int32
		wantTTFT   float64 // seconds, for successes
		wantRetry  any     // *int value, or nil
	}{
		{name: "off", retries: 0, retryAfter: "2", wantErr: true, wantCalls: 1, wantRetry: nil},
		{name: "retry-after", retries: 1, retryAfter: "2", wantCalls: 2, wantTTFT: 2, wantRetry: 1},
		{name: "backoff", retries: 3, wantCalls: 2, wantRetry: 1},
		{name: "retry-after beyond the timeout", retries: 1, retryAfter: "120", timeout: time.Minute, wantErr: true, wantCalls: 1, wantRetry: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := &throttleTransport{throttled: 1, retryAfter: tc.retryAfter}
				resp := runOne(t, &llmeter.Runner{Endpoint: chatEndpoint(t, &http.Client{Transport: tr}), Retries: tc.retries, Timeout: tc.timeout})
				if tc.wantErr {
					wantClass(t, resp, llmeter.ErrorClassHTTP429, "HTTP 429: Rate limit reached")
				} else if resp.Failed() {
					t.Fatalf("error %q, want success after the retry", resp.Error)
				}
				if got := tr.calls.Load(); got != tc.wantCalls {
					t.Errorf("%d requests, want %d", got, tc.wantCalls)
				}
				var got any
				if resp.Retries != nil {
					got = *resp.Retries
				}
				if got != tc.wantRetry {
					t.Errorf("retries %v, want %v", got, tc.wantRetry)
				}
				if tc.wantTTFT > 0 && (resp.TimeToFirstToken == nil || *resp.TimeToFirstToken != tc.wantTTFT) {
					t.Errorf("TTFT %v, want %vs (the wait included)", resp.TimeToFirstToken, tc.wantTTFT)
				}
				if tc.name == "backoff" && (*resp.TimeToFirstToken < 0.25 || *resp.TimeToFirstToken > 0.5) {
					t.Errorf("TTFT %vs, want the first backoff, between 0.25 and 0.5 s", *resp.TimeToFirstToken)
				}
			})
		})
	}
}

// A request that failed after its first token is never retried.
func TestNoRetryAfterData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		tr := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			calls.Add(1)
			_ = req.Body.Close()
			pr, pw := io.Pipe()
			go func() {
				_, _ = io.WriteString(pw, `data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}`+"\n\n")
				pw.CloseWithError(io.ErrUnexpectedEOF)
			}()
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: pr, Request: req}, nil
		})
		resp := runOne(t, &llmeter.Runner{Endpoint: chatEndpoint(t, &http.Client{Transport: tr}), Retries: 3})
		if resp.ErrorClass != llmeter.ErrorClassConnection {
			t.Errorf("error %q class %q, want a connection error", resp.Error, resp.ErrorClass)
		}
		if calls.Load() != 1 || resp.Retries == nil || *resp.Retries != 0 {
			t.Errorf("%d requests, retries %v; want 1 and 0", calls.Load(), resp.Retries)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The settings are saved in stats.json (run_config.json keeps LLMeter's keys).
func TestTimeoutSettingsSaved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := simChat(t, sim.Config{})
		r := &llmeter.Runner{Endpoint: ep, OutputPath: t.TempDir(), RunName: "r", Payloads: []llmeter.Payload{timeoutPayload},
			FirstTokenTimeout: 1500 * time.Millisecond, Retries: 2}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st := res.Stats()
		for k, want := range map[string]any{"connect_timeout": 10.0, "first_token_timeout": 1.5, "idle_timeout": nil, "max_retries": 2} {
			if got, _ := st.Get(k); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("stats %s = %v, want %v", k, got, want)
			}
		}
	})
}
