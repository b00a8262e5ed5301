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
)

// responsesProtocol is the OpenAI Responses API (POST …/responses), shaped
// like the examples of OpenAI's API reference: a response object, or a
// stream of semantic events (response.created, response.in_progress,
// response.output_item.added, response.content_part.added, one
// response.output_text.delta per token, response.output_text.done,
// response.content_part.done, response.output_item.done, then
// response.completed, or response.incomplete when max_output_tokens cut the
// output).
type responsesProtocol struct{}

func init() {
	routers = append(routers, func(path string) protocol {
		if strings.HasSuffix(path, "/responses") {
			return responsesProtocol{}
		}
		return nil
	})
}

// responsesRequest holds the fields of a Responses API request the server
// uses.
type responsesRequest struct {
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    json.RawMessage `json:"instructions"`
	MaxOutputTokens int             `json:"max_output_tokens"`
	Stream          bool            `json:"stream"`
}

type responsesItem struct {
	Content json.RawMessage `json:"content"`
}

type responsesPart struct {
	Text json.RawMessage `json:"text"`
}

// responsesScratch is reusable decoding memory.
type responsesScratch struct {
	req   responsesRequest
	items []responsesItem
	parts []responsesPart
}

var responsesScratchPool = sync.Pool{New: func() any { return new(responsesScratch) }}

// decode reads the model, the prompt (the words of instructions and input:
// a string, or a list of messages whose content is a string or a list of
// parts with a "text"), max_output_tokens and stream. The API always reports
// usage.
func (responsesProtocol) decode(st *reqState, _ *http.Request) (request, error) {
	sc := responsesScratchPool.Get().(*responsesScratch)
	defer func() {
		if len(sc.items) > 1024 || len(sc.parts) > 1024 {
			sc.items, sc.parts = nil, nil
		}
		responsesScratchPool.Put(sc)
	}()
	sc.req = responsesRequest{Input: sc.req.Input[:0], Instructions: sc.req.Instructions[:0]}
	if err := json.Unmarshal(st.body, &sc.req); err != nil {
		return request{}, err
	}
	prompt, err := sc.countInput(sc.req.Instructions)
	if err != nil {
		return request{}, fmt.Errorf("instructions: %w", err)
	}
	n, err := sc.countInput(sc.req.Input)
	if err != nil {
		return request{}, fmt.Errorf("input: %w", err)
	}
	return request{
		model:  sc.req.Model,
		prompt: prompt + n,
		limit:  sc.req.MaxOutputTokens,
		stream: sc.req.Stream,
		usage:  true,
	}, nil
}

// countInput counts the words of an input: a string, null, or a list of
// items whose content is a string, null or a list of parts.
func (sc *responsesScratch) countInput(raw json.RawMessage) (int, error) {
	raw = respTrimSpace(raw)
	if len(raw) == 0 {
		return 0, nil
	}
	switch raw[0] {
	case '"':
		return countStringWords(raw), nil
	case 'n':
		return 0, nil
	case '[':
	default:
		return 0, errors.New("must be a string or an array of input items")
	}
	items := sc.items[:cap(sc.items)]
	for i := range items {
		items[i].Content = items[i].Content[:0]
	}
	sc.items = items[:0]
	if err := json.Unmarshal(raw, &sc.items); err != nil {
		return 0, err
	}
	n := 0
	for i := range sc.items {
		c := respTrimSpace(sc.items[i].Content)
		if len(c) == 0 {
			continue
		}
		switch c[0] {
		case '"':
			n += countStringWords(c)
		case 'n':
		case '[':
			parts := sc.parts[:cap(sc.parts)]
			for j := range parts {
				parts[j].Text = parts[j].Text[:0]
			}
			sc.parts = parts[:0]
			if err := json.Unmarshal(c, &sc.parts); err != nil {
				return 0, fmt.Errorf("[%d].content: %w", i, err)
			}
			for _, p := range sc.parts {
				if t := respTrimSpace(p.Text); len(t) > 0 && t[0] == '"' {
					n += countStringWords(t)
				}
			}
		default:
			return 0, fmt.Errorf("[%d].content: must be a string or an array of content parts", i)
		}
	}
	return n, nil
}

func respTrimSpace(raw []byte) []byte {
	for len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t' || raw[0] == '\n' || raw[0] == '\r') {
		raw = raw[1:]
	}
	return raw
}

// reject answers with an OpenAI-style error body, as Chat Completions does.
func (responsesProtocol) reject(w http.ResponseWriter, code int, kind, msg string) {
	chatProtocol{}.reject(w, code, kind, msg)
}

// Pre-built pieces of the Responses API wire format.
var (
	respDeltaEvent = "event: response.output_text.delta\ndata: " +
		`{"type":"response.output_text.delta","item_id":"`
	// respDeltaWords[i] is words[i] and what follows it in a delta event,
	// up to the sequence number.
	respDeltaWords = func() [][]byte {
		t := make([][]byte, len(words))
		for i, w := range words {
			t[i] = []byte(w + `","logprobs":[],"sequence_number":`)
		}
		return t
	}()
	respEventEnd = []byte("}\n\n")
	// The fixed fields of a response object after the model.
	respObjectTail = `,"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},` +
		`"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"}},` +
		`"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":`
)

// respIDs are the ids of one response.
type respIDs struct {
	resp [len("resp_") + 16]byte
	msg  [len("msg_") + 16]byte
}

func newRespIDs(bits uint64) (ids respIDs) {
	copy(ids.resp[:], "resp_")
	respPutHex(ids.resp[len("resp_"):], bits)
	copy(ids.msg[:], "msg_")
	respPutHex(ids.msg[len("msg_"):], mix64(bits))
	return ids
}

func respPutHex(dst []byte, x uint64) {
	const hex = "0123456789abcdef"
	for i := range 16 {
		dst[i] = hex[x>>uint(60-4*i)&0xf]
	}
}

func (responsesProtocol) respond(w http.ResponseWriter, st *reqState, p *plan) {
	ids := newRespIDs(p.idBits)
	var reqID [len("req_") + 16]byte
	copy(reqID[:], "req_")
	respPutHex(reqID[len("req_"):], p.idBits)
	w.Header()["X-Request-Id"] = []string{string(reqID[:])}
	if p.stream {
		serveResponsesStream(w, st, p, &ids)
	} else {
		serveResponsesJSON(w, st, p, &ids)
	}
}

// status is the final status of a response.
func (p *plan) respStatus() string {
	if p.finish == "length" {
		return "incomplete"
	}
	return "completed"
}

// appendRespObject appends a response object. With final unset it is the
// in_progress object of response.created (no output, no usage).
func appendRespObject(b []byte, p *plan, ids *respIDs, final bool) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, ids.resp[:]...)
	b = append(b, `","object":"response","created_at":`...)
	b = strconv.AppendInt(b, p.created, 10)
	b = append(b, `,"status":"`...)
	if final {
		b = append(b, p.respStatus()...)
	} else {
		b = append(b, "in_progress"...)
	}
	b = append(b, `","background":false,"error":null,"incomplete_details":`...)
	if final && p.finish == "length" {
		b = append(b, `{"reason":"max_output_tokens"}`...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"instructions":null,"max_output_tokens":null,"model":`...)
	b = appendJSONString(b, p.model)
	b = append(b, `,"output":[`...)
	if final {
		b = appendRespMessage(b, p, ids)
	}
	b = append(b, ']')
	b = append(b, respObjectTail...)
	if final && p.usage {
		b = append(b, `{"input_tokens":`...)
		b = strconv.AppendInt(b, int64(p.prompt), 10)
		b = append(b, `,"input_tokens_details":{"cached_tokens":0},"output_tokens":`...)
		b = strconv.AppendInt(b, int64(p.n), 10)
		b = append(b, `,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":`...)
		b = strconv.AppendInt(b, int64(p.prompt+p.n), 10)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	return append(b, `,"user":null,"metadata":{}}`...)
}

// appendRespMessage appends the finished output message item.
func appendRespMessage(b []byte, p *plan, ids *respIDs) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, ids.msg[:]...)
	b = append(b, `","type":"message","status":"`...)
	b = append(b, p.respStatus()...)
	b = append(b, `","content":[`...)
	b = appendRespTextPart(b, p)
	return append(b, `],"role":"assistant"}`...)
}

// appendRespTextPart appends the finished output_text content part.
func appendRespTextPart(b []byte, p *plan) []byte {
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":"`...)
	b = appendRespText(b, p)
	return append(b, `"}`...)
}

// appendRespText appends the output text (inside a JSON string).
func appendRespText(b []byte, p *plan) []byte {
	for i := 0; i < p.n; i++ {
		b = append(b, words[i%len(words)]...)
	}
	return b
}

// appendRespEventStart appends the start of an event: its "event:" line and the data
// up to and including the type.
func appendRespEventStart(b []byte, typ string) []byte {
	b = append(b, "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, typ...)
	return append(b, '"', ',')
}

// appendRespSeq ends an event with its sequence number.
func appendRespSeq(b []byte, seq int) []byte {
	b = append(b, `"sequence_number":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	return append(b, respEventEnd...)
}

// appendRespItemRef appends the item_id, output_index and content_index of
// the message's text part.
func appendRespItemRef(b []byte, ids *respIDs) []byte {
	b = append(b, `"item_id":"`...)
	b = append(b, ids.msg[:]...)
	return append(b, `","output_index":0,"content_index":0,`...)
}

// serveResponsesStream sends the event stream on the plan's schedule:
// response.created and response.in_progress at once, the output item and
// content part with the first token, one delta per token, and the closing
// events with the last token.
func serveResponsesStream(w http.ResponseWriter, st *reqState, p *plan, ids *respIDs) {
	h := w.Header()
	h["Content-Type"] = hdrSSE
	h["Cache-Control"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	out := newOutput(w, st)

	// The delta prefix, with this response's item id.
	st.head = append(st.head[:0], respDeltaEvent...)
	st.head = append(st.head, ids.msg[:]...)
	st.head = append(st.head, `","output_index":0,"content_index":0,"delta":"`...)

	seq := 0
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		out.b = appendRespEventStart(out.b, typ)
		out.b = append(out.b, `"response":`...)
		out.b = appendRespObject(out.b, p, ids, false)
		out.b = append(out.b, ',')
		out.b = appendRespSeq(out.b, seq)
		seq++
	}
	if !out.tokens(p, func(i int) {
		if i == 0 {
			out.b = appendRespEventStart(out.b, "response.output_item.added")
			out.b = append(out.b, `"output_index":0,"item":{"id":"`...)
			out.b = append(out.b, ids.msg[:]...)
			out.b = append(out.b, `","type":"message","status":"in_progress","content":[],"role":"assistant"},`...)
			out.b = appendRespSeq(out.b, seq)
			out.b = appendRespEventStart(out.b, "response.content_part.added")
			out.b = appendRespItemRef(out.b, ids)
			out.b = append(out.b, `"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""},`...)
			out.b = appendRespSeq(out.b, seq+1)
			seq += 2
		}
		out.b = append(out.b, st.head...)
		out.b = append(out.b, respDeltaWords[i%len(respDeltaWords)]...)
		out.b = strconv.AppendInt(out.b, int64(seq), 10)
		out.b = append(out.b, respEventEnd...)
		seq++
	}) {
		return
	}

	out.b = appendRespEventStart(out.b, "response.output_text.done")
	out.b = appendRespItemRef(out.b, ids)
	out.b = append(out.b, `"text":"`...)
	out.b = appendRespText(out.b, p)
	out.b = append(out.b, `","logprobs":[],`...)
	out.b = appendRespSeq(out.b, seq)

	out.b = appendRespEventStart(out.b, "response.content_part.done")
	out.b = appendRespItemRef(out.b, ids)
	out.b = append(out.b, `"part":`...)
	out.b = appendRespTextPart(out.b, p)
	out.b = append(out.b, ',')
	out.b = appendRespSeq(out.b, seq+1)

	out.b = appendRespEventStart(out.b, "response.output_item.done")
	out.b = append(out.b, `"output_index":0,"item":`...)
	out.b = appendRespMessage(out.b, p, ids)
	out.b = append(out.b, ',')
	out.b = appendRespSeq(out.b, seq+2)

	final := "response.completed"
	if p.finish == "length" {
		final = "response.incomplete"
	}
	out.b = appendRespEventStart(out.b, final)
	out.b = append(out.b, `"response":`...)
	out.b = appendRespObject(out.b, p, ids, true)
	out.b = append(out.b, ',')
	out.b = appendRespSeq(out.b, seq+3)
	out.flush()
}

// serveResponsesJSON sends a non-streaming response at the time of the last
// token.
func serveResponsesJSON(w http.ResponseWriter, st *reqState, p *plan, ids *respIDs) {
	if !p.waitWhole(w) {
		return
	}
	st.out = appendRespObject(st.out[:0], p, ids, true)
	p.sendWhole(w, hdrJSON, st.out)
}

// streamFault: a delta event cut short, or the Responses API's "error"
// event.
func (responsesProtocol) streamFault(b []byte, st *reqState, _ *plan, kind ErrorKind) ([]byte, bool) {
	switch kind {
	case ErrorMalformed:
		b = append(b, st.head...)
		return append(b, "\n\n"...), true
	case ErrorEvent:
		return append(b, "event: error\ndata: "+`{"type":"error","code":"server_error","message":"The server had an error while processing your request (simulated).","param":null,"sequence_number":0}`+"\n\n"...), true
	}
	return b, false
}

func (responsesProtocol) bigEvent(st *reqState, _ *plan) bigEvent {
	return bigEvent{pre: bytes.Clone(st.head), post: []byte(`","logprobs":[],"sequence_number":0}` + "\n\n")}
}
