package llmeter

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeEndpoint streams "tokens" words, one per TokenDelay after FirstDelay,
// and obeys a few payload keys: "fail" (error message), "panic", "usage"
// (report token usage), "tokens" (how many), "first_delay_ms".
type fakeEndpoint struct {
	FirstDelay, TokenDelay time.Duration
	calls                  atomic.Int64
}

func (e *fakeEndpoint) Info() EndpointInfo {
	return EndpointInfo{EndpointName: "fake", ModelID: "fake-model", Provider: "test", EndpointType: "FakeEndpoint"}
}

func (e *fakeEndpoint) PreparePayload(p Payload) (Payload, error) {
	out := make(Payload, len(p)+1)
	for k, v := range p {
		out[k] = v
	}
	out["model"] = "fake-model"
	return out, nil
}

func (e *fakeEndpoint) ParsePayload(p Payload) (any, error) {
	s, _ := p["prompt"].(string)
	if s == "" {
		return nil, nil
	}
	return s, nil
}

func (e *fakeEndpoint) Invoke(ctx context.Context, p Payload, rec *Recorder) error {
	e.calls.Add(1)
	if msg, ok := p["fail"].(string); ok {
		return &StatusError{StatusCode: 500, Message: msg}
	}
	if p["panic"] == true {
		panic("provider bug")
	}
	n := 3
	if v, ok := p["tokens"].(int); ok {
		n = v
	}
	rec.SetID(fmt.Sprintf("resp-%d", e.calls.Load()))
	wait := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	first := e.FirstDelay
	if ms, ok := p["first_delay_ms"].(int); ok {
		first = time.Duration(ms) * time.Millisecond
	}
	if err := wait(first); err != nil {
		return err
	}
	for i := range n {
		if i > 0 {
			if err := wait(e.TokenDelay); err != nil {
				return err
			}
		}
		rec.Text("tok ")
	}
	if p["usage"] == true {
		rec.SetUsage(Usage{InputTokens: Ptr(12), OutputTokens: Ptr(n), InputCachedTokens: Ptr(4)})
	}
	return nil
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func readKeys(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return jsonKeys(t, data)
}

var runConfigKeys = []string{"endpoint", "output_path", "tokenizer", "clients", "n_requests", "run_duration", "payload",
	"run_name", "run_description", "timeout", "callbacks", "low_memory", "progress_bar_stats"}

// The keys of LLMeter's live stats.json (spec §2.1), all of which ours must have.
var llmeterLiveStatsKeys = []string{"failed_requests", "failed_requests_rate", "total_input_tokens", "total_output_tokens",
	"time_to_last_token-average", "time_to_last_token-p50", "time_to_last_token-p90", "time_to_last_token-p99",
	"time_to_first_token-average", "time_to_first_token-p50", "time_to_first_token-p90", "time_to_first_token-p99",
	"time_per_output_token-average", "time_per_output_token-p50", "time_per_output_token-p90", "time_per_output_token-p99",
	"num_tokens_output-average", "num_tokens_output-p50", "num_tokens_output-p90", "num_tokens_output-p99",
	"num_tokens_input-average", "num_tokens_input-p50", "num_tokens_input-p90", "num_tokens_input-p99",
	"requests_per_minute", "average_input_tokens_per_minute", "average_output_tokens_per_minute", "output_tps"}

func TestRunnerWritesLLMeterRunFolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := t.TempDir()
		ep := &fakeEndpoint{FirstDelay: 50 * time.Millisecond, TokenDelay: 50 * time.Millisecond}
		r := &Runner{
			Endpoint:   ep,
			OutputPath: out,
			RunName:    "20260101-1200",
			Clients:    2,
			NRequests:  2,
			Payloads:   []Payload{{"prompt": "Say hello to the world", "usage": true}, {"prompt": "Say hello"}},
		}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(out, "20260101-1200")
		if res.OutputPath != dir {
			t.Errorf("OutputPath = %q, want %q", res.OutputPath, dir)
		}
		if got := readKeys(t, filepath.Join(dir, RunConfigFile)); !equalStrings(got, runConfigKeys) {
			t.Errorf("run_config.json keys = %v, want %v", got, runConfigKeys)
		}
		if got := readKeys(t, filepath.Join(dir, SummaryFile)); !equalStrings(got, SummaryKeys) {
			t.Errorf("summary.json keys = %v, want %v", got, SummaryKeys)
		}
		statsKeys := readKeys(t, filepath.Join(dir, StatsFile))
		if !equalStrings(statsKeys[:len(SummaryKeys)], SummaryKeys) {
			t.Errorf("stats.json starts with %v, want the summary keys %v", statsKeys[:len(SummaryKeys)], SummaryKeys)
		}
		have := map[string]bool{}
		for _, k := range statsKeys {
			have[k] = true
		}
		for _, k := range llmeterLiveStatsKeys {
			if !have[k] {
				t.Errorf("stats.json lacks LLMeter's key %q", k)
			}
		}
		if got := readLines(t, filepath.Join(dir, PayloadFile)); len(got) != 2 {
			t.Errorf("payload.jsonl has %d lines, want 2", len(got))
		}
		lines := readLines(t, filepath.Join(dir, ResponsesFile))
		side := readLines(t, filepath.Join(dir, SidecarFile))
		if len(lines) != 4 || len(side) != 4 {
			t.Fatalf("responses.jsonl has %d lines and the sidecar %d, want 4 and 4", len(lines), len(side))
		}
		for i, line := range lines {
			if got := jsonKeys(t, []byte(line)); !equalStrings(got, llmeterResponseKeys) {
				t.Errorf("line %d keys = %v, want exactly LLMeter's", i+1, got)
			}
			var r InvocationResponse
			if err := r.UnmarshalJSON([]byte(line)); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(side[i], `{"id": "`+r.ID+`"`) {
				t.Errorf("sidecar line %d = %s, want it keyed by id %s", i+1, side[i], r.ID)
			}
		}

		// Times are exact under synctest's fake clock.
		for _, resp := range res.Responses {
			if *resp.TimeToFirstToken != 0.05 || *resp.TimeToLastToken != 0.15 {
				t.Errorf("TTFT, TTLT = %v, %v, want 0.05, 0.15", *resp.TimeToFirstToken, *resp.TimeToLastToken)
			}
			if resp.TimePerOutputToken == nil || math.Abs(*resp.TimePerOutputToken-0.05) > 1e-12 {
				t.Errorf("TPOT = %v, want 0.05", resp.TimePerOutputToken)
			}
			if *resp.NumTokensOutput != 3 {
				t.Errorf("output tokens = %d, want 3", *resp.NumTokensOutput)
			}
			if len(resp.ChunkOffsets) != 3 || resp.ChunkOffsets[2] != 150*time.Millisecond {
				t.Errorf("chunk offsets = %v, want 3 ending at 150ms", resp.ChunkOffsets)
			}
			switch resp.InputPrompt {
			case "Say hello to the world":
				if *resp.NumTokensInput != 12 || resp.TokensInputSource != "usage" {
					t.Errorf("usage input tokens = %d from %q, want 12 from usage", *resp.NumTokensInput, resp.TokensInputSource)
				}
			case "Say hello":
				if *resp.NumTokensInput != 2 || resp.TokensInputSource != "tokenizer" {
					t.Errorf("fallback input tokens = %d from %q, want 2 from tokenizer", *resp.NumTokensInput, resp.TokensInputSource)
				}
			default:
				t.Errorf("input prompt = %#v", resp.InputPrompt)
			}
			if resp.InputPayload["model"] != "fake-model" {
				t.Errorf("input payload %v lacks the injected model", resp.InputPayload)
			}
		}
		st := res.Stats()
		if v, _ := st.Get("total_requests"); v != 4 {
			t.Errorf("total_requests = %v, want 4", v)
		}
		if v, _ := st.Get("total_cached_input_tokens"); v != 8 {
			t.Errorf("total_cached_input_tokens = %v, want 8", v)
		}

		// One definition: loading the folder gives the same statistics,
		// with and without the responses.
		for _, skip := range []bool{false, true} {
			loaded, err := LoadResult(dir, LoadOptions{SkipResponses: skip, Warn: func(m string) { t.Errorf("warning: %s", m) }})
			if err != nil {
				t.Fatal(err)
			}
			compareStats(t, fmt.Sprintf("reloaded (skip responses %v)", skip), loaded.Stats(), st)
			if !skip && len(loaded.Responses) != 4 {
				t.Errorf("loaded %d responses, want 4", len(loaded.Responses))
			}
			if !skip && loaded.Responses[0].ErrorClass != "" && len(loaded.Responses[0].ChunkOffsets) != 3 {
				t.Errorf("sidecar not applied on load: %+v", loaded.Responses[0])
			}
			for i, r := range loaded.Responses {
				if r.PayloadIndex == nil || *r.PayloadIndex != *res.Responses[i].PayloadIndex {
					t.Errorf("response %d: payload index %v not kept on load", i, r.PayloadIndex)
				}
			}
		}
	})
}

// compareStats checks that got has every key of want with an equal value
// (times compared as instants, numbers as float64).
func compareStats(t *testing.T, what string, got, want *Stats) {
	t.Helper()
	for _, k := range want.Keys() {
		wv, _ := want.Get(k)
		gv, ok := got.Get(k)
		if !ok {
			t.Errorf("%s: missing %s", what, k)
			continue
		}
		if wt, ok := wv.(time.Time); ok {
			gt, ok := gv.(time.Time)
			if !ok || !gt.Truncate(time.Microsecond).Equal(wt.Truncate(time.Microsecond)) {
				t.Errorf("%s: %s = %v, want %v", what, k, gv, wv)
			}
			continue
		}
		wf, wok := toFloat(wv)
		gf, gok := toFloat(gv)
		if wok && gok {
			if wf != gf {
				t.Errorf("%s: %s = %v, want %v", what, k, gv, wv)
			}
			continue
		}
		if fmt.Sprint(gv) != fmt.Sprint(wv) {
			t.Errorf("%s: %s = %v, want %v", what, k, gv, wv)
		}
	}
}

func TestRunnerFailuresAreRecordedResponses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &Runner{
			Endpoint:  &fakeEndpoint{FirstDelay: time.Millisecond},
			Clients:   3,
			NRequests: 3,
			Payloads:  []Payload{{"fail": "overloaded"}, {"panic": true}, {"prompt": "ok"}},
		}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Responses) != 9 {
			t.Fatalf("got %d responses, want 9", len(res.Responses))
		}
		classes := map[string]int{}
		for _, resp := range res.Responses {
			if resp.Failed() {
				classes[resp.ErrorClass]++
				if resp.InputPayload == nil || resp.RequestTime == nil || resp.ID == "" {
					t.Errorf("failed response lacks back-filled fields: %+v", resp)
				}
				if resp.TimeToLastToken != nil || resp.NumTokensOutput != nil {
					t.Errorf("failed response has TTLT/token counts: %+v", resp)
				}
			}
		}
		if classes[ErrorClassHTTP5xx] != 3 || classes[ErrorClassOther] != 3 {
			t.Errorf("error classes = %v, want 3 http_5xx and 3 other (panic)", classes)
		}
		st := res.Stats()
		if v, _ := st.Get("failed_requests"); v != 6 {
			t.Errorf("failed_requests = %v, want 6", v)
		}
		if v, _ := st.Get("failed_requests_http_5xx"); v != 3 {
			t.Errorf("failed_requests_http_5xx = %v, want 3", v)
		}
		for _, resp := range res.Responses {
			if strings.Contains(resp.Error, "panic") && !strings.Contains(resp.Error, "provider bug") {
				t.Errorf("panic error %q lacks the panic value", resp.Error)
			}
		}
	})
}

func TestRunnerSpreadsPayloadsOverClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var payloads []Payload
		for i := range 16 {
			payloads = append(payloads, Payload{"prompt": fmt.Sprintf("p%d", i)})
		}
		r := &Runner{Endpoint: &fakeEndpoint{FirstDelay: time.Millisecond}, Clients: 4, NRequests: 4, Payloads: payloads}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[any]int{}
		for _, resp := range res.Responses {
			seen[resp.InputPrompt]++
		}
		if len(seen) != 16 {
			t.Errorf("4 clients × 4 requests sent %d distinct payloads of 16, want all 16 (LLMeter's D2)", len(seen))
		}
	})
}

func TestRunnerTotalRequestsSendsEachPayloadOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var payloads []Payload
		for i := range 14 {
			payloads = append(payloads, Payload{"prompt": fmt.Sprintf("p%d", i)})
		}
		dir := t.TempDir()
		var last Progress
		r := &Runner{Endpoint: &fakeEndpoint{FirstDelay: time.Millisecond}, Clients: 4, TotalRequests: 14, Payloads: payloads,
			OutputPath: dir, RunName: "r", OnProgress: func(p Progress) { last = p }}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[any]int{}
		for _, resp := range res.Responses {
			seen[resp.InputPrompt]++
		}
		if len(res.Responses) != 14 || len(seen) != 14 {
			t.Errorf("4 clients, 14 requests in all: got %d responses, %d distinct payloads; want 14, 14", len(res.Responses), len(seen))
		}
		if last.Total != 14 || last.Done != 14 {
			t.Errorf("progress: got total %d, done %d; want 14, 14", last.Total, last.Done)
		}
		if res.NRequests != 4 { // 14/4 rounded up
			t.Errorf("n_requests: got %d, want 4", res.NRequests)
		}
		b, err := os.ReadFile(filepath.Join(dir, "r", RunConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(cfg["n_requests"]); got != "4" {
			t.Errorf("run_config n_requests: got %s, want 4", got)
		}
	})
}

func TestRunnerTimeBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &Runner{
			Endpoint:    &fakeEndpoint{FirstDelay: 100 * time.Millisecond},
			Clients:     2,
			RunDuration: time.Second,
			Payloads:    []Payload{{"prompt": "x", "tokens": 1}},
		}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// Each client sends at 0, 100, …, 900 ms (+ its start offset): 10 each.
		if res.TotalRequests != 20 || res.NRequests != 10 {
			t.Errorf("total_requests, n_requests = %d, %d, want 20, 10", res.TotalRequests, res.NRequests)
		}
		if *res.TotalTestTime < 1.0 || *res.TotalTestTime > 1.2 {
			t.Errorf("total_test_time = %v, want about 1 s (fake clock)", *res.TotalTestTime)
		}
	})
}

func TestRunnerPerRequestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &Runner{
			Endpoint: &fakeEndpoint{FirstDelay: 2 * time.Second},
			Timeout:  500 * time.Millisecond,
			Payloads: []Payload{{"prompt": "x"}},
		}
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		resp := res.Responses[0]
		if resp.ErrorClass != ErrorClassTimeout || !resp.Failed() {
			t.Errorf("error %q class %q, want a timeout", resp.Error, resp.ErrorClass)
		}
	})
}

// cancelAfter cancels the run after n responses; it also checks that
// after_run still runs for an interrupted run.
type cancelAfter struct {
	n, seen  int
	cancel   context.CancelFunc
	afterRun bool
}

func (c *cancelAfter) AfterInvoke(_ context.Context, _ *InvocationResponse) error {
	c.seen++
	if c.seen == c.n {
		c.cancel()
	}
	return nil
}

func (c *cancelAfter) AfterRun(_ context.Context, r *Result) error {
	c.afterRun = true
	return r.UpdateContributedStats(map[string]any{"cost_total": 1.5})
}

func TestRunnerInterruptKeepsEveryResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		cb := &cancelAfter{n: 5, cancel: cancel}
		out := t.TempDir()
		r := &Runner{
			Endpoint:   &fakeEndpoint{FirstDelay: 100 * time.Millisecond, TokenDelay: 10 * time.Millisecond},
			OutputPath: out,
			RunName:    "interrupted",
			Clients:    4,
			NRequests:  100,
			Payloads:   []Payload{{"prompt": "x"}},
			Callbacks:  []Callback{cb},
		}
		res, err := r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Interrupted || !cb.afterRun {
			t.Errorf("interrupted = %v, after_run called = %v, want both true", res.Interrupted, cb.afterRun)
		}
		// Each of the 4 clients may have had one request in flight (or just
		// sent) when the cancel came; all complete within the grace period
		// and are kept.
		if res.TotalRequests < 5 || res.TotalRequests > 9 {
			t.Errorf("total_requests = %d, want 5..9", res.TotalRequests)
		}
		dir := filepath.Join(out, "interrupted")
		if got := len(readLines(t, filepath.Join(dir, ResponsesFile))); got != res.TotalRequests {
			t.Errorf("responses.jsonl has %d lines, want %d (every received response)", got, res.TotalRequests)
		}
		loaded, err := LoadResult(dir, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := loaded.Stats()
		if v, _ := st.Get("interrupted"); v != true {
			t.Errorf("reloaded stats interrupted = %v, want true", v)
		}
		if v, _ := st.Get("cost_total"); v != 1.5 {
			t.Errorf("reloaded stats cost_total = %v, want the after_run contribution 1.5", v)
		}
		if !loaded.Interrupted || loaded.TotalRequests != res.TotalRequests {
			t.Errorf("loaded interrupted=%v total=%d", loaded.Interrupted, loaded.TotalRequests)
		}
	})
}

func TestRunnerGracePeriodCancelsSlowRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		r := &Runner{
			Endpoint:    &fakeEndpoint{FirstDelay: time.Hour},
			Clients:     3,
			NRequests:   1,
			GracePeriod: time.Second,
			Timeout:     2 * time.Hour,
			Payloads:    []Payload{{"prompt": "x"}},
		}
		time.AfterFunc(time.Minute, cancel)
		res, err := r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Responses) != 3 {
			t.Fatalf("got %d responses, want the 3 canceled ones recorded", len(res.Responses))
		}
		for _, resp := range res.Responses {
			if resp.ErrorClass != ErrorClassCanceled {
				t.Errorf("class = %q, want canceled", resp.ErrorClass)
			}
		}
	})
}

func TestRunnerRefusesExistingRunFolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := t.TempDir()
		r := &Runner{Endpoint: &fakeEndpoint{}, OutputPath: out, RunName: "same", Payloads: []Payload{{"prompt": "x"}}}
		if _, err := r.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(t.Context()); !errors.Is(err, ErrRunExists) {
			t.Errorf("second run into the same folder: err = %v, want ErrRunExists", err)
		}
		// Default names get a suffix instead.
		r.RunName = ""
		a, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if a.OutputPath == b.OutputPath {
			t.Errorf("two default-named runs share %s", a.OutputPath)
		}
	})
}

func TestRunnerLowMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run := func(low bool) *Result {
			r := &Runner{Endpoint: &fakeEndpoint{FirstDelay: 10 * time.Millisecond, TokenDelay: time.Millisecond},
				OutputPath: t.TempDir(), RunName: "r", Clients: 3, NRequests: 5, LowMemory: low,
				Payloads: []Payload{{"prompt": "a b c", "tokens": 4}, {"prompt": "d", "tokens": 2}}}
			res, err := r.Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		low, full := run(true), run(false)
		if len(low.Responses) != 0 {
			t.Errorf("low_memory kept %d responses in memory", len(low.Responses))
		}
		want := full.Stats()
		got := low.Stats()
		for _, k := range []string{"time_to_last_token-p90", "num_tokens_output-average", "total_output_tokens", "failed_requests"} {
			w, _ := want.Get(k)
			g, _ := got.Get(k)
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("%s = %v with low_memory, %v without", k, g, w)
			}
		}
		if err := low.LoadResponses(); err != nil || len(low.Responses) != 15 {
			t.Errorf("LoadResponses: %d responses, err %v; want 15", len(low.Responses), err)
		}
	})
}

func TestRunnerProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var snaps []Progress
		r := &Runner{
			Endpoint:   &fakeEndpoint{FirstDelay: 300 * time.Millisecond},
			Clients:    2,
			NRequests:  10,
			Payloads:   []Payload{{"prompt": "x", "tokens": 1}},
			OnProgress: func(p Progress) { mu.Lock(); snaps = append(snaps, p); mu.Unlock() },
		}
		if _, err := r.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(snaps) < 5 {
			t.Fatalf("%d progress snapshots for a 3 s run, want one per 0.5 s", len(snaps))
		}
		last := snaps[len(snaps)-1]
		if !last.Final || last.Done != 20 || last.Total != 20 || last.Sending {
			t.Errorf("final snapshot = %+v", last)
		}
		for i := 1; i < len(snaps); i++ {
			if snaps[i].Done < snaps[i-1].Done {
				t.Errorf("progress went backwards: %d then %d", snaps[i-1].Done, snaps[i].Done)
			}
			if gap := snaps[i].Elapsed - snaps[i-1].Elapsed; !snaps[i].Final && gap < 500*time.Millisecond {
				t.Errorf("snapshots %v apart, want at least 0.5 s", gap)
			}
		}
		mid := snaps[len(snaps)/2]
		if _, ok := mid.Stats.Get("time_to_last_token-p50"); !ok || mid.InFlight == 0 {
			t.Errorf("mid-run snapshot lacks live stats or in-flight count: %+v", mid)
		}
	})
}

func TestRunnerValidation(t *testing.T) {
	ep := &fakeEndpoint{}
	p := []Payload{{"prompt": "x"}}
	tests := []struct {
		name string
		r    Runner
		want string
	}{
		{"no endpoint", Runner{Payloads: p}, "no endpoint"},
		{"no payload", Runner{Endpoint: ep}, "no payload"},
		{"both bounds", Runner{Endpoint: ep, Payloads: p, NRequests: 2, RunDuration: time.Second}, "both"},
		{"negative clients", Runner{Endpoint: ep, Payloads: p, Clients: -1}, "clients"},
		{"total and per client", Runner{Endpoint: ep, Payloads: p, NRequests: 2, TotalRequests: 4}, "total requests exclude"},
		{"negative total", Runner{Endpoint: ep, Payloads: p, TotalRequests: -4}, "total number of requests"},
		{"low memory without output", Runner{Endpoint: ep, Payloads: p, LowMemory: true}, "low_memory"},
		{"missing payload file", Runner{Endpoint: ep, PayloadPath: "/nonexistent/p.jsonl"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.r.Run(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
