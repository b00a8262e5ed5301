package httpapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
)

// slowTwin returns cfg with every event path wrapped so that it is no
// longer a plain field chain ("a.b" → "[a.b][0]", which finds the same
// value): the endpoint then decodes every event with encoding/json.
func slowTwin(cfg Config) Config {
	for _, p := range []*string{&cfg.TextPath, &cfg.InputTokensPath, &cfg.OutputTokensPath, &cfg.IDPath,
		&cfg.ErrorPath, &cfg.DonePath} {
		if *p != "" {
			*p = "[" + *p + "][0]"
		}
	}
	return cfg
}

// streamConfigs are the stream configurations fuzzed: presets and a custom
// one with an id.
func streamConfigs(tb testing.TB, mode StreamMode) []Config {
	tb.Helper()
	var cfgs []Config
	if mode == NDJSON {
		for _, name := range []string{"ollama-generate", "ollama-chat"} {
			c, err := FromPreset(name, "http://127.0.0.1:1", "m", true)
			if err != nil {
				tb.Fatal(err)
			}
			cfgs = append(cfgs, c)
		}
	} else {
		c, err := FromPreset("tgi", "http://127.0.0.1:1", "", true)
		if err != nil {
			tb.Fatal(err)
		}
		cfgs = append(cfgs, c)
	}
	cfgs = append(cfgs, Config{URL: "http://127.0.0.1:1", Stream: mode, TextPath: "delta", IDPath: "id",
		InputTokensPath: "usage.in", OutputTokensPath: "usage.out"})
	return cfgs
}

func invokeMem(t *testing.T, cfg Config, contentType string, body []byte) *llmeter.InvocationResponse {
	t.Helper()
	// Each call gets its own transport: the fuzzer runs in parallel.
	cfg.HTTPClient = replay.MemClient(contentType, body)
	ep, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return llmeter.Invoke(context.Background(), ep, llmeter.Payload{"prompt": "hi"})
}

// checkInvariants checks what every response must satisfy.
func checkInvariants(t *testing.T, got *llmeter.InvocationResponse, stream bool) {
	t.Helper()
	replay.CheckInvariants(t, got, "httpapi: ", stream)
	if got.TimeToFirstToken != nil && got.TimeToLastToken != nil && *got.TimeToFirstToken > *got.TimeToLastToken {
		t.Errorf("TTFT %v > TTLT %v", *got.TimeToFirstToken, *got.TimeToLastToken)
	}
	if hasText := got.ResponseText != nil; stream && hasText != (got.TimeToFirstToken != nil) {
		t.Errorf("text set %v, TTFT set %v: want both or none", hasText, got.TimeToFirstToken != nil)
	}
}

// summary is what the fast and slow event paths must agree on.
func summary(r *llmeter.InvocationResponse) string {
	id := r.ID
	if replay.UUIDHex.MatchString(id) {
		id = "<generated>"
	}
	return fmt.Sprintf("text=%q in=%s out=%s id=%q chunks=%d error=%q class=%q", r.Text(), replay.FmtPtr(r.NumTokensInput),
		replay.FmtPtr(r.NumTokensOutput), id, len(r.ChunkOffsets), r.Error, r.ErrorClass)
}

func addSeeds(f *testing.F, glob string, extra ...string) {
	for _, file := range replay.Files(f, glob) {
		f.Add(file.Data)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func fuzzStream(f *testing.F, mode StreamMode, contentType string) {
	cfgs := streamConfigs(f, mode)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, cfg := range cfgs {
			fast := invokeMem(t, cfg, contentType, body)
			checkInvariants(t, fast, true)
			if cfg.DonePath != "" && fast.Error == "" && !strings.Contains(string(body), "[DONE]") &&
				!strings.Contains(string(body), cfg.DonePath) && !strings.Contains(string(body), `\`) {
				t.Errorf("no error for a body without %q", cfg.DonePath)
			}
			slow := invokeMem(t, slowTwin(cfg), contentType, body)
			if a, b := summary(fast), summary(slow); a != b {
				t.Errorf("fast and slow event paths differ:\nfast %s\nslow %s", a, b)
			}
		}
	})
}

// FuzzStreamNDJSON feeds arbitrary NDJSON bodies through llmeter.Invoke
// (over an in-memory transport) with the Ollama presets and a custom
// configuration, checks the response's invariants (llmeter.Invoke turns a
// panic into an error of class "other", which no parse path produces
// otherwise), and checks that the fast event path and encoding/json agree
// on the whole response.
func FuzzStreamNDJSON(f *testing.F) {
	addSeeds(f, "*.ndjson",
		`{"response":"a","done":false}`+"\n"+`{"done":true,"eval_count":1}`,
		`{"delta":"x","id":3,"usage":{"in":0,"out":1.5}}`+"\r\n",
		`{"error":{"message":"m"}}`, `{"message":{"content":["a","b"]}}`, "\n\n \n", `{"response":"\u00e9\ud800"}`)
	fuzzStream(f, NDJSON, "application/x-ndjson")
}

// FuzzStreamSSE does the same for SSE bodies, with the TGI preset.
func FuzzStreamSSE(f *testing.F) {
	addSeeds(f, "*.txt",
		"data: [DONE]", "data:{\"token\":{\"text\":\"a\"},\"details\":{}}\n\n",
		"event: error\ndata: {\"message\":\"boom\"}\n\n", "\xef\xbb\xbfdata: 1\r\r", "data: {\"delta\":\"x\"}\n\ndata: 5\n\n")
	fuzzStream(f, SSE, "text/event-stream")
}

// FuzzBody feeds arbitrary non-streaming bodies.
func FuzzBody(f *testing.F) {
	addSeeds(f, "*.json", `[]`, `{"error":true}`, `{"response":7,"eval_count":-1}`, "not json")
	cfg, err := FromPreset("ollama-generate", "http://127.0.0.1:1", "m", false)
	if err != nil {
		f.Fatal(err)
	}
	custom := apis["custom"].cfg(f, "http://127.0.0.1:1", false)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range []Config{cfg, custom} {
			got := invokeMem(t, c, "application/json", body)
			checkInvariants(t, got, false)
			if got.TimeToLastToken == nil {
				t.Errorf("TimeToLastToken: got nil, want set (the body was received)")
			}
		}
	})
}
