package anthropic

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/replay"
	"github.com/llmeter-go/llmeter/sim"
)

// TestAgainstSimulator runs the endpoint against the simulator's Messages
// API: token counts are the simulator's words, and no time is measured
// shorter than the simulator's schedule.
func TestAgainstSimulator(t *testing.T) {
	const ttft, itl = 20 * time.Millisecond, 5 * time.Millisecond
	tests := []struct {
		name        string
		cfg         sim.Config
		stream      bool
		reasoning   bool
		maxTokens   int
		thinking    map[string]any
		wantOut     int
		wantText    int // words; -1: no text
		wantFirst   int // index of the first token that sets TTFT (streaming)
		class       string
		errContains string
	}{
		{name: "stream", stream: true, maxTokens: 100, wantOut: 8, wantText: 8},
		{name: "stream max_tokens", stream: true, maxTokens: 3, wantOut: 3, wantText: 3},
		{name: "stream thinking, visible tokens only", stream: true, maxTokens: 100,
			thinking: map[string]any{"type": "enabled", "budget_tokens": 1024}, wantOut: 8, wantText: 6, wantFirst: 2},
		{name: "stream thinking counts for TTFT", stream: true, reasoning: true, maxTokens: 100,
			thinking: map[string]any{"type": "enabled", "budget_tokens": 1024}, wantOut: 8, wantText: 6},
		{name: "non-stream", maxTokens: 100, wantOut: 8, wantText: 8},
		{name: "non-stream max_tokens", maxTokens: 5, wantOut: 5, wantText: 5},
		{name: "non-stream thinking", maxTokens: 100, thinking: map[string]any{"type": "adaptive"}, wantOut: 8, wantText: 6},
		{name: "stream 429", cfg: sim.Config{ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.Error429}}, stream: true, maxTokens: 100,
			wantText: -1, class: llmeter.ErrorClassHTTP429, errContains: "HTTP 429: Rate limit reached"},
		{name: "non-stream 500", cfg: sim.Config{ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.Error500}}, maxTokens: 100,
			wantText: -1, class: llmeter.ErrorClassHTTP5xx, errContains: "HTTP 500: The server had an error"},
		{name: "stream dropped", cfg: sim.Config{ErrorRate: 1, ErrorKinds: []sim.ErrorKind{sim.ErrorDropMidStream}}, stream: true,
			maxTokens: 100, wantOut: 1, wantText: 4, class: llmeter.ErrorClassConnection, errContains: "anthropic: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.TTFT, cfg.ITL, cfg.OutputTokens = ttft, itl, 8
			srv, _ := sim.Start(cfg)
			defer srv.Close()
			ep, err := NewMessagesEndpoint(Config{ModelID: "claude-sim", BaseURL: srv.URL, APIKey: testKey, Stream: tc.stream,
				ReasoningCountsForTTFT: tc.reasoning})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := CreatePayload("one two three", tc.maxTokens, tc.thinking, map[string]any{"system": "be brief"})
			if err != nil {
				t.Fatal(err)
			}
			got := llmeter.Invoke(context.Background(), ep, payload)

			if tc.class == "" && got.Error != "" {
				t.Fatalf("Error: got %q, want none", got.Error)
			}
			if tc.class != "" && (got.ErrorClass != tc.class || !strings.Contains(got.Error, tc.errContains)) {
				t.Fatalf("Error: got %q (class %q), want class %q containing %q", got.Error, got.ErrorClass, tc.class, tc.errContains)
			}
			if tc.wantText < 0 {
				if got.ResponseText != nil {
					t.Errorf("ResponseText: got %q, want nil", *got.ResponseText)
				}
				return
			}
			if n := len(strings.Fields(got.Text())); n != tc.wantText {
				t.Errorf("text %q: got %d words, want %d", got.Text(), n, tc.wantText)
			}
			if !strings.HasPrefix(got.ID, "msg_") {
				t.Errorf("ID: got %q, want msg_…", got.ID)
			}
			if replay.FmtPtr(got.NumTokensInput) != "5" || replay.FmtPtr(got.NumTokensOutput) != replay.FmtPtr(&tc.wantOut) ||
				replay.FmtPtr(got.NumTokensInputCached) != "0" {
				t.Errorf("tokens: got input %s, output %s, cached %s; want 5, %d, 0", replay.FmtPtr(got.NumTokensInput),
					replay.FmtPtr(got.NumTokensOutput), replay.FmtPtr(got.NumTokensInputCached), tc.wantOut)
			}
			if !tc.stream {
				if got.TimeToFirstToken != nil {
					t.Errorf("TimeToFirstToken: got %v, want nil", *got.TimeToFirstToken)
				}
				if _, ttlt := cfg.Truth(5, tc.wantOut); got.TimeToLastToken == nil || *got.TimeToLastToken < ttlt.Seconds() {
					t.Errorf("TimeToLastToken: got %v, want at least the simulated %v", got.TimeToLastToken, ttlt)
				}
				return
			}
			if got.TimeToFirstToken == nil || len(got.ChunkOffsets) != tc.wantText {
				t.Fatalf("TTFT %v, %d chunks; want set, %d", got.TimeToFirstToken, len(got.ChunkOffsets), tc.wantText)
			}
			// Never earlier than the simulator sent the token.
			sent := cfg.TTFT + time.Duration(tc.wantFirst)*cfg.ITL
			if *got.TimeToFirstToken < sent.Seconds() {
				t.Errorf("TTFT %v: earlier than the simulated %v", *got.TimeToFirstToken, sent)
			}
			first := got.ChunkOffsets[0].Seconds()
			if tc.reasoning && !(*got.TimeToFirstToken < first) {
				t.Errorf("TTFT %v, first text %v: want thinking to count, before the text", *got.TimeToFirstToken, first)
			}
			if !tc.reasoning && *got.TimeToFirstToken != first {
				t.Errorf("TTFT %v: want the first text chunk's time %v", *got.TimeToFirstToken, first)
			}
		})
	}
}
