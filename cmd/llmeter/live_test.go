package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestLiveProgress runs `llmeter run` in-process with stderr posing as a
// terminal: the live display is drawn and redrawn in place, unless turned
// off.
func TestLiveProgress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   map[string]string
		extra []string
		live  bool
	}{
		{"terminal", nil, nil, true},
		{"quiet", nil, []string{"--quiet"}, false},
		{"disabled by the environment", map[string]string{envNoProgress: "1"}, nil, false},
		{"LLMETER_DISABLE_ALL_PROGRESS_BARS=0", map[string]string{envNoProgress: "0"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr syncBuffer
			e := &env{
				stdout: &stdout, stderr: &stderr,
				getenv:   func(k string) string { return tt.env[k] },
				exit:     func(code int) { t.Errorf("exit(%d) called", code) },
				terminal: func() bool { return true },
				width:    func() int { return 100 },
				con:      &console{w: &stderr},
			}
			args := append([]string{"run", "--sim-ttft", "1ms", "--sim-itl", "1ms", "--sim-tokens", "4",
				"--clients", "2", "--n-requests", "3", "--output", filepath.Join(t.TempDir(), "run")}, tt.extra...)
			if code := runEnv(context.Background(), e, args); code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, &stderr)
			}
			out := stderr.String()
			if got := strings.Contains(out, "Total requests:"); got != tt.live {
				t.Fatalf("live display drawn: %v, want %v; stderr:\n%q", got, tt.live, out)
			}
			if !tt.live {
				return
			}
			// The first block is drawn at once, the last one replaces it:
			// the cursor goes back up over the block and erases below.
			if !strings.Contains(out, "\r\x1b[") || !strings.Contains(out, "A\x1b[J") {
				t.Errorf("no redraw in place (CR, cursor up, erase below) in stderr:\n%q", out)
			}
			if !strings.Contains(out, "  TTFT: p50_ttft=") {
				t.Errorf("no live statistics in stderr:\n%q", out)
			}
			// The final bar stays, at 100 %, as the last thing drawn; the
			// statistics are erased (they are in the summary).
			last := out[strings.LastIndex(out, "\x1b[J")+len("\x1b[J"):]
			if !strings.HasPrefix(last, "Total requests: 100%|") || strings.Count(last, "\n") != 1 {
				t.Errorf("final block %q, want only the full bar", last)
			}
			for _, l := range strings.Split(out, "\n") {
				l = ansi.Strip(l)
				drawn := strings.HasPrefix(l, "Total requests:") || strings.HasPrefix(l, "  ")
				if w := ansi.StringWidth(l); drawn && w >= 100 {
					t.Errorf("a line of the block is %d columns wide, the terminal 100: %q", w, l)
				}
			}
			if !strings.Contains(stdout.String(), "Results saved to") {
				t.Errorf("no summary on stdout:\n%s", &stdout)
			}
		})
	}
}
