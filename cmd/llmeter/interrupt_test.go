//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter/sim"
)

// TestInterrupt runs the real binary as a user would, against
// `llmeter simulate` in another process, and interrupts it with SIGINT.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildLLMeter(t)
	// A deadline for the rest, so that a hang fails the test instead of
	// timing out the whole package; no assertion depends on timing.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("first signal saves the run", func(t *testing.T) {
		// about 0.5 s per request
		base := startSimulator(ctx, t, bin, "--ttft", "50ms", "--itl", "50ms", "--tokens", "10", "--jitter", "0")
		dir := filepath.Join(t.TempDir(), "run")
		run, stderr := startRun(ctx, t, bin, "--base-url", base, "--model", "m", "--duration", "1m", "--clients", "2", "--output", dir)
		responses := filepath.Join(dir, "responses.jsonl")
		waitUntil(ctx, t, "a response in "+responses, func() bool {
			data, _ := os.ReadFile(responses)
			return bytes.Contains(data, []byte("\n"))
		})
		if err := run.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, run.Wait()); code != exitInterrupted {
			t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
		}
		for _, want := range []string{
			"Interrupted: stopping… (Ctrl-C again to exit at once)\n",
			"Run interrupted; partial results saved to " + dir + "\n",
		} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "summary.json")); err != nil {
			t.Errorf("the interrupted run was not saved: %v", err)
		}
		st := reportJSON(ctx, t, bin, dir)
		if st["interrupted"] != true {
			t.Errorf(`report: "interrupted" is %v, want true`, st["interrupted"])
		}
		if n, _ := st["total_requests"].(float64); n < 1 {
			t.Errorf("report: total_requests = %v, want at least 1", st["total_requests"])
		}
	})

	t.Run("interrupted run in S3", func(t *testing.T) {
		for _, kv := range startFakeS3(t) {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		srv, simsrv := sim.Start(sim.Config{TTFT: 20 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 5})
		t.Cleanup(srv.Close)
		dir := "s3://" + fakeS3Bucket + "/interrupted/run"
		run, stderr := startRun(ctx, t, bin, "--base-url", srv.URL+"/v1", "--model", "m", "--duration", "1m", "--clients", "2", "--output", dir)
		// Objects appear only when their upload completes: wait for
		// requests served instead.
		waitUntil(ctx, t, "requests served", func() bool { return simsrv.Stats().Requests-simsrv.Stats().Active >= 4 })
		if err := run.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, run.Wait()); code != exitInterrupted {
			t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
		}
		st := reportJSON(ctx, t, bin, dir)
		if st["interrupted"] != true {
			t.Errorf(`report: "interrupted" is %v, want true`, st["interrupted"])
		}
		served := simsrv.Stats().Requests
		if n, _ := st["total_requests"].(float64); n < 4 || n > float64(served) {
			t.Errorf("report: total_requests = %v, want from 4 to the %d requests served", st["total_requests"], served)
		}
	})

	t.Run("second signal exits at once", func(t *testing.T) {
		// A server that never answers, and tells when a request is in
		// flight: only the second signal can end the run then.
		arrived := make(chan struct{}, 1)
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // so that the server notices when the client goes
			select {
			case arrived <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) }) // runs first
		dir := filepath.Join(t.TempDir(), "run")
		run, stderr := startRun(ctx, t, bin, "--base-url", srv.URL+"/v1", "--model", "m", "--duration", "1m", "--grace", "2m", "--output", dir)
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatalf("no request arrived; stderr:\n%s", stderr)
		}
		if err := run.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		waitUntil(ctx, t, "the first signal's message", func() bool {
			return strings.Contains(stderr.String(), "Interrupted: stopping…")
		})
		if err := run.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, run.Wait()); code != exitInterrupted {
			t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
		}
		want := "Exiting at once; the responses processed so far are in " + filepath.Join(dir, "responses.jsonl")
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
		// Nothing was finalized, and report recovers the run.
		if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
			t.Errorf("summary.json written after a hard exit")
		}
		if st := reportJSON(ctx, t, bin, dir); st["interrupted"] != true {
			t.Errorf(`report: "interrupted" is %v, want true`, st["interrupted"])
		}
	})
}

func buildLLMeter(t *testing.T) string {
	t.Helper()
	// Compiling cobra and friends on a busy machine may take a while.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "llmeter")
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startSimulator runs `llmeter simulate` on a free port until the test ends
// and returns its base URL.
func startSimulator(ctx context.Context, t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"simulate", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go func() { // keep draining
				for sc.Scan() {
				}
			}()
			return m[1] + "/v1"
		}
	}
	t.Fatalf("llmeter simulate did not say where it listens; stderr:\n%s", &stderr)
	return ""
}

// startRun starts `llmeter run` with args; its stderr is collected.
func startRun(ctx context.Context, t *testing.T, bin string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"run"}, args...)...)
	var stderr syncBuffer
	cmd.Stdout = &syncBuffer{}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // the test failed before waiting for it
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &stderr
}

// report runs `llmeter report DIR --json` and returns the statistics.
func reportJSON(ctx context.Context, t *testing.T, bin, dir string) map[string]any {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "report", dir, "--json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llmeter report: %v\n%s", err, stderr.Bytes())
	}
	var st map[string]any
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("llmeter report --json: %v\n%s", err, out)
	}
	return st
}

// waitUntil polls cond until it holds; the context's deadline fails the test.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("wait: %v", err)
	}
	return ee.ExitCode()
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
