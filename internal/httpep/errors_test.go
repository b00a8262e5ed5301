package httpep

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTruthy(t *testing.T) {
	tests := []struct {
		v    any
		want bool
	}{
		{nil, false}, {false, false}, {true, true}, {"", false}, {"x", true}, {map[string]any{}, false},
		{map[string]any{"a": 1}, true}, {[]any{}, false}, {[]any{1}, true}, {0.0, false}, {1.5, true},
		{0, false}, {2, true}, {json.Number("0"), false}, {json.Number("0.0"), false}, {json.Number("1"), true},
	}
	for _, tc := range tests {
		if got := Truthy(tc.v); got != tc.want {
			t.Errorf("Truthy(%#v): got %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestErrorBodyMessage(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	tests := []struct {
		name, body, want string
	}{
		{"openai", `{"error":{"message":"Bad key","type":"invalid_request_error","code":"invalid_api_key"}}`, "Bad key"},
		{"error string", `{"error":"model not found"}`, "model not found"},
		{"message", `{"message":"Too many requests"}`, "Too many requests"},
		{"detail string", `{"detail":"Not Found"}`, "Not Found"},
		{"detail list", `{"detail":[{"loc":["body","messages"],"msg":"field required"}]}`,
			`[{"loc":["body","messages"],"msg":"field required"}]`},
		{"error object without message", `{"error":{"code":500}}`, `{"code":500}`},
		{"list of errors", `[{"error":{"code":429,"message":"Resource exhausted"}}]`, "Resource exhausted"},
		{"empty message falls back", `{"error":{"message":""},"message":"outer"}`, "outer"},
		{"plain text", "  upstream connect error\n or disconnect  ", "upstream connect error or disconnect"},
		{"empty", "", ""},
		{"long text is cut", long, strings.Repeat("é", 256)},
		{"long text is cut on a rune", "a" + long, "a" + strings.Repeat("é", 255)},
		{"invalid UTF-8", "bad \xff byte", "bad \uFFFD byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorBodyMessage([]byte(tc.body)); got != tc.want {
				t.Errorf("message: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSharedClient(t *testing.T) {
	first, second := SharedClient(), SharedClient()
	if first != second {
		t.Errorf("SharedClient: got two clients, want one")
	}
}
