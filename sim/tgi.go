package sim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Hugging Face Text Generation Inference (TGI), on its own paths and behind
// the Amazon SageMaker runtime API.
//
// TGI's generate API (router/src/server.rs and lib.rs of
// huggingface/text-generation-inference, and its OpenAPI document):
//   - POST /generate: {"inputs": …, "parameters": {…}} → a GenerateResponse
//     object {"generated_text": …, "details": {"finish_reason",
//     "generated_tokens", "seed", "prefill", "tokens"}} (details only when
//     parameters.details is true);
//   - POST /generate_stream: server-sent events, one StreamResponse per
//     token, "data:{"index":i,"token":{"id","text","logprob","special"},
//     "generated_text":null,"details":null}" and, with the last token,
//     generated_text (the whole text) and details {"finish_reason",
//     "generated_tokens","seed","input_length"} (details only when asked);
//   - POST /invocations (TGI's SageMaker route, compat_generate): the
//     request's "stream" flag chooses; the JSON answer is a one-element list
//     [GenerateResponse] ("to match api-inference").
//
// The SageMaker runtime API (API_runtime_InvokeEndpoint and
// API_runtime_InvokeEndpointWithResponseStream in the SageMaker API
// reference) in front of a TGI container:
//   - POST /endpoints/{name}/invocations: the container's answer to
//     /invocations as it is, with x-amzn-RequestId and
//     X-Amzn-Invoked-Production-Variant;
//   - POST /endpoints/{name}/invocations-response-stream: an
//     application/vnd.amazon.eventstream body of PayloadPart events, whose
//     payload (the Bytes member) is raw bytes of the container's answer: here
//     one TGI SSE line "data:{…}\n\n" per event.
//
// The prompt is the words of "inputs" (a string, or the "text" of content
// blocks); the output limit is parameters.max_new_tokens; parameters.details
// plays the part of usage (Config.NoUsage drops it). finish_reason is
// "eos_token" or "length".
//
// Errors on TGI's paths use TGI's shape {"error": …, "error_type": …}:
// validation (422, for a request TGI cannot decode; 413 for a body too
// large), overloaded (429), incomplete_generation (500). (TGI itself reports
// overload and validation errors of /generate_stream inside a 200 event
// stream; the simulator answers them with the status of its OpenAPI
// document.) On SageMaker's paths errors use SageMaker's restJson1 shape,
// an X-Amzn-ErrorType header and a JSON body: a request the container
// rejects is a ModelError (424) carrying the container's status and
// message (OriginalStatusCode 422, OriginalMessage), throttling is a
// ThrottlingException (429), a server failure an InternalFailure (500). A
// dropped connection breaks off TGI's streams (and non-streaming answers)
// after about half of the tokens; on SageMaker's response stream it is what
// SageMaker sends when the container's connection breaks: a
// ModelStreamError exception event (ErrorCode StreamBroken), after which
// the response ends.

func init() {
	routers = append(routers, routeTGI)
}

// tgiRoute is the API a request came in on.
type tgiRoute uint8

const (
	tgiGenerate       tgiRoute = iota // POST /generate
	tgiGenerateStream                 // POST /generate_stream
	tgiCompat                         // POST /invocations
	smInvoke                          // POST /endpoints/{name}/invocations
	smInvokeStream                    // POST /endpoints/{name}/invocations-response-stream
)

func routeTGI(path string) protocol {
	switch path {
	case "/generate":
		return &tgiProtocol{route: tgiGenerate}
	case "/generate_stream":
		return &tgiProtocol{route: tgiGenerateStream}
	case "/invocations":
		return &tgiProtocol{route: tgiCompat}
	}
	rest, ok := strings.CutPrefix(path, "/endpoints/")
	if !ok {
		return nil
	}
	name, op, ok := strings.Cut(rest, "/")
	if !ok || name == "" {
		return nil
	}
	switch op {
	case "invocations":
		return &tgiProtocol{route: smInvoke, endpoint: name}
	case "invocations-response-stream":
		return &tgiProtocol{route: smInvokeStream, endpoint: name}
	}
	return nil
}

// tgiProtocol serves one TGI or SageMaker request.
type tgiProtocol struct {
	route    tgiRoute
	endpoint string // SageMaker endpoint name
	inputs   int    // input_length: the prompt's words
}

func (t *tgiProtocol) sageMaker() bool { return t.route >= smInvoke }

// tgiRequest holds the fields of a generate request the server uses.
type tgiRequest struct {
	Inputs     json.RawMessage `json:"inputs"`
	Parameters struct {
		MaxNewTokens int  `json:"max_new_tokens"`
		Details      bool `json:"details"`
	} `json:"parameters"`
	Stream bool `json:"stream"`
}

func (t *tgiProtocol) decode(st *reqState, _ *http.Request) (request, error) {
	var req tgiRequest
	if err := json.Unmarshal(st.body, &req); err != nil {
		return request{}, err
	}
	prompt, err := countInputs(req.Inputs)
	if err != nil {
		return request{}, err
	}
	stream := req.Stream
	switch t.route {
	case tgiGenerate:
		stream = false
	case tgiGenerateStream:
		stream = true
	}
	t.inputs = prompt
	return request{prompt: prompt, limit: req.Parameters.MaxNewTokens, stream: stream, usage: req.Parameters.Details}, nil
}

// countInputs counts the words of "inputs": a string, or content blocks
// whose "text" members count.
func countInputs(raw json.RawMessage) (int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, errors.New("missing field `inputs`")
	}
	switch raw[0] {
	case '"':
		return countStringWords(raw), nil
	case '[':
		var blocks []struct {
			Text json.RawMessage `json:"text"`
		}
		if err := json.Unmarshal(raw, &blocks); err != nil {
			return 0, err
		}
		n := 0
		for _, b := range blocks {
			if len(b.Text) > 0 && b.Text[0] == '"' {
				n += countStringWords(b.Text)
			}
		}
		return n, nil
	}
	return 0, errors.New("`inputs` must be a string")
}

// reject answers in TGI's error shape, or SageMaker's on its paths.
func (t *tgiProtocol) reject(w http.ResponseWriter, code int, kind, msg string) {
	if t.sageMaker() {
		t.rejectSageMaker(w, code, kind, msg)
		return
	}
	typ := "validation"
	switch kind {
	case "rate_limit", "unavailable":
		typ = "overloaded"
	case "unauthorized", "forbidden":
		typ = kind
	case "server":
		typ = "incomplete_generation"
	case "not_found", "method":
		typ = kind
	}
	if code == http.StatusBadRequest {
		code = http.StatusUnprocessableEntity
	}
	writeJSON(w, code, tgiError(nil, msg, typ))
}

// tgiError appends TGI's ErrorResponse.
func tgiError(b []byte, msg, typ string) []byte {
	b = append(b, `{"error":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"error_type":"`...)
	b = append(b, typ...)
	return append(b, `"}`...)
}

func (t *tgiProtocol) rejectSageMaker(w http.ResponseWriter, code int, kind, msg string) {
	h := w.Header()
	h["X-Amzn-Requestid"] = []string{requestID(uint64(code)<<32 ^ uint64(len(msg)))}
	var typ string
	var b []byte
	switch {
	case kind == "rate_limit":
		typ, code = "ThrottlingException", http.StatusTooManyRequests
	case kind == "unauthorized":
		typ = "UnrecognizedClientException"
	case kind == "forbidden":
		typ = "AccessDeniedException"
	case kind == "unavailable":
		typ = "ServiceUnavailable"
	case kind == "server":
		typ, code = "InternalFailure", http.StatusInternalServerError
	case kind == "invalid_request" && code == http.StatusBadRequest:
		// The container rejects the body: SageMaker relays its answer.
		orig := string(tgiError(nil, msg, "validation"))
		typ = "ModelError"
		b = append(b, `{"ErrorCode":"CLIENT_ERROR_FROM_MODEL","LogStreamArn":"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/`...)
		b = append(b, t.endpoint...)
		b = append(b, `","Message":`...)
		b = appendJSONString(b, "Received client error (422) from primary with message \""+orig+
			"\". See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/"+
			t.endpoint+" in account 123456789012 for more information.")
		b = append(b, `,"OriginalMessage":`...)
		b = appendJSONString(b, orig)
		b = append(b, `,"OriginalStatusCode":422}`...)
		code = http.StatusFailedDependency
	case kind == "invalid_request":
		typ, code = "ValidationError", http.StatusBadRequest
	case kind == "method":
		typ = "UnknownOperationException"
	default:
		typ = "ValidationError"
	}
	if b == nil {
		b = append(b, `{"message":`...)
		b = appendJSONString(b, msg)
		b = append(b, '}')
	}
	h["X-Amzn-Errortype"] = []string{typ}
	writeJSON(w, code, b)
}

// Pre-built pieces of TGI's wire format.
var (
	// tgiTokens[k] is the token object of words[k].
	tgiTokens = func() [][]byte {
		t := make([][]byte, len(words))
		for i, w := range words {
			t[i] = []byte(`{"id":` + strconv.Itoa(1000+i) + `,"text":"` + w + `","logprob":-0.25,"special":false}`)
		}
		return t
	}()
	hdrEventStream = []string{"application/vnd.amazon.eventstream"}
	hdrAllTraffic  = []string{"AllTraffic"}
	hdrNo          = []string{"no"}

	// payloadPartHeaders are the encoded headers of a PayloadPart event,
	// written by the AWS SDK's encoder.
	payloadPartHeaders  = encodeHeaders("event", ":event-type", "PayloadPart", "application/octet-stream")
	streamBrokenPayload = []byte(`{"Message":"The model's response stream was interrupted (simulated).","ErrorCode":"StreamBroken"}`)
)

func encodeHeaders(msgType, typeHeader, typ, contentType string) []byte {
	var b bytes.Buffer
	err := eventstream.EncodeHeaders(&b, eventstream.Headers{
		{Name: typeHeader, Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue(contentType)},
		{Name: ":message-type", Value: eventstream.StringValue(msgType)},
	})
	if err != nil {
		panic(err)
	}
	return b.Bytes()
}

// beginFrame starts an event stream message with the given encoded headers;
// endFrame completes it once its payload is appended.
func beginFrame(b, headers []byte) ([]byte, int) {
	start := len(b)
	b = append(b, make([]byte, 12)...) // total length, headers length, prelude CRC
	return append(b, headers...), start
}

func endFrame(b []byte, start, headersLen int) []byte {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start+4))
	binary.BigEndian.PutUint32(b[start+4:], uint32(headersLen))
	binary.BigEndian.PutUint32(b[start+8:], crc32.ChecksumIEEE(b[start:start+8]))
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// requestID formats 64 random bits as a UUID, like x-amzn-RequestId.
func requestID(bits uint64) string {
	const hex = "0123456789abcdef"
	var u [36]byte
	lo := mix64(bits)
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			u[j] = '-'
			j++
		}
		v := bits
		if i >= 16 {
			v = lo
		}
		u[j] = hex[v>>uint(60-4*(i%16))&0xf]
		j++
	}
	return string(u[:])
}

func (t *tgiProtocol) finishReason(p *plan) string {
	if p.finish == "length" {
		return "length"
	}
	return "eos_token"
}

func (t *tgiProtocol) respond(w http.ResponseWriter, st *reqState, p *plan) {
	h := w.Header()
	if t.sageMaker() {
		h["X-Amzn-Requestid"] = []string{requestID(p.idBits)}
		h["X-Amzn-Invoked-Production-Variant"] = hdrAllTraffic
	}
	switch {
	case t.route == smInvokeStream:
		t.serveEventStream(w, st, p)
	case p.stream && t.route != smInvoke:
		t.serveSSE(w, st, p)
	default:
		t.serveJSON(w, st, p)
	}
}

// appendTokenLine appends token i as a StreamResponse object; the last one
// carries generated_text and details.
func (t *tgiProtocol) appendTokenLine(b []byte, p *plan, i int) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"token":`...)
	b = append(b, tgiTokens[i%len(tgiTokens)]...)
	if i < p.n-1 {
		return append(b, `,"generated_text":null,"details":null}`...)
	}
	b = append(b, `,"generated_text":"`...)
	b = appendWords(b, p.n)
	b = append(b, `","details":`...)
	if !p.usage {
		return append(b, "null}"...)
	}
	b = append(b, `{"finish_reason":"`...)
	b = append(b, t.finishReason(p)...)
	b = append(b, `","generated_tokens":`...)
	b = strconv.AppendInt(b, int64(p.n), 10)
	b = append(b, `,"seed":null,"input_length":`...)
	b = strconv.AppendInt(b, int64(t.inputs), 10)
	return append(b, "}}"...)
}

func appendWords(b []byte, n int) []byte {
	for i := 0; i < n; i++ {
		b = append(b, words[i%len(words)]...)
	}
	return b
}

// serveSSE streams TGI's server-sent events on the plan's schedule.
func (t *tgiProtocol) serveSSE(w http.ResponseWriter, st *reqState, p *plan) {
	h := w.Header()
	h["Content-Type"] = hdrSSE
	h["Cache-Control"] = hdrNoCache
	h["X-Accel-Buffering"] = hdrNo
	w.WriteHeader(http.StatusOK)
	out := newOutput(w, st)
	if out.tokens(p, func(i int) {
		out.b = append(out.b, "data:"...)
		out.b = t.appendTokenLine(out.b, p, i)
		out.b = append(out.b, "\n\n"...)
	}) {
		out.flush()
	}
}

// serveEventStream streams SageMaker's event stream of PayloadParts, one
// TGI SSE line each (or, when the request did not ask TGI to stream, one
// PayloadPart holding the JSON list at the end).
func (t *tgiProtocol) serveEventStream(w http.ResponseWriter, st *reqState, p *plan) {
	h := w.Header()
	h["Content-Type"] = hdrEventStream
	if p.stream {
		h["X-Amzn-Sagemaker-Content-Type"] = hdrSSE
	} else {
		h["X-Amzn-Sagemaker-Content-Type"] = hdrJSON
	}
	w.WriteHeader(http.StatusOK)
	out := newOutput(w, st)
	hl := len(payloadPartHeaders)
	if !p.stream {
		if p.fault == ErrorDropMidStream {
			sendBroken(&out, p)
			return
		}
		if !p.waitFor.until(p.at(p.n - 1)) {
			return
		}
		var start int
		out.b, start = beginFrame(out.b, payloadPartHeaders)
		out.b = t.appendGenerateResponse(append(out.b, '['), p)
		out.b = endFrame(append(out.b, ']'), start, hl)
		out.flush()
		return
	}
	if out.tokens(p, func(i int) {
		var start int
		out.b, start = beginFrame(out.b, payloadPartHeaders)
		out.b = append(out.b, "data:"...)
		out.b = t.appendTokenLine(out.b, p, i)
		out.b = endFrame(append(out.b, "\n\n"...), start, hl)
	}) {
		out.flush()
	}
}

var (
	modelStreamTimeout = []byte(`{"Message":"The model failed to finish sending the response within the timeout period (simulated).","ErrorCode":"ModelInvocationTimeExceeded"}`)
	tgiStreamError     = []byte(`data:{"error":"Request failed during generation: simulated failure","error_type":"generation"}` + "\n\n")
)

// streamFault: on SageMaker's event stream a PayloadPart with a bad CRC or
// a ModelStreamError (ErrorCode ModelInvocationTimeExceeded, or
// StreamBroken for a drop); on TGI's SSE a line cut short or TGI's
// {"error", "error_type": "generation"} event.
func (t *tgiProtocol) streamFault(b []byte, st *reqState, p *plan, kind ErrorKind) ([]byte, bool) {
	if t.route == smInvokeStream {
		switch kind {
		case ErrorDropMidStream:
			return exceptionFrame(b, "ModelStreamError", streamBrokenPayload), true
		case ErrorMalformed:
			var start int
			b, start = beginFrame(b, payloadPartHeaders)
			b = append(b, "data:"...)
			b = t.appendTokenLine(b, p, p.cut())
			b = endFrame(append(b, "\n\n"...), start, len(payloadPartHeaders))
			b[len(b)-1] ^= 0xff
			return b, true
		case ErrorEvent:
			return exceptionFrame(b, "ModelStreamError", modelStreamTimeout), true
		}
		return b, false
	}
	switch kind {
	case ErrorMalformed:
		return append(b, "data:{\"index\":\n\n"...), true
	case ErrorEvent:
		return append(b, tgiStreamError...), true
	}
	return b, false
}

func (t *tgiProtocol) bigEvent(_ *reqState, p *plan) bigEvent {
	e := bigEvent{
		pre:  []byte(`data:{"index":` + itoa(p.cut()) + `,"token":{"id":1000,"text":"`),
		post: []byte(`","logprob":-0.25,"special":false},"generated_text":null,"details":null}` + "\n\n"),
	}
	if t.route == smInvokeStream {
		e.headers = payloadPartHeaders
	}
	return e
}

// sendBroken sends SageMaker's ModelStreamError (StreamBroken) at the time
// the container's connection would break (about half of the tokens).
func sendBroken(out *output, p *plan) {
	if !out.waitUntil(&p.waitFor, p.cutTime()) {
		return
	}
	out.b = exceptionFrame(out.b, "ModelStreamError", streamBrokenPayload)
	out.flush()
}

// appendGenerateResponse appends TGI's GenerateResponse object.
func (t *tgiProtocol) appendGenerateResponse(b []byte, p *plan) []byte {
	b = append(b, `{"generated_text":"`...)
	b = appendWords(b, p.n)
	b = append(b, '"')
	if p.usage {
		b = append(b, `,"details":{"finish_reason":"`...)
		b = append(b, t.finishReason(p)...)
		b = append(b, `","generated_tokens":`...)
		b = strconv.AppendInt(b, int64(p.n), 10)
		b = append(b, `,"seed":null,"prefill":[],"tokens":[`...)
		for i := 0; i < p.n && p.fault != ErrorOversized; i++ { // an oversized body is oversized by its text
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, tgiTokens[i%len(tgiTokens)]...)
		}
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

// serveJSON sends a whole answer at the time of the last token: TGI's
// object (/generate) or list (/invocations, SageMaker's InvokeEndpoint), or
// for SageMaker's InvokeEndpoint of a streaming request, the SSE body TGI
// streamed, relayed at once.
func (t *tgiProtocol) serveJSON(w http.ResponseWriter, st *reqState, p *plan) {
	if !p.waitWhole(w) {
		return
	}
	b := st.out[:0]
	if p.stream { // only SageMaker's InvokeEndpoint gets here streaming
		for i := 0; i < p.n; i++ {
			b = append(b, "data:"...)
			b = t.appendTokenLine(b, p, i)
			b = append(b, "\n\n"...)
		}
		st.out = b
		p.sendWhole(w, hdrSSE, b)
		return
	}
	if t.route != tgiGenerate {
		b = append(b, '[')
	}
	b = t.appendGenerateResponse(b, p)
	if t.route != tgiGenerate {
		b = append(b, ']')
	}
	st.out = b
	p.sendWhole(w, hdrJSON, b)
}
