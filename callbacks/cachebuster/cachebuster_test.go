package cachebuster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/callbacks/internal/cbtest"
)

func payload(t *testing.T, s string) llmeter.Payload {
	t.Helper()
	var p llmeter.Payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each case is a payload of one API and the path of the text that gets the
// tag (as JSON after tagging with the fixed tag "T").
func TestPayloadShapes(t *testing.T) {
	cases := []struct {
		name, in, want string
		system         bool
	}{
		{"openai string content",
			`{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`,
			`{"messages":[{"content":"Be brief.","role":"system"},{"content":"[T] Hi","role":"user"}]}`, false},
		{"openai text parts",
			`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"Hi"},{"type":"text","text":"again"}]}]}`,
			`{"messages":[{"content":[{"image_url":{"url":"x"},"type":"image_url"},{"text":"[T] Hi","type":"text"},{"text":"again","type":"text"}],"role":"user"}]}`, false},
		{"openai system message",
			`{"messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":"Hi"}]}`,
			`{"messages":[{"content":"[T] Be brief.","role":"developer"},{"content":"Hi","role":"user"}]}`, true},
		{"responses input string",
			`{"input":"Hi","instructions":"Be brief."}`,
			`{"input":"[T] Hi","instructions":"Be brief."}`, false},
		{"responses instructions",
			`{"input":"Hi","instructions":"Be brief."}`,
			`{"input":"Hi","instructions":"[T] Be brief."}`, true},
		{"responses input items",
			`{"input":[{"role":"user","content":[{"type":"input_text","text":"Hi"}]}]}`,
			`{"input":[{"content":[{"text":"[T] Hi","type":"input_text"}],"role":"user"}]}`, false},
		{"anthropic blocks",
			`{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":10}`,
			`{"max_tokens":10,"messages":[{"content":[{"text":"[T] Hi","type":"text"}],"role":"user"}]}`, false},
		{"anthropic system string",
			`{"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`,
			`{"messages":[{"content":"Hi","role":"user"}],"system":"[T] Be brief."}`, true},
		{"anthropic system blocks",
			`{"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Hi"}]}`,
			`{"messages":[{"content":"Hi","role":"user"}],"system":[{"cache_control":{"type":"ephemeral"},"text":"[T] Be brief.","type":"text"}]}`, true},
		{"converse",
			`{"messages":[{"role":"user","content":[{"image":{}},{"text":"Hi"}]}],"system":[{"text":"Be brief."}]}`,
			`{"messages":[{"content":[{"image":{}},{"text":"[T] Hi"}],"role":"user"}],"system":[{"text":"Be brief."}]}`, false},
		{"converse system",
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"system":[{"text":"Be brief."}]}`,
			`{"messages":[{"content":[{"text":"Hi"}],"role":"user"}],"system":[{"text":"[T] Be brief."}]}`, true},
		{"system wanted, none: the user message",
			`{"messages":[{"role":"user","content":"Hi"}]}`,
			`{"messages":[{"content":"[T] Hi","role":"user"}]}`, true},
		{"tgi inputs",
			`{"inputs":"Hi","parameters":{"max_new_tokens":10}}`,
			`{"inputs":"[T] Hi","parameters":{"max_new_tokens":10}}`, false},
		{"ollama generate",
			`{"model":"llama3","prompt":"Hi"}`,
			`{"model":"llama3","prompt":"[T] Hi"}`, false},
		{"ollama chat",
			`{"model":"llama3","messages":[{"role":"assistant","content":"Yes?"},{"role":"user","content":"Hi"}]}`,
			`{"messages":[{"content":"Yes?","role":"assistant"},{"content":"[T] Hi","role":"user"}],"model":"llama3"}`, false},
		{"titan",
			`{"inputText":"Hi"}`,
			`{"inputText":"[T] Hi"}`, false},
		{"gemini",
			`{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`,
			`{"contents":[{"parts":[{"text":"[T] Hi"}],"role":"user"}]}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := payload(t, c.in)
			tx := locate(p, c.system)
			if tx == nil {
				t.Fatal("no text found")
			}
			tx.set("[T] " + tx.get())
			got, _ := json.Marshal(p)
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestNoPrompt(t *testing.T) {
	cb := &CacheBuster{}
	err := cb.BeforeInvoke(context.Background(), llmeter.Payload{"foo": 1.0})
	if !errors.Is(err, ErrNoPrompt) || !strings.Contains(err.Error(), "foo") {
		t.Errorf("got %v", err)
	}
}

func TestTagsAreUniqueAndReadBack(t *testing.T) {
	for _, mode := range []string{ModeRandom, ModeCounter} {
		t.Run(mode, func(t *testing.T) {
			cb := &CacheBuster{Mode: mode, Template: "<%s>\n"}
			if err := cb.BeforeRun(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			const n = 200
			tags := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					p := llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "Hi"}}}
					if err := cb.BeforeInvoke(context.Background(), p); err != nil {
						t.Error(err)
						return
					}
					r := &llmeter.InvocationResponse{InputPayload: p}
					cb.AfterInvoke(context.Background(), r)
					tags[i], _ = r.Extra[ExtraKey].(string)
					text := p["messages"].([]any)[0].(map[string]any)["content"].(string)
					if text != "<"+tags[i]+">\nHi" {
						t.Errorf("text %q, tag %q", text, tags[i])
					}
				})
			}
			wg.Wait()
			seen := map[string]bool{}
			for _, tag := range tags {
				if tag == "" || seen[tag] {
					t.Fatalf("tag %q empty or repeated", tag)
				}
				seen[tag] = true
			}
		})
	}
}

func TestConfigRoundTrip(t *testing.T) {
	cb := &CacheBuster{Target: TargetSystem, Mode: ModeCounter, Template: "#%s: "}
	cfg := cb.CallbackConfig()
	if cfg["type"] != Type {
		t.Errorf("type = %v", cfg["type"])
	}
	back, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if back.Target != cb.Target || back.Mode != cb.Mode || back.Template != cb.Template {
		t.Errorf("got %+v", back)
	}
	for _, bad := range []map[string]any{
		{"target": "assistant"}, {"mode": "sequential"}, {"template": "no tag"}, {"foo": "x"}, {"mode": 1.0},
	} {
		if _, err := FromConfig(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// A whole run: every request sent is different, and each saved response
// carries the tag it was sent with.
func TestRunner(t *testing.T) {
	sent := make(chan llmeter.Payload, 100)
	r := &llmeter.Runner{
		Endpoint:  &cbtest.Endpoint{Text: "ok", InputTokens: 3, OutputTokens: 1, Sent: sent},
		Payloads:  []llmeter.Payload{{"prompt": "Hi"}},
		Clients:   4,
		NRequests: 5,
		Callbacks: []llmeter.Callback{&CacheBuster{}},
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	close(sent)
	prompts := map[string]bool{}
	for p := range sent {
		prompts[p["prompt"].(string)] = true
	}
	if len(prompts) != 20 {
		t.Errorf("%d distinct prompts sent, want 20", len(prompts))
	}
	for _, resp := range res.Responses {
		tag, _ := resp.Extra[ExtraKey].(string)
		if tag == "" || !prompts["["+tag+"] Hi"] {
			t.Errorf("response tag %q not among the prompts sent", tag)
		}
	}
	if r.Payloads[0]["prompt"] != "Hi" {
		t.Errorf("the runner's payload changed: %v", r.Payloads[0])
	}
}

func BenchmarkBeforeInvoke(b *testing.B) {
	cb := &CacheBuster{}
	base := llmeter.Payload{"messages": []any{
		map[string]any{"role": "system", "content": "Be brief."},
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "Hello there"}}},
	}}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := llmeter.CopyPayload(base)
			if err := cb.BeforeInvoke(context.Background(), p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
