package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ollamaProtocol is Ollama's native API, shaped like its API reference
// (https://github.com/ollama/ollama/blob/main/docs/api.md):
//
//   - POST …/api/generate {"model", "prompt", "system", "stream",
//     "options": {"num_predict"}}: the prompt is the words of prompt and
//     system;
//   - POST …/api/chat {"model", "messages": [{"role", "content"}], "stream",
//     "options": {"num_predict"}}: the prompt is the words of every
//     message's content.
//
// The output is limited by options.num_predict when positive. Ollama
// streams unless "stream" is false: newline-delimited JSON
// (application/x-ndjson), one line per token, {"model","created_at",
// "response":"<token>","done":false} (chat: "message":{"role":"assistant",
// "content":"<token>"}), then a final line with "done":true, "done_reason"
// ("stop" or "length") and the metrics total_duration, prompt_eval_count,
// prompt_eval_duration, eval_count and eval_duration (nanoseconds; as in
// Ollama, a metric that is zero is left out, and so is load_duration, the
// model being always loaded). A non-streaming response is the final line's
// object holding the whole text, as application/json; charset=utf-8.
// created_at is the time the response starts, in RFC 3339 with
// nanoseconds, the same on every line. Config.NoUsage leaves out the
// counts. Errors are {"error": "…"} with the HTTP status (and, as a line
// of the stream, the in-stream error event); a dropped response breaks the
// connection after about half of the lines.
type ollamaProtocol struct{ chat bool }

func init() {
	routers = append(routers, func(path string) protocol {
		switch {
		case strings.HasSuffix(path, "/api/generate"):
			return ollamaProtocol{}
		case strings.HasSuffix(path, "/api/chat"):
			return ollamaProtocol{chat: true}
		}
		return nil
	})
}

// ollamaRequest holds the fields of a generate or chat request the server
// uses.
type ollamaRequest struct {
	Model    string          `json:"model"`
	Prompt   json.RawMessage `json:"prompt"`
	System   json.RawMessage `json:"system"`
	Messages []ollamaMessage `json:"messages"`
	Stream   *bool           `json:"stream"`
	Options  struct {
		NumPredict float64 `json:"num_predict"` // Ollama accepts any JSON number here
	} `json:"options"`
}

type ollamaMessage struct {
	Content json.RawMessage `json:"content"`
}

// ollamaScratch is reusable decoding memory.
type ollamaScratch struct {
	req    ollamaRequest
	stream bool // what req.Stream points to: true unless the request says otherwise
}

var ollamaScratchPool = sync.Pool{New: func() any { return new(ollamaScratch) }}

func (o ollamaProtocol) decode(st *reqState, _ *http.Request) (request, error) {
	sc := ollamaScratchPool.Get().(*ollamaScratch)
	defer func() {
		if len(sc.req.Messages) > 1024 {
			sc.req.Messages = nil
		}
		ollamaScratchPool.Put(sc)
	}()
	// encoding/json reuses slices without clearing them and leaves absent
	// fields alone: reset everything, keeping the buffers.
	msgs := sc.req.Messages[:cap(sc.req.Messages)]
	for i := range msgs {
		msgs[i].Content = msgs[i].Content[:0]
	}
	sc.stream = true
	sc.req = ollamaRequest{Prompt: sc.req.Prompt[:0], System: sc.req.System[:0], Messages: msgs[:0], Stream: &sc.stream}
	if err := json.Unmarshal(st.body, &sc.req); err != nil {
		return request{}, err
	}
	prompt := 0
	if o.chat {
		for i := range sc.req.Messages {
			n, err := ollamaWords(sc.req.Messages[i].Content)
			if err != nil {
				return request{}, fmt.Errorf("messages[%d].content: %w", i, err)
			}
			prompt += n
		}
	} else {
		for _, f := range []struct {
			name string
			raw  json.RawMessage
		}{{"prompt", sc.req.Prompt}, {"system", sc.req.System}} {
			n, err := ollamaWords(f.raw)
			if err != nil {
				return request{}, fmt.Errorf("%s: %w", f.name, err)
			}
			prompt += n
		}
	}
	limit := 0
	if np := sc.req.Options.NumPredict; np >= 1 && np < 1<<31 {
		limit = int(np)
	}
	return request{
		model:  sc.req.Model,
		prompt: prompt,
		limit:  limit,
		stream: sc.req.Stream == nil || *sc.req.Stream, // null, like absent, streams
		usage:  true,
	}, nil
}

// ollamaWords counts the words of a string value (null or absent: none).
func ollamaWords(raw json.RawMessage) (int, error) {
	for len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t' || raw[0] == '\n' || raw[0] == '\r') {
		raw = raw[1:]
	}
	switch {
	case len(raw) == 0 || raw[0] == 'n':
		return 0, nil
	case raw[0] == '"':
		return countStringWords(raw), nil
	}
	return 0, errors.New("must be a string")
}

// Pre-built pieces of the wire format. A line is ollamaHead + a tail, the
// head {"model":…,"created_at":"…", being built once per request.
var (
	ollamaGenerateTails = ollamaTails(`"response":"`, `","done":false}`+"\n")
	ollamaChatTails     = ollamaTails(`"message":{"role":"assistant","content":"`, `"},"done":false}`+"\n")

	hdrOllamaNDJSON = []string{"application/x-ndjson"}
	hdrOllamaJSON   = []string{"application/json; charset=utf-8"}
)

func ollamaTails(before, after string) [][]byte {
	t := make([][]byte, len(words))
	for i, w := range words {
		t[i] = []byte(before + w + after)
	}
	return t
}

// reject answers with Ollama's error body, {"error": msg}.
func (ollamaProtocol) reject(w http.ResponseWriter, code int, _, msg string) {
	b := make([]byte, 0, 16+len(msg))
	b = append(b, `{"error":`...)
	b = appendJSONString(b, msg)
	b = append(b, '}')
	ollamaWrite(w, code, b)
}

func ollamaWrite(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrOllamaJSON
	h["Content-Length"] = []string{itoa(len(body))}
	w.WriteHeader(code)
	w.Write(body)
}

func (o ollamaProtocol) respond(w http.ResponseWriter, st *reqState, p *plan) {
	b := append(st.head[:0], `{"model":`...)
	b = appendJSONString(b, p.model)
	b = append(b, `,"created_at":"`...)
	b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
	st.head = append(b, `",`...)
	if p.stream {
		o.serveStream(w, st, p)
	} else {
		o.serveJSON(w, st, p)
	}
}

// serveStream sends an NDJSON response on the plan's schedule.
func (o ollamaProtocol) serveStream(w http.ResponseWriter, st *reqState, p *plan) {
	w.Header()["Content-Type"] = hdrOllamaNDJSON
	w.WriteHeader(http.StatusOK)
	out := newOutput(w, st)
	tails := ollamaGenerateTails
	if o.chat {
		tails = ollamaChatTails
	}
	if !out.tokens(p, func(i int) {
		out.b = append(out.b, st.head...)
		out.b = append(out.b, tails[i%len(tails)]...)
	}) {
		return
	}
	out.b = append(out.b, st.head...)
	if o.chat {
		out.b = append(out.b, `"message":{"role":"assistant","content":""},"done_reason":"`...)
		out.b = append(out.b, p.finish...)
		out.b = append(out.b, `","done":true`...)
	} else {
		out.b = append(out.b, `"response":"","done":true,"done_reason":"`...)
		out.b = append(out.b, p.finish...)
		out.b = append(out.b, '"')
	}
	out.b = o.appendMetrics(out.b, p)
	out.b = append(out.b, "}\n"...)
	out.flush()
}

// serveJSON sends a non-streaming response at the time of the last token.
func (o ollamaProtocol) serveJSON(w http.ResponseWriter, st *reqState, p *plan) {
	if !p.waitWhole(w) {
		return
	}
	b := append(st.out[:0], st.head...)
	if o.chat {
		b = append(b, `"message":{"role":"assistant","content":"`...)
	} else {
		b = append(b, `"response":"`...)
	}
	for i := 0; i < p.n; i++ {
		b = append(b, words[i%len(words)]...)
	}
	if o.chat {
		b = append(b, `"},"done_reason":"`...)
		b = append(b, p.finish...)
		b = append(b, `","done":true`...)
	} else {
		b = append(b, `","done":true,"done_reason":"`...)
		b = append(b, p.finish...)
		b = append(b, '"')
	}
	b = o.appendMetrics(b, p)
	b = append(b, '}')
	st.out = b
	p.sendWhole(w, hdrOllamaJSON, b)
}

// streamFault: a line cut short, or Ollama's {"error": …} line.
func (o ollamaProtocol) streamFault(b []byte, st *reqState, _ *plan, kind ErrorKind) ([]byte, bool) {
	switch kind {
	case ErrorMalformed:
		return append(append(b, st.head...), "\"response\":\n"...), true
	case ErrorEvent:
		return append(b, `{"error":"an error was encountered while running the model: simulated failure"}`+"\n"...), true
	}
	return b, false
}

func (o ollamaProtocol) bigEvent(st *reqState, _ *plan) bigEvent {
	pre, post := `"response":"`, `","done":false}`+"\n"
	if o.chat {
		pre, post = `"message":{"role":"assistant","content":"`, `"},"done":false}`+"\n"
	}
	return bigEvent{pre: append(bytes.Clone(st.head), pre...), post: []byte(post)}
}

// appendMetrics appends Ollama's metrics, each with a leading comma, leaving
// out those that are zero (and the counts when usage is off).
func (ollamaProtocol) appendMetrics(b []byte, p *plan) []byte {
	metric := func(b []byte, key string, v int64) []byte {
		if v <= 0 {
			return b
		}
		b = append(b, key...)
		return strconv.AppendInt(b, v, 10)
	}
	b = metric(b, `,"total_duration":`, int64(time.Since(p.t0)))
	if p.usage {
		b = metric(b, `,"prompt_eval_count":`, int64(p.prompt))
	}
	b = metric(b, `,"prompt_eval_duration":`, int64(p.ttft))
	if p.usage {
		b = metric(b, `,"eval_count":`, int64(p.n))
	}
	return metric(b, `,"eval_duration":`, int64(time.Duration(p.n-1)*p.itl))
}
