package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// ---------------------------------------------------------------------------
// Helpers

// timedWriter is an http.ResponseWriter + http.Flusher that records, in the
// (fake) time of a synctest bubble, when each Write and Flush happened.
type timedWriter struct {
	start   time.Time
	header  http.Header
	code    int
	pending []byte
	writes  []stamp // every Write call
	flushes []stamp // bytes handed out by each Flush
	all     []byte
	slow    time.Duration // each Write takes this long
}

type stamp struct {
	at   time.Duration
	data string
}

func newTimedWriter() *timedWriter {
	return &timedWriter{start: time.Now(), header: http.Header{}}
}

func (tw *timedWriter) Header() http.Header { return tw.header }

func (tw *timedWriter) WriteHeader(code int) {
	if tw.code == 0 {
		tw.code = code
	}
}

func (tw *timedWriter) Write(b []byte) (int, error) {
	tw.WriteHeader(http.StatusOK)
	tw.writes = append(tw.writes, stamp{time.Since(tw.start), string(b)})
	tw.pending = append(tw.pending, b...)
	tw.all = append(tw.all, b...)
	time.Sleep(tw.slow)
	return len(b), nil
}

func (tw *timedWriter) Flush() {
	tw.flushes = append(tw.flushes, stamp{time.Since(tw.start), string(tw.pending)})
	tw.pending = nil
}

// serve runs one request through s.ServeHTTP in a new goroutine and returns a
// channel that yields the writer and the recovered panic value when the
// handler returns.
func serve(s *Server, ctx context.Context, body string) <-chan served {
	return serveTo(s, ctx, body, newTimedWriter())
}

func serveTo(s *Server, ctx context.Context, body string, tw *timedWriter) <-chan served {
	ch := make(chan served, 1)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	if ctx != nil {
		r = r.WithContext(ctx)
	}
	go func() {
		var res served
		res.w = tw
		defer func() {
			res.panic = recover()
			res.end = time.Since(tw.start)
			ch <- res
		}()
		s.ServeHTTP(tw, r)
	}()
	return ch
}

type served struct {
	w     *timedWriter
	panic any
	end   time.Duration
}

// newFake returns a server for use inside a synctest bubble: runtime timers
// only, since a precise (nanosleep) wait does not advance fake time.
func newFake(cfg Config) *Server {
	cfg.TimersOnly = true
	return New(cfg)
}

func reqBody(prompt string, stream, usage bool, extra string) string {
	b := fmt.Sprintf(`{"model":"m1","messages":[{"role":"user","content":%q}],"stream":%v`, prompt, stream)
	if usage {
		b += `,"stream_options":{"include_usage":true}`
	}
	return b + extra + "}"
}

type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// sseData splits an SSE body into its data payloads.
func sseData(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, ev := range strings.Split(body, "\n\n") {
		if ev == "" {
			continue
		}
		d, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(d, "\n") {
			t.Fatalf("malformed event %q", ev)
		}
		out = append(out, d)
	}
	return out
}

func parseChunk(t *testing.T, data string) chunk {
	t.Helper()
	var c chunk
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		t.Fatalf("bad chunk JSON %q: %v", data, err)
	}
	return c
}

// streamResult is a streamed response read over the network.
type streamResult struct {
	resp   *http.Response
	events []string // data payloads, in order
	err    error    // read error (nil at a clean EOF)
}

func postStream(t *testing.T, url, body string) streamResult {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	res := streamResult{resp: resp}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("unexpected line %q", line)
		}
		res.events = append(res.events, d)
	}
	res.err = sc.Err()
	return res
}

// checkStream verifies the shape of a complete stream and returns the content
// text, the finish reason and the usage chunk (nil if none).
func checkStream(t *testing.T, events []string, wantModel string) (text string, n int, finish string, usage *chunk) {
	t.Helper()
	if len(events) < 3 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream does not end in [DONE]: %q", events)
	}
	events = events[:len(events)-1]
	first := parseChunk(t, events[0])
	if first.Object != "chat.completion.chunk" || !strings.HasPrefix(first.ID, "chatcmpl-") || first.Model != wantModel || first.Created == 0 {
		t.Fatalf("bad first chunk %q", events[0])
	}
	if len(first.Choices) != 1 || first.Choices[0].Delta.Role == nil || *first.Choices[0].Delta.Role != "assistant" ||
		first.Choices[0].Delta.Content == nil || *first.Choices[0].Delta.Content != "" || first.Choices[0].FinishReason != nil {
		t.Fatalf("first chunk is not role-only: %q", events[0])
	}
	if !strings.Contains(events[0], `"finish_reason":null`) {
		t.Fatalf("first chunk lacks finish_reason null: %q", events[0])
	}
	i := 1
	for ; i < len(events); i++ {
		c := parseChunk(t, events[i])
		if c.ID != first.ID || c.Created != first.Created || c.Model != wantModel || c.Object != "chat.completion.chunk" {
			t.Fatalf("chunk %d header differs from first: %q", i, events[i])
		}
		if len(c.Choices) != 1 || c.Choices[0].FinishReason != nil {
			break
		}
		if c.Choices[0].Delta.Role != nil || c.Choices[0].Delta.Content == nil || *c.Choices[0].Delta.Content == "" {
			t.Fatalf("bad content chunk %q", events[i])
		}
		text += *c.Choices[0].Delta.Content
		n++
	}
	if i >= len(events) {
		t.Fatalf("no finish chunk")
	}
	fin := parseChunk(t, events[i])
	if len(fin.Choices) != 1 || fin.Choices[0].FinishReason == nil || fin.Choices[0].Delta.Content != nil || fin.Choices[0].Delta.Role != nil {
		t.Fatalf("bad finish chunk %q", events[i])
	}
	finish = *fin.Choices[0].FinishReason
	i++
	if i < len(events) {
		u := parseChunk(t, events[i])
		if u.Choices == nil || len(u.Choices) != 0 || !strings.Contains(events[i], `"choices":[]`) || u.Usage == nil {
			t.Fatalf("bad usage chunk %q", events[i])
		}
		usage = &u
		i++
	}
	if i != len(events) {
		t.Fatalf("unexpected events after finish/usage: %q", events[i:])
	}
	return text, n, finish, usage
}

// ---------------------------------------------------------------------------
// Timing (fake time in synctest bubbles)

func TestStreamSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 100 * time.Millisecond, PrefillPerToken: time.Millisecond, ITL: 20 * time.Millisecond, OutputTokens: 5}
		s := newFake(cfg)
		res := <-serve(s, nil, reqBody("one two  three", true, true, ""))
		if res.panic != nil {
			t.Fatal(res.panic)
		}
		w := res.w
		ttft, ttlt := cfg.Truth(3, 5)
		if ttft != 103*time.Millisecond || ttlt != 183*time.Millisecond {
			t.Fatalf("Truth = %v, %v", ttft, ttlt)
		}
		if len(w.flushes) != 6 || len(w.writes) != 6 {
			t.Fatalf("got %d flushes and %d writes, want 6 each", len(w.flushes), len(w.writes))
		}
		if w.flushes[0].at != 0 {
			t.Errorf("role chunk flushed at %v, want 0", w.flushes[0].at)
		}
		role := sseData(t, w.flushes[0].data)
		if len(role) != 1 || !strings.Contains(role[0], `"delta":{"role":"assistant","content":""}`) {
			t.Errorf("first flush = %q, want only the role chunk", w.flushes[0].data)
		}
		for k := 0; k < 5; k++ {
			f := w.flushes[k+1]
			if want := ttft + time.Duration(k)*cfg.ITL; f.at != want {
				t.Errorf("token %d flushed at %v, want %v", k, f.at, want)
			}
			ev := sseData(t, f.data)
			if c := parseChunk(t, ev[0]); c.Choices[0].Delta.Content == nil || *c.Choices[0].Delta.Content != words[k] {
				t.Errorf("flush %d starts with %q, want token %q", k+1, ev[0], words[k])
			}
			if k < 4 && len(ev) != 1 {
				t.Errorf("flush %d has %d events, want 1", k+1, len(ev))
			}
			if k == 4 && (len(ev) != 4 || ev[3] != "[DONE]") {
				t.Errorf("last flush = %q, want token, finish, usage, [DONE]", ev)
			}
		}
		if res.end != ttlt {
			t.Errorf("handler returned at %v, want %v", res.end, ttlt)
		}
		if w.header.Get("Content-Type") != "text/event-stream" || w.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("headers %v", w.header)
		}
	})
}

// TestScheduleIsAbsolute makes every Write take 3ms of fake time (a slow
// client): tokens must still go out at TTFT + k*ITL, not drift by the write
// time as relative sleeps would.
func TestScheduleIsAbsolute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 50 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 8}
		s := newFake(cfg)
		tw := newTimedWriter()
		tw.slow = 3 * time.Millisecond
		res := <-serveTo(s, nil, reqBody("x", true, false, ""), tw)
		if len(tw.writes) != 1+8 {
			t.Fatalf("%d writes, want 9", len(tw.writes))
		}
		for k := 0; k < 8; k++ {
			if got, want := tw.writes[k+1].at, cfg.TTFT+time.Duration(k)*cfg.ITL; got != want {
				t.Errorf("token %d written at %v, want %v", k, got, want)
			}
		}
		if want := cfg.TTFT + 7*cfg.ITL + tw.slow; res.end != want {
			t.Errorf("handler returned at %v, want %v", res.end, want)
		}
	})
}

func TestZeroDelayIsOneWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{})
		res := <-serve(s, nil, reqBody("hi", true, true, ""))
		w := res.w
		if len(w.writes) != 1 || len(w.flushes) != 1 || w.flushes[0].at != 0 {
			t.Fatalf("writes=%d flushes=%d; want one write and one flush at 0", len(w.writes), len(w.flushes))
		}
		ev := sseData(t, w.writes[0].data)
		if len(ev) != 1+16+1+1+1 {
			t.Fatalf("got %d events, want 20", len(ev))
		}
	})
}

func TestStreamCoalescesWhenITLIsZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{TTFT: 50 * time.Millisecond, OutputTokens: 4})
		w := (<-serve(s, nil, reqBody("hi", true, false, ""))).w
		if len(w.flushes) != 2 || len(w.writes) != 2 {
			t.Fatalf("flushes=%d writes=%d, want 2 each", len(w.flushes), len(w.writes))
		}
		if w.flushes[0].at != 0 || w.flushes[1].at != 50*time.Millisecond {
			t.Errorf("flush times %v, %v", w.flushes[0].at, w.flushes[1].at)
		}
		if ev := sseData(t, w.flushes[1].data); len(ev) != 4+1+1 {
			t.Errorf("second flush has %d events, want 6", len(ev))
		}
	})
}

func TestNonStreamArrivesAtTTLT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 200 * time.Millisecond, PrefillPerToken: 10 * time.Millisecond, ITL: 30 * time.Millisecond, OutputTokens: 7}
		s := newFake(cfg)
		res := <-serve(s, nil, reqBody("a b", false, false, ""))
		_, ttlt := cfg.Truth(2, 7)
		if len(res.w.writes) != 1 || res.w.writes[0].at != ttlt {
			t.Fatalf("writes %+v, want one at %v", res.w.writes, ttlt)
		}
		if res.w.code != 200 {
			t.Fatalf("status %d", res.w.code)
		}
	})
}

func TestCapacityQueueDelaysStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 100 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 4, Capacity: 2}
		s := newFake(cfg)
		_, ttlt := cfg.Truth(1, 4) // 130ms
		var chans []<-chan served
		for range 5 {
			chans = append(chans, serve(s, nil, reqBody("x", false, false, "")))
		}
		synctest.Wait()
		if st := s.Stats(); st.Active != 2 || st.Queued != 3 || st.Requests != 5 {
			t.Fatalf("stats at start %+v", st)
		}
		var ends []time.Duration
		for _, ch := range chans {
			ends = append(ends, (<-ch).end)
		}
		slices.Sort(ends)
		want := []time.Duration{ttlt, ttlt, 2 * ttlt, 2 * ttlt, 3 * ttlt}
		if !slices.Equal(ends, want) {
			t.Fatalf("completion times %v, want %v", ends, want)
		}
		if st := s.Stats(); st.Active != 0 || st.Queued != 0 || st.MaxActive != 2 || st.Errors != 0 {
			t.Fatalf("stats at end %+v", st)
		}
	})
}

func TestCapacityQueueStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 100 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 3, Capacity: 1}
		s := newFake(cfg)
		first := serve(s, nil, reqBody("x", true, false, ""))
		synctest.Wait()
		second := serve(s, nil, reqBody("x", true, false, ""))
		a, b := <-first, <-second
		if a.w.flushes[1].at != 100*time.Millisecond {
			t.Errorf("first request's first token at %v", a.w.flushes[1].at)
		}
		// The second request starts when the first ends (120ms): its role
		// chunk is sent then, its first token 100ms later.
		if b.w.flushes[0].at != 120*time.Millisecond || b.w.flushes[1].at != 220*time.Millisecond || b.end != 240*time.Millisecond {
			t.Errorf("second request: role at %v, first token at %v, end at %v", b.w.flushes[0].at, b.w.flushes[1].at, b.end)
		}
	})
}

func TestQueuedRequestCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{TTFT: time.Second, Capacity: 1})
		first := serve(s, nil, reqBody("x", false, false, ""))
		synctest.Wait() // first holds the only slot
		ctx, cancel := context.WithCancel(t.Context())
		second := serve(s, ctx, reqBody("x", false, false, ""))
		synctest.Wait()
		if st := s.Stats(); st.Queued != 1 {
			t.Fatalf("stats %+v", st)
		}
		time.Sleep(300 * time.Millisecond)
		cancel()
		if r := <-second; r.end != 300*time.Millisecond || len(r.w.writes) != 0 {
			t.Errorf("cancelled queued request ended at %v with %d writes", r.end, len(r.w.writes))
		}
		synctest.Wait()
		if st := s.Stats(); st.Queued != 0 || st.Active != 1 {
			t.Errorf("stats %+v", st)
		}
		if r := <-first; r.end != time.Second {
			t.Errorf("first request ended at %v, want 1s", r.end)
		}
	})
}

func TestClientGoneStopsStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{TTFT: 100 * time.Millisecond, ITL: 100 * time.Millisecond, OutputTokens: 10})
		ctx, cancel := context.WithCancel(t.Context())
		ch := serve(s, ctx, reqBody("x", true, false, ""))
		time.Sleep(250 * time.Millisecond)
		cancel()
		res := <-ch
		if res.end != 250*time.Millisecond {
			t.Errorf("handler returned at %v, want 250ms", res.end)
		}
		if n := len(res.w.flushes); n != 3 { // role, token 0 at 100ms, token 1 at 200ms
			t.Errorf("%d flushes, want 3", n)
		}
		if strings.Contains(string(res.w.all), "[DONE]") {
			t.Error("cancelled stream sent [DONE]")
		}
		if st := s.Stats(); st.Active != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestDropTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 100 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 6, ErrorRate: 1, ErrorKinds: []ErrorKind{ErrorDropMidStream}}
		s := newFake(cfg)
		res := <-serve(s, nil, reqBody("x", true, false, ""))
		if res.panic != http.ErrAbortHandler {
			t.Fatalf("panic = %v, want http.ErrAbortHandler", res.panic)
		}
		ev := sseData(t, string(res.w.all))
		if len(ev) != 1+3 || slices.Contains(ev, "[DONE]") {
			t.Fatalf("dropped stream sent %q", ev)
		}
		if len(res.w.pending) != 0 {
			t.Fatal("dropped stream left unflushed data")
		}
		if res.end != 120*time.Millisecond {
			t.Errorf("dropped at %v, want 120ms", res.end)
		}

		res = <-serve(s, nil, reqBody("x", false, false, ""))
		if res.panic != http.ErrAbortHandler || len(res.w.writes) != 0 || res.end != 120*time.Millisecond {
			t.Fatalf("non-streaming drop: panic %v, %d writes, at %v", res.panic, len(res.w.writes), res.end)
		}
		if st := s.Stats(); st.Errors != 2 || st.Active != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestErrorsAreImmediate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, k := range []ErrorKind{Error429, Error500} {
			s := newFake(Config{TTFT: time.Second, Capacity: 1, ErrorRate: 1, ErrorKinds: []ErrorKind{k}})
			res := <-serve(s, nil, reqBody("x", true, false, ""))
			if res.end != 0 || len(res.w.writes) != 1 || fmt.Sprint(res.w.code) != string(k) {
				t.Errorf("%s: status %d after %v", k, res.w.code, res.end)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Wire format (real HTTP on 127.0.0.1)

func TestStreamWireFormat(t *testing.T) {
	ts, s := Start(Config{})
	defer ts.Close()
	res := postStream(t, ts.URL, reqBody("how are you today", true, true, ""))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if ct := res.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := res.resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q", cc)
	}
	text, n, finish, usage := checkStream(t, res.events, "m1")
	if n != 16 || finish != "stop" {
		t.Errorf("n=%d finish=%q, want 16, stop", n, finish)
	}
	if got := len(strings.Fields(text)); got != n {
		t.Errorf("text %q has %d whitespace tokens, want %d", text, got, n)
	}
	if usage == nil || usage.Usage.PromptTokens != 4 || usage.Usage.CompletionTokens != 16 || usage.Usage.TotalTokens != 20 {
		t.Errorf("usage %+v", usage)
	}
	id := parseChunk(t, res.events[0]).ID
	if got := res.resp.Header.Get("X-Request-Id"); got != id {
		t.Errorf("X-Request-Id %q, completion id %q", got, id)
	}
	if st := s.Stats(); st.Requests != 1 || st.Errors != 0 || st.MaxActive != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestStreamUsage(t *testing.T) {
	ts, _ := Start(Config{OutputTokens: 3})
	defer ts.Close()
	if _, _, _, u := checkStream(t, postStream(t, ts.URL, reqBody("x", true, false, "")).events, "m1"); u != nil {
		t.Error("usage sent without include_usage")
	}
	ts2, _ := Start(Config{OutputTokens: 3, NoUsage: true})
	defer ts2.Close()
	if _, _, _, u := checkStream(t, postStream(t, ts2.URL, reqBody("x", true, true, "")).events, "m1"); u != nil {
		t.Error("usage sent with NoUsage")
	}
}

func TestMaxTokensCaps(t *testing.T) {
	ts, _ := Start(Config{OutputTokens: 10})
	defer ts.Close()
	for _, tc := range []struct {
		extra  string
		n      int
		finish string
	}{
		{`,"max_tokens":4`, 4, "length"},
		{`,"max_completion_tokens":3`, 3, "length"},
		{`,"max_completion_tokens":2,"max_tokens":7`, 2, "length"},
		{`,"max_tokens":10`, 10, "length"},
		{`,"max_tokens":11`, 10, "stop"},
		{`,"max_tokens":0`, 10, "stop"},
		{`,"max_tokens":null`, 10, "stop"},
		{`,"max_tokens":25`, 10, "stop"},
	} {
		res := postStream(t, ts.URL, reqBody("a b c", true, true, tc.extra))
		text, n, finish, u := checkStream(t, res.events, "m1")
		if n != tc.n || finish != tc.finish || len(strings.Fields(text)) != tc.n || u.Usage.CompletionTokens != tc.n {
			t.Errorf("%s: n=%d finish=%q text=%q usage=%+v; want n=%d finish=%q", tc.extra, n, finish, text, u.Usage, tc.n, tc.finish)
		}
	}
}

func TestNonStreamBody(t *testing.T) {
	ts, _ := Start(Config{OutputTokens: 25, Model: "my-model"})
	defer ts.Close()
	resp, err := http.Post(ts.URL+"/chat/completions", "application/json",
		strings.NewReader(`{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"what is\tthe answer"},{"type":"image_url","image_url":{"url":"x y z"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	for _, k := range []string{"id", "object", "created", "model", "choices", "usage"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("body lacks %q: %s", k, body)
		}
	}
	c := parseChunk(t, string(body))
	if c.Object != "chat.completion" || c.Model != "my-model" || !strings.HasPrefix(c.ID, "chatcmpl-") || resp.Header.Get("X-Request-Id") != c.ID {
		t.Errorf("bad header fields: %s", body)
	}
	if len(c.Choices) != 1 || c.Choices[0].Message.Role != "assistant" || c.Choices[0].FinishReason == nil || *c.Choices[0].FinishReason != "stop" {
		t.Errorf("bad choices: %s", body)
	}
	if n := len(strings.Fields(c.Choices[0].Message.Content)); n != 25 {
		t.Errorf("content has %d tokens, want 25", n)
	}
	if u := c.Usage; u == nil || u.PromptTokens != 6 || u.CompletionTokens != 25 || u.TotalTokens != 31 {
		t.Errorf("usage %+v, want 6+25", u)
	}

	ts2, _ := Start(Config{NoUsage: true})
	defer ts2.Close()
	resp, err = http.Post(ts2.URL+"/v1/chat/completions", "application/json", strings.NewReader(reqBody("x", false, false, `,"max_tokens":3`)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if c := parseChunk(t, string(body)); c.Usage != nil || bytes.Contains(body, []byte("usage")) || *c.Choices[0].FinishReason != "length" {
		t.Errorf("NoUsage body %s", body)
	}
}

func TestBadRequests(t *testing.T) {
	ts, s := Start(Config{})
	defer ts.Close()
	for _, tc := range []struct {
		method, path, body string
		code               int
	}{
		{"POST", "/v1/chat/completions", `{"messages":[`, 400},
		{"POST", "/v1/chat/completions", `not json`, 400},
		{"POST", "/v1/chat/completions", `{"messages":[{"content":42}]}`, 400},
		{"POST", "/v1/chat/completions", `{"max_tokens":"many"}`, 400},
		{"GET", "/v1/chat/completions", ``, 405},
		{"POST", "/v1/embeddings", `{}`, 404},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if resp.StatusCode != tc.code || json.Unmarshal(body, &e) != nil || e.Error.Message == "" || e.Error.Type != "invalid_request_error" {
			t.Errorf("%s %s %q: status %d body %s", tc.method, tc.path, tc.body, resp.StatusCode, body)
		}
		if tc.code == 405 && resp.Header.Get("Allow") != "POST" {
			t.Errorf("405 without Allow: POST")
		}
	}
	if st := s.Stats(); st.Requests != 6 || st.Errors != 6 {
		t.Errorf("stats %+v", st)
	}
}

func TestNilBody(t *testing.T) {
	s := New(Config{})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Body = nil
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 400 {
		t.Errorf("status %d, want 400", w.Code)
	}
}

func TestErrorInjection(t *testing.T) {
	t.Run("429", func(t *testing.T) {
		ts, s := Start(Config{ErrorRate: 1, ErrorKinds: []ErrorKind{Error429}})
		defer ts.Close()
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(reqBody("x", true, false, "")))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct{ Message, Type, Code string } `json:"error"`
		}
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("status %d headers %v", resp.StatusCode, resp.Header)
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type != "rate_limit_error" || e.Error.Code != "rate_limit_exceeded" {
			t.Errorf("body %s", body)
		}
		if st := s.Stats(); st.Errors != 1 || st.MaxActive != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("500", func(t *testing.T) {
		ts, _ := Start(Config{ErrorRate: 1, ErrorKinds: []ErrorKind{Error500}})
		defer ts.Close()
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(reqBody("x", false, false, "")))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct{ Message, Type string } `json:"error"`
		}
		if resp.StatusCode != 500 || json.Unmarshal(body, &e) != nil || e.Error.Message == "" || e.Error.Type != "server_error" {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})
	t.Run("drop", func(t *testing.T) {
		ts, s := Start(Config{OutputTokens: 10, ErrorRate: 1, ErrorKinds: []ErrorKind{ErrorDropMidStream}})
		defer ts.Close()
		res := postStream(t, ts.URL, reqBody("x", true, false, ""))
		if res.err == nil {
			t.Error("dropped stream ended cleanly")
		}
		if len(res.events) != 1+5 || slices.Contains(res.events, "[DONE]") {
			t.Errorf("dropped stream events %q", res.events)
		}
		_, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(reqBody("x", false, false, "")))
		if err == nil {
			t.Error("non-streaming drop returned a response")
		}
		if st := s.Stats(); st.Errors != 2 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("rate", func(t *testing.T) {
		ts, s := Start(Config{ErrorRate: 0.3, ErrorKinds: []ErrorKind{Error500}, Seed: 7})
		defer ts.Close()
		failed := 0
		const n = 400
		for range n {
			resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(reqBody("x", false, false, "")))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 500 {
				failed++
			}
		}
		if failed < n*2/10 || failed > n*4/10 || s.Stats().Errors != int64(failed) {
			t.Errorf("%d of %d failed (stats %+v), want about 30%%", failed, n, s.Stats())
		}
	})
}

// lengths returns the completion lengths of n sequential requests.
func lengths(t *testing.T, cfg Config, n int) []int {
	ts, _ := Start(cfg)
	defer ts.Close()
	var out []int
	for range n {
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(reqBody("x", false, false, "")))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			out = append(out, -resp.StatusCode)
			continue
		}
		out = append(out, parseChunk(t, string(body)).Usage.CompletionTokens)
	}
	return out
}

func TestSeedDeterminism(t *testing.T) {
	cfg := Config{OutputTokens: 16, OutputJitter: 0.5, Seed: 42, ErrorRate: 0.2, ErrorKinds: []ErrorKind{Error429, Error500}}
	a, b := lengths(t, cfg, 30), lengths(t, cfg, 30)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different outputs:\n%v\n%v", a, b)
	}
	cfg.Seed = 43
	if c := lengths(t, cfg, 30); slices.Equal(a, c) {
		t.Fatalf("different seeds, same outputs: %v", a)
	}
	distinct := map[int]bool{}
	for _, n := range a {
		if n > 0 && (n < 8 || n > 24) {
			t.Errorf("length %d outside [8, 24]", n)
		}
		distinct[n] = true
	}
	if len(distinct) < 5 {
		t.Errorf("lengths barely vary: %v", a)
	}
}

func TestSampledLengthBounds(t *testing.T) {
	for _, tc := range []struct {
		n      int
		j      float64
		lo, hi int
	}{
		{16, 0, 16, 16},
		{16, 0.5, 8, 24},
		{10, 0.3, 7, 13},
		{10, 0.25, 8, 12},
		{4, 2, 1, 12},
		{1, 0.5, 1, 1},
		{0, 0.5, 8, 24}, // default 16
	} {
		s := New(Config{OutputTokens: tc.n, OutputJitter: tc.j})
		if s.lenLo != tc.lo || s.lenHi != tc.hi {
			t.Errorf("OutputTokens %d jitter %v: [%d, %d], want [%d, %d]", tc.n, tc.j, s.lenLo, s.lenHi, tc.lo, tc.hi)
		}
	}
}

func TestConcurrentRequests(t *testing.T) {
	ts, s := Start(Config{OutputTokens: 8, Capacity: 3, ITL: 200 * time.Microsecond})
	defer ts.Close()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			res := postStream(t, ts.URL, reqBody("a b", true, true, ""))
			if res.err != nil {
				t.Error(res.err)
				return
			}
			if _, n, _, _ := checkStream(t, res.events, "m1"); n != 8 {
				t.Errorf("n = %d", n)
			}
		})
	}
	wg.Wait()
	if st := s.Stats(); st.Requests != 20 || st.MaxActive > 3 || st.MaxActive < 1 || st.Active != 0 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- ListenAndServe(ctx, "127.0.0.1:0", Config{OutputTokens: 2}, func(a net.Addr) { addrc <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatal(err)
	}
	res := postStream(t, "http://"+addr.String(), reqBody("x", true, false, ""))
	if _, n, _, _ := checkStream(t, res.events, "m1"); n != 2 {
		t.Errorf("n = %d", n)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("ListenAndServe returned %v", err)
	}
	if err := ListenAndServe(context.Background(), "127.0.0.1:0", Config{ErrorRate: 2}, nil); err == nil {
		t.Error("invalid config accepted")
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{TTFT: -1}, {ITL: -1}, {PrefillPerToken: -1}, {OutputTokens: -1}, {OutputJitter: -0.1},
		{Capacity: -1}, {ErrorRate: 1.5}, {ErrorRate: -0.1}, {ErrorKinds: []ErrorKind{"404"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", cfg)
				}
			}()
			New(cfg)
		}()
	}
}

// ---------------------------------------------------------------------------
// Units

func TestCountStringWords(t *testing.T) {
	for _, s := range []string{
		"", " ", "one", "one two", "  lead and trail  ", "tab\tnew\nline\r\nform\ffeed\vvt",
		"non\u00a0breaking\u2003em\u3000ideo", "quote\"s and \\ back\\slash", "naïve café 日本語",
		"ctl\x01x\x08y", "\u0085nel", "a\u2028b",
	} {
		lit, _ := json.Marshal(s)
		if got, want := countStringWords(lit), len(strings.Fields(s)); got != want {
			t.Errorf("%q (%s): %d words, want %d", s, lit, got, want)
		}
	}
	// Escapes that json.Marshal does not produce.
	for lit, want := range map[string]int{`"a\u0020b"`: 2, `"a\u00A0b"`: 2, `"a\/b"`: 1, `"x\u0009y\u000Bz"`: 3, `"\ud83d\ude00 z"`: 2} {
		if got := countStringWords([]byte(lit)); got != want {
			t.Errorf("%s: %d words, want %d", lit, got, want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"sim-model", `a"b\c`, "tab\tnl\n\x00\x1f", "ünï 日本", "bad\xffutf8", "<&>", "\u2028"} {
		lit := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(lit, &back); err != nil {
			t.Errorf("%q -> %s: %v", s, lit, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("%q -> %s -> %q", s, lit, back)
		}
	}
}

func TestPromptTokensFromParts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{})
		body := `{"messages":[{"role":"user","content":"one two"},{"role":"assistant","content":null,"tool_calls":[]},` +
			`{"role":"user","content":[{"type":"text","text":"three four five"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"six"}]},` +
			`{"role":"user"}]}`
		// Run twice: the second decode reuses pooled memory.
		for range 2 {
			res := <-serve(s, nil, body)
			c := parseChunk(t, string(res.w.all))
			if c.Usage == nil || c.Usage.PromptTokens != 6 || c.Model != "sim-model" {
				t.Fatalf("body %s", res.w.all)
			}
		}
		res := <-serve(s, nil, `{"messages":[{"role":"user"}]}`)
		if c := parseChunk(t, string(res.w.all)); c.Usage.PromptTokens != 0 {
			t.Fatalf("message without content counted %d tokens", c.Usage.PromptTokens)
		}
	})
}

// TestPreciseWaitNeverEarly checks, in real time, that the waiter never
// returns before its deadline. It only logs how late it was: lateness depends
// on the machine.
func TestPreciseWaitNeverEarly(t *testing.T) {
	wt := waiter{fine: fineWait}
	defer wt.stop()
	var worst time.Duration
	for _, d := range []time.Duration{0, 50 * time.Microsecond, 700 * time.Microsecond, 2 * time.Millisecond, 3500 * time.Microsecond} {
		for range 5 {
			deadline := time.Now().Add(d)
			if !wt.until(deadline) {
				t.Fatal("wait reported cancellation")
			}
			late := time.Since(deadline)
			if late < 0 {
				t.Fatalf("returned %v before the deadline", -late)
			}
			worst = max(worst, late)
		}
	}
	t.Logf("worst lateness %v", worst)

	done := make(chan struct{})
	close(done)
	wt2 := waiter{done: done, fine: fineWait}
	defer wt2.stop()
	if wt2.until(time.Now().Add(time.Hour)) {
		t.Error("wait ignored cancellation")
	}
}

// ---------------------------------------------------------------------------
// Benchmark

// discardFlusher is a ResponseWriter that discards output.
type discardFlusher struct {
	h      http.Header
	writes int
}

func (d *discardFlusher) Header() http.Header         { return d.h }
func (d *discardFlusher) WriteHeader(int)             {}
func (d *discardFlusher) Write(b []byte) (int, error) { d.writes++; return len(b), nil }
func (d *discardFlusher) Flush()                      {}

// BenchmarkServeStreamZeroDelay measures the handler's cost for one streamed
// 16-token response with usage and no delays.
func BenchmarkServeStreamZeroDelay(b *testing.B) {
	s := New(Config{})
	body := []byte(reqBody("Say something about the weather in Paris today", true, true, ""))
	rd := bytes.NewReader(body)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", rd)
	w := &discardFlusher{h: http.Header{}}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		clear(w.h)
		s.ServeHTTP(w, req)
	}
	if w.writes != n {
		b.Fatalf("%d writes for %d responses", w.writes, n)
	}
}

func TestTransportInSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{TTFT: 100 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 4, TimersOnly: true})
		c := &http.Client{Transport: Transport(s)}
		start := time.Now()
		resp, err := c.Post("http://sim/v1/chat/completions", "application/json", strings.NewReader(reqBody("a b c", true, true, "")))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		br := bufio.NewReader(resp.Body)
		var times []time.Duration
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				break
			}
			if strings.Contains(line, `"content":"`) && !strings.Contains(line, `"content":""`) {
				times = append(times, time.Since(start))
			}
		}
		want := []time.Duration{100 * time.Millisecond, 110 * time.Millisecond, 120 * time.Millisecond, 130 * time.Millisecond}
		if fmt.Sprint(times) != fmt.Sprint(want) {
			t.Errorf("token times on the fake clock: got %v, want %v", times, want)
		}

		// A drop ends the body with io.ErrUnexpectedEOF; a canceled request
		// with the context's error.
		s2 := New(Config{OutputTokens: 6, ErrorRate: 1, ErrorKinds: []ErrorKind{ErrorDropMidStream}, TimersOnly: true})
		resp2, err := (&http.Client{Transport: Transport(s2)}).Post("http://sim/v1/chat/completions", "application/json", strings.NewReader(reqBody("x", true, false, "")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp2.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("drop: got %v, want io.ErrUnexpectedEOF", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://sim/v1/chat/completions", strings.NewReader(reqBody("x", true, false, "")))
		resp3, err := (&http.Client{Transport: Transport(s)}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp3.Body); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("timeout: got %v, want context.DeadlineExceeded", err)
		}
	})
}
