package jpath

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// FuzzPath compiles arbitrary expressions (they come from configuration)
// and evaluates them on arbitrary JSON documents (they come from
// responses). Nothing may panic; what Text and Int return must agree with
// what Search finds.
func FuzzPath(f *testing.F) {
	doc := `{"choices":[{"message":{"content":"hi"}}],"messages":[{"content":[{"text":"a"},{"text":"b"},{"image":1}]}],"n":3,"l":[1],"f":1.5}`
	for _, expr := range []string{"choices[0].message.content", "messages[].content[].text", "missing", "n", "l", "f", "",
		"[0].generated_text", "usage.outputTokens", "@", "length(messages)", "[?n > `2`].n | [0]", "l[::-1]",
		"join(', ', messages[].content[].text)", "sum(l)", "to_number('1e400')", "{a: n, b: f}"} {
		f.Add(expr, []byte(doc))
	}
	f.Add("[0].generated_text", []byte(`[{"generated_text":"x","details":{"generated_tokens":2}}]`))
	f.Add("details.generated_tokens", []byte(`{"details":{"generated_tokens":9007199254740993}}`))
	f.Add("a", []byte(`{"a":["x",null,"y"]}`))

	f.Fuzz(func(t *testing.T, expr string, data []byte) {
		if len(expr) > 256 || len(data) > 4096 {
			return
		}
		p, err := Compile(expr)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "JMESPath ") {
				t.Errorf("error %q: want the prefix %q", err, "JMESPath ")
			}
			return
		}
		if p == nil {
			if strings.TrimSpace(expr) != "" {
				t.Fatalf("Compile(%q): nil Path", expr)
			}
		} else if p.String() != expr {
			t.Errorf("String: got %q, want %q", p.String(), expr)
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			v = nil
		}
		found := p.Search(v)
		if s, ok := p.Text(v, "|"); ok {
			switch x := found.(type) {
			case string:
				if s != x {
					t.Errorf("Text: got %q, Search found %q", s, x)
				}
			case []any:
			default:
				t.Errorf("Text: got %q, ok from %#v", s, found)
			}
		}
		if n := p.Int(v); n != nil {
			x, ok := found.(float64)
			if !ok || x != math.Trunc(x) || float64(*n) != x {
				t.Errorf("Int: got %d from %#v", *n, found)
			}
		}
	})
}
