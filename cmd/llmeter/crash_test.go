//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter/sim"
)

// TestKilledRunLoads kills a real `llmeter run` with SIGKILL in the middle
// of its run, at several points, and checks that the folder it leaves
// loads: `llmeter report` finds exactly the responses whose lines were
// completely written.
func TestKilledRunLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildLLMeter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, _ := sim.Start(sim.Config{TTFT: time.Millisecond, ITL: 100 * time.Microsecond, OutputTokens: 20})
	t.Cleanup(srv.Close)
	for _, after := range []int{1, 50, 400} {
		t.Run(strconv.Itoa(after), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			run, stderr := startRun(ctx, t, bin, "--base-url", srv.URL+"/v1", "--model", "m", "--duration", "1m", "--clients", "8", "--output", dir)
			responses := filepath.Join(dir, "responses.jsonl")
			waitUntil(ctx, t, strconv.Itoa(after)+" responses on disk", func() bool {
				data, _ := os.ReadFile(responses)
				return bytes.Count(data, []byte("\n")) >= after
			})
			if err := run.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			run.Wait()
			if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
				t.Fatalf("a killed run wrote its summary; stderr:\n%s", stderr)
			}
			data, err := os.ReadFile(responses)
			if err != nil {
				t.Fatal(err)
			}
			complete := bytes.Count(data, []byte("\n"))
			st := reportJSON(ctx, t, bin, dir)
			if n, _ := st["total_requests"].(float64); int(n) != complete {
				t.Errorf("report counts %v responses; %d complete lines on disk", st["total_requests"], complete)
			}
			if st["interrupted"] != true {
				t.Errorf(`report: "interrupted" is %v, want true for a folder without summary`, st["interrupted"])
			}
			t.Logf("killed after %d lines on disk: %d complete lines (%d bytes), torn tail: %v", after, complete, len(data), len(data) > 0 && data[len(data)-1] != '\n')
		})
	}
}
