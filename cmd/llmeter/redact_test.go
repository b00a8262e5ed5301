package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter/sim"
)

// Known secret values, each given to llmeter the way a user would; none
// may appear in any file of the runs, in anything printed, or in a report.
var testSecrets = map[string]string{
	"flag":          "sk-flag-3f9a1c2e7d",
	"env":           "sk-env-8b2d4e6f0a",
	"auth-header":   "hdr-bearer-5c7e9a1b3d",
	"apikey-header": "hdr-apikey-2e4f6a8c0b",
	"aws-key":       "AKIASECRETTEST12345",
	"aws-secret":    "aws-secret-9d8c7b6a5f4e",
	"aws-session":   "aws-session-1a2b3c4d5e",
	"mlflow":        "mlflow-token-6e5d4c3b2a",
}

// echoingAPI answers 401 with an error body that repeats the credentials it
// was sent, as careless servers do.
func echoingAPI(w http.ResponseWriter, r *http.Request) {
	msg := "Incorrect API key provided: " + r.Header.Get("Authorization") + " / " + r.Header.Get("X-Api-Key")
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write(b)
}

// TestSecretsNeverWritten runs llmeter with known secrets (flags, headers,
// environment, AWS credentials, an MLflow token) against a server that
// echoes them in its errors, against the simulator with an unreachable
// MLflow server, and against the Bedrock protocol, then scans every file
// written and all output for them.
func TestSecretsNeverWritten(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(echoingAPI))
	t.Cleanup(echo.Close)
	simSrv, _ := sim.Start(sim.Config{OutputTokens: 3})
	t.Cleanup(simSrv.Close)
	t.Setenv("OPENAI_API_KEY", testSecrets["env"])
	t.Setenv("AWS_ACCESS_KEY_ID", testSecrets["aws-key"])
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecrets["aws-secret"])
	t.Setenv("AWS_SESSION_TOKEN", testSecrets["aws-session"])
	t.Setenv("MLFLOW_TRACKING_TOKEN", testSecrets["mlflow"])
	t.Setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1") // nothing listens: the callback fails, and says so
	dir := t.TempDir()
	headers := []string{"--header", "Authorization=Bearer " + testSecrets["auth-header"], "--header", "X-Api-Key=" + testSecrets["apikey-header"]}
	runs := [][]string{
		// the key from the environment, echoed back by the server
		{"run", "--base-url", echo.URL + "/v1", "--model", "m", "--n-requests", "2", "--clients", "1", "--output", filepath.Join(dir, "env"), "--report"},
		// the key as a flag and credentials in headers, echoed back
		append([]string{"run", "--base-url", echo.URL + "/v1", "--model", "m", "--api-key", testSecrets["flag"], "--n-requests", "2", "--clients", "1", "--output", filepath.Join(dir, "flag"), "--json"}, headers...),
		// success, with MLflow failing
		append([]string{"run", "--base-url", simSrv.URL + "/v1", "--model", "m", "--api-key", testSecrets["flag"], "--n-requests", "2", "--clients", "2", "--output", filepath.Join(dir, "ok"), "--report", "--mlflow"}, headers...),
		// AWS credentials, the Bedrock protocol
		{"run", "--endpoint", "bedrock-converse", "--base-url", simSrv.URL, "--region", "us-east-1", "--model", "m", "--n-requests", "2", "--output", filepath.Join(dir, "aws")},
		{"report", filepath.Join(dir, "flag"), "--html", filepath.Join(dir, "flag.html")},
	}
	var out bytes.Buffer
	for _, args := range runs {
		var stdout, stderr bytes.Buffer
		code := run(args, strings.NewReader(""), &stdout, &stderr)
		t.Logf("llmeter %s: exit %d", strings.Join(args[:3], " "), code)
		out.Write(stdout.Bytes())
		out.Write(stderr.Bytes())
	}
	if !strings.Contains(out.String(), "[REDACTED]") {
		t.Errorf("no redaction seen: did the server's echo reach the output? output:\n%s", out.String())
	}
	check := func(where string, data []byte) {
		for name, secret := range testSecrets {
			if bytes.Contains(data, []byte(secret)) {
				i := bytes.Index(data, []byte(secret))
				t.Errorf("%s holds the %s secret: …%s…", where, name, data[max(0, i-80):min(len(data), i+len(secret)+20)])
			}
		}
	}
	check("the output", out.Bytes())
	files := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
			return nil
		}
		files++
		check(path, data)
		return nil
	})
	if files < 20 {
		t.Errorf("only %d files scanned", files)
	}
}
