package sim

import "net/http"

// chatProtocol is OpenAI Chat Completions (POST …/chat/completions).
type chatProtocol struct{}

func (chatProtocol) decode(st *reqState, _ *http.Request) (request, error) {
	req, prompt, err := st.decode()
	if err != nil {
		return request{}, err
	}
	limit := req.MaxCompletionTokens
	if limit <= 0 {
		limit = req.MaxTokens
	}
	return request{
		model:  req.Model,
		prompt: prompt,
		limit:  limit,
		stream: req.Stream,
		usage:  !req.Stream || req.StreamOptions.IncludeUsage,
	}, nil
}

// reject answers with an OpenAI-style error body.
func (chatProtocol) reject(w http.ResponseWriter, code int, kind, msg string) {
	typ, errCode := "invalid_request_error", "null"
	switch kind {
	case "unauthorized":
		errCode = `"invalid_api_key"`
	case "forbidden":
		errCode = `"unsupported_country_region_territory"`
	case "rate_limit":
		typ, errCode = "rate_limit_error", `"rate_limit_exceeded"`
	case "server", "unavailable":
		typ = "server_error"
	}
	b := make([]byte, 0, 128+len(msg))
	b = append(b, `{"error":{"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, `","param":null,"code":`...)
	b = append(b, errCode...)
	b = append(b, "}}"...)
	writeJSON(w, code, b)
}

func (c chatProtocol) respond(w http.ResponseWriter, st *reqState, p *plan) {
	st.writeHead(p.idBits, p.created, p.model)
	w.Header()["X-Request-Id"] = []string{string(st.id())}
	if p.stream {
		c.serveStream(w, st, p)
	} else {
		c.serveJSON(w, st, p)
	}
}

// serveStream sends an SSE response on the plan's schedule.
func (chatProtocol) serveStream(w http.ResponseWriter, st *reqState, p *plan) {
	h := w.Header()
	h["Content-Type"] = hdrSSE
	h["Cache-Control"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	out := newOutput(w, st)

	out.chunk(st, roleTail)
	if !out.tokens(p, func(i int) {
		out.chunk(st, tokenTails[i%len(tokenTails)])
	}) {
		return
	}
	if p.finish == "length" {
		out.chunk(st, finishLengthTail)
	} else {
		out.chunk(st, finishStopTail)
	}
	if p.usage {
		out.b = append(out.b, "data: "...)
		out.b = append(out.b, st.head...)
		out.b = append(out.b, `"choices":[],`...)
		out.b = appendUsage(out.b, p.prompt, p.n)
		out.b = append(out.b, "}\n\n"...)
	}
	out.b = append(out.b, "data: [DONE]\n\n"...)
	out.flush()
}

// serveJSON sends a non-streaming response at the time of the last token.
func (chatProtocol) serveJSON(w http.ResponseWriter, st *reqState, p *plan) {
	if !p.waitWhole(w) {
		return
	}
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
	if p.usage {
		b = append(b, ',')
		b = appendUsage(b, p.prompt, p.n)
	}
	b = append(b, '}')
	st.out = b
	p.sendWhole(w, hdrJSON, b)
}

// streamFault: a chunk cut short, or OpenAI's in-stream error chunk
// {"error": {…}}.
func (chatProtocol) streamFault(b []byte, st *reqState, _ *plan, kind ErrorKind) ([]byte, bool) {
	switch kind {
	case ErrorMalformed:
		b = append(b, "data: "...)
		b = append(b, st.head...)
		return append(b, `"choices":[{"index":0,"delta":{"content":`+"\n\n"...), true
	case ErrorEvent:
		return append(b, `data: {"error":{"message":"The server had an error while processing your request (simulated).","type":"server_error","param":null,"code":null}}`+"\n\n"...), true
	}
	return b, false
}

func (chatProtocol) bigEvent(st *reqState, _ *plan) bigEvent {
	pre := append([]byte("data: "), st.head...)
	return bigEvent{
		pre:  append(pre, `"choices":[{"index":0,"delta":{"content":"`...),
		post: []byte(`"},"finish_reason":null}]}` + "\n\n"),
	}
}
