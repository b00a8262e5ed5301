package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The shapes checked here are those of the official references:
// https://platform.claude.com/docs/en/api/messages (the Message object),
// https://platform.claude.com/docs/en/build-with-claude/streaming (the event
// flow) and https://platform.claude.com/docs/en/api/errors (error bodies).

func anthBody(system, prompt string, stream bool, extra string) string {
	b := `{"model":"claude-sim","max_tokens":1024,"messages":[{"role":"user","content":` + jsonString(prompt) + `}]`
	if system != "" {
		b += `,"system":` + jsonString(system)
	}
	if stream {
		b += `,"stream":true`
	}
	return b + extra + "}"
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// anthEvent is one SSE event of a Messages stream.
type anthEvent struct {
	name string
	data string
}

// anthStreamEvent is the union of the stream events' fields.
type anthStreamEvent struct {
	Type    string          `json:"type"`
	Index   *int            `json:"index"`
	Message *anthMessage    `json:"message"`
	Block   json.RawMessage `json:"content_block"`
	Delta   struct {
		Type         string  `json:"type"`
		Text         *string `json:"text"`
		Thinking     *string `json:"thinking"`
		Signature    *string `json:"signature"`
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage *anthUsage `json:"usage"`
}

type anthMessage struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Content      []struct {
		Type      string  `json:"type"`
		Text      *string `json:"text"`
		Thinking  *string `json:"thinking"`
		Signature *string `json:"signature"`
	} `json:"content"`
	Usage *anthUsage `json:"usage"`
}

type anthUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
}

// parseAnthStream splits an SSE body into events, checking that every event
// has an event name matching its data's type.
func parseAnthStream(t *testing.T, body string) []anthEvent {
	t.Helper()
	var evs []anthEvent
	for _, raw := range strings.Split(body, "\n\n") {
		if raw == "" {
			continue
		}
		lines := strings.Split(raw, "\n")
		name, ok1 := strings.CutPrefix(lines[0], "event: ")
		if len(lines) != 2 {
			t.Fatalf("event %q: want an event line and a data line", raw)
		}
		data, ok2 := strings.CutPrefix(lines[1], "data: ")
		if !ok1 || !ok2 {
			t.Fatalf("malformed event %q", raw)
		}
		var e anthStreamEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("event %q: %v", raw, err)
		}
		if e.Type != name {
			t.Fatalf("event %q: name %q, data type %q", raw, name, e.Type)
		}
		evs = append(evs, anthEvent{name, data})
	}
	return evs
}

func decodeAnth(t *testing.T, data string) anthStreamEvent {
	t.Helper()
	var e anthStreamEvent
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// anthStreamSummary is what checkAnthStream found in a complete stream.
type anthStreamSummary struct {
	id, model        string
	input, output    int
	thinking, text   string
	thinkingN, textN int // delta events
	stopReason       string
}

// checkAnthStream verifies the event flow of a complete stream.
func checkAnthStream(t *testing.T, evs []anthEvent) anthStreamSummary {
	t.Helper()
	var s anthStreamSummary
	i := 0
	next := func(name string) anthStreamEvent {
		t.Helper()
		if i >= len(evs) || evs[i].name != name {
			t.Fatalf("event %d: got %v, want %s", i, evs[min(i, len(evs)-1)], name)
		}
		i++
		return decodeAnth(t, evs[i-1].data)
	}
	start := next("message_start")
	m := start.Message
	if m == nil || !strings.HasPrefix(m.ID, "msg_") || m.Type != "message" || m.Role != "assistant" || len(m.Content) != 0 ||
		m.StopReason != nil || m.StopSequence != nil || m.Usage == nil || m.Usage.OutputTokens == nil || *m.Usage.OutputTokens != 1 ||
		m.Usage.CacheReadInputTokens == nil || *m.Usage.CacheReadInputTokens != 0 ||
		m.Usage.CacheCreationInputTokens == nil || *m.Usage.CacheCreationInputTokens != 0 {
		t.Fatalf("bad message_start %s", evs[0].data)
	}
	if !strings.Contains(evs[0].data, `"stop_reason":null,"stop_sequence":null`) {
		t.Errorf("message_start lacks null stop_reason/stop_sequence: %s", evs[0].data)
	}
	s.id, s.model, s.input = m.ID, m.Model, *m.Usage.InputTokens
	block := 0
	first := next("content_block_start")
	if *first.Index != 0 {
		t.Fatalf("first block index %d", *first.Index)
	}
	next("ping")
	if strings.Contains(string(first.Block), `"thinking"`) {
		for i < len(evs) && evs[i].name == "content_block_delta" {
			d := next("content_block_delta")
			if *d.Index != 0 {
				t.Fatalf("thinking delta index %d", *d.Index)
			}
			if d.Delta.Type == "signature_delta" {
				if d.Delta.Signature == nil || *d.Delta.Signature == "" {
					t.Fatalf("empty signature %v", evs[i-1])
				}
				break
			}
			if d.Delta.Type != "thinking_delta" || d.Delta.Thinking == nil {
				t.Fatalf("bad thinking delta %v", evs[i-1])
			}
			s.thinking += *d.Delta.Thinking
			s.thinkingN++
		}
		if stop := next("content_block_stop"); *stop.Index != 0 {
			t.Fatalf("thinking stop index %d", *stop.Index)
		}
		block = 1
		if tb := next("content_block_start"); *tb.Index != 1 || string(tb.Block) != `{"type":"text","text":""}` {
			t.Fatalf("bad text block start %v", evs[i-1])
		}
	} else if string(first.Block) != `{"type":"text","text":""}` {
		t.Fatalf("bad text block start %s", first.Block)
	}
	for i < len(evs) && evs[i].name == "content_block_delta" {
		d := next("content_block_delta")
		if *d.Index != block || d.Delta.Type != "text_delta" || d.Delta.Text == nil || *d.Delta.Text == "" {
			t.Fatalf("bad text delta %v", evs[i-1])
		}
		s.text += *d.Delta.Text
		s.textN++
	}
	if stop := next("content_block_stop"); *stop.Index != block {
		t.Fatalf("text stop index %d", *stop.Index)
	}
	md := next("message_delta")
	if md.Delta.StopReason == nil || md.Usage == nil || md.Usage.OutputTokens == nil ||
		!strings.Contains(evs[i-1].data, `"stop_sequence":null`) {
		t.Fatalf("bad message_delta %v", evs[i-1])
	}
	s.stopReason, s.output = *md.Delta.StopReason, *md.Usage.OutputTokens
	next("message_stop")
	if i != len(evs) {
		t.Fatalf("events after message_stop: %v", evs[i:])
	}
	return s
}

func postAnth(t *testing.T, url, body string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := http.Post(url+"/v1/messages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestAnthropicStream(t *testing.T) {
	ts, _ := Start(Config{OutputTokens: 12})
	defer ts.Close()
	for _, tc := range []struct {
		name, extra      string
		n, thinking      int
		stop             string
		system           string
		wantInput        int
		wantContentStart string
	}{
		{name: "plain", n: 12, stop: "end_turn", system: "Be brief and kind.", wantInput: 3 + 4},
		{name: "max_tokens", extra: `,"max_tokens":5`, n: 5, stop: "max_tokens", wantInput: 3},
		{name: "max_tokens above length", extra: `,"max_tokens":12`, n: 12, stop: "max_tokens", wantInput: 3},
		{name: "thinking", extra: `,"thinking":{"type":"enabled","budget_tokens":1024}`, n: 12, thinking: 3, stop: "end_turn", wantInput: 3},
		{name: "adaptive thinking, max tokens", extra: `,"thinking":{"type":"adaptive"},"max_tokens":2`, n: 2, thinking: 1,
			stop: "max_tokens", wantInput: 3},
		{name: "thinking disabled", extra: `,"thinking":{"type":"disabled"}`, n: 12, stop: "end_turn", wantInput: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := postAnth(t, ts.URL, anthBody(tc.system, "tell me more", true, tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" ||
				!strings.HasPrefix(resp.Header.Get("Request-Id"), "req_") {
				t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
			}
			s := checkAnthStream(t, parseAnthStream(t, string(body)))
			if s.model != "claude-sim" || s.input != tc.wantInput || s.output != tc.n || s.stopReason != tc.stop {
				t.Errorf("model %q input %d output %d stop %q; want claude-sim, %d, %d, %q", s.model, s.input, s.output,
					s.stopReason, tc.wantInput, tc.n, tc.stop)
			}
			if s.thinkingN != tc.thinking || len(strings.Fields(s.thinking)) != tc.thinking {
				t.Errorf("thinking: %d deltas %q, want %d", s.thinkingN, s.thinking, tc.thinking)
			}
			if want := tc.n - tc.thinking; s.textN != want || len(strings.Fields(s.text)) != want ||
				!strings.HasPrefix(s.text, words[0]) {
				t.Errorf("text: %d deltas %q, want %d words from %q", s.textN, s.text, want, words[0])
			}
		})
	}
}

func TestAnthropicNonStream(t *testing.T) {
	ts, _ := Start(Config{OutputTokens: 9, Model: "default-model"})
	defer ts.Close()
	for _, tc := range []struct {
		name, body string
		model      string
		n, think   int
		stop       string
		input      int
	}{
		{name: "plain", body: anthBody("", "what is the answer", false, ""), model: "claude-sim", n: 9, stop: "end_turn", input: 4},
		{name: "max_tokens", body: anthBody("sys", "x", false, `,"max_tokens":3`), model: "claude-sim", n: 3, stop: "max_tokens", input: 2},
		{name: "thinking", body: anthBody("", "x", false, `,"thinking":{"type":"enabled","budget_tokens":2000}`),
			model: "claude-sim", n: 9, think: 2, stop: "end_turn", input: 1},
		{name: "blocks and no model", body: `{"max_tokens":100,"system":[{"type":"text","text":"be brief"}],"messages":[` +
			`{"role":"user","content":[{"type":"text","text":"describe\tthis"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"x y z"}}]},` +
			`{"role":"assistant","content":"it is"},{"role":"user","content":[{"type":"text","text":"more"}]}]}`,
			model: "default-model", n: 9, stop: "end_turn", input: 2 + 2 + 2 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := postAnth(t, ts.URL, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			for _, k := range []string{"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("body lacks %q: %s", k, body)
				}
			}
			var m anthMessage
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(m.ID, "msg_") || m.Type != "message" || m.Role != "assistant" || m.Model != tc.model ||
				m.StopReason == nil || *m.StopReason != tc.stop || m.StopSequence != nil {
				t.Errorf("bad message fields: %s", body)
			}
			u := m.Usage
			if u == nil || *u.InputTokens != tc.input || *u.OutputTokens != tc.n || *u.CacheReadInputTokens != 0 ||
				*u.CacheCreationInputTokens != 0 {
				t.Errorf("usage %s, want input %d output %d", raw["usage"], tc.input, tc.n)
			}
			blocks := m.Content
			if tc.think > 0 {
				if len(blocks) != 2 || blocks[0].Type != "thinking" || blocks[0].Thinking == nil ||
					len(strings.Fields(*blocks[0].Thinking)) != tc.think || blocks[0].Signature == nil {
					t.Fatalf("bad thinking block: %s", body)
				}
				blocks = blocks[1:]
			}
			if len(blocks) != 1 || blocks[0].Type != "text" || blocks[0].Text == nil ||
				len(strings.Fields(*blocks[0].Text)) != tc.n-tc.think {
				t.Errorf("bad text block: %s", body)
			}
		})
	}
}

func TestAnthropicErrors(t *testing.T) {
	check := func(t *testing.T, resp *http.Response, body []byte, code int, typ string) {
		t.Helper()
		var e struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
			RequestID string `json:"request_id"`
		}
		if resp.StatusCode != code || json.Unmarshal(body, &e) != nil || e.Type != "error" || e.Error.Type != typ ||
			e.Error.Message == "" || !strings.HasPrefix(e.RequestID, "req_") || resp.Header.Get("Request-Id") != e.RequestID {
			t.Errorf("status %d body %s headers %v; want %d %s", resp.StatusCode, body, resp.Header, code, typ)
		}
	}
	t.Run("429", func(t *testing.T) {
		ts, _ := Start(Config{ErrorRate: 1, ErrorKinds: []ErrorKind{Error429}})
		defer ts.Close()
		resp, body, _ := postAnth(t, ts.URL, anthBody("", "x", true, ""))
		check(t, resp, body, 429, "rate_limit_error")
		if resp.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	})
	t.Run("500", func(t *testing.T) {
		ts, _ := Start(Config{ErrorRate: 1, ErrorKinds: []ErrorKind{Error500}})
		defer ts.Close()
		resp, body, _ := postAnth(t, ts.URL, anthBody("", "x", false, ""))
		check(t, resp, body, 500, "api_error")
	})
	t.Run("bad requests", func(t *testing.T) {
		ts, s := Start(Config{})
		defer ts.Close()
		for _, body := range []string{`{"messages":[`, `{"messages":[{"role":"user","content":42}]}`,
			`{"messages":[],"system":7}`, `{"max_tokens":"many"}`, `{"thinking":"on"}`} {
			resp, b, _ := postAnth(t, ts.URL, body)
			check(t, resp, b, 400, "invalid_request_error")
		}
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/messages", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		check(t, resp, b, 405, "invalid_request_error")
		if st := s.Stats(); st.Errors != 6 || st.Requests != 6 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("kinds", func(t *testing.T) {
		for _, tc := range []struct {
			code       int
			kind, want string
		}{{404, "not_found", "not_found_error"}, {413, "invalid_request", "request_too_large"}, {500, "other", "api_error"}} {
			w := httptest.NewRecorder()
			(&anthropicProtocol{}).reject(w, tc.code, tc.kind, "m")
			check(t, w.Result(), w.Body.Bytes(), tc.code, tc.want)
		}
	})
	t.Run("drop", func(t *testing.T) {
		ts, s := Start(Config{OutputTokens: 10, ErrorRate: 1, ErrorKinds: []ErrorKind{ErrorDropMidStream}})
		defer ts.Close()
		resp, err := http.Post(ts.URL+"/v1/messages", "application/json", strings.NewReader(anthBody("", "x", true, "")))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				names = append(names, n)
			}
		}
		resp.Body.Close()
		if sc.Err() == nil {
			t.Error("dropped stream ended cleanly")
		}
		deltas := strings.Count(strings.Join(names, " "), "content_block_delta")
		if deltas != 5 || names[len(names)-1] != "content_block_delta" {
			t.Errorf("dropped stream events %q, want 5 deltas and nothing after", names)
		}
		if _, err := http.Post(ts.URL+"/v1/messages", "application/json", strings.NewReader(anthBody("", "x", false, ""))); err == nil {
			t.Error("non-streaming drop returned a response")
		}
		if st := s.Stats(); st.Errors != 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestAnthropicNoUsage(t *testing.T) {
	ts, _ := Start(Config{OutputTokens: 3, NoUsage: true})
	defer ts.Close()
	for _, stream := range []bool{false, true} {
		_, body, err := postAnth(t, ts.URL, anthBody("", "x", stream, ""))
		if err != nil || bytes.Contains(body, []byte("usage")) || !bytes.Contains(body, []byte("end_turn")) {
			t.Errorf("stream %v: body %s (error %v), want no usage", stream, body, err)
		}
	}
}

// anthServe runs one Messages request through s.ServeHTTP in a new
// goroutine (see serveTo).
func anthServe(s *Server, ctx context.Context, body string) <-chan served {
	tw := newTimedWriter()
	ch := make(chan served, 1)
	r := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(body))
	if ctx != nil {
		r = r.WithContext(ctx)
	}
	go func() {
		res := served{w: tw}
		defer func() {
			res.panic = recover()
			res.end = time.Since(tw.start)
			ch <- res
		}()
		s.ServeHTTP(tw, r)
	}()
	return ch
}

func TestAnthropicStreamSchedule(t *testing.T) {
	for _, thinking := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			cfg := Config{TTFT: 100 * time.Millisecond, PrefillPerToken: time.Millisecond, ITL: 20 * time.Millisecond, OutputTokens: 8}
			s := newFake(cfg)
			extra := ""
			if thinking {
				extra = `,"thinking":{"type":"enabled","budget_tokens":1024}`
			}
			res := <-anthServe(s, nil, anthBody("a b", "c", true, extra))
			if res.panic != nil {
				t.Fatal(res.panic)
			}
			w := res.w
			ttft, ttlt := cfg.Truth(3, 8)
			if len(w.flushes) != 1+8 {
				t.Fatalf("%d flushes, want 9", len(w.flushes))
			}
			if f := w.flushes[0]; f.at != 0 || !strings.HasPrefix(f.data, "event: message_start") ||
				!strings.HasSuffix(f.data, string(anthPing)) || strings.Contains(f.data, "delta") {
				t.Errorf("first flush at %v = %q, want message_start, content_block_start and ping at 0", f.at, f.data)
			}
			k := 0
			if thinking {
				k = 2
			}
			for i := range 8 {
				f := w.flushes[i+1]
				if want := ttft + time.Duration(i)*cfg.ITL; f.at != want {
					t.Errorf("token %d flushed at %v, want %v", i, f.at, want)
				}
				kind := "text_delta"
				if i < k {
					kind = "thinking_delta"
				}
				if !strings.Contains(f.data, `"type":"`+kind+`"`) {
					t.Errorf("token %d: flush %q, want a %s", i, f.data, kind)
				}
			}
			last := w.flushes[8].data
			if !strings.HasSuffix(last, string(anthMessageStop)) || !strings.Contains(last, `"output_tokens":8`) {
				t.Errorf("last flush %q, want message_delta and message_stop", last)
			}
			if res.end != ttlt {
				t.Errorf("handler returned at %v, want %v", res.end, ttlt)
			}
			if evs := parseAnthStream(t, string(w.all)); checkAnthStream(t, evs).textN != 8-k {
				t.Errorf("text deltas, want %d", 8-k)
			}
		})
	}
}

func TestAnthropicNonStreamArrivesAtTTLT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{TTFT: 200 * time.Millisecond, ITL: 30 * time.Millisecond, OutputTokens: 7}
		s := newFake(cfg)
		res := <-anthServe(s, nil, anthBody("", "a b", false, ""))
		_, ttlt := cfg.Truth(2, 7)
		if len(res.w.writes) != 1 || res.w.writes[0].at != ttlt || res.w.code != 200 {
			t.Fatalf("writes %+v, code %d, want one at %v", res.w.writes, res.w.code, ttlt)
		}
	})
}

// TestAnthropicPooledDecode runs requests of different shapes through the
// same pooled memory.
func TestAnthropicPooledDecode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{OutputTokens: 2})
		for _, tc := range []struct {
			body  string
			input int
		}{
			{`{"system":"one two","messages":[{"role":"user","content":"three"},{"role":"user","content":[{"type":"text","text":"four five"}]}]}`, 5},
			{`{"messages":[{"role":"user","content":"x"}]}`, 1},
			{`{"system":[{"type":"text","text":"a b c"}],"messages":[{"role":"user","content":null}]}`, 3},
			{`{"messages":[{"role":"user"}]}`, 0},
		} {
			res := <-anthServe(s, nil, tc.body)
			var m anthMessage
			if err := json.Unmarshal(res.w.all, &m); err != nil || m.Usage == nil || *m.Usage.InputTokens != tc.input {
				t.Errorf("%s: body %s, want input %d", tc.body, res.w.all, tc.input)
			}
		}
	})
}

// BenchmarkServeAnthropicStreamZeroDelay measures the handler's cost for one
// streamed 16-token Messages response with no delays.
func BenchmarkServeAnthropicStreamZeroDelay(b *testing.B) {
	s := New(Config{})
	body := []byte(anthBody("You are terse.", "Say something about the weather in Paris today", true, ""))
	rd := bytes.NewReader(body)
	req := httptest.NewRequest(http.MethodPost, "/v1/messages", rd)
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
