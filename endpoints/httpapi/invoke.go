package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/internal/jpath"
	"github.com/llmeter-go/llmeter/internal/sse"
)

// Invoke implements llmeter.Endpoint: it sends p as the JSON body of a
// request to URL and reports the response to rec as it is parsed.
//
// Errors: an HTTP status outside 2xx is a *llmeter.StatusError carrying the
// API's message; a match of ErrorPath (or an SSE "event: error") is an
// *llmeter.APIError; a body or event that is not JSON is a
// *llmeter.ProtocolError; a stream that ends without an event matching
// DonePath (when set) wraps llmeter.ErrIncompleteStream; transport errors
// (a connection dropped mid-stream, the context deadline) are returned
// wrapped ("httpapi: …"). Text and token counts parsed before an error are
// kept.
func (e *Endpoint) Invoke(ctx context.Context, p llmeter.Payload, rec *llmeter.Recorder) error {
	resp, err := e.target.Send(ctx, p)
	if err != nil {
		return err
	}
	switch e.cfg.Stream {
	case NoStream:
		return e.readBody(resp, rec, false)
	case SSE:
		if httpep.IsJSON(resp.Header.Get("Content-Type")) {
			return e.readBody(resp, rec, true)
		}
	}
	return e.readStream(resp.Body, rec)
}

// readBody parses a whole JSON body. With stream set (an SSE request was
// answered with application/json) it reports what it finds but fails with a
// ProtocolError, as there is no time to first token to measure.
func (e *Endpoint) readBody(resp *http.Response, rec *llmeter.Recorder, stream bool) error {
	var received func()
	if !stream {
		received = rec.Received
	}
	data, release, err := httpep.ReadAll("httpapi", resp, received)
	if err != nil {
		return err
	}
	defer release()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return &llmeter.ProtocolError{Err: fmt.Errorf("httpapi: malformed response %q: %w", httpep.Snippet(data, 80), err)}
	}
	rec.SetID(idOf(e.paths.id, v))
	if s, ok := e.paths.text.Text(v, ""); ok {
		rec.SetText(s)
	}
	if u := (llmeter.Usage{InputTokens: e.paths.in.Int(v), OutputTokens: e.paths.out.Int(v)}); u != (llmeter.Usage{}) {
		rec.SetUsage(u)
	}
	if m := e.paths.err.Search(v); truthy(m) {
		return apiError(m)
	}
	if stream {
		return &llmeter.ProtocolError{Err: errors.New("httpapi: the server did not stream (Content-Type application/json)")}
	}
	return nil
}

// streamParser holds the reusable state of one stream parse.
type streamParser struct {
	sse   *sse.Reader // created on first use
	lines lineReader
	fast  fastEvent
	big   bool // a buffer grew large: do not pool the parser

	// Per stream.
	wantID bool
	in     int
	out    int
	inOK   bool
	outOK  bool
}

var parserPool = sync.Pool{New: func() any { return new(streamParser) }}

// readStream parses an SSE or NDJSON body.
func (e *Endpoint) readStream(body io.ReadCloser, rec *llmeter.Recorder) error {
	sp := parserPool.Get().(*streamParser)
	sp.wantID, sp.inOK, sp.outOK = e.paths.id != nil, false, false
	if e.cfg.Stream == SSE {
		if sp.sse == nil {
			sp.sse = sse.NewReader(body)
		} else {
			sp.sse.Reset(body)
		}
	} else {
		sp.lines.reset(body)
	}
	err := sp.parse(e, rec)
	if sp.inOK || sp.outOK {
		var u llmeter.Usage
		if sp.inOK {
			u.InputTokens = llmeter.Ptr(sp.in)
		}
		if sp.outOK {
			u.OutputTokens = llmeter.Ptr(sp.out)
		}
		rec.SetUsage(u)
	}
	if err == nil {
		httpep.DrainAndClose(body)
	} else {
		// Do not wait for the rest of a failed stream: the connection is
		// dropped (unless the body already ended, in which case it is
		// reused anyway).
		_ = body.Close()
	}
	if sp.sse != nil {
		sp.sse.Reset(nil)
	}
	sp.lines.reset(nil)
	sp.fast.text, sp.fast.id = nil, nil
	if !sp.big && cap(sp.fast.buf) <= httpep.MaxPooled && cap(sp.fast.idBuf) <= httpep.MaxPooled &&
		cap(sp.fast.keyBuf) <= httpep.MaxPooled {
		parserPool.Put(sp)
	}
	return err
}

var doneMarker = []byte("[DONE]")

func (sp *streamParser) parse(e *Endpoint, rec *llmeter.Recorder) error {
	for {
		var data []byte
		var err error
		if e.cfg.Stream == SSE {
			var ev sse.Event
			ev, err = sp.sse.Next()
			if err == nil {
				data = bytes.TrimSpace(ev.Data)
				if string(ev.Type) == "error" {
					return httpep.APIError(data)
				}
				if bytes.Equal(data, doneMarker) {
					return nil
				}
			}
		} else {
			data, err = sp.lines.next()
			data = bytes.TrimSpace(data)
		}
		if err != nil {
			switch {
			case err == io.EOF:
				if e.paths.done != nil {
					return fmt.Errorf("httpapi: %w", llmeter.ErrIncompleteStream)
				}
				return nil
			case errors.Is(err, sse.ErrLineTooLong), errors.Is(err, errLineTooLong):
				sp.big = true
				return &llmeter.ProtocolError{Err: fmt.Errorf("httpapi: %w", err)}
			}
			return fmt.Errorf("httpapi: %w", err)
		}
		if len(data) > httpep.MaxPooled {
			sp.big = true
		}
		if len(data) == 0 {
			continue
		}
		done, err := sp.event(e, data, rec)
		if err != nil || done {
			return err
		}
	}
}

// event reports one event (a JSON document) and whether it is the last one.
func (sp *streamParser) event(e *Endpoint, data []byte, rec *llmeter.Recorder) (done bool, err error) {
	if fp := e.paths.fast; fp != nil && sp.fast.decode(fp, data, sp.wantID) {
		f := &sp.fast
		rec.TextBytes(f.text)
		if f.inOK {
			sp.in, sp.inOK = f.in, true
		}
		if f.outOK {
			sp.out, sp.outOK = f.out, true
		}
		if len(f.id) > 0 {
			rec.SetID(string(f.id))
			sp.wantID = false
		}
		return f.done, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return false, &llmeter.ProtocolError{Err: fmt.Errorf("httpapi: malformed event %q: %w", httpep.Snippet(data, 80), err)}
	}
	if s, ok := e.paths.text.Text(v, ""); ok {
		rec.Text(s)
	}
	if n := e.paths.in.Int(v); n != nil {
		sp.in, sp.inOK = *n, true
	}
	if n := e.paths.out.Int(v); n != nil {
		sp.out, sp.outOK = *n, true
	}
	if sp.wantID {
		if id := idOf(e.paths.id, v); id != "" {
			rec.SetID(id)
			sp.wantID = false
		}
	}
	if m := e.paths.err.Search(v); truthy(m) {
		return false, apiError(m)
	}
	return truthy(e.paths.done.Search(v)), nil
}

// idOf returns what p finds as an id: a string, or a whole number in
// decimal; "" for anything else.
func idOf(p *jpath.Path, v any) string {
	switch x := p.Search(v).(type) {
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return ""
}

// truthy is JMESPath's truth of a decoded JSON value: false for null,
// false, and an empty string, list or object; true for anything else,
// numbers included.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// apiError builds the error for what ErrorPath found: a string is the
// message, an object gives its "message" (or the message of an "error"
// inside it); anything else is shown as JSON.
func apiError(v any) error {
	msg := ""
	switch x := v.(type) {
	case string:
		msg = x
	case map[string]any:
		if msg = httpep.MessageOf(x); msg == "" {
			msg = httpep.JSONErrorMessage(x)
		}
	}
	if msg == "" {
		if b, err := json.Marshal(v); err == nil {
			msg = httpep.Snippet(b, 512)
		}
	}
	if msg == "" {
		msg = "error reported by the API"
	}
	return &llmeter.APIError{Message: msg}
}
