package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The Anthropic Messages API (POST …/v1/messages; any path ending in
// /messages is accepted), in Anthropic's wire format
// (https://platform.claude.com/docs/en/api/messages,
// https://platform.claude.com/docs/en/build-with-claude/streaming,
// https://platform.claude.com/docs/en/api/errors).
//
// The request's model, messages (string or content-block contents; the
// words of text blocks count as prompt tokens), system prompt (counted too),
// max_tokens (the output limit), stream and thinking are read. A
// non-streaming response is a Message object with one text content block,
// stop_reason "end_turn" or "max_tokens" and usage (input_tokens = prompt
// words, output_tokens = output tokens, zero cache counts). A streaming
// response sends message_start, content_block_start and a ping at once, one
// content_block_delta (text_delta) per token on the schedule, then
// content_block_stop, message_delta (stop_reason and the cumulative
// output_tokens) and message_stop with the last token.
//
// When the request enables extended thinking ({"thinking": {"type":
// "enabled", …}} or "adaptive"), the first quarter of the output tokens (at
// least one when there are two or more) are thinking: a thinking block
// (thinking_delta events, then a signature_delta) comes before the text
// block, on the same schedule, and output_tokens counts both, as Anthropic
// does. The time to first visible token is then the time of token k, the
// first text token.
//
// Errors use Anthropic's shape, {"type": "error", "error": {"type": …,
// "message": …}, "request_id": …}: authentication_error (401),
// permission_error (403), rate_limit_error (429), api_error (500),
// overloaded_error (503; Anthropic itself uses 529), invalid_request_error
// (400, 405), request_too_large (413), not_found_error (404). The in-stream
// error event is "event: error" with {"type": "error", "error": {"type":
// "overloaded_error", …}}. A dropped connection breaks off the stream after
// about half of the tokens, without message_stop. Config.NoUsage drops the
// usage objects (the real API always sends them).

func init() {
	routers = append(routers, func(path string) protocol {
		if strings.HasSuffix(path, "/messages") {
			return &anthropicProtocol{}
		}
		return nil
	})
}

// anthropicProtocol serves one Messages request; it carries what decode
// found that respond needs beyond the shared request.
type anthropicProtocol struct {
	thinking bool
}

// anthropicRequest holds the fields of a Messages request the server uses.
type anthropicRequest struct {
	Model     string          `json:"model"`
	Messages  []chatMessage   `json:"messages"`
	System    json.RawMessage `json:"system"`
	MaxTokens int             `json:"max_tokens"`
	Stream    bool            `json:"stream"`
	Thinking  struct {
		Type string `json:"type"`
	} `json:"thinking"`
}

var anthropicReqPool = sync.Pool{New: func() any { return new(anthropicRequest) }}

func (a *anthropicProtocol) decode(st *reqState, _ *http.Request) (request, error) {
	r := anthropicReqPool.Get().(*anthropicRequest)
	defer func() {
		if len(r.Messages) <= 1024 && cap(r.System) <= keepBuffer {
			anthropicReqPool.Put(r)
		}
	}()
	// encoding/json decodes into reused slice elements without zeroing
	// them, so clear what a previous request left behind.
	msgs := r.Messages[:cap(r.Messages)]
	for i := range msgs {
		msgs[i].Content = msgs[i].Content[:0]
	}
	*r = anthropicRequest{Messages: msgs[:0], System: r.System[:0]}
	if err := json.Unmarshal(st.body, r); err != nil {
		return request{}, err
	}
	prompt, err := st.countContent(r.System)
	if err != nil {
		return request{}, fmt.Errorf("system: %w", err)
	}
	for i := range r.Messages {
		n, err := st.countContent(r.Messages[i].Content)
		if err != nil {
			return request{}, fmt.Errorf("messages[%d].content: %w", i, err)
		}
		prompt += n
	}
	a.thinking = r.Thinking.Type == "enabled" || r.Thinking.Type == "adaptive"
	return request{model: r.Model, prompt: prompt, limit: r.MaxTokens, stream: r.Stream, usage: true}, nil
}

// anthropicRequestSeq numbers error responses for their request ids.
var anthropicRequestSeq atomic.Uint64

// reject answers with an Anthropic error body.
func (*anthropicProtocol) reject(w http.ResponseWriter, code int, kind, msg string) {
	typ := "api_error"
	switch kind {
	case "invalid_request", "method":
		typ = "invalid_request_error"
		if code == http.StatusRequestEntityTooLarge {
			typ = "request_too_large"
		}
	case "unauthorized":
		typ = "authentication_error"
	case "forbidden":
		typ = "permission_error"
	case "rate_limit":
		typ = "rate_limit_error"
	case "unavailable":
		typ = "overloaded_error"
	case "not_found":
		typ = "not_found_error"
	}
	b := make([]byte, 0, 160+len(msg))
	b = append(b, `{"type":"error","error":{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `},"request_id":"`...)
	idAt := len(b)
	b = anthAppendHexID(b, "req_", mix64(anthropicRequestSeq.Add(1)))
	w.Header()["Request-Id"] = []string{string(b[idAt:])}
	b = append(b, `"}`...)
	writeJSON(w, code, b)
}

// Pre-built pieces of the stream. Text deltas exist for block index 0 (no
// thinking) and 1 (after a thinking block).
var (
	anthPing           = []byte("event: ping\ndata: {\"type\": \"ping\"}\n\n")
	anthMessageStop    = []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	anthThinkingStart  = []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n")
	anthSignatureDelta = []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"" + anthSignature + "\"}}\n\n")
	anthTextStart      [2][]byte
	anthBlockStop      [2][]byte
	anthTextDeltas     [2][][]byte
	anthThinkingDeltas = func() [][]byte {
		t := make([][]byte, len(words))
		for i, w := range words {
			t[i] = []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"" + w + "\"}}\n\n")
		}
		return t
	}()
)

// anthSignature is the (fake) signature of a thinking block.
const anthSignature = "c2ltdWxhdGVkIHRoaW5raW5nIHNpZ25hdHVyZQ=="

func init() {
	for idx := range 2 {
		n := strconv.Itoa(idx)
		anthTextStart[idx] = []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":" + n + ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
		anthBlockStop[idx] = []byte("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":" + n + "}\n\n")
		anthTextDeltas[idx] = make([][]byte, len(words))
		for i, w := range words {
			anthTextDeltas[idx][i] = []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":" + n + ",\"delta\":{\"type\":\"text_delta\",\"text\":\"" + w + "\"}}\n\n")
		}
	}
}

// thinkingTokens is how many of n output tokens are thinking.
func (a *anthropicProtocol) thinkingTokens(n int) int {
	if !a.thinking || n < 2 {
		return 0
	}
	return max(n/4, 1)
}

func (a *anthropicProtocol) respond(w http.ResponseWriter, st *reqState, p *plan) {
	var id [4 + 16]byte
	w.Header()["Request-Id"] = []string{string(anthAppendHexID(id[:0], "req_", mix64(p.idBits)))}
	if p.stream {
		a.serveStream(w, st, p)
	} else {
		a.serveJSON(w, st, p)
	}
}

// serveStream sends an SSE response on the plan's schedule.
func (a *anthropicProtocol) serveStream(w http.ResponseWriter, st *reqState, p *plan) {
	h := w.Header()
	h["Content-Type"] = hdrSSE
	h["Cache-Control"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	out := newOutput(w, st)

	k := a.thinkingTokens(p.n)
	text := 0 // index of the text block
	out.b = append(out.b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"...)
	out.b = anthAppendMessageHead(out.b, p)
	out.b = append(out.b, `"content":[],"stop_reason":null,"stop_sequence":null`...)
	if p.usage {
		out.b = append(out.b, ',')
		out.b = appendAnthropicUsage(out.b, p.prompt, 1)
	}
	out.b = append(out.b, "}}\n\n"...)
	if k > 0 {
		out.b = append(out.b, anthThinkingStart...)
		text = 1
	} else {
		out.b = append(out.b, anthTextStart[0]...)
	}
	out.b = append(out.b, anthPing...)

	if !out.tokens(p, func(i int) {
		if i < k {
			out.b = append(out.b, anthThinkingDeltas[i%len(words)]...)
			if i == k-1 {
				out.b = append(out.b, anthSignatureDelta...)
				out.b = append(out.b, anthBlockStop[0]...)
				out.b = append(out.b, anthTextStart[1]...)
			}
		} else {
			out.b = append(out.b, anthTextDeltas[text][(i-k)%len(words)]...)
		}
	}) {
		return
	}
	out.b = append(out.b, anthBlockStop[text]...)
	out.b = append(out.b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\""...)
	out.b = append(out.b, anthropicStopReason(p.finish)...)
	out.b = append(out.b, `","stop_sequence":null}`...)
	if p.usage {
		out.b = append(out.b, `,"usage":{"output_tokens":`...)
		out.b = strconv.AppendInt(out.b, int64(p.n), 10)
		out.b = append(out.b, '}')
	}
	out.b = append(out.b, "}\n\n"...)
	out.b = append(out.b, anthMessageStop...)
	out.flush()
}

// serveJSON sends a non-streaming Message at the time of the last token.
func (a *anthropicProtocol) serveJSON(w http.ResponseWriter, st *reqState, p *plan) {
	if !p.waitWhole(w) {
		return
	}
	k := a.thinkingTokens(p.n)
	b := anthAppendMessageHead(st.out[:0], p)
	b = append(b, `"content":[`...)
	if k > 0 {
		b = append(b, `{"type":"thinking","thinking":"`...)
		for i := 0; i < k; i++ {
			b = append(b, words[i%len(words)]...)
		}
		b = append(b, `","signature":"`+anthSignature+`"},`...)
	}
	b = append(b, `{"type":"text","text":"`...)
	for i := 0; i < p.n-k; i++ {
		b = append(b, words[i%len(words)]...)
	}
	b = append(b, `"}],"stop_reason":"`...)
	b = append(b, anthropicStopReason(p.finish)...)
	b = append(b, `","stop_sequence":null`...)
	if p.usage {
		b = append(b, ',')
		b = appendAnthropicUsage(b, p.prompt, p.n)
	}
	b = append(b, '}')
	st.out = b
	p.sendWhole(w, hdrJSON, b)
}

// textIndex is the index of the text content block.
func (a *anthropicProtocol) textIndex(p *plan) int {
	if a.thinkingTokens(p.n) > 0 {
		return 1
	}
	return 0
}

// streamFault: a delta event cut short, or Anthropic's "event: error".
func (a *anthropicProtocol) streamFault(b []byte, _ *reqState, p *plan, kind ErrorKind) ([]byte, bool) {
	switch kind {
	case ErrorMalformed:
		d := anthTextDeltas[a.textIndex(p)][0]
		return append(append(b, d[:bytes.Index(d, []byte(`"text":`))]...), "\n\n"...), true
	case ErrorEvent:
		return append(b, "event: error\ndata: "+`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded (simulated)."}}`+"\n\n"...), true
	}
	return b, false
}

func (a *anthropicProtocol) bigEvent(_ *reqState, p *plan) bigEvent {
	d := anthTextDeltas[a.textIndex(p)][0]
	i := bytes.Index(d, []byte(`"text":"`)) + len(`"text":"`)
	return bigEvent{pre: d[:i:i], post: []byte(`"}}` + "\n\n")}
}

// anthAppendMessageHead appends the start of a Message object, up to its
// content: {"id":"msg_<hex>","type":"message","role":"assistant","model":<model>,
func anthAppendMessageHead(b []byte, p *plan) []byte {
	b = append(b, `{"id":"`...)
	b = anthAppendHexID(b, "msg_", p.idBits)
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = appendJSONString(b, p.model)
	return append(b, ',')
}

// appendAnthropicUsage appends "usage":{...} with zero cache counts.
func appendAnthropicUsage(b []byte, input, output int) []byte {
	b = append(b, `"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(input), 10)
	b = append(b, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(output), 10)
	return append(b, '}')
}

func anthropicStopReason(finish string) string {
	if finish == "length" {
		return "max_tokens"
	}
	return "end_turn"
}

// anthAppendHexID appends prefix and id as 16 hex digits.
func anthAppendHexID(b []byte, prefix string, id uint64) []byte {
	const hex = "0123456789abcdef"
	b = append(b, prefix...)
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[id>>uint(shift)&0xf])
	}
	return b
}
