package experiment

import (
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/sim"
)

func TestLatencyHeatmapSendsEveryCombination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ep := simEndpoint(t, sim.Config{TTFT: 20 * time.Millisecond, PrefillPerToken: time.Millisecond, ITL: 2 * time.Millisecond, OutputTokens: 1000})
		dir := filepath.Join(t.TempDir(), "heatmap")
		lh := &LatencyHeatmap{
			Endpoint:   ep,
			SourceFile: "../prompt/testdata/source.txt",
			CreatePayload: func(text string, maxTokens int) (llmeter.Payload, error) {
				return openai.CreatePayload([]string{text}, maxTokens, nil)
			},
			Clients:                5, // 12 requests: LLMeter would send 12/5*5 = 10
			InputLengths:           []int{10, 40},
			OutputLengths:          []int{4, 8, 16},
			RequestsPerCombination: 2,
			OutputPath:             dir,
		}
		res, err := lh.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if res.Result.TotalRequests != 12 || len(res.Cells) != 6 {
			t.Fatalf("got %d requests in %d cells, want 12 in 6", res.Result.TotalRequests, len(res.Cells))
		}
		for _, c := range res.Cells {
			if c.Requests != 2 || c.Failed != 0 {
				t.Errorf("cell %d×%d: %d requests (%d failed), want 2", c.InputLength, c.OutputLength, c.Requests, c.Failed)
				continue
			}
			if c.PromptTokens != c.InputLength || *c.InputTokens != float64(c.InputLength) || *c.OutputTokens != float64(c.OutputLength) {
				t.Errorf("cell %d×%d: prompt %d tokens, measured in %v out %v", c.InputLength, c.OutputLength, c.PromptTokens, *c.InputTokens, *c.OutputTokens)
			}
			// On the fake clock the latency model is exact.
			wantTTFT := (20*time.Millisecond + time.Duration(c.InputLength)*time.Millisecond).Seconds()
			wantTTLT := wantTTFT + (time.Duration(c.OutputLength-1) * 2 * time.Millisecond).Seconds()
			if *c.TTFT != wantTTFT || *c.TTLT != wantTTLT {
				t.Errorf("cell %d×%d: TTFT %v TTLT %v, want %v %v", c.InputLength, c.OutputLength, *c.TTFT, *c.TTLT, wantTTFT, wantTTLT)
			}
			if v, ok := c.Stats.Float("time_to_last_token-p50"); !ok || v != wantTTLT {
				t.Errorf("cell %d×%d: stats %v", c.InputLength, c.OutputLength, c.Stats.Map())
			}
		}
		if c, ok := res.Cell(40, 16); !ok || c.OutputLength != 16 {
			t.Errorf("Cell(40, 16) = %+v, %v", c, ok)
		}
		// LLMeter's layout: the run files directly in the output path.
		for _, f := range []string{llmeter.RunConfigFile, llmeter.ResponsesFile, llmeter.StatsFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	})
}
