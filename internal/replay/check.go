package replay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
)

// Expect is the InvocationResponse a call must produce.
type Expect struct {
	Text                       *string // nil: no text
	ID                         string  // "": a generated id (32 hex digits)
	In, Out, Cached, Reasoning *int    // token counts (nil: not reported)
	Chunks                     int     // visible text chunks
	TTFT                       string  // "": set iff Chunks > 0, at the first chunk's time; or Early
	TTLT                       string  // "": not set; Last or After
	ErrSub                     []string
	Class                      string
}

// The times to first and last token of an Expect.
const (
	// Early (TTFT): set, and before the first text chunk when there is one
	// (reasoning counted).
	Early = "early"
	// Last (TTLT): set, at the last text chunk's time when there is one.
	Last = "last"
	// After (TTLT): set, after the last text chunk (a failure reported at
	// the end of a stream).
	After = "after"
)

// UUIDHex matches the ids llmeter.Invoke generates.
var UUIDHex = regexp.MustCompile(`^[0-9a-f]{32}$`)

// FmtPtr formats an optional count.
func FmtPtr[T any](v *T) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(*v)
}

// CheckResponse compares the whole InvocationResponse with want. The
// error must not hold any of secrets.
func CheckResponse(t *testing.T, got *llmeter.InvocationResponse, want Expect, secrets ...string) {
	t.Helper()
	switch {
	case want.Text == nil && got.ResponseText != nil:
		t.Errorf("ResponseText: got %q, want nil", *got.ResponseText)
	case want.Text != nil && got.ResponseText == nil:
		t.Errorf("ResponseText: got nil, want %q", *want.Text)
	case want.Text != nil && *got.ResponseText != *want.Text:
		t.Errorf("ResponseText: got %q, want %q", *got.ResponseText, *want.Text)
	}
	if want.ID == "" {
		if !UUIDHex.MatchString(got.ID) {
			t.Errorf("ID: got %q, want a generated 32-hex id", got.ID)
		}
	} else if got.ID != want.ID {
		t.Errorf("ID: got %q, want %q", got.ID, want.ID)
	}
	for _, c := range []struct {
		name      string
		got, want *int
	}{{"NumTokensInput", got.NumTokensInput, want.In}, {"NumTokensOutput", got.NumTokensOutput, want.Out},
		{"NumTokensInputCached", got.NumTokensInputCached, want.Cached},
		{"NumTokensOutputReasoning", got.NumTokensOutputReasoning, want.Reasoning}} {
		if FmtPtr(c.got) != FmtPtr(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, FmtPtr(c.got), FmtPtr(c.want))
		}
	}
	if want.In != nil && got.TokensInputSource != "usage" {
		t.Errorf("TokensInputSource: got %q, want usage", got.TokensInputSource)
	}
	if want.Out != nil && got.TokensOutputSource != "usage" {
		t.Errorf("TokensOutputSource: got %q, want usage", got.TokensOutputSource)
	}
	if got.Retries != nil {
		t.Errorf("Retries: got %d, want nil", *got.Retries)
	}
	checkTimes(t, got, want)
	if len(want.ErrSub) == 0 {
		if got.Error != "" || got.ErrorClass != "" {
			t.Errorf("Error: got %q (class %q), want none", got.Error, got.ErrorClass)
		}
	} else {
		for _, sub := range want.ErrSub {
			if !strings.Contains(got.Error, sub) {
				t.Errorf("Error: got %q, want it to contain %q", got.Error, sub)
			}
		}
		if got.ErrorClass != want.Class {
			t.Errorf("ErrorClass: got %q, want %q (error %q)", got.ErrorClass, want.Class, got.Error)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(got.Error, secret) {
			t.Errorf("Error %q contains the secret %q", got.Error, secret)
		}
	}
	if got.RequestTime == nil {
		t.Errorf("RequestTime: got nil, want set")
	}
}

// checkTimes checks the visible chunks and the times to first and last
// token.
func checkTimes(t *testing.T, got *llmeter.InvocationResponse, want Expect) {
	t.Helper()
	n := len(got.ChunkOffsets)
	if n != want.Chunks {
		t.Errorf("visible chunks: got %d, want %d", n, want.Chunks)
	}
	var first, last float64 // the first and last text chunks' times
	if n > 0 {
		first, last = got.ChunkOffsets[0].Seconds(), got.ChunkOffsets[n-1].Seconds()
	}
	ttft, ttlt := got.TimeToFirstToken, got.TimeToLastToken
	switch want.TTFT {
	case "":
		if gotSet := ttft != nil; gotSet != (want.Chunks > 0) {
			t.Errorf("TimeToFirstToken set: got %v, want %v", gotSet, want.Chunks > 0)
		} else if ttft != nil && n > 0 && *ttft != first {
			t.Errorf("TTFT: got %v, want the first text chunk's time %v", *ttft, first)
		}
	case Early:
		switch {
		case ttft == nil:
			t.Errorf("TimeToFirstToken: got nil, want set (reasoning counts)")
		case n > 0 && !(*ttft < first):
			t.Errorf("TTFT: got %v, want it before the first text chunk's time %v (reasoning counts)", *ttft, first)
		}
	default:
		t.Fatalf("Expect.TTFT %q: want \"\" or %q", want.TTFT, Early)
	}
	switch want.TTLT {
	case "":
		if ttlt != nil {
			t.Errorf("TimeToLastToken: got %v, want nil", *ttlt)
		}
	case Last:
		switch {
		case ttlt == nil:
			t.Errorf("TimeToLastToken: got nil, want set")
		case n > 0 && *ttlt != last:
			t.Errorf("TTLT: got %v, want the last text chunk's time %v", *ttlt, last)
		}
	case After:
		if ttlt == nil || *ttlt <= last {
			t.Errorf("TimeToLastToken: got %s, want after the last text chunk (%v)", FmtPtr(ttlt), last)
		}
	default:
		t.Fatalf("Expect.TTLT %q: want \"\", %q or %q", want.TTLT, Last, After)
	}
	if ttft != nil && ttlt != nil && *ttft > *ttlt {
		t.Errorf("TTFT %v > TTLT %v", *ttft, *ttlt)
	}
}

// Encode is the JSON an endpoint sends for v (llmeter.AppendRequestJSON).
func Encode(tb testing.TB, v any) string {
	tb.Helper()
	b, err := llmeter.AppendRequestJSON(nil, v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// CheckRequest checks a request the server received: its method and path,
// the headers (a value of "" wants the header absent), no Accept-Encoding
// (transparent compression stays off), and a JSON body that is body, no
// more and no less.
func CheckRequest(t *testing.T, r Request, method, path string, header map[string]string, body llmeter.Payload) {
	t.Helper()
	if r.Method != method || r.Path != path {
		t.Errorf("request: got %s %s, want %s %s", r.Method, r.Path, method, path)
	}
	for name, want := range header {
		if got := r.Header.Get(name); got != want {
			t.Errorf("header %s: got %q, want %q", name, got, want)
		}
	}
	if got := r.Header.Get("Accept-Encoding"); got != "" {
		t.Errorf("header Accept-Encoding: got %q, want none (compression disabled)", got)
	}
	got, err := llmeter.DecodeJSON(r.Body)
	if err != nil {
		t.Fatalf("request body %q: %v", r.Body, err)
	}
	if _, ok := got.(map[string]any); !ok {
		t.Fatalf("request body: got %T, want an object", got)
	}
	if g, w := Encode(t, got), Encode(t, body); g != w {
		t.Errorf("request body: got %s, want %s", g, w)
	}
}

// Call is one call of a table test: an endpoint invoked once against a
// Server replaying Reply, and everything it must produce.
type Call struct {
	Server   Options
	Reply    Reply
	Timeout  time.Duration // the context's deadline; default 10s
	Endpoint func(url string) (llmeter.Endpoint, error)
	Payload  llmeter.Payload

	Want    Expect
	Secrets []string // not to be found in the error
	Prompt  any      // InputPrompt
	// Sent is the payload the endpoint prepares (InputPayload) and sends.
	Sent   llmeter.Payload
	Method string
	Path   string
	Header map[string]string // see CheckRequest
}

// Run makes the call and checks the response (CheckResponse), that the
// caller's payload is left unchanged, InputPayload, InputPrompt, and the one
// request the server got (CheckRequest).
func (c Call) Run(t *testing.T) *llmeter.InvocationResponse {
	t.Helper()
	srv := Start(t, func(*http.Request) Reply { return c.Reply }, c.Server)
	ep, err := c.Endpoint(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	snapshot := llmeter.CopyPayload(c.Payload)
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	got := llmeter.Invoke(ctx, ep, c.Payload)

	CheckResponse(t, got, c.Want, c.Secrets...)
	if !reflect.DeepEqual(c.Payload, snapshot) {
		t.Errorf("caller's payload modified: got %v, want %v", c.Payload, snapshot)
	}
	if !reflect.DeepEqual(got.InputPayload, c.Sent) {
		t.Errorf("InputPayload: got %v, want %v", got.InputPayload, c.Sent)
	}
	if !reflect.DeepEqual(got.InputPrompt, c.Prompt) {
		t.Errorf("InputPrompt: got %#v, want %#v", got.InputPrompt, c.Prompt)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	CheckRequest(t, reqs[0], c.Method, c.Path, c.Header, c.Sent)
	return got
}

// CheckInvariants checks what every response must satisfy whatever the
// body (for fuzzing): no error of class "other" (llmeter.Invoke's class for
// a panic, which no parse path produces otherwise), a time to last token on
// success, an id, and an error prefixed by the endpoint's name (prefix, as
// "openai: ") or "protocol error: " unless the API reported it. For a
// stream, text is nil or not empty, and set iff there are visible chunks;
// otherwise there is no time to first token.
func CheckInvariants(t *testing.T, got *llmeter.InvocationResponse, prefix string, stream bool) {
	t.Helper()
	if got.ErrorClass == llmeter.ErrorClassOther {
		t.Fatalf("unexpected error class %q (a panic?): %s", got.ErrorClass, got.Error)
	}
	if got.Error == "" && got.TimeToLastToken == nil {
		t.Errorf("TimeToLastToken: got nil on success, want set")
	}
	if got.ID == "" {
		t.Errorf("ID: got empty")
	}
	if got.Error != "" && !strings.HasPrefix(got.Error, prefix) && !strings.HasPrefix(got.Error, "protocol error: ") &&
		got.ErrorClass != llmeter.ErrorClassAPI {
		t.Errorf("Error %q (class %q): want a %q or protocol error: prefix", got.Error, got.ErrorClass, prefix)
	}
	if !stream {
		if got.TimeToFirstToken != nil {
			t.Errorf("TimeToFirstToken: got %v, want nil", *got.TimeToFirstToken)
		}
		return
	}
	hasText := got.ResponseText != nil
	if hasText != (len(got.ChunkOffsets) > 0) {
		t.Errorf("text set %v, %d chunks: want both or none", hasText, len(got.ChunkOffsets))
	}
	if hasText && *got.ResponseText == "" {
		t.Errorf("ResponseText: got empty, want nil or text")
	}
}

// PerChunk runs a benchmark's loop and reports ns/chunk and allocs/chunk for
// calls of chunks chunks each (allocations include everything the call
// does, so they shrink per chunk as chunks grows).
func PerChunk(b *testing.B, chunks int, call func()) {
	var before, after runtime.MemStats
	b.ReportAllocs()
	runtime.ReadMemStats(&before)
	for b.Loop() {
		call()
	}
	runtime.ReadMemStats(&after)
	n := float64(b.N * chunks)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/chunk")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/chunk")
}

// Step is one call of CheckReuse or CheckConcurrent: an endpoint whose
// requests name File in the FileHeader header (see ByHeader), the payload
// it sends, and what the call must give.
type Step struct {
	Endpoint llmeter.Endpoint
	Payload  llmeter.Payload
	File     string
	Fails    bool   // CheckReuse: the call fails
	Text     string // CheckConcurrent: the text,
	Class    string // the error class
	ID       string // and, unless empty, the id
}

// CheckReuse makes the calls one after the other and checks that those
// (and only those) marked Fails fail, and that all went over a single
// connection to srv.
func CheckReuse(t *testing.T, srv *Server, steps []Step) {
	t.Helper()
	for i, s := range steps {
		got := llmeter.Invoke(context.Background(), s.Endpoint, s.Payload)
		if (got.Error != "") != s.Fails {
			t.Errorf("step %d (%s): Error %q, want error %v", i, s.File, got.Error, s.Fails)
		}
	}
	if n := srv.NewConns.Load(); n != 1 {
		t.Errorf("connections: got %d, want 1 (all requests on one reused connection)", n)
	}
}

// CheckConcurrent makes calls from goroutines goroutines at once (run it
// with -race), each making calls calls that cycle through steps from its own
// starting point, and checks each call's text, error class and id.
func CheckConcurrent(t *testing.T, steps []Step, goroutines, calls int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				s := steps[(g+i)%len(steps)]
				got := llmeter.Invoke(context.Background(), s.Endpoint, s.Payload)
				if got.Text() != s.Text || got.ErrorClass != s.Class || (s.ID != "" && got.ID != s.ID) {
					t.Errorf("%s: got text %q, class %q, id %q (error %q); want %q, %q, %q", s.File, got.Text(),
						got.ErrorClass, got.ID, got.Error, s.Text, s.Class, s.ID)
					return
				}
			}
		})
	}
	wg.Wait()
}

// CheckCanceled invokes ep with a context canceled after 200ms (the server
// holding the response back) and checks that the call is reported as
// canceled, with the text received until then.
func CheckCanceled(t *testing.T, ep llmeter.Endpoint, p llmeter.Payload, wantText string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel)
	got := llmeter.Invoke(ctx, ep, p)
	if got.ErrorClass != llmeter.ErrorClassCanceled {
		t.Errorf("ErrorClass: got %q (error %q), want %q", got.ErrorClass, got.Error, llmeter.ErrorClassCanceled)
	}
	if got.Text() != wantText {
		t.Errorf("ResponseText: got %q, want %q", got.Text(), wantText)
	}
}

// CheckRefused invokes the endpoint newEndpoint builds for the URL of a
// server that is closed, and checks the class and the prefix of the error.
func CheckRefused(t *testing.T, newEndpoint func(url string) llmeter.Endpoint, p llmeter.Payload, prefix string) {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	got := llmeter.Invoke(context.Background(), newEndpoint(url), p)
	if got.ErrorClass != llmeter.ErrorClassConnection {
		t.Errorf("ErrorClass: got %q (error %q), want %q", got.ErrorClass, got.Error, llmeter.ErrorClassConnection)
	}
	if !strings.HasPrefix(got.Error, prefix) {
		t.Errorf("Error: got %q, want the prefix %q", got.Error, prefix)
	}
}

// FuzzBody fuzzes an endpoint with arbitrary non-streaming bodies, served
// as application/json by a MemClient (a new one for each call: the fuzzer
// runs in parallel) and seeded with the testdata files matching glob and
// extra. newEndpoint builds the endpoint for a client. Every response must
// satisfy CheckInvariants (prefix is the endpoint's error prefix) and have a
// time to last token, since the body was received.
func FuzzBody(f *testing.F, glob string, extra []string, prefix string, p llmeter.Payload,
	newEndpoint func(*http.Client) (llmeter.Endpoint, error)) {
	for _, file := range Files(f, glob) {
		f.Add(file.Data)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ep, err := newEndpoint(MemClient("application/json", body))
		if err != nil {
			t.Fatal(err)
		}
		got := llmeter.Invoke(context.Background(), ep, p)
		CheckInvariants(t, got, prefix, false)
		if got.TimeToLastToken == nil {
			t.Errorf("TimeToLastToken: got nil, want set (the body was received)")
		}
	})
}
