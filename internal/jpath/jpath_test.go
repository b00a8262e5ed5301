package jpath

import (
	"encoding/json"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestText(t *testing.T) {
	doc := decode(t, `{"choices":[{"message":{"content":"hi"}}],"messages":[{"content":[{"text":"a"},{"text":"b"},{"image":1}]}],"n":3,"l":[1]}`)
	tests := []struct {
		expr, sep, want string
		ok              bool
	}{
		{"choices[0].message.content", "", "hi", true},
		{"messages[].content[].text", "\n", "a\nb", true},
		{"missing", "", "", false},
		{"n", "", "", false},
		{"l", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		p, err := Compile(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.Text(doc, tc.sep)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: got %q, %v; want %q, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
	}
}

func TestInt(t *testing.T) {
	doc := decode(t, `{"usage":{"completion_tokens":0,"prompt_tokens":12,"frac":1.5},"m":{"amazon-bedrock-invocationMetrics":{"outputTokenCount":7}}}`)
	for expr, want := range map[string]int{"usage.completion_tokens": 0, "usage.prompt_tokens": 12, `m."amazon-bedrock-invocationMetrics".outputTokenCount`: 7} {
		got := MustCompile(expr).Int(doc)
		if got == nil || *got != want {
			t.Errorf("%q: got %v, want %d", expr, got, want)
		}
	}
	for _, expr := range []string{"usage.frac", "usage.missing", "usage"} {
		if got := MustCompile(expr).Int(doc); got != nil {
			t.Errorf("%q: got %d, want nil", expr, *got)
		}
	}
	var nilPath *Path
	if nilPath.Int(doc) != nil || nilPath.String() != "" {
		t.Error("nil path found something")
	}
}

func TestCompileError(t *testing.T) {
	if _, err := Compile("choices[0"); err == nil {
		t.Error("bad expression: got nil error")
	}
}
