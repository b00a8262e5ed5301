package sim_test

// The wire format follows Ollama's API reference,
// https://github.com/ollama/ollama/blob/main/docs/api.md ("Generate a
// completion", "Generate a chat completion"), https://docs.ollama.com/api/streaming
// (application/x-ndjson, the final line with "done": true and
// "done_reason") and https://docs.ollama.com/api/errors ({"error": "…"}).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/httpapi"
	"github.com/llmeter-go/llmeter/sim"
)

// simWords are the simulator's first output tokens.
var simWords = []string{"lorem ", "ipsum ", "dolor ", "sit ", "amet ", "consectetur ", "adipiscing ",
	"elit ", "sed ", "do ", "eiusmod ", "tempor ", "incididunt ", "ut ", "labore ", "et ", "dolore ", "magna ", "aliqua "}

func simText(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(simWords[i%len(simWords)])
	}
	return b.String()
}

// TestOllamaPresets runs the httpapi presets against the simulator: the
// text, the counts (words of the prompt, tokens generated) and the timing
// fields.
func TestOllamaPresets(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 12})
	defer srv.Close()
	payloads := map[string]func(options map[string]any) llmeter.Payload{
		"ollama-generate": func(o map[string]any) llmeter.Payload {
			p := llmeter.Payload{"prompt": "Why is the sky blue today?", "system": "Answer briefly."}
			if o != nil {
				p["options"] = o
			}
			return p
		},
		"ollama-chat": func(o map[string]any) llmeter.Payload {
			p := llmeter.Payload{"messages": []any{
				map[string]any{"role": "system", "content": "Answer briefly."},
				map[string]any{"role": "user", "content": "Why is the sky\nblue today?"}}}
			if o != nil {
				p["options"] = o
			}
			return p
		},
	}
	for _, preset := range []string{"ollama-generate", "ollama-chat"} {
		for _, stream := range []bool{false, true} {
			for _, tc := range []struct {
				name    string
				options map[string]any
				wantN   int
			}{
				{"default length", nil, 12},
				{"num_predict", map[string]any{"num_predict": 5, "temperature": json.Number("0.2")}, 5},
				{"num_predict above the length", map[string]any{"num_predict": 40}, 12},
				{"num_predict -1 is no limit", map[string]any{"num_predict": -1}, 12},
			} {
				t.Run(fmt.Sprintf("%s/stream=%v/%s", preset, stream, tc.name), func(t *testing.T) {
					cfg, err := httpapi.FromPreset(preset, srv.URL, "llama3.2", stream)
					if err != nil {
						t.Fatal(err)
					}
					ep, err := httpapi.New(cfg)
					if err != nil {
						t.Fatal(err)
					}
					got := llmeter.Invoke(context.Background(), ep, payloads[preset](tc.options))
					if got.Error != "" {
						t.Fatalf("Error: got %q, want none", got.Error)
					}
					if want := simText(tc.wantN); got.Text() != want {
						t.Errorf("text: got %q, want %q", got.Text(), want)
					}
					if got.NumTokensInput == nil || *got.NumTokensInput != 8 {
						t.Errorf("input tokens: got %v, want 8 (words of the prompt)", fmtInt(got.NumTokensInput))
					}
					if got.NumTokensOutput == nil || *got.NumTokensOutput != tc.wantN {
						t.Errorf("output tokens: got %v, want %d", fmtInt(got.NumTokensOutput), tc.wantN)
					}
					if got.TimeToLastToken == nil {
						t.Errorf("TimeToLastToken: got nil, want set")
					}
					if stream {
						if got.TimeToFirstToken == nil || *got.TimeToFirstToken > *got.TimeToLastToken {
							t.Errorf("TTFT %v, TTLT %v: want TTFT set and not after TTLT", got.TimeToFirstToken, *got.TimeToLastToken)
						}
						if len(got.ChunkOffsets) != tc.wantN {
							t.Errorf("text chunks: got %d, want %d", len(got.ChunkOffsets), tc.wantN)
						}
					} else if got.TimeToFirstToken != nil {
						t.Errorf("TimeToFirstToken: got %v, want nil", *got.TimeToFirstToken)
					}
				})
			}
		}
	}
}

func fmtInt(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

var createdAt = regexp.MustCompile(`"created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`)

// TestOllamaWireFormat checks the bytes of responses, streaming (the
// default) and not, with the metrics that depend on time masked.
func TestOllamaWireFormat(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 3, Model: "default-model"})
	defer srv.Close()
	mask := func(b []byte) string {
		s := createdAt.ReplaceAllString(string(b), `"created_at":"T"`)
		return regexp.MustCompile(`"total_duration":\d+`).ReplaceAllString(s, `"total_duration":D`)
	}
	tests := []struct {
		name, path, body string
		wantType         string
		want             string
	}{
		{name: "generate streams by default", path: "/api/generate",
			body:     `{"model":"llama3.2","prompt":"Why is the sky blue?","options":{"num_predict":2}}`,
			wantType: "application/x-ndjson",
			want: `{"model":"llama3.2","created_at":"T","response":"lorem ","done":false}` + "\n" +
				`{"model":"llama3.2","created_at":"T","response":"ipsum ","done":false}` + "\n" +
				`{"model":"llama3.2","created_at":"T","response":"","done":true,"done_reason":"length",` +
				`"total_duration":D,"prompt_eval_count":5,"eval_count":2}` + "\n"},
		{name: "generate stream null streams", path: "/api/generate", body: `{"prompt":"","stream":null}`,
			wantType: "application/x-ndjson",
			want: `{"model":"default-model","created_at":"T","response":"lorem ","done":false}` + "\n" +
				`{"model":"default-model","created_at":"T","response":"ipsum ","done":false}` + "\n" +
				`{"model":"default-model","created_at":"T","response":"dolor ","done":false}` + "\n" +
				`{"model":"default-model","created_at":"T","response":"","done":true,"done_reason":"stop",` +
				`"total_duration":D,"eval_count":3}` + "\n"},
		{name: "generate non-streaming", path: "/api/generate", body: `{"model":"m","prompt":"a b","system":"c","stream":false}`,
			wantType: "application/json; charset=utf-8",
			want: `{"model":"m","created_at":"T","response":"lorem ipsum dolor ","done":true,"done_reason":"stop",` +
				`"total_duration":D,"prompt_eval_count":3,"eval_count":3}`},
		{name: "chat streams", path: "/v1/api/chat",
			body:     `{"model":"m","messages":[{"role":"user","content":"hi \u00e9t\u00e9"},{"role":"assistant","content":null}]}`,
			wantType: "application/x-ndjson",
			want: `{"model":"m","created_at":"T","message":{"role":"assistant","content":"lorem "},"done":false}` + "\n" +
				`{"model":"m","created_at":"T","message":{"role":"assistant","content":"ipsum "},"done":false}` + "\n" +
				`{"model":"m","created_at":"T","message":{"role":"assistant","content":"dolor "},"done":false}` + "\n" +
				`{"model":"m","created_at":"T","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,` +
				`"total_duration":D,"prompt_eval_count":2,"eval_count":3}` + "\n"},
		{name: "chat non-streaming", path: "/api/chat",
			body:     `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":1.0}}`,
			wantType: "application/json; charset=utf-8",
			want: `{"model":"m","created_at":"T","message":{"role":"assistant","content":"lorem "},"done_reason":"length",` +
				`"done":true,"total_duration":D,"prompt_eval_count":1,"eval_count":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, srv.URL+tc.path, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d (%s), want 200", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type: got %q, want %q", got, tc.wantType)
			}
			if got := mask(body); got != tc.want {
				t.Errorf("body:\ngot  %s\nwant %s", got, tc.want)
			}
			sc := bufio.NewScanner(bytes.NewReader(body))
			for sc.Scan() {
				if !json.Valid(sc.Bytes()) {
					t.Errorf("line %q is not JSON", sc.Bytes())
				}
			}
		})
	}
}

// TestOllamaMetrics checks the durations reported with a latency model.
func TestOllamaMetrics(t *testing.T) {
	srv, _ := sim.Start(sim.Config{OutputTokens: 3, TTFT: 2e6, ITL: 1e6, NoUsage: true})
	defer srv.Close()
	_, body := post(t, srv.URL+"/api/generate", `{"prompt":"a b c","stream":false}`)
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if got["prompt_eval_duration"] != 2e6 || got["eval_duration"] != 2e6 {
		t.Errorf("durations: got prompt_eval_duration %v, eval_duration %v; want 2e6, 2e6", got["prompt_eval_duration"],
			got["eval_duration"])
	}
	if d, _ := got["total_duration"].(float64); d < 4e6 {
		t.Errorf("total_duration: got %v, want at least 4e6 (TTFT + 2 ITL)", got["total_duration"])
	}
	for _, k := range []string{"prompt_eval_count", "eval_count", "load_duration"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s: got %v, want none (NoUsage)", k, v)
		}
	}
}

// TestOllamaErrors checks failures: injected 429 and 500, bad requests, a
// wrong method, and a dropped stream, directly and through the presets.
func TestOllamaErrors(t *testing.T) {
	tests := []struct {
		name       string
		cfg        sim.Config
		method     string
		path, body string
		wantStatus int
		wantError  string
	}{
		{name: "429", cfg: sim.Config{ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.Error429}}, path: "/api/generate",
			body: `{"prompt":"hi"}`, wantStatus: 429, wantError: "Rate limit reached"},
		{name: "500", cfg: sim.Config{ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.Error500}}, path: "/api/chat",
			body: `{"messages":[]}`, wantStatus: 500, wantError: "server had an error"},
		{name: "invalid JSON", path: "/api/generate", body: `{"prompt":`, wantStatus: 400, wantError: "unexpected end"},
		{name: "prompt not a string", path: "/api/generate", body: `{"prompt":["a"]}`, wantStatus: 400, wantError: "prompt"},
		{name: "content not a string", path: "/api/chat", body: `{"messages":[{"content":[{"text":"a"}]}]}`,
			wantStatus: 400, wantError: "messages[0].content"},
		{name: "num_predict not a number", path: "/api/chat", body: `{"options":{"num_predict":"5"}}`,
			wantStatus: 400, wantError: "num_predict"},
		{name: "GET", method: http.MethodGet, path: "/api/generate", wantStatus: 405, wantError: "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := sim.Start(tc.cfg)
			defer srv.Close()
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, srv.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type: got %q, want application/json; charset=utf-8", got)
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, tc.wantError) {
				t.Errorf("body: got %s, want {\"error\": …%s…}", body, tc.wantError)
			}
		})
	}

	// Through the endpoint: statuses become StatusErrors with Ollama's
	// message, a drop a connection error with the partial text kept.
	for _, tc := range []struct {
		kind      sim.ErrorKind
		stream    bool
		wantClass string
		wantText  string
	}{
		{sim.Error429, true, llmeter.ErrorClassHTTP429, ""},
		{sim.Error500, false, llmeter.ErrorClassHTTP5xx, ""},
		{sim.ErrorDropMidStream, true, llmeter.ErrorClassConnection, simText(5)},
		{sim.ErrorDropMidStream, false, llmeter.ErrorClassConnection, ""},
	} {
		t.Run(fmt.Sprintf("endpoint/%s/stream=%v", tc.kind, tc.stream), func(t *testing.T) {
			srv, _ := sim.Start(sim.Config{OutputTokens: 10, ErrorRate: 1, ErrorKinds: []sim.ErrorKind{tc.kind}})
			defer srv.Close()
			cfg, err := httpapi.FromPreset("ollama-chat", srv.URL, "llama3.2", tc.stream)
			if err != nil {
				t.Fatal(err)
			}
			ep, err := httpapi.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := llmeter.Invoke(context.Background(), ep, llmeter.Payload{"messages": []any{
				map[string]any{"role": "user", "content": "hi"}}})
			if got.ErrorClass != tc.wantClass {
				t.Errorf("ErrorClass: got %q (error %q), want %q", got.ErrorClass, got.Error, tc.wantClass)
			}
			if got.Text() != tc.wantText {
				t.Errorf("text: got %q, want %q", got.Text(), tc.wantText)
			}
		})
	}
}

// TestOllamaStreamAllocs checks that streaming a long response does not
// allocate per token.
func TestOllamaStreamAllocs(t *testing.T) {
	s := sim.New(sim.Config{OutputTokens: 1000})
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	w := &discard{h: http.Header{}}
	serveOnce := func() {
		req, _ := http.NewRequest(http.MethodPost, "/api/chat", bytes.NewReader(body))
		s.ServeHTTP(w, req)
	}
	serveOnce()
	short := testing.AllocsPerRun(10, serveOnce)
	s = sim.New(sim.Config{OutputTokens: 1})
	serveOnce()
	one := testing.AllocsPerRun(10, serveOnce)
	t.Logf("allocations per request: %v for 1000 tokens, %v for 1", short, one)
	// A per-token allocation would show as 1000; buffer growth (a sync.Pool
	// emptied by a GC, or dropping items under -race) as a few dozen.
	if short-one > 50 {
		t.Errorf("allocations: %v for 1000 tokens, %v for 1: want no per-token allocations", short, one)
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) Flush()                      {}

// BenchmarkOllamaStream measures the handler's cost for one streamed
// 16-token /api/chat response with no delays.
func BenchmarkOllamaStream(b *testing.B) {
	s := sim.New(sim.Config{})
	body := []byte(`{"model":"llama3.2","messages":[{"role":"user","content":"Say something about the weather in Paris today"}]}`)
	rd := bytes.NewReader(body)
	req, _ := http.NewRequest(http.MethodPost, "/api/chat", rd)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		clear(w.h)
		s.ServeHTTP(w, req)
	}
}
