package sim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// The Amazon Bedrock Runtime API: Converse, ConverseStream, InvokeModel and
// InvokeModelWithResponseStream (POST /model/{modelId}/converse,
// /converse-stream, /invoke and /invoke-with-response-stream; the model id
// may be URL-escaped, as the AWS SDKs send ARNs), in Bedrock's wire format
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html,
// API_runtime_ConverseStream.html, API_runtime_InvokeModel.html,
// API_runtime_InvokeModelWithResponseStream.html). The simulator does not
// check SigV4 signatures: any credentials work.
//
// Converse: the words of messages[].content[].text and system[].text are the
// prompt tokens, inferenceConfig.maxTokens the output limit. The response is
// {"output": {"message": {"role": "assistant", "content": [{"text": …}]}},
// "stopReason": "end_turn" | "max_tokens", "usage": {"inputTokens",
// "outputTokens", "totalTokens", "cacheReadInputTokens": 0,
// "cacheWriteInputTokens": 0}, "metrics": {"latencyMs"}} with the request id
// in x-amzn-RequestId. ConverseStream answers with
// application/vnd.amazon.eventstream frames (written with the AWS SDK's
// encoder): messageStart at once, one contentBlockDelta per token on the
// schedule, then contentBlockStop, messageStop and metadata (usage, metrics)
// with the last token.
//
// InvokeModel bodies are the model's own; the simulator speaks an OpenAI Chat
// Completions-like model, which LLMeter's default JMESPaths expect: the words
// of messages[].content (a string, or the "text" of each part) are the prompt
// tokens, max_tokens (or max_completion_tokens) the limit, and the response is
// a chat.completion object with usage, plus Bedrock's
// X-Amzn-Bedrock-Input-Token-Count, -Output-Token-Count and
// -Invocation-Latency headers. InvokeModelWithResponseStream sends "chunk"
// events whose PayloadPart is {"bytes": base64 of a chat.completion.chunk}:
// a role chunk with the id at once, one {"choices": [{"delta": {"content":
// …}}]} per token, and a finish chunk carrying
// "amazon-bedrock-invocationMetrics" (inputTokenCount, outputTokenCount,
// invocationLatency, firstByteLatency).
//
// Errors use Bedrock's restJson1 shape: the x-amzn-ErrorType header and
// {"message": …}: UnrecognizedClientException (401; AWS itself answers bad
// credentials with 403), AccessDeniedException (403), ThrottlingException
// (429), InternalServerException (500), ServiceUnavailableException (503),
// ValidationException (400, 413), ResourceNotFoundException (404),
// UnknownOperationException (405), with the request id in
// x-amzn-RequestId. The in-stream error of both streams is a
// modelStreamErrorException exception message. A dropped connection breaks off a stream after about half
// of the tokens (no contentBlockStop, messageStop or finish chunk), and a
// non-streaming request at that time without a response. Config.NoUsage
// drops usage and invocation metrics (the real API always sends them).

// bedrockOp is a Bedrock Runtime operation.
type bedrockOp uint8

const (
	bedrockConverse bedrockOp = iota
	bedrockConverseStream
	bedrockInvoke
	bedrockInvokeStream
)

// bedrockSuffixes are the paths of the operations after /model/{modelId}.
var bedrockSuffixes = [...]string{"/converse", "/converse-stream", "/invoke", "/invoke-with-response-stream"}

func init() {
	routers = append(routers, func(path string) protocol {
		rest, ok := strings.CutPrefix(path, "/model/")
		if !ok {
			return nil
		}
		for op, suffix := range bedrockSuffixes {
			if len(rest) > len(suffix) && strings.HasSuffix(rest, suffix) {
				return &bedrockProtocol{op: bedrockOp(op)}
			}
		}
		return nil
	})
}

// bedrockProtocol serves one Bedrock Runtime request.
type bedrockProtocol struct {
	op bedrockOp
}

func (b *bedrockProtocol) stream() bool {
	return b.op == bedrockConverseStream || b.op == bedrockInvokeStream
}

// bedrockText is a content block, of which only the text counts.
type bedrockText struct {
	Text json.RawMessage `json:"text"`
}

// bedrockRequest holds the fields of Converse and (OpenAI-like) InvokeModel
// requests the server uses.
type bedrockRequest struct {
	Messages []struct {
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	System          []bedrockText `json:"system"`
	InferenceConfig struct {
		MaxTokens int `json:"maxTokens"`
	} `json:"inferenceConfig"`
	MaxTokens           int `json:"max_tokens"`
	MaxCompletionTokens int `json:"max_completion_tokens"`

	parts []bedrockText // scratch for content arrays
}

var bedrockReqPool = sync.Pool{New: func() any { return new(bedrockRequest) }}

func (b *bedrockProtocol) decode(st *reqState, r *http.Request) (request, error) {
	req := bedrockReqPool.Get().(*bedrockRequest)
	defer func() {
		if len(req.Messages) <= 1024 && len(req.parts) <= 1024 && len(req.System) <= 1024 {
			bedrockReqPool.Put(req)
		}
	}()
	// encoding/json decodes into reused slice elements without zeroing
	// them, so clear what a previous request left behind.
	msgs := req.Messages[:cap(req.Messages)]
	for i := range msgs {
		msgs[i].Content = msgs[i].Content[:0]
	}
	sys := req.System[:cap(req.System)]
	for i := range sys {
		sys[i].Text = sys[i].Text[:0]
	}
	*req = bedrockRequest{Messages: msgs[:0], System: sys[:0], parts: req.parts}
	if err := json.Unmarshal(st.body, req); err != nil {
		return request{}, err
	}
	prompt := 0
	for _, s := range req.System {
		prompt += bedrockCountText(s.Text)
	}
	for i := range req.Messages {
		n, err := req.countContent(req.Messages[i].Content, b.op == bedrockInvoke || b.op == bedrockInvokeStream)
		if err != nil {
			return request{}, fmt.Errorf("messages[%d].content: %w", i, err)
		}
		prompt += n
	}
	limit := req.InferenceConfig.MaxTokens
	if b.op == bedrockInvoke || b.op == bedrockInvokeStream {
		limit = req.MaxCompletionTokens
		if limit <= 0 {
			limit = req.MaxTokens
		}
	}
	return request{model: bedrockModelID(r.URL.Path, b.op), prompt: prompt, limit: limit, stream: b.stream(), usage: true}, nil
}

// countContent counts the words of a message content: a list of content
// blocks (the "text" of each) or, for InvokeModel, also a string or null.
func (req *bedrockRequest) countContent(raw json.RawMessage, invoke bool) (int, error) {
	for len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t' || raw[0] == '\n' || raw[0] == '\r') {
		raw = raw[1:]
	}
	switch {
	case len(raw) == 0:
		return 0, nil
	case raw[0] == '[':
		parts := req.parts[:cap(req.parts)]
		for i := range parts {
			parts[i].Text = parts[i].Text[:0]
		}
		req.parts = parts[:0]
		if err := json.Unmarshal(raw, &req.parts); err != nil {
			return 0, err
		}
		n := 0
		for _, p := range req.parts {
			n += bedrockCountText(p.Text)
		}
		return n, nil
	case invoke && raw[0] == '"':
		return countStringWords(raw), nil
	case invoke && raw[0] == 'n':
		return 0, nil
	case invoke:
		return 0, errors.New("must be a string or an array of content parts")
	}
	return 0, errors.New("must be an array of content blocks")
}

// bedrockCountText counts the words of a "text" value when it is a string.
func bedrockCountText(raw json.RawMessage) int {
	if len(raw) > 0 && raw[0] == '"' {
		return countStringWords(raw)
	}
	return 0
}

// bedrockModelID returns the model id of a request path (decoded).
func bedrockModelID(path string, op bedrockOp) string {
	return strings.TrimSuffix(strings.TrimPrefix(path, "/model/"), bedrockSuffixes[op])
}

// bedrockErrorSeq numbers error responses for their request ids.
var bedrockErrorSeq atomic.Uint64

// reject answers with a Bedrock (restJson1) error.
func (b *bedrockProtocol) reject(w http.ResponseWriter, code int, kind, msg string) {
	typ := "InternalServerException"
	switch kind {
	case "invalid_request":
		typ = "ValidationException"
	case "unauthorized":
		typ = "UnrecognizedClientException"
	case "forbidden":
		typ = "AccessDeniedException"
	case "rate_limit":
		typ = "ThrottlingException"
	case "unavailable":
		typ = "ServiceUnavailableException"
	case "not_found":
		typ = "ResourceNotFoundException"
	case "method":
		typ = "UnknownOperationException"
	}
	h := w.Header()
	h["X-Amzn-Errortype"] = []string{typ + ":http://internal.amazon.com/coral/com.amazon.bedrock/"}
	h["X-Amzn-Requestid"] = []string{bedrockRequestID(mix64(bedrockErrorSeq.Add(1)))}
	body := make([]byte, 0, 16+len(msg))
	body = append(body, `{"message":`...)
	body = appendJSONString(body, msg)
	body = append(body, '}')
	writeJSON(w, code, body)
}

// bedrockRequestID formats 64 random bits (and a hash of them) as a UUID.
func bedrockRequestID(bits uint64) string {
	const hex = "0123456789abcdef"
	var b [36]byte
	hi, lo := bits, mix64(bits)
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		var nib uint64
		if i < 16 {
			nib = hi >> (60 - 4*i) & 0xf
		} else {
			nib = lo >> (60 - 4*(i-16)) & 0xf
		}
		b[j] = hex[nib]
		j++
	}
	b[14] = '4'                 // version 4
	b[19] = hex[8|(lo>>48)&0x3] // variant 10xx
	return string(b[:])
}

func (b *bedrockProtocol) respond(w http.ResponseWriter, st *reqState, p *plan) {
	w.Header()["X-Amzn-Requestid"] = []string{bedrockRequestID(p.idBits)}
	switch b.op {
	case bedrockConverse:
		bedrockServeConverse(w, st, p)
	case bedrockConverseStream:
		bedrockServeConverseStream(w, st, p)
	case bedrockInvoke:
		bedrockServeInvoke(w, st, p)
	default:
		bedrockServeInvokeStream(w, st, p)
	}
}

// --- event-stream frames ---

var (
	bedrockHdrEventStream = []string{"application/vnd.amazon.eventstream"}

	bedrockMessageStart = bedrockFrame("messageStart", []byte(`{"role":"assistant"}`))
	bedrockBlockStop    = bedrockFrame("contentBlockStop", []byte(`{"contentBlockIndex":0}`))
	bedrockStopEndTurn  = bedrockFrame("messageStop", []byte(`{"stopReason":"end_turn"}`))
	bedrockStopMax      = bedrockFrame("messageStop", []byte(`{"stopReason":"max_tokens"}`))
	bedrockDeltas       = func() [][]byte {
		t := make([][]byte, len(words))
		for i, w := range words {
			t[i] = bedrockFrame("contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"text":"`+w+`"}}`))
		}
		return t
	}()
	// bedrockChunks are the InvokeModelWithResponseStream token chunks.
	bedrockChunks = func() [][]byte {
		t := make([][]byte, len(words))
		for i, w := range words {
			t[i] = bedrockFrame("chunk", bedrockPayloadPart(nil,
				[]byte(`{"choices":[{"index":0,"delta":{"content":"`+w+`"},"finish_reason":null}]}`)))
		}
		return t
	}()
)

// bedrockEncoder encodes event-stream frames with the SDK's encoder into a
// byte slice.
type bedrockEncoder struct {
	enc  *eventstream.Encoder
	b    []byte // output
	json []byte // scratch: a chunk's JSON
	part []byte // scratch: a payload
}

func (e *bedrockEncoder) Write(p []byte) (int, error) {
	e.b = append(e.b, p...)
	return len(p), nil
}

var bedrockEncoders = sync.Pool{New: func() any { return &bedrockEncoder{enc: eventstream.NewEncoder()} }}

// Headers of the event frames encoded per request.
var (
	bedrockMetadataHeaders = bedrockEventHeaders("metadata")
	bedrockChunkHeaders    = bedrockEventHeaders("chunk")
)

// bedrockEventHeaders returns the headers of an event frame.
func bedrockEventHeaders(eventType string) eventstream.Headers {
	return eventstream.Headers{
		{Name: ":event-type", Value: eventstream.StringValue(eventType)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("event")},
	}
}

// appendFrame appends an event frame to b.
func (e *bedrockEncoder) appendFrame(b []byte, headers eventstream.Headers, payload []byte) []byte {
	e.b = b
	if err := e.enc.Encode(e, eventstream.Message{Headers: headers, Payload: payload}); err != nil {
		panic(err) // writing to memory cannot fail
	}
	b = e.b
	e.b = nil
	return b
}

// bedrockFrame encodes one event frame.
func bedrockFrame(eventType string, payload []byte) []byte {
	e := bedrockEncoders.Get().(*bedrockEncoder)
	defer bedrockEncoders.Put(e)
	return e.appendFrame(nil, bedrockEventHeaders(eventType), payload)
}

// bedrockPayloadPart appends a PayloadPart, {"bytes": "<base64 of data>"}.
func bedrockPayloadPart(b, data []byte) []byte {
	b = append(b, `{"bytes":"`...)
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, `"}`...)
}

// bedrockLatencyMs is the scheduled time of the last token, in milliseconds.
func bedrockLatencyMs(p *plan) int64 {
	return (p.ttft + time.Duration(max(p.n-1, 0))*p.itl).Milliseconds()
}

// bedrockAppendUsage appends "usage":{…}.
func bedrockAppendUsage(b []byte, p *plan) []byte {
	b = append(b, `"usage":{"cacheReadInputTokens":0,"cacheWriteInputTokens":0,"inputTokens":`...)
	b = strconv.AppendInt(b, int64(p.prompt), 10)
	b = append(b, `,"outputTokens":`...)
	b = strconv.AppendInt(b, int64(p.n), 10)
	b = append(b, `,"totalTokens":`...)
	b = strconv.AppendInt(b, int64(p.prompt+p.n), 10)
	return append(b, '}')
}

// --- Converse ---

// bedrockServeConverse sends a Converse response at the time of the last token.
func bedrockServeConverse(w http.ResponseWriter, st *reqState, p *plan) {
	if !p.waitWhole(w) {
		return
	}
	b := append(st.out[:0], `{"metrics":{"latencyMs":`...)
	b = strconv.AppendInt(b, bedrockLatencyMs(p), 10)
	b = append(b, `},"output":{"message":{"content":[{"text":"`...)
	for i := 0; i < p.n; i++ {
		b = append(b, words[i%len(words)]...)
	}
	b = append(b, `"}],"role":"assistant"}},"stopReason":"`...)
	if p.finish == "length" {
		b = append(b, "max_tokens"...)
	} else {
		b = append(b, "end_turn"...)
	}
	b = append(b, '"')
	if p.usage {
		b = append(b, ',')
		b = bedrockAppendUsage(b, p)
	}
	b = append(b, '}')
	st.out = b
	p.sendWhole(w, hdrJSON, b)
}

// bedrockServeConverseStream sends a ConverseStream event stream on the plan's
// schedule.
func bedrockServeConverseStream(w http.ResponseWriter, st *reqState, p *plan) {
	w.Header()["Content-Type"] = bedrockHdrEventStream
	w.WriteHeader(http.StatusOK)
	out := newOutput(w, st)
	out.b = append(out.b, bedrockMessageStart...)
	if !out.tokens(p, func(i int) {
		out.b = append(out.b, bedrockDeltas[i%len(words)]...)
	}) {
		return
	}
	out.b = append(out.b, bedrockBlockStop...)
	if p.finish == "length" {
		out.b = append(out.b, bedrockStopMax...)
	} else {
		out.b = append(out.b, bedrockStopEndTurn...)
	}
	e := bedrockEncoders.Get().(*bedrockEncoder)
	m := append(e.part[:0], `{"metrics":{"latencyMs":`...)
	m = strconv.AppendInt(m, bedrockLatencyMs(p), 10)
	m = append(m, '}')
	if p.usage {
		m = append(m, ',')
		m = bedrockAppendUsage(m, p)
	}
	m = append(m, '}')
	out.b = e.appendFrame(out.b, bedrockMetadataHeaders, m)
	e.part = m
	bedrockEncoders.Put(e)
	out.flush()
}

// --- InvokeModel (an OpenAI Chat Completions-like model) ---

// bedrockServeInvoke sends an InvokeModel response at the time of the last token.
func bedrockServeInvoke(w http.ResponseWriter, st *reqState, p *plan) {
	if !p.waitWhole(w) {
		return
	}
	st.writeHead(p.idBits, p.created, p.model)
	b := st.out[:0]
	b = append(b, st.head[:st.objectAt]...)
	b = append(b, `"chat.completion"`...)
	b = append(b, st.head[st.objectEnd:]...)
	b = append(b, `"choices":[{"index":0,"message":{"role":"assistant","content":"`...)
	for i := 0; i < p.n; i++ {
		b = append(b, words[i%len(words)]...)
	}
	b = append(b, `"},"finish_reason":"`...)
	b = append(b, p.finish...)
	b = append(b, `"}]`...)
	h := w.Header()
	if p.usage {
		b = append(b, ',')
		b = appendUsage(b, p.prompt, p.n)
		h["X-Amzn-Bedrock-Input-Token-Count"] = []string{itoa(p.prompt)}
		h["X-Amzn-Bedrock-Output-Token-Count"] = []string{itoa(p.n)}
	}
	h["X-Amzn-Bedrock-Invocation-Latency"] = []string{strconv.FormatInt(bedrockLatencyMs(p), 10)}
	b = append(b, '}')
	st.out = b
	p.sendWhole(w, hdrJSON, b)
}

// bedrockServeInvokeStream sends InvokeModelWithResponseStream chunks on the plan's
// schedule.
func bedrockServeInvokeStream(w http.ResponseWriter, st *reqState, p *plan) {
	h := w.Header()
	h["Content-Type"] = bedrockHdrEventStream
	h["X-Amzn-Bedrock-Content-Type"] = hdrJSON
	w.WriteHeader(http.StatusOK)
	st.writeHead(p.idBits, p.created, p.model)
	out := newOutput(w, st)

	out.b = bedrockAppendChunk(out.b, st, p, `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`, false)
	if !out.tokens(p, func(i int) {
		out.b = append(out.b, bedrockChunks[i%len(words)]...)
	}) {
		return
	}
	if p.finish == "length" {
		out.b = bedrockAppendChunk(out.b, st, p, `"choices":[{"index":0,"delta":{},"finish_reason":"length"}]`, p.usage)
	} else {
		out.b = bedrockAppendChunk(out.b, st, p, `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`, p.usage)
	}
	out.flush()
}

// bedrockAppendChunk appends a chunk frame whose JSON is st.head + tail (+ the
// invocation metrics) + "}".
func bedrockAppendChunk(b []byte, st *reqState, p *plan, tail string, metrics bool) []byte {
	e := bedrockEncoders.Get().(*bedrockEncoder)
	defer bedrockEncoders.Put(e)
	j := append(e.json[:0], st.head...)
	j = append(j, tail...)
	if metrics {
		j = append(j, `,"amazon-bedrock-invocationMetrics":{"inputTokenCount":`...)
		j = strconv.AppendInt(j, int64(p.prompt), 10)
		j = append(j, `,"outputTokenCount":`...)
		j = strconv.AppendInt(j, int64(p.n), 10)
		j = append(j, `,"invocationLatency":`...)
		j = strconv.AppendInt(j, bedrockLatencyMs(p), 10)
		j = append(j, `,"firstByteLatency":`...)
		j = strconv.AppendInt(j, p.ttft.Milliseconds(), 10)
		j = append(j, '}')
	}
	j = append(j, '}')
	e.json = j
	e.part = bedrockPayloadPart(e.part[:0], j)
	return e.appendFrame(b, bedrockChunkHeaders, e.part)
}

// bedrockStreamError is the payload of the in-stream modelStreamErrorException.
var bedrockStreamError = []byte(`{"message":"The model's response stream failed (simulated).","originalStatusCode":500,"originalMessage":"simulated model failure"}`)

// streamFault: a frame with a bad CRC, or a modelStreamErrorException.
func (b *bedrockProtocol) streamFault(out []byte, _ *reqState, _ *plan, kind ErrorKind) ([]byte, bool) {
	switch kind {
	case ErrorMalformed:
		if b.op == bedrockInvokeStream {
			return append(out, corruptFrame(bedrockChunks[0])...), true
		}
		return append(out, corruptFrame(bedrockDeltas[0])...), true
	case ErrorEvent:
		return exceptionFrame(out, "modelStreamErrorException", bedrockStreamError), true
	}
	return out, false
}

var (
	bedrockDeltaHeaders = encodeHeaders("event", ":event-type", "contentBlockDelta", "application/json")
	bedrockChunkHdrs    = encodeHeaders("event", ":event-type", "chunk", "application/json")
)

func (b *bedrockProtocol) bigEvent(_ *reqState, _ *plan) bigEvent {
	if b.op == bedrockInvokeStream {
		return bigEvent{
			pre: []byte(`{"choices":[{"index":0,"delta":{"content":"`), post: []byte(`"},"finish_reason":null}]}`),
			b64: true, headers: bedrockChunkHdrs,
		}
	}
	return bigEvent{pre: []byte(`{"contentBlockIndex":0,"delta":{"text":"`), post: []byte(`"}}`), headers: bedrockDeltaHeaders}
}
