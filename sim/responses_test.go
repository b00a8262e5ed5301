package sim

// The Responses API wire format follows OpenAI's API reference:
// https://platform.openai.com/docs/api-reference/responses (the response
// object) and https://platform.openai.com/docs/api-reference/responses-streaming
// (the stream events), with
// https://developers.openai.com/docs/guides/streaming-responses.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/openai"
)

// respWireObject is a response object as the tests read it.
type respWireObject struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	CreatedAt         int64  `json:"created_at"`
	Status            string `json:"status"`
	Error             any    `json:"error"`
	Model             string `json:"model"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output []struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Status  string `json:"status"`
		Role    string `json:"role"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
	Usage *struct {
		InputTokens        int `json:"input_tokens"`
		InputTokensDetails struct {
			CachedTokens *int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokens        int `json:"output_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens *int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
}

// text is the concatenated output_text of the message items.
func (o *respWireObject) text() string {
	var sb strings.Builder
	for _, it := range o.Output {
		for _, c := range it.Content {
			if it.Type == "message" && c.Type == "output_text" {
				sb.WriteString(c.Text)
			}
		}
	}
	return sb.String()
}

// respWireEvent is a stream event as the tests read it.
type respWireEvent struct {
	name string // the SSE event name
	raw  string // the data
	Type string `json:"type"`
	Seq  *int   `json:"sequence_number"`

	Response     *respWireObject `json:"response"`
	ItemID       string          `json:"item_id"`
	OutputIndex  *int            `json:"output_index"`
	ContentIndex *int            `json:"content_index"`
	Delta        *string         `json:"delta"`
	Text         *string         `json:"text"`
	Item         *struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Status string `json:"status"`
		Role   string `json:"role"`
	} `json:"item"`
	Part *struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"part"`
}

// respParseEvents splits an SSE body into events, each "event: <type>"
// followed by one "data: <json>" line.
func respParseEvents(t *testing.T, body string) []respWireEvent {
	t.Helper()
	var evs []respWireEvent
	for _, block := range strings.Split(body, "\n\n") {
		if block == "" {
			continue
		}
		lines := strings.Split(block, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("malformed event %q", block)
		}
		ev := respWireEvent{name: strings.TrimPrefix(lines[0], "event: "), raw: strings.TrimPrefix(lines[1], "data: ")}
		if err := json.Unmarshal([]byte(ev.raw), &ev); err != nil {
			t.Fatalf("event data %q: %v", ev.raw, err)
		}
		if ev.Type != ev.name {
			t.Fatalf("event %q has data type %q", ev.name, ev.Type)
		}
		evs = append(evs, ev)
	}
	return evs
}

func respPost(t *testing.T, url, body string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := http.Post(url+"/v1/responses", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// respCheckObject checks a final response object and returns its text.
func respCheckObject(t *testing.T, o *respWireObject, model string, prompt, n int, limited bool) string {
	t.Helper()
	wantStatus := "completed"
	if limited {
		wantStatus = "incomplete"
	}
	if o.Object != "response" || !strings.HasPrefix(o.ID, "resp_") || o.CreatedAt == 0 || o.Model != model ||
		o.Status != wantStatus || o.Error != nil {
		t.Errorf("response object: id %q object %q created_at %d model %q status %q error %v; want status %q, model %q",
			o.ID, o.Object, o.CreatedAt, o.Model, o.Status, o.Error, wantStatus, model)
	}
	switch {
	case limited && (o.IncompleteDetails == nil || o.IncompleteDetails.Reason != "max_output_tokens"):
		t.Errorf("incomplete_details: got %+v, want reason max_output_tokens", o.IncompleteDetails)
	case !limited && o.IncompleteDetails != nil:
		t.Errorf("incomplete_details: got %+v, want null", o.IncompleteDetails)
	}
	if len(o.Output) != 1 || o.Output[0].Type != "message" || o.Output[0].Role != "assistant" ||
		o.Output[0].Status != wantStatus || !strings.HasPrefix(o.Output[0].ID, "msg_") || len(o.Output[0].Content) != 1 {
		t.Errorf("output: got %+v, want one %s assistant message", o.Output, wantStatus)
	}
	text := o.text()
	if got := len(strings.Fields(text)); got != n {
		t.Errorf("output text %q has %d words, want %d", text, got, n)
	}
	u := o.Usage
	if u == nil || u.InputTokens != prompt || u.OutputTokens != n || u.TotalTokens != prompt+n ||
		u.InputTokensDetails.CachedTokens == nil || *u.InputTokensDetails.CachedTokens != 0 ||
		u.OutputTokensDetails.ReasoningTokens == nil || *u.OutputTokensDetails.ReasoningTokens != 0 {
		t.Errorf("usage: got %+v, want %d input, %d output, cached and reasoning 0", u, prompt, n)
	}
	return text
}

// respCheckStream checks the whole event sequence of a stream.
func respCheckStream(t *testing.T, evs []respWireEvent, model string, prompt, n int, limited bool) {
	t.Helper()
	final := "response.completed"
	if limited {
		final = "response.incomplete"
	}
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"}
	for range n {
		want = append(want, "response.output_text.delta")
	}
	want = append(want, "response.output_text.done", "response.content_part.done", "response.output_item.done", final)
	var got []string
	for i, ev := range evs {
		got = append(got, ev.Type)
		if ev.Seq == nil || *ev.Seq != i {
			t.Errorf("event %d (%s): sequence_number %v, want %d", i, ev.Type, ev.Seq, i)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	created := evs[0].Response
	if created == nil || created.Status != "in_progress" || created.Usage != nil || len(created.Output) != 0 ||
		!strings.HasPrefix(created.ID, "resp_") || created.Model != model {
		t.Errorf("response.created: %s", evs[0].raw)
	}
	if r := evs[1].Response; r == nil || r.ID != created.ID || r.Status != "in_progress" {
		t.Errorf("response.in_progress: %s", evs[1].raw)
	}
	item := evs[2].Item
	if item == nil || item.Type != "message" || item.Status != "in_progress" || item.Role != "assistant" ||
		!strings.HasPrefix(item.ID, "msg_") || evs[2].OutputIndex == nil || *evs[2].OutputIndex != 0 {
		t.Fatalf("response.output_item.added: %s", evs[2].raw)
	}
	isRef := func(ev respWireEvent) bool {
		return ev.ItemID == item.ID && ev.OutputIndex != nil && *ev.OutputIndex == 0 &&
			ev.ContentIndex != nil && *ev.ContentIndex == 0
	}
	if ev := evs[3]; !isRef(ev) || ev.Part == nil || ev.Part.Type != "output_text" || ev.Part.Text != "" {
		t.Errorf("response.content_part.added: %s", ev.raw)
	}
	var text string
	for _, ev := range evs[4 : 4+n] {
		if !isRef(ev) || ev.Delta == nil || len(strings.Fields(*ev.Delta)) != 1 {
			t.Errorf("delta: %s", ev.raw)
			continue
		}
		text += *ev.Delta
	}
	done := evs[4+n:]
	if !isRef(done[0]) || done[0].Text == nil || *done[0].Text != text {
		t.Errorf("response.output_text.done: %s, want text %q", done[0].raw, text)
	}
	if !isRef(done[1]) || done[1].Part == nil || done[1].Part.Text != text {
		t.Errorf("response.content_part.done: %s", done[1].raw)
	}
	if it := done[2].Item; it == nil || it.ID != item.ID || it.Status != map[bool]string{false: "completed", true: "incomplete"}[limited] {
		t.Errorf("response.output_item.done: %s", done[2].raw)
	}
	r := done[3].Response
	if r == nil {
		t.Fatalf("%s without a response: %s", final, done[3].raw)
	}
	if r.ID != created.ID || r.CreatedAt != created.CreatedAt {
		t.Errorf("%s: id %q created_at %d, want those of response.created", final, r.ID, r.CreatedAt)
	}
	if got := respCheckObject(t, r, model, prompt, n, limited); got != text {
		t.Errorf("%s text %q, want the deltas %q", final, got, text)
	}
}

func TestResponsesStreamWireFormat(t *testing.T) {
	ts, s := Start(Config{OutputTokens: 7})
	defer ts.Close()
	resp, body, err := respPost(t, ts.URL, `{"model":"gpt-5","input":"how are you today","stream":true}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" ||
		resp.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(resp.Header.Get("X-Request-Id"), "req_") {
		t.Errorf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	respCheckStream(t, respParseEvents(t, string(body)), "gpt-5", 4, 7, false)
	if st := s.Stats(); st.Requests != 1 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestResponsesNonStreamBody(t *testing.T) {
	ts, _ := Start(Config{OutputTokens: 25, Model: "my-model"})
	defer ts.Close()
	resp, body, err := respPost(t, ts.URL, `{"input":[{"role":"user","content":"what is the answer"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	for _, k := range []string{"id", "object", "created_at", "status", "error", "incomplete_details", "instructions",
		"max_output_tokens", "model", "output", "parallel_tool_calls", "previous_response_id", "reasoning", "store",
		"temperature", "text", "tool_choice", "tools", "top_p", "truncation", "usage", "user", "metadata"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("body lacks %q: %s", k, body)
		}
	}
	var o respWireObject
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	respCheckObject(t, &o, "my-model", 4, 25, false)
}

func TestResponsesMaxOutputTokens(t *testing.T) {
	ts, _ := Start(Config{OutputTokens: 10})
	defer ts.Close()
	for _, tc := range []struct {
		limit   string
		n       int
		limited bool
	}{
		{`,"max_output_tokens":4`, 4, true},
		{`,"max_output_tokens":10`, 10, true},
		{`,"max_output_tokens":11`, 10, false},
		{`,"max_output_tokens":null`, 10, false},
		{``, 10, false},
	} {
		for _, stream := range []bool{true, false} {
			_, body, err := respPost(t, ts.URL, fmt.Sprintf(`{"model":"m","input":"a b c","stream":%v%s}`, stream, tc.limit))
			if err != nil {
				t.Fatal(err)
			}
			if stream {
				respCheckStream(t, respParseEvents(t, string(body)), "m", 3, tc.n, tc.limited)
				continue
			}
			var o respWireObject
			if err := json.Unmarshal(body, &o); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			respCheckObject(t, &o, "m", 3, tc.n, tc.limited)
		}
	}
}

func TestResponsesPromptWords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(Config{OutputTokens: 2})
		for _, tc := range []struct {
			body string
			want int
		}{
			{`{"input":"one two three"}`, 3},
			{`{"input":"one\ttwo\nthree \u00a0four"}`, 4},
			{`{"instructions":"be brief","input":"hi"}`, 3},
			{`{"instructions":null,"input":null}`, 0},
			{`{}`, 0},
			{`{"input":[{"role":"user","content":"one two"},{"role":"assistant","content":null},` +
				`{"role":"user","content":[{"type":"input_text","text":"three four five"},` +
				`{"type":"input_image","image_url":"data:image/png;base64,AAAA"},{"type":"input_text","text":"six"}]},` +
				`{"type":"function_call_output","call_id":"c","output":"not counted"}]}`, 6},
			{` { "input" : [ { "content" : [ ] } , { "content" : " x " } ] } `, 1},
		} {
			// Twice: the second decode reuses pooled memory.
			for range 2 {
				w := newTimedWriter()
				r := httptest.NewRequest(http.MethodPost, "/v1/responses", strings.NewReader(tc.body))
				s.ServeHTTP(w, r)
				var o respWireObject
				if err := json.Unmarshal(w.all, &o); err != nil || o.Usage == nil {
					t.Fatalf("%s: body %s: %v", tc.body, w.all, err)
				}
				if o.Usage.InputTokens != tc.want {
					t.Errorf("%s: input_tokens %d, want %d", tc.body, o.Usage.InputTokens, tc.want)
				}
			}
		}
	})
}

func TestResponsesSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttft, itl = 100 * time.Millisecond, 10 * time.Millisecond
		s := newFake(Config{TTFT: ttft, ITL: itl, OutputTokens: 4})
		w := newTimedWriter()
		r := httptest.NewRequest(http.MethodPost, "/v1/responses", strings.NewReader(`{"input":"x","stream":true}`))
		s.ServeHTTP(w, r)
		// created and in_progress at once, then each token on schedule, the
		// closing events with the last one.
		var at []time.Duration
		var kinds [][]string
		for _, f := range w.flushes {
			if f.data == "" {
				continue
			}
			at = append(at, f.at)
			var k []string
			for _, ev := range respParseEvents(t, f.data) {
				k = append(k, ev.Type)
			}
			kinds = append(kinds, k)
		}
		wantAt := []time.Duration{0, ttft, ttft + itl, ttft + 2*itl, ttft + 3*itl}
		if fmt.Sprint(at) != fmt.Sprint(wantAt) {
			t.Fatalf("flush times %v, want %v (events %v)", at, wantAt, kinds)
		}
		if len(kinds[0]) != 2 || len(kinds[1]) != 3 || len(kinds[4]) != 5 || kinds[4][4] != "response.completed" {
			t.Errorf("events per flush: %v", kinds)
		}
	})
}

func TestResponsesBadRequests(t *testing.T) {
	ts, s := Start(Config{})
	defer ts.Close()
	bodies := []string{`{"input":`, `not json`, `{"input":42}`, `{"input":[{"content":42}]}`, `{"input":["x"]}`,
		`{"input":[{"content":[{"text":1},"x"]}]}`, `{"max_output_tokens":"many"}`, `{"instructions":{}}`}
	for _, body := range bodies {
		resp, b, err := respPost(t, ts.URL, body)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Message, Type string } `json:"error"`
		}
		if resp.StatusCode != 400 || json.Unmarshal(b, &e) != nil || e.Error.Message == "" || e.Error.Type != "invalid_request_error" {
			t.Errorf("%q: status %d body %s", body, resp.StatusCode, b)
		}
	}
	if st := s.Stats(); st.Requests != int64(len(bodies)) || st.Errors != int64(len(bodies)) {
		t.Errorf("stats %+v", st)
	}
}

// respEndpoint is the llmeter endpoint for the simulator at url.
func respEndpoint(t *testing.T, url string, stream bool) *openai.ResponsesEndpoint {
	t.Helper()
	ep, err := openai.NewResponsesEndpoint(openai.ResponsesConfig{ModelID: "sim-gpt", BaseURL: url + "/v1",
		APIKey: "sk-test", Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// TestResponsesEndpoint runs llmeter's Responses endpoint against the
// simulator: text, usage (word counts), limits and failures.
func TestResponsesEndpoint(t *testing.T) {
	payload, err := openai.CreateResponsesPayload([]string{"Tell me a joke", "about Go"}, 64, "Be funny.", nil)
	if err != nil {
		t.Fatal(err)
	}
	limited, err := openai.CreateResponsesPayload([]string{"Tell me a joke"}, 5, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		payload llmeter.Payload
		prompt  int
		n       int // output tokens; 0: no usage
		class   string
	}{
		{name: "normal", cfg: Config{OutputTokens: 12}, payload: payload, prompt: 8, n: 12},
		{name: "max_output_tokens: incomplete", cfg: Config{OutputTokens: 12}, payload: limited, prompt: 4, n: 5},
		{name: "no usage", cfg: Config{OutputTokens: 3, NoUsage: true}, payload: payload},
		{name: "429", cfg: Config{ErrorRate: 1, ErrorKinds: []ErrorKind{Error429}}, payload: payload,
			class: llmeter.ErrorClassHTTP429},
		{name: "500", cfg: Config{ErrorRate: 1, ErrorKinds: []ErrorKind{Error500}}, payload: payload,
			class: llmeter.ErrorClassHTTP5xx},
		{name: "dropped", cfg: Config{OutputTokens: 8, ErrorRate: 1, ErrorKinds: []ErrorKind{ErrorDropMidStream}},
			payload: payload, class: llmeter.ErrorClassConnection},
	} {
		for _, stream := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, stream), func(t *testing.T) {
				ts, _ := Start(tc.cfg)
				defer ts.Close()
				got := llmeter.Invoke(context.Background(), respEndpoint(t, ts.URL, stream), tc.payload)
				if got.ErrorClass != tc.class {
					t.Fatalf("ErrorClass: got %q (error %q), want %q", got.ErrorClass, got.Error, tc.class)
				}
				if tc.class != "" {
					if stream && tc.class == llmeter.ErrorClassConnection && len(strings.Fields(got.Text())) != 4 {
						t.Errorf("dropped stream: text %q, want the 4 words sent", got.Text())
					}
					return
				}
				if !strings.HasPrefix(got.ID, "resp_") {
					t.Errorf("ID: got %q, want resp_…", got.ID)
				}
				words := len(strings.Fields(got.Text()))
				if tc.n == 0 {
					if got.NumTokensInput != nil || got.NumTokensOutput != nil {
						t.Errorf("usage: got %v/%v, want none", got.NumTokensInput, got.NumTokensOutput)
					}
				} else {
					if words != tc.n {
						t.Errorf("text %q: %d words, want %d", got.Text(), words, tc.n)
					}
					if got.NumTokensInput == nil || *got.NumTokensInput != tc.prompt || got.NumTokensOutput == nil ||
						*got.NumTokensOutput != words || got.NumTokensInputCached == nil || *got.NumTokensInputCached != 0 ||
						got.NumTokensOutputReasoning == nil || *got.NumTokensOutputReasoning != 0 {
						t.Errorf("usage: got in %v out %v cached %v reasoning %v; want %d, %d, 0, 0", got.NumTokensInput,
							got.NumTokensOutput, got.NumTokensInputCached, got.NumTokensOutputReasoning, tc.prompt, words)
					}
				}
				if (got.TimeToFirstToken != nil) != stream || got.TimeToLastToken == nil {
					t.Errorf("TTFT %v, TTLT %v; want TTFT only when streaming, TTLT set", got.TimeToFirstToken, got.TimeToLastToken)
				}
				if stream && len(got.ChunkOffsets) != words {
					t.Errorf("chunks: got %d, want one per word (%d)", len(got.ChunkOffsets), words)
				}
			})
		}
	}
}

// BenchmarkServeResponsesStreamZeroDelay measures the handler's cost for one
// streamed Responses API response with no delays; allocations do not grow
// with the number of tokens.
func BenchmarkServeResponsesStreamZeroDelay(b *testing.B) {
	for _, n := range []int{16, 256} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			s := New(Config{OutputTokens: n})
			body := []byte(`{"model":"gpt-5","input":[{"role":"user","content":"Say something about the weather in Paris today"}],"stream":true}`)
			rd := bytes.NewReader(body)
			req := httptest.NewRequest(http.MethodPost, "/v1/responses", rd)
			w := &discardFlusher{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				clear(w.h)
				s.ServeHTTP(w, req)
			}
		})
	}
}
