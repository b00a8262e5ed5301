package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter/sim"
)

// TLS certificates are verified unless --insecure is given, which the
// summary and stats.json then say.
func TestInsecure(t *testing.T) {
	srv := httptest.NewTLSServer(sim.New(sim.Config{OutputTokens: 3})) // a self-signed certificate
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	stats := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join(dir, name, "stats.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	args := []string{"run", "--base-url", srv.URL + "/v1", "--model", "m", "--api-key", "k", "--n-requests", "2", "--clients", "1"}
	var out, errs bytes.Buffer
	run(append(args, "--output", filepath.Join(dir, "verified")), strings.NewReader(""), &out, &errs)
	if st := stats("verified"); st["failed_requests_tls"] != 2.0 || st["insecure_tls"] != nil {
		t.Errorf("verified: failed_requests_tls %v, insecure_tls %v; want 2 and none", st["failed_requests_tls"], st["insecure_tls"])
	}
	out.Reset()
	errs.Reset()
	if code := run(append(args, "--insecure", "--output", filepath.Join(dir, "insecure")), strings.NewReader(""), &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if st := stats("insecure"); st["failed_requests"] != 0.0 || st["insecure_tls"] != true {
		t.Errorf("insecure: failed_requests %v, insecure_tls %v; want 0 and true", st["failed_requests"], st["insecure_tls"])
	}
	if !strings.Contains(out.String(), "TLS certificates were not verified (--insecure)") {
		t.Errorf("the summary does not warn:\n%s", out.String())
	}
	if !strings.Contains(errs.String(), "Warning: --insecure") {
		t.Errorf("no warning at the start:\n%s", errs.String())
	}
}
