package openai

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
	"github.com/llmeter-go/llmeter/internal/jsonscan"
	"github.com/llmeter-go/llmeter/internal/sse"
)

// Invoke implements llmeter.Endpoint: it POSTs p to BaseURL + "/responses"
// and reports the response to rec as it is parsed.
//
// Errors: an HTTP status outside 2xx is a *llmeter.StatusError carrying the
// provider's message; a failed response (status "failed", a response.failed
// or an error event, an "error" object) is an *llmeter.APIError whose
// message is "<code>: <message>"; malformed JSON is a *llmeter.ProtocolError;
// a stream that ends without response.completed, response.incomplete or
// response.failed wraps llmeter.ErrIncompleteStream; transport errors are
// returned wrapped ("openai: …"). Text and token counts parsed before an
// error are kept.
func (e *ResponsesEndpoint) Invoke(ctx context.Context, p llmeter.Payload, rec *llmeter.Recorder) error {
	resp, err := e.target.Send(ctx, p)
	if err != nil {
		return err
	}
	if e.stream && !httpep.IsJSON(resp.Header.Get("Content-Type")) {
		return readResponsesStream(resp.Body, rec, e.reasoningTTFT)
	}
	return readResponse(resp, rec, e.stream)
}

// The Responses API objects, as far as the parsers need them.

// respUsage is the Responses API usage object.
type respUsage struct {
	InputTokens        *int `json:"input_tokens"`
	OutputTokens       *int `json:"output_tokens"`
	InputTokensDetails *struct {
		CachedTokens *int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails *struct {
		ReasoningTokens *int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

func (u *respUsage) report(rec *llmeter.Recorder) {
	lu := llmeter.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
	if d := u.InputTokensDetails; d != nil {
		lu.InputCachedTokens = d.CachedTokens
	}
	if d := u.OutputTokensDetails; d != nil {
		lu.OutputReasoningTokens = d.ReasoningTokens
	}
	rec.SetUsage(lu)
}

// respStatus is the part of a response object both parsers read.
type respStatus struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Error  json.RawMessage `json:"error"`
	Usage  *respUsage      `json:"usage"`
}

// respError is an error object: {"code": …, "message": …}.
type respError struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
}

// text formats an error as LLMeter does: "<code>: <message>", or whichever
// of the two is present; "" when neither is.
func (e *respError) text() string {
	code := ""
	if httpep.HasValue(e.Code) {
		if e.Code[0] == '"' {
			_ = json.Unmarshal(e.Code, &code)
		} else {
			code = string(e.Code) // a number, from a compatible server
		}
	}
	switch {
	case code != "" && e.Message != "":
		return code + ": " + e.Message
	case e.Message != "":
		return e.Message
	}
	return code
}

// failedError is the error of a failed response whose "error" value is raw
// (null, an error object or a string).
func failedError(raw json.RawMessage) error {
	msg := ""
	if httpep.HasValue(raw) {
		var e respError
		if raw[0] == '"' {
			_ = json.Unmarshal(raw, &e.Message)
		} else if json.Unmarshal(raw, &e) == nil {
			msg = e.text()
		}
		if msg == "" {
			msg = e.Message
		}
	}
	if msg == "" {
		msg = "Response API request failed"
	}
	return &llmeter.APIError{Message: msg}
}

// --- streaming ---

// Stream event types the parser acts on.
const (
	evCreated          = "response.created"
	evTextDelta        = "response.output_text.delta"
	evReasoningDelta   = "response.reasoning_text.delta"
	evReasoningSummary = "response.reasoning_summary_text.delta"
	evCompleted        = "response.completed"
	evIncomplete       = "response.incomplete"
	evFailed           = "response.failed"
	evError            = "error"
)

// respEvent is a stream event for encoding/json (events the fast path
// declines). Only its type and text delta are typed: the response object of
// the lifecycle events and the fields of an error event ({"type": "error",
// "code": …, "message": …}, or an "error" object, which the OpenAI SDK turns
// into an exception on any event) are decoded only for the events that use
// them, so that an event decodes the same way on both paths.
type respEvent struct {
	Type     string          `json:"type"`
	Delta    string          `json:"delta"`
	Response json.RawMessage `json:"response"`
	Code     json.RawMessage `json:"code"`
	Message  json.RawMessage `json:"message"`
	Error    json.RawMessage `json:"error"`
}

// respStreamParser holds the reusable state of one stream parse.
type respStreamParser struct {
	sse  *sse.Reader
	fast fastEvent  // the fast path for text deltas and ignored events
	ev   respEvent  // encoding/json for the others
	resp respStatus // the response object of a lifecycle event
	big  bool       // the reader's buffer grew large: do not pool it
	done bool       // a terminal event ended the stream (even response.failed)
}

var respParserPool = sync.Pool{New: func() any { return &respStreamParser{sse: sse.NewReader(nil)} }}

// readResponsesStream parses an SSE body of Responses API stream events.
func readResponsesStream(body io.ReadCloser, rec *llmeter.Recorder, reasoningTTFT bool) error {
	p := respParserPool.Get().(*respStreamParser)
	p.sse.Reset(body)
	defer func() {
		p.sse.Reset(nil)
		// Keep the raw buffers for the next stream; drop what aliases the
		// body or holds parsed values.
		p.ev = respEvent{Response: p.ev.Response[:0], Code: p.ev.Code[:0], Message: p.ev.Message[:0], Error: p.ev.Error[:0]}
		p.resp = respStatus{Error: p.resp.Error[:0]}
		p.fast.typ, p.fast.delta = nil, nil
		if !p.big && cap(p.fast.buf) <= httpep.MaxPooled && cap(p.ev.Response) <= httpep.MaxPooled {
			respParserPool.Put(p)
		}
	}()
	p.done = false
	err := p.parse(rec, reasoningTTFT)
	if p.done {
		// The stream ended as the API ends it, response.failed included:
		// the connection can be reused.
		httpep.DrainAndClose(body)
	} else {
		// Do not wait for the rest of a broken stream (see readStream).
		_ = body.Close()
	}
	return err
}

var errNoTerminalEvent = fmt.Errorf("openai: %w (no response.completed, response.incomplete or response.failed)",
	llmeter.ErrIncompleteStream)

func (p *respStreamParser) parse(rec *llmeter.Recorder, reasoningTTFT bool) error {
	wantID := true
	for {
		ev, err := p.sse.Next()
		if err != nil {
			switch {
			case err == io.EOF:
				return errNoTerminalEvent
			case errors.Is(err, sse.ErrLineTooLong):
				p.big = true
				return &llmeter.ProtocolError{Err: fmt.Errorf("openai: %w", err)}
			}
			return fmt.Errorf("openai: %w", err)
		}
		if len(ev.Data) > httpep.MaxPooled {
			p.big = true
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 {
			continue
		}
		if bytes.Equal(data, doneMarker) {
			// Not part of the Responses API; some compatible servers end
			// their streams with it. The terminal event should have come
			// first.
			return errNoTerminalEvent
		}

		// The event's type is the "type" of its data (as the OpenAI SDK
		// reads it), else the SSE event name.
		if p.fast.decode(data) {
			typ := p.fast.typ
			if len(typ) == 0 {
				typ = ev.Type
			}
			switch string(typ) {
			case evTextDelta:
				rec.TextBytes(p.fast.delta)
				continue
			case evReasoningDelta, evReasoningSummary:
				if reasoningTTFT {
					rec.FirstToken()
				}
				continue
			case evCreated, evCompleted, evIncomplete, evFailed, evError:
				// Lifecycle and error events: decode them whole below.
			default:
				continue // other events carry nothing the parser needs
			}
		}

		e := &p.ev
		// encoding/json does not clear fields; reuse the raw buffers.
		*e = respEvent{Response: e.Response[:0], Code: e.Code[:0], Message: e.Message[:0], Error: e.Error[:0]}
		if err := json.Unmarshal(data, e); err != nil {
			return malformedEvent(data, err)
		}
		typ := e.Type
		if typ == "" {
			typ = string(ev.Type)
		}
		if httpep.HasValue(e.Error) && typ != evFailed {
			return failedError(e.Error)
		}
		var r *respStatus
		switch typ {
		case evCreated, evCompleted, evIncomplete, evFailed:
			if httpep.HasValue(e.Response) {
				r = &p.resp
				*r = respStatus{Error: r.Error[:0]}
				if err := json.Unmarshal(e.Response, r); err != nil {
					return malformedEvent(data, err)
				}
				if wantID && r.ID != "" {
					rec.SetID(r.ID)
					wantID = false
				}
			}
		}
		switch typ {
		case evTextDelta:
			rec.Text(e.Delta)
		case evReasoningDelta, evReasoningSummary:
			if reasoningTTFT {
				rec.FirstToken()
			}
		case evCompleted, evIncomplete:
			p.done = true
			if r != nil && r.Usage != nil {
				r.Usage.report(rec)
			}
			return nil
		case evFailed:
			p.done = true
			rec.LastToken()
			if r != nil && r.Usage != nil {
				r.Usage.report(rec)
			}
			raw := e.Error
			if r != nil && httpep.HasValue(r.Error) {
				raw = r.Error
			}
			return failedError(raw)
		case evError:
			re := respError{Code: e.Code}
			if len(e.Message) > 0 && e.Message[0] == '"' {
				_ = json.Unmarshal(e.Message, &re.Message)
			}
			msg := re.text()
			if msg == "" {
				msg = "error event in the Response API stream"
			}
			return &llmeter.APIError{Message: msg}
		}
	}
}

func malformedEvent(data []byte, err error) error {
	return &llmeter.ProtocolError{Err: fmt.Errorf("openai: malformed event %q: %w", httpep.Snippet(data, 80), err)}
}

// --- non-streaming ---

// respBody is a whole response object.
type respBody struct {
	respStatus
	Output []struct {
		Type    string `json:"type"`
		Content []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		} `json:"content"`
	} `json:"output"`
	// OutputText is the Python and JavaScript SDKs' convenience property;
	// the API does not send it, but some compatible servers do.
	OutputText *string `json:"output_text"`
}

// text is the concatenated text of the output_text parts of the message
// items (the SDKs' output_text), else OutputText; ok is false when there is
// neither.
func (b *respBody) text() (s string, ok bool) {
	var sb strings.Builder
	for _, item := range b.Output {
		if item.Type != "message" {
			continue
		}
		for _, c := range item.Content {
			if c.Type == "output_text" && c.Text != nil {
				sb.WriteString(*c.Text)
				ok = true
			}
		}
	}
	if !ok && b.OutputText != nil {
		return *b.OutputText, true
	}
	return sb.String(), ok
}

// failedMarker is in every body whose status could decode as "failed"
// (written plainly, or with \u escapes).
var failedMarker, unicodeEscape = []byte("failed"), []byte(`\u`)

// readResponse parses a JSON body. With stream set (the server answered a
// streaming request with plain JSON) it reports what it finds but fails with
// a ProtocolError, as there is no time to first token to measure.
//
// A failed response gets no time to last token (as in LLMeter). The time is
// taken as soon as the body is read, before it is parsed, unless the body
// holds "failed" or a \u escape; then only after parsing, if the status is
// not "failed".
func readResponse(resp *http.Response, rec *llmeter.Recorder, stream bool) error {
	data, release, err := httpep.ReadAll("openai", resp, nil)
	if err != nil {
		return err
	}
	defer release()
	received := stream // nothing to time for a stream answered with JSON
	if !received && !bytes.Contains(data, failedMarker) && !bytes.Contains(data, unicodeEscape) {
		rec.Received()
		received = true
	}

	var b respBody
	if err := json.Unmarshal(data, &b); err != nil {
		if !received {
			rec.Received()
		}
		return &llmeter.ProtocolError{Err: fmt.Errorf("openai: malformed response %q: %w", httpep.Snippet(data, 80), err)}
	}
	if b.Status == "failed" {
		rec.SetID(b.ID)
		return failedError(b.Error)
	}
	if !received {
		rec.Received()
	}
	if httpep.HasValue(b.Error) {
		// Not a response object: an error in a 200 body.
		return failedError(b.Error)
	}
	rec.SetID(b.ID)
	if s, ok := b.text(); ok {
		rec.SetText(s)
	}
	if b.Usage != nil {
		b.Usage.report(rec)
	}
	if stream {
		return &llmeter.ProtocolError{Err: errors.New("openai: the server did not stream (Content-Type application/json)")}
	}
	return nil
}

// --- fast path ---

// fastEvent is what the fast path extracts from a stream event: its "type"
// and "delta", which is all the parser needs from text and reasoning deltas
// and from the events it ignores (most of a stream). Like fastChunk, it
// declines anything encoding/json might decode differently (keys in another
// case or escaped, duplicate keys, values of unexpected types) and any
// non-null "error"; the caller then uses encoding/json. FuzzFastEvent checks
// the two agree.
type fastEvent struct {
	typ    []byte // unquoted "type" (aliases data or typBuf); nil if absent or null
	delta  []byte // unquoted "delta" (aliases data or buf); nil if absent or null
	typBuf []byte // scratch for an escaped type
	buf    []byte // scratch for an escaped delta
}

// The keys of a stream event the fast path reads.
const (
	eventType = iota
	eventDelta
	eventError
)

var eventKeys = []string{eventType: "type", eventDelta: "delta", eventError: "error"}

// decode fills f from data and reports whether it could.
func (f *fastEvent) decode(data []byte) bool {
	f.typ, f.delta = nil, nil
	if !json.Valid(data) {
		return false
	}
	s := jsonscan.New(data)
	return s.Fields(eventKeys, func(i int) bool {
		var ok bool
		switch i {
		case eventType:
			f.typ, ok = s.StrOrNull(&f.typBuf)
		case eventDelta:
			f.delta, ok = s.StrOrNull(&f.buf)
		default:
			ok = s.Null() // an error that is not null: encoding/json
		}
		return ok
	})
}
