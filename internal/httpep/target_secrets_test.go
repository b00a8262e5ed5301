package httpep

import (
	"net/http"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// The credentials of a target, default or the user's, are registered as
// secrets: recorded errors never show them, even for a library user.
func TestTargetRegistersCredentials(t *testing.T) {
	_, err := NewTarget(TargetConfig{Name: "t", BaseURL: "http://127.0.0.1:1/v1",
		Default: http.Header{"Authorization": {"Bearer lib-bearer-7a6b5c"}, "Content-Type": {"application/json"}},
		Headers: map[string]string{"X-Api-Key": "lib-apikey-1f2e3d", "X-Team": "search-team"}})
	if err != nil {
		t.Fatal(err)
	}
	got := llmeter.Redact("echo: Bearer lib-bearer-7a6b5c / lib-apikey-1f2e3d / search-team")
	if strings.Contains(got, "lib-bearer-7a6b5c") || strings.Contains(got, "lib-apikey-1f2e3d") {
		t.Errorf("credentials left in %q", got)
	}
	if !strings.Contains(got, "search-team") {
		t.Errorf("a header that is no credential was hidden: %q", got)
	}
}
