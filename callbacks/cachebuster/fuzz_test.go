package cachebuster

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// Any JSON payload: tagging never panics, and a tagged payload gives its
// tag back.
func FuzzBeforeInvoke(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"Hi"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"system":[{"text":"S"}]}`,
		`{"input":[{"role":"user","content":[{"type":"input_text","text":""}]}],"instructions":"x"}`,
		`{"inputs":["a","b"]}`, `{"prompt":7}`, `{"messages":[null,{"role":"user"}]}`, `{}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, system bool) {
		var p llmeter.Payload
		if json.Unmarshal([]byte(s), &p) != nil {
			return
		}
		cb := &CacheBuster{}
		if system {
			cb.Target = TargetSystem
		}
		if err := cb.BeforeInvoke(context.Background(), p); err != nil {
			return
		}
		if _, ok := cb.TagOf(p); !ok {
			t.Errorf("no tag read back from %v", p)
		}
	})
}
