// Package bench measures the load generator itself against the simulator:
// how accurately it times TTFT and TTLT, how many requests per second it can
// drive, and how much memory it needs. Each measurement runs llmeter's
// Runner and, side by side, a minimal hand-written Go streaming client (the
// reference for what is physically possible on the machine).
//
// The simulator should run in another process (see cmd: `llmbench serve`),
// so that its goroutines and garbage collector do not disturb the client
// being measured.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/internal/bootstrap"
)

// Sample is one request as a client measured it.
type Sample struct {
	TTFT, TTLT time.Duration
	Err        error
}

// Load describes a closed-loop load: Clients clients, each sending Requests
// requests back to back, or for Duration when it is set.
type Load struct {
	BaseURL   string // e.g. http://127.0.0.1:8000/v1
	Clients   int
	Requests  int
	Duration  time.Duration
	MaxTokens int
	Prompt    string
	// LowMemory, OutputPath and Arrival apply to the llmeter client only;
	// with Arrival the run is open-loop (Clients is ignored).
	LowMemory    bool
	BoundedStats bool
	NoChunkTimes bool
	OutputPath   string
	Arrival      *llmeter.Arrival
	// HTTPClient, when set, is used instead of a fresh client, so that
	// successive runs reuse warm connections (see NewReferenceClient and
	// openai.NewHTTPClient for each side's own).
	HTTPClient *http.Client
}

// Outcome is what one client measured.
type Outcome struct {
	Samples  []Sample // nil for a low-memory llmeter run
	Requests int
	Errors   int
	Elapsed  time.Duration
	Stats    *llmeter.Stats // llmeter only
}

// RPS is the achieved request rate.
func (o Outcome) RPS() float64 { return float64(o.Requests) / o.Elapsed.Seconds() }

func (l Load) payload() llmeter.Payload {
	prompt := l.Prompt
	if prompt == "" {
		prompt = "Measure me"
	}
	return llmeter.Payload{
		"messages":   []any{map[string]any{"role": "user", "content": prompt}},
		"max_tokens": json.Number(fmt.Sprint(l.MaxTokens)),
	}
}

// RunLLMeter drives the load with llmeter's Runner and OpenAI endpoint.
func RunLLMeter(ctx context.Context, l Load) (Outcome, error) {
	client := l.HTTPClient
	if client == nil {
		client = openai.NewHTTPClient(l.Clients)
	}
	ep, err := openai.NewChatEndpoint(openai.ChatConfig{
		ModelID: "sim-model", BaseURL: l.BaseURL, Stream: true, APIKey: "bench",
		HTTPClient: client,
	})
	if err != nil {
		return Outcome{}, err
	}
	r := &llmeter.Runner{
		Endpoint:     ep,
		Clients:      l.Clients,
		NRequests:    l.Requests,
		RunDuration:  l.Duration,
		Payloads:     []llmeter.Payload{l.payload()},
		LowMemory:    l.LowMemory,
		BoundedStats: l.BoundedStats,
		NoChunkTimes: l.NoChunkTimes,
		OutputPath:   l.OutputPath,
		Arrival:      l.Arrival,
		Timeout:      5 * time.Minute,
	}
	if l.Duration > 0 {
		r.NRequests = 0
	}
	start := time.Now()
	res, err := r.Run(ctx)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Requests: res.TotalRequests, Elapsed: time.Since(start), Stats: res.Stats()}
	if res.TotalTestTime != nil {
		out.Elapsed = time.Duration(*res.TotalTestTime * float64(time.Second))
	}
	for _, resp := range res.Responses {
		s := Sample{}
		if resp.Failed() {
			s.Err = fmt.Errorf("%s", resp.Error)
			out.Errors++
		}
		if resp.TimeToFirstToken != nil {
			s.TTFT = time.Duration(*resp.TimeToFirstToken * float64(time.Second))
		}
		if resp.TimeToLastToken != nil {
			s.TTLT = time.Duration(*resp.TimeToLastToken * float64(time.Second))
		}
		out.Samples = append(out.Samples, s)
	}
	if l.LowMemory {
		if v, ok := out.Stats.Float("failed_requests"); ok {
			out.Errors = int(v)
		}
	}
	return out, nil
}

// RunReference drives the same load with the minimal reference client: a
// net/http client with the same connection pool size, a line reader and
// encoding/json, timing with time.Now.
func RunReference(ctx context.Context, l Load) (Outcome, error) {
	body, err := llmeter.AppendRequestJSON(nil, referenceBody(l))
	if err != nil {
		return Outcome{}, err
	}
	client := l.HTTPClient
	if client == nil {
		client = NewReferenceClient(l.Clients)
	}
	url := l.BaseURL + "/chat/completions"
	start := time.Now()
	var mu sync.Mutex
	var all []Sample
	var wg sync.WaitGroup
	for range l.Clients {
		wg.Go(func() {
			var mine []Sample
			for i := 0; l.Duration > 0 || i < l.Requests; i++ {
				if l.Duration > 0 && time.Since(start) >= l.Duration || ctx.Err() != nil {
					break
				}
				mine = append(mine, referenceRequest(ctx, client, url, body))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	out := Outcome{Samples: all, Requests: len(all), Elapsed: time.Since(start)}
	for _, s := range all {
		if s.Err != nil {
			out.Errors++
		}
	}
	return out, nil
}

// NewReferenceClient is the reference client's HTTP client: the standard
// transport with a connection pool for clients connections.
func NewReferenceClient(clients int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: clients, MaxIdleConns: clients, IdleConnTimeout: 90 * time.Second,
		DisableCompression: true,
	}}
}

func referenceBody(l Load) map[string]any {
	p := l.payload()
	p["model"] = "sim-model"
	p["stream"] = true
	p["stream_options"] = map[string]any{"include_usage": true}
	return p
}

func referenceRequest(ctx context.Context, client *http.Client, url string, body []byte) Sample {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Sample{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Sample{Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return Sample{Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	var s Sample
	var chunk struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	br := bufio.NewReader(resp.Body)
	done := false
	for !done {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			data, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data: "))
			switch {
			case !ok:
			case bytes.Equal(data, []byte("[DONE]")):
				done = true
			default:
				chunk.Choices = chunk.Choices[:0]
				if json.Unmarshal(data, &chunk) == nil && len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
					now := time.Since(start)
					if s.TTFT == 0 {
						s.TTFT = now
					}
					s.TTLT = now
				}
			}
		}
		if err != nil {
			if !done {
				s.Err = fmt.Errorf("stream ended without [DONE]: %w", err)
			}
			break
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return s
}

// ErrorPercentiles returns the p50 and p99 of (measured − truth) over the
// successful samples, for TTFT and TTLT.
func ErrorPercentiles(samples []Sample, ttftTruth, ttltTruth time.Duration) (ttft, ttlt [2]time.Duration, n int) {
	ef, el := sampleErrors(samples, ttftTruth, ttltTruth)
	if len(ef) == 0 {
		return ttft, ttlt, 0
	}
	for i, p := range []int{50, 99} {
		ttft[i] = time.Duration(llmeter.Percentile(ef, p))
		ttlt[i] = time.Duration(llmeter.Percentile(el, p))
	}
	return ttft, ttlt, len(ef)
}

// sampleErrors returns the sorted errors (measured − truth, in ns) of the
// successful samples.
func sampleErrors(samples []Sample, ttftTruth, ttltTruth time.Duration) (ttft, ttlt []float64) {
	for _, s := range samples {
		if s.Err != nil || s.TTFT == 0 {
			continue
		}
		ttft = append(ttft, float64(s.TTFT-ttftTruth))
		ttlt = append(ttlt, float64(s.TTLT-ttltTruth))
	}
	slices.Sort(ttft)
	slices.Sort(ttlt)
	return ttft, ttlt
}

// P99Ratio returns the ratio of the p99 errors of two sets of samples (a's
// over b's) for TTFT and TTLT, each with its 95 % bootstrap interval (the
// ratios of resamples of both sets). At one client a p99 is set by the few
// worst requests, so a single ratio says little without its interval.
func P99Ratio(a, b []Sample, ttftTruth, ttltTruth time.Duration, resamples int, seed uint64) (ttft, ttlt [3]float64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	af, al := sampleErrors(a, ttftTruth, ttltTruth)
	bf, bl := sampleErrors(b, ttftTruth, ttltTruth)
	ratio := func(x, y []float64) [3]float64 {
		if len(x) < 2 || len(y) < 2 {
			return [3]float64{}
		}
		rx := bootstrap.Percentiles(rng, x, []int{99}, resamples)[0]
		ry := bootstrap.Percentiles(rng, y, []int{99}, resamples)[0]
		for k := range rx {
			rx[k] /= ry[k]
		}
		lo, hi := bootstrap.Interval(rx)
		return [3]float64{llmeter.Percentile(x, 99) / llmeter.Percentile(y, 99), lo, hi}
	}
	return ratio(af, bf), ratio(al, bl)
}
