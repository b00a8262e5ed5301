package llmeter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter/internal/jsonl"
)

func TestPayloadLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.jsonl")
	content := "{\"a\": 1}\r\n\n   \n  {\"b\": [1, 2]}  \n{\"c\": \"x\"}" // CRLF, blanks, spaces, no final newline
	os.WriteFile(path, []byte(content), 0o644)
	if !IsPayloadFile(path) || IsPayloadFile(dir) || IsPayloadFile("s3://b/p.jsonl") || IsPayloadFile(filepath.Join(dir, "p.json")) {
		t.Error("IsPayloadFile is wrong")
	}
	pl, err := OpenPayloadLines(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	if pl.Len() != 3 {
		t.Fatalf("Len %d, want 3", pl.Len())
	}
	want, _ := LoadPayloads(path)
	for i := range 3 {
		p, err := pl.Payload(i)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := MarshalJSONValue(p)
		b, _ := MarshalJSONValue(want[i])
		if string(a) != string(b) {
			t.Errorf("payload %d: %s, want %s", i, a, b)
		}
	}
	for _, c := range []struct{ content, want string }{
		{"{\"a\": 1}\n[1]\n", "p.jsonl:2: not a JSON object"},
		{"{\"a\": 1}\n\n{\"a\": \n", "p.jsonl:3: "},
		{"\n\n", "no payloads"},
	} {
		os.WriteFile(path, []byte(c.content), 0o644)
		_, err := OpenPayloadLines(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.content, err, c.want)
		}
		var le *jsonl.LineError
		if c.want != "no payloads" && !errors.As(err, &le) {
			t.Errorf("%q: %v is not a LineError", c.content, err)
		}
	}
}

// A run from a .jsonl PayloadPath reads the payloads on demand, sends each
// one, and copies the file into the run folder.
func TestRunnerPayloadLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.jsonl")
	var b strings.Builder
	for i := range 50 {
		b.WriteString(`{"prompt": "p` + strings.Repeat("x", i) + `"}` + "\n")
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	ep := &fakeEndpoint{}
	r := &Runner{Endpoint: ep, PayloadPath: path, Clients: 5, TotalRequests: 50, OutputPath: dir, RunName: "run"}
	res, err := r.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalRequests != 50 || r.PayloadSource != nil {
		t.Fatalf("%d requests (want 50); the Runner's own PayloadSource was set: %v", res.TotalRequests, r.PayloadSource != nil)
	}
	seen := map[string]bool{}
	for _, resp := range res.Responses {
		seen[resp.InputPayload["prompt"].(string)] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct payloads sent, want 50", len(seen))
	}
	saved, _ := os.ReadFile(filepath.Join(dir, "run", PayloadFile))
	if string(saved) != b.String() {
		t.Error("payload.jsonl is not a copy of the payload file")
	}
}
