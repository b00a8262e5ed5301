package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/internal/sse"
)

// Invoke implements llmeter.Endpoint: it POSTs p to BaseURL + "/v1/messages"
// and reports the response to rec as it is parsed.
//
// Errors: an HTTP status outside 2xx is a *llmeter.StatusError carrying the
// provider's message; an "error" event in a stream, or a 200 body of type
// "error", is an *llmeter.APIError ("<error type>: <message>"); malformed
// JSON is a *llmeter.ProtocolError; a stream that ends without message_stop
// wraps llmeter.ErrIncompleteStream; transport errors (including a
// connection dropped mid-stream and context deadlines) are returned wrapped.
// Text and token counts parsed before an error are kept.
func (e *MessagesEndpoint) Invoke(ctx context.Context, p llmeter.Payload, rec *llmeter.Recorder) error {
	resp, err := e.target.Send(ctx, p)
	if err != nil {
		return err
	}
	if e.stream && !httpep.IsJSON(resp.Header.Get("Content-Type")) {
		return readStream(resp.Body, rec, e.reasoningTTFT)
	}
	return readMessage(resp, rec, e.stream)
}

// usage is the Anthropic usage object. input_tokens excludes the tokens
// read from or written to the prompt cache.
type usage struct {
	InputTokens          *int `json:"input_tokens"`
	OutputTokens         *int `json:"output_tokens"`
	CacheReadInputTokens *int `json:"cache_read_input_tokens"`
}

func (u *usage) report(rec *llmeter.Recorder) {
	rec.SetUsage(llmeter.Usage{
		InputTokens:       u.InputTokens,
		OutputTokens:      u.OutputTokens,
		InputCachedTokens: u.CacheReadInputTokens,
	})
}

// apiError builds the error for an Anthropic error object
// ({"type": "overloaded_error", "message": "Overloaded"}):
// "<type>: <message>", or whichever of the two is present; anything else
// goes to httpep.APIError.
func apiError(raw []byte) error {
	var e struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &e) == nil && (e.Type != "" || e.Message != "") {
		msg := e.Message
		switch {
		case e.Type == "":
		case msg == "":
			msg = e.Type
		default:
			msg = e.Type + ": " + msg
		}
		return &llmeter.APIError{Message: msg}
	}
	return httpep.APIError(raw)
}

// --- streaming ---

// streamEvent is the part of a stream event the parser needs, for
// encoding/json (events the fast path declines).
type streamEvent struct {
	Type    string `json:"type"`
	Message *struct {
		ID    string `json:"id"`
		Usage *usage `json:"usage"`
	} `json:"message"`
	Delta struct {
		Type string `json:"type"`
		Text string `json:"text"` // null leaves it ""
	} `json:"delta"`
	Usage *usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// streamParser holds the reusable state of one stream parse.
type streamParser struct {
	sse           *sse.Reader
	fast          fastEvent   // the fast path for the common event shapes
	ev            streamEvent // encoding/json for the others
	reasoningTTFT bool
	big           bool // the reader's buffer grew large: do not pool it
}

var parserPool = sync.Pool{New: func() any { return &streamParser{sse: sse.NewReader(nil)} }}

// readStream parses an SSE body of Messages stream events.
func readStream(body io.ReadCloser, rec *llmeter.Recorder, reasoningTTFT bool) error {
	p := parserPool.Get().(*streamParser)
	p.sse.Reset(body)
	p.reasoningTTFT = reasoningTTFT
	defer func() {
		p.sse.Reset(nil)
		p.ev = streamEvent{}
		p.fast.typ, p.fast.deltaType, p.fast.text = nil, nil, nil
		if f := &p.fast; !p.big && cap(f.textBuf)+cap(f.typBuf)+cap(f.dtBuf) <= httpep.MaxPooled {
			parserPool.Put(p)
		}
	}()
	err := p.parse(rec)
	if err == nil {
		httpep.DrainAndClose(body)
	} else {
		// Do not wait for the rest of a failed stream: the connection is
		// dropped (unless the body already ended, in which case it is
		// reused anyway).
		_ = body.Close()
	}
	return err
}

// Event names (the SSE "event" field, else the data's "type").
const (
	evMessageStart = "message_start"
	evBlockStart   = "content_block_start"
	evBlockDelta   = "content_block_delta"
	evBlockStop    = "content_block_stop"
	evMessageDelta = "message_delta"
	evMessageStop  = "message_stop"
	evPing         = "ping"
	evError        = "error"
)

func (p *streamParser) parse(rec *llmeter.Recorder) error {
	for {
		ev, err := p.sse.Next()
		if err != nil {
			switch {
			case err == io.EOF:
				return fmt.Errorf("anthropic: %w", llmeter.ErrIncompleteStream)
			case errors.Is(err, sse.ErrLineTooLong):
				p.big = true
				return &llmeter.ProtocolError{Err: fmt.Errorf("anthropic: %w", err)}
			}
			return fmt.Errorf("anthropic: %w", err)
		}
		if len(ev.Data) > httpep.MaxPooled {
			p.big = true
		}
		// Named events that carry nothing the parser needs are skipped
		// without decoding, and so are names it does not know (Anthropic may
		// add event types).
		switch string(ev.Type) {
		case "", evMessageStart, evBlockDelta, evMessageDelta, evError:
		case evMessageStop:
			return nil
		default:
			continue
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 {
			if string(ev.Type) == evError {
				return httpep.APIError(nil)
			}
			continue
		}
		if p.fast.decode(data) {
			kind := ev.Type
			if len(kind) == 0 {
				kind = p.fast.typ
			}
			switch string(kind) {
			case evBlockDelta:
				if string(p.fast.deltaType) == "text_delta" {
					rec.TextBytes(p.fast.text)
				} else {
					p.reasoning(rec, p.fast.deltaType)
				}
			case evMessageStop:
				return nil
			case evError: // without an error object
				return httpep.APIError(data)
			}
			continue
		}
		e := &p.ev
		*e = streamEvent{Error: e.Error[:0]} // encoding/json does not clear fields
		if err := json.Unmarshal(data, e); err != nil {
			if string(ev.Type) == evError {
				return httpep.APIError(data)
			}
			return &llmeter.ProtocolError{Err: fmt.Errorf("anthropic: malformed event %q: %w", httpep.Snippet(data, 80), err)}
		}
		kind := string(ev.Type)
		if kind == "" {
			kind = e.Type
		}
		if kind == evError || httpep.HasValue(e.Error) {
			if httpep.HasValue(e.Error) {
				return apiError(e.Error)
			}
			return httpep.APIError(data)
		}
		switch kind {
		case evMessageStart:
			if m := e.Message; m != nil {
				rec.SetID(m.ID)
				if m.Usage != nil {
					m.Usage.report(rec)
				}
			}
		case evBlockDelta:
			if e.Delta.Type == "text_delta" {
				rec.Text(e.Delta.Text)
			} else {
				p.reasoning(rec, []byte(e.Delta.Type))
			}
		case evMessageDelta:
			if e.Usage != nil {
				e.Usage.report(rec)
			}
		case evMessageStop:
			return nil
		}
	}
}

// reasoning handles a delta that is not text: thinking (and its signature)
// counts as the first token when configured so; other deltas
// (input_json_delta, citations_delta, …) are ignored.
func (p *streamParser) reasoning(rec *llmeter.Recorder, deltaType []byte) {
	switch string(deltaType) {
	case "thinking_delta", "signature_delta":
		if p.reasoningTTFT {
			rec.FirstToken()
		}
	}
}

// --- non-streaming ---

// message is the part of a Message object the parser needs.
type message struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	Usage *usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// readMessage parses a JSON body. With stream set (the server answered a
// streaming request with plain JSON) it reports what it finds but fails with
// a ProtocolError, as there is no time to first token to measure.
func readMessage(resp *http.Response, rec *llmeter.Recorder, stream bool) error {
	var received func()
	if !stream {
		received = rec.Received
	}
	data, release, err := httpep.ReadAll("anthropic", resp, received)
	if err != nil {
		return err
	}
	defer release()

	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return &llmeter.ProtocolError{Err: fmt.Errorf("anthropic: malformed response %q: %w", httpep.Snippet(data, 80), err)}
	}
	if httpep.HasValue(m.Error) {
		return apiError(m.Error)
	}
	if m.Type == "error" {
		return httpep.APIError(data)
	}
	rec.SetID(m.ID)
	var sb strings.Builder
	found := false
	for _, b := range m.Content {
		if b.Type == "text" {
			sb.WriteString(b.Text)
			found = true
		}
	}
	if found {
		rec.SetText(sb.String())
	}
	if m.Usage != nil {
		m.Usage.report(rec)
	}
	if stream {
		return &llmeter.ProtocolError{Err: errors.New("anthropic: the server did not stream (Content-Type application/json)")}
	}
	return nil
}
