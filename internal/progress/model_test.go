package progress

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/llmeter-go/llmeter"
)

func TestFormatValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key    string
		v      any
		invert bool
		want   string
	}{
		{"time_per_output_token-p50", 0.02, true, "50.0 tok/s"},
		{"time_per_output_token-p50", 0.0, true, "0.000s"}, // not inverted: falls to the "time" rule
		{"output_tps", 12.345, false, "12.3 tok/s"},
		{"time_to_first_token-p90", 0.1234567, false, "0.123s"},
		{"my_ttft", 0.5, false, "0.500s"},
		{"ttlt", 2, false, "2.000s"},
		{"requests_per_minute", 1514.76, false, "1514.8"},
		{"average_output_tokens_per_minute", 12, false, "12.0"},
		{"failed_requests", 3, false, "3"},     // divergence: LLMeter shows 3.0
		{"failed_requests", 3.0, false, "3.0"}, // a float stays a float
		{"total_input_tokens", int64(7), false, "7"},
		{"num_tokens_output-average", 63.25, false, "63.2"},
		{"total_input_tokens", nil, false, Missing},
		{"x", math.NaN(), false, Missing},
		{"interrupted", true, false, "true"},
		{"model_id", "m", false, "m"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.key, tt.v, tt.invert); got != tt.want {
			t.Errorf("FormatValue(%q, %v, %v) = %q, want %q", tt.key, tt.v, tt.invert, got, tt.want)
		}
	}
}

func TestGroup(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"rpm":            GroupThroughput,
		"output_tps":     GroupThroughput,
		"p50_tps":        GroupThroughput,
		"P50_TTFT":       GroupTTFT,
		"p90_ttlt":       GroupTTLT,
		"input_tokens":   GroupTokens,
		"tokens_per_sec": GroupTokens,
		"fail":           GroupErrors,
		"custom":         GroupOther,
	}
	for label, want := range tests {
		if got := Group(label); got != want {
			t.Errorf("Group(%q) = %q, want %q", label, got, want)
		}
	}
}

func TestBar(t *testing.T) {
	t.Parallel()
	full := func(n int) string { return strings.Repeat("█", n) }
	sp := func(n int) string { return strings.Repeat(" ", n) }
	tests := []struct {
		name  string
		p     llmeter.Progress
		width int
		want  string
	}{{
		name:  "count-bound, half done",
		p:     llmeter.Progress{Done: 16, Total: 32, Elapsed: 2 * time.Second, Sending: true},
		width: 80,
		want:  "Total requests:  50%|" + full(13) + "▌" + sp(13) + "| 16/32 [00:02<00:02, 8.0 req/s]",
	}, {
		name: "count-bound, nothing yet",
		p:    llmeter.Progress{Total: 32, Sending: true},
		want: "Total requests:   0%|" + sp(40) + "| 0/32 [00:00<?, ? req/s]",
	}, {
		name: "time-bound",
		p:    llmeter.Progress{Done: 28, Elapsed: 3500 * time.Millisecond, Duration: 8 * time.Second, Sending: true},
		want: "Elapsed:  43%|" + full(17) + "▌" + sp(22) + "| 3/8 s [00:03<00:04, 8.0 req/s]",
	}, {
		name: "time-bound, time up, still receiving",
		p:    llmeter.Progress{Done: 20, Elapsed: 9 * time.Second, Duration: 8 * time.Second},
		want: "Elapsed: 100%|" + full(40) + "| 8/8 s [00:09<00:00, 2.2 req/s]",
	}, {
		name: "fractional duration",
		p:    llmeter.Progress{Done: 2, Elapsed: time.Second, Duration: 1500 * time.Millisecond, Sending: true},
		want: "Elapsed:  66%|" + full(26) + "▋" + sp(13) + "| 1/1.5 s [00:01<00:00, 2.0 req/s]",
	}, {
		name: "final, interrupted",
		p:    llmeter.Progress{Done: 8, Total: 32, Elapsed: 65 * time.Second, Final: true},
		want: "Total requests:  25%|" + full(10) + sp(30) + "| 8/32 [01:05<00:00, 0.1 req/s]",
	}, {
		name: "hours",
		p:    llmeter.Progress{Done: 1, Total: 2, Elapsed: 3725 * time.Second, Sending: true},
		want: "Total requests:  50%|" + full(20) + sp(20) + "| 1/2 [1:02:05<1:02:05, 0.0 req/s]",
	}, {
		name:  "too narrow for a bar",
		p:     llmeter.Progress{Done: 16, Total: 32, Elapsed: 2 * time.Second, Sending: true},
		width: 30,
		want:  "Total requests:  50% 16/32 [0…",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Bar(tt.p, tt.width)
			if got != tt.want {
				t.Errorf("Bar:\n got %q\nwant %q", got, tt.want)
			}
			if tt.width > 0 && ansi.StringWidth(got) > tt.width {
				t.Errorf("Bar is %d columns wide, want ≤ %d", ansi.StringWidth(got), tt.width)
			}
		})
	}
}

func liveStats() *llmeter.Stats {
	st := llmeter.NewStats()
	st.Set("failed_requests", 1)
	st.Set("failed_requests_rate", 1.0/16)
	st.Set("failed_requests_http_429", 1)
	st.Set("total_input_tokens", 144)
	st.Set("total_output_tokens", 1000)
	st.Set("time_to_last_token-p50", 0.83)
	st.Set("time_to_last_token-p90", 1.0456)
	st.Set("time_to_first_token-p50", 0.2014)
	st.Set("time_to_first_token-p90", 0.25)
	st.Set("time_per_output_token-p50", 0.01)
	st.Set("requests_per_minute", 480.0)
	st.Set("output_tps", 256.04)
	return st
}

func TestLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		p     llmeter.Progress
		width int
		want  []string
	}{{
		name: "count-bound run with statistics",
		p:    llmeter.Progress{Done: 16, Failed: 1, Total: 32, Elapsed: 2 * time.Second, InFlight: 4, Sending: true, Stats: liveStats()},
		want: []string{
			"Total requests:  50%|" + strings.Repeat("█", 20) + strings.Repeat(" ", 20) + "| 16/32 [00:02<00:02, 8.0 req/s]",
			"  Throughput: rpm=480.0  output_tps=256.0 tok/s  p50_tps=100.0 tok/s",
			"  TTFT: p50_ttft=0.201s  p90_ttft=0.250s",
			"  TTLT: p50_ttlt=0.830s  p90_ttlt=1.046s",
			"  Tokens: input_tokens=144  output_tokens=1000",
			"  Errors: fail=1  http_429=1",
		},
	}, {
		name: "time-bound run after its time, no statistics yet",
		p:    llmeter.Progress{Done: 20, Elapsed: 8 * time.Second, Duration: 8 * time.Second, InFlight: 2, Backlog: 3},
		want: []string{
			"Elapsed: 100%|" + strings.Repeat("█", 40) + "| 8/8 s [00:08<00:00, 2.5 req/s]",
			"Waiting for 2 requests in flight",
			"Processing backlog: 3 responses",
			"  reqs=20",
			"  Throughput: rpm=—  output_tps=—  p50_tps=—",
			"  TTFT: p50_ttft=—  p90_ttft=—",
			"  TTLT: p50_ttlt=—  p90_ttlt=—",
			"  Tokens: input_tokens=—  output_tokens=—",
			"  Errors: fail=—",
		},
	}, {
		name: "time-bound run after its time, clients still waiting",
		p:    llmeter.Progress{Done: 20, Elapsed: 8500 * time.Millisecond, Duration: 8 * time.Second, InFlight: 5, Sending: true, Stats: liveStats()},
		want: []string{
			"Elapsed: 100%|" + strings.Repeat("█", 40) + "| 8/8 s [00:08<00:00, 2.4 req/s]",
			"Waiting for 5 requests in flight",
			"  reqs=20",
			"  Throughput: rpm=480.0  output_tps=256.0 tok/s  p50_tps=100.0 tok/s",
			"  TTFT: p50_ttft=0.201s  p90_ttft=0.250s",
			"  TTLT: p50_ttlt=0.830s  p90_ttlt=1.046s",
			"  Tokens: input_tokens=144  output_tokens=1000",
			"  Errors: fail=1  http_429=1",
		},
	}, {
		name: "count-bound run still sending: no in-flight line",
		p:    llmeter.Progress{Done: 30, Total: 32, Elapsed: 4 * time.Second, InFlight: 2, Backlog: 1, Sending: true},
		want: []string{
			"Total requests:  93%|" + strings.Repeat("█", 37) + "▌" + "  " + "| 30/32 [00:04<00:00, 7.5 req/s]",
			"  Throughput: rpm=—  output_tps=—  p50_tps=—",
			"  TTFT: p50_ttft=—  p90_ttft=—",
			"  TTLT: p50_ttlt=—  p90_ttlt=—",
			"  Tokens: input_tokens=—  output_tokens=—",
			"  Errors: fail=—",
		},
	}, {
		name: "one response in the backlog, in flight none",
		p:    llmeter.Progress{Done: 31, Total: 32, Elapsed: 4 * time.Second, Backlog: 1, Stats: liveStats()},
		want: []string{
			"Total requests:  96%|" + strings.Repeat("█", 38) + "▊" + " " + "| 31/32 [00:04<00:00, 7.8 req/s]",
			"Processing backlog: 1 response",
			"  Throughput: rpm=480.0  output_tps=256.0 tok/s  p50_tps=100.0 tok/s",
			"  TTFT: p50_ttft=0.201s  p90_ttft=0.250s",
			"  TTLT: p50_ttlt=0.830s  p90_ttlt=1.046s",
			"  Tokens: input_tokens=144  output_tokens=1000",
			"  Errors: fail=1  http_429=1",
		},
	}, {
		name:  "narrow terminal: every line cut",
		p:     llmeter.Progress{Done: 16, Total: 32, Elapsed: 2 * time.Second, Sending: true, Stats: liveStats()},
		width: 40,
		want: []string{
			"Total requests:  50% 16/32 [00:02<00:02…",
			"  Throughput: rpm=480.0  output_tps=256…",
			"  TTFT: p50_ttft=0.201s  p90_ttft=0.250s",
			"  TTLT: p50_ttlt=0.830s  p90_ttlt=1.046s",
			"  Tokens: input_tokens=144  output_toke…",
			"  Errors: fail=1  http_429=1",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Lines(tt.p, tt.width)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Lines:\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestStatsLinesCustom(t *testing.T) {
	t.Parallel()
	specs := []DisplayStat{{Label: "custom", Key: "cost_total"}, {Label: "rpm", Key: "requests_per_minute"}}
	st := llmeter.NewStats()
	st.Set("cost_total", 1.25)
	got := StatsLines(st, specs)
	want := []string{"  Throughput: rpm=—", "  Other: custom=1.2"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("StatsLines = %q, want %q", got, want)
	}
	if got := StatsLines(st, nil); len(got) != 0 {
		t.Errorf("StatsLines with no specs = %q, want nothing", got)
	}
}
