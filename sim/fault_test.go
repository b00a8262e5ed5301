package sim

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// faultBodies are a request of each protocol, the prompt "hi MARK".
var faultBodies = []struct{ name, path, body string }{
	{"chat", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi MARK"}],"stream":true}`},
	{"responses", "/v1/responses", `{"model":"m","input":"hi MARK","stream":true}`},
	{"anthropic", "/v1/messages", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi MARK"}],"stream":true}`},
	{"bedrock", "/model/m/converse-stream", `{"messages":[{"role":"user","content":[{"text":"hi MARK"}]}]}`},
	{"sagemaker", "/endpoints/e/invocations-response-stream", `{"inputs":"hi MARK","stream":true}`},
	{"tgi", "/generate_stream", `{"inputs":"hi MARK"}`},
	{"ollama", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi MARK"}]}`},
}

// post sends body (with MARK replaced by marker) to path on s, in memory,
// and returns the response and its whole body.
func post(t *testing.T, s *Server, path, body, marker string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Transport: Transport(s)}
	resp, err := c.Post("http://sim.test"+path, "application/json", strings.NewReader(strings.ReplaceAll(body, "MARK", marker)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestStatusFaults checks the status, headers and body of every status
// fault in every protocol's own error shape.
func TestStatusFaults(t *testing.T) {
	// want: in the body (and, for AWS, the x-amzn-ErrorType header).
	want := map[string]map[ErrorKind]string{
		"chat":      {Error401: `"code":"invalid_api_key"`, Error403: `"type":"invalid_request_error"`, Error429: `"type":"rate_limit_error"`, Error500: `"type":"server_error"`, Error503: `"type":"server_error"`},
		"responses": {Error401: `"code":"invalid_api_key"`, Error403: `"type":"invalid_request_error"`, Error429: `"type":"rate_limit_error"`, Error500: `"type":"server_error"`, Error503: `"type":"server_error"`},
		"anthropic": {Error401: `"type":"authentication_error"`, Error403: `"type":"permission_error"`, Error429: `"type":"rate_limit_error"`, Error500: `"type":"api_error"`, Error503: `"type":"overloaded_error"`},
		"bedrock":   {Error401: "UnrecognizedClientException", Error403: "AccessDeniedException", Error429: "ThrottlingException", Error500: "InternalServerException", Error503: "ServiceUnavailableException"},
		"sagemaker": {Error401: "UnrecognizedClientException", Error403: "AccessDeniedException", Error429: "ThrottlingException", Error500: "InternalFailure", Error503: "ServiceUnavailable"},
		"tgi":       {Error401: `"error_type":"unauthorized"`, Error403: `"error_type":"forbidden"`, Error429: `"error_type":"overloaded"`, Error500: `"error_type":"incomplete_generation"`, Error503: `"error_type":"overloaded"`},
		"ollama":    {Error401: `{"error":"Incorrect API key`, Error403: `{"error":"You are not allowed`, Error429: `{"error":"Rate limit`, Error500: `{"error":"The server had an error`, Error503: `{"error":"The service is temporarily unavailable`},
	}
	s := New(Config{})
	for _, p := range faultBodies {
		for _, kind := range []ErrorKind{Error401, Error403, Error429, Error500, Error503} {
			resp, body := post(t, s, p.path, p.body, FaultMarker(kind))
			if got := itoa(resp.StatusCode); got != string(kind) {
				t.Errorf("%s %s: status %s, want %s", p.name, kind, got, kind)
			}
			w := want[p.name][kind]
			if p.name == "bedrock" || p.name == "sagemaker" {
				if et := resp.Header.Get("X-Amzn-Errortype"); !strings.HasPrefix(et, w) {
					t.Errorf("%s %s: x-amzn-ErrorType %q, want %s", p.name, kind, et, w)
				}
				w = `"message":"`
			}
			if !strings.Contains(body, w) || !strings.Contains(body, "(simulated)") {
				t.Errorf("%s %s: body %s, want it to contain %s and the message", p.name, kind, body, w)
			}
			if ra := resp.Header.Get("Retry-After"); (kind == Error429) != (ra == "1") {
				t.Errorf("%s %s: Retry-After %q", p.name, kind, ra)
			}
		}
	}
	if got, want := s.Stats().Errors, int64(len(faultBodies)*5); got != want {
		t.Errorf("Stats.Errors: got %d, want %d", got, want)
	}
}

// TestFaultMarkerErrors checks that a bad marker is a 400 that says why.
func TestFaultMarkerErrors(t *testing.T) {
	s := New(Config{})
	for marker, want := range map[string]string{
		"[[sim-fault:nope]]": `unknown fault \"nope\" in marker (known: 401, 403`,
		"[[sim-fault:429":    "unterminated fault marker",
	} {
		resp, body := post(t, s, "/v1/chat/completions", faultBodies[0].body, marker)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("marker %q: got %d %s, want 400 containing %s", marker, resp.StatusCode, body, want)
		}
	}
}

// TestFaultRates checks that Faults draw their own kinds at their rates,
// after ErrorRate, deterministically.
func TestFaultRates(t *testing.T) {
	s := New(Config{Seed: 7, ErrorRate: 0.25, ErrorKinds: []ErrorKind{Error500},
		Faults: []Fault{{Error401, 0.25}, {Error503, 0.5}}})
	counts := map[int]int{}
	const n = 400
	for range n {
		resp, _ := post(t, s, "/v1/chat/completions", faultBodies[0].body, "")
		counts[resp.StatusCode]++
	}
	if counts[200] != 0 {
		t.Errorf("%d requests succeeded, want none (rates add up to 1)", counts[200])
	}
	for code, rate := range map[int]float64{500: 0.25, 401: 0.25, 503: 0.5} {
		if got, lo, hi := counts[code], int(rate*n*0.7), int(rate*n*1.3); got < lo || got > hi {
			t.Errorf("HTTP %d: %d of %d requests, want %d to %d", code, got, n, lo, hi)
		}
	}
}

// TestFaultConfig checks the validation of the fault settings.
func TestFaultConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{ErrorKinds: []ErrorKind{"418"}}, `unknown ErrorKind "418"`},
		{Config{Faults: []Fault{{"nope", 0.1}}}, `unknown fault kind "nope"`},
		{Config{Faults: []Fault{{ErrorStall, 1.5}}}, "rate 1.5 outside [0, 1]"},
		{Config{ErrorRate: 0.5, Faults: []Fault{{ErrorStall, 0.3}, {ErrorReset, 0.3}}}, "add up to 1.1"},
		{Config{FaultDelay: -time.Second}, "negative FaultDelay"},
		{Config{OversizeBytes: -1}, "negative OversizeBytes"},
	} {
		err := tc.cfg.validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	if err := (&Config{ErrorRate: 0.5, Faults: []Fault{{ErrorStall, 0.5}}}).validate(); err != nil {
		t.Errorf("rates adding up to 1: %v", err)
	}
}

// TestStreamFaultsCounted checks which streams end with their terminator
// (a stall, a slow start, and a malformed event in the middle) and which
// faults count as errors (those whose response is not complete or not
// valid).
func TestStreamFaultsCounted(t *testing.T) {
	s := New(Config{OutputTokens: 4, FaultDelay: time.Millisecond})
	for _, kind := range []ErrorKind{ErrorTruncate, ErrorMalformed, ErrorEvent, ErrorStall, ErrorSlowStart} {
		resp, body := post(t, s, "/v1/chat/completions", faultBodies[0].body, FaultMarker(kind))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", kind, resp.StatusCode)
		}
		complete := strings.HasSuffix(body, "data: [DONE]\n\n")
		if wantComplete := kind == ErrorStall || kind == ErrorSlowStart || kind == ErrorMalformed; complete != wantComplete {
			t.Errorf("%s: complete stream %v, want %v:\n%s", kind, complete, wantComplete, body)
		}
	}
	if got := s.Stats().Errors; got != 3 {
		t.Errorf("Stats.Errors: got %d, want 3 (truncate, malformed, error-event)", got)
	}
}
