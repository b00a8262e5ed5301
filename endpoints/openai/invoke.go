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
	"unicode/utf8"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/sse"
)

const (
	// maxErrorBody is how much of an HTTP error response is read.
	maxErrorBody = 64 << 10
	// maxErrorMessage is how much of a non-JSON error body goes into the
	// error message.
	maxErrorMessage = 512
	// maxResponseBody bounds a non-streaming response.
	maxResponseBody = 64 << 20
)

// Invoke implements llmeter.Endpoint: it POSTs p to BaseURL +
// "/chat/completions" and reports the response to rec as it is parsed.
//
// Errors: an HTTP status outside 2xx is a *llmeter.StatusError carrying the
// provider's message; an "error" object in a stream or in a 200 body is an
// *llmeter.APIError; malformed JSON is a *llmeter.ProtocolError; a stream
// that ends without "data: [DONE]" wraps llmeter.ErrIncompleteStream;
// transport errors (including a connection dropped mid-stream and context
// deadlines) are returned wrapped. Text and token counts parsed before an
// error are kept.
func (e *ChatEndpoint) Invoke(ctx context.Context, p llmeter.Payload, rec *llmeter.Recorder) error {
	rb := getReqBody()
	defer rb.release()
	buf, err := llmeter.AppendRequestJSON(rb.buf[:0], p)
	if err != nil {
		return fmt.Errorf("openai: encode payload: %w", err)
	}
	rb.buf = buf

	body := rb.reader()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, body)
	if err != nil {
		_ = body.Close()
		return fmt.Errorf("openai: %w", err)
	}
	req.ContentLength = int64(len(buf))
	req.GetBody = func() (io.ReadCloser, error) { return rb.reader(), nil }
	if e.shareHeader {
		req.Header = e.header // read-only: see NewChatEndpoint
	} else {
		req.Header = e.header.Clone()
	}
	if e.host != "" {
		req.Host = e.host
	}

	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("openai: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer drainAndClose(resp.Body)
		return statusError(resp)
	}
	if e.stream && !isJSON(resp.Header.Get("Content-Type")) {
		return readStream(resp.Body, rec)
	}
	return readCompletion(resp, rec, e.stream)
}

// isJSON reports whether a Content-Type is application/json.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// statusError reads the start of an HTTP error response.
func statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &llmeter.StatusError{StatusCode: resp.StatusCode, Message: errorBodyMessage(body)}
}

// errorBodyMessage extracts the provider's message from an error body:
// {"error": {"message": …}} (OpenAI), {"error": "…"}, {"message": …},
// {"detail": …} (FastAPI servers such as vLLM), a list of such objects; else
// the body's first bytes.
func errorBodyMessage(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) == nil {
		if m := jsonErrorMessage(v); m != "" {
			return m
		}
	}
	return snippet(body, maxErrorMessage)
}

func jsonErrorMessage(v any) string {
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			return jsonErrorMessage(x[0])
		}
	case map[string]any:
		if ev, ok := x["error"]; ok && ev != nil {
			if m := messageOf(ev); m != "" {
				return m
			}
		}
		if m, ok := x["message"].(string); ok && m != "" {
			return m
		}
		if d, ok := x["detail"]; ok && d != nil {
			if s, ok := d.(string); ok {
				return s
			}
			if b, err := json.Marshal(d); err == nil {
				return snippet(b, maxErrorMessage)
			}
		}
		if ev, ok := x["error"]; ok && ev != nil {
			if b, err := json.Marshal(ev); err == nil {
				return snippet(b, maxErrorMessage)
			}
		}
	}
	return ""
}

// messageOf returns the message of an error value: a string, or an object's
// "message".
func messageOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if m, ok := x["message"].(string); ok {
			return m
		}
	}
	return ""
}

// apiError builds the error for an "error" value found in a response.
func apiError(raw []byte) error {
	var v any
	msg := ""
	if json.Unmarshal(raw, &v) == nil {
		if msg = messageOf(v); msg == "" {
			msg = jsonErrorMessage(v) // {"error": {...}} in an "error" event
		}
	}
	if msg == "" {
		msg = snippet(raw, maxErrorMessage)
	}
	if msg == "" {
		msg = "error reported by the API"
	}
	return &llmeter.APIError{Message: msg}
}

// snippet returns the first n bytes of b (not cutting a rune) as valid
// UTF-8, with runs of white space collapsed.
func snippet(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(b[n]); i++ {
			n--
		}
		b = b[:n]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
}

func hasValue(raw []byte) bool { return len(raw) > 0 && string(raw) != "null" }

// usage is the OpenAI usage object.
type usage struct {
	PromptTokens        *int `json:"prompt_tokens"`
	CompletionTokens    *int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens *int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens *int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u *usage) report(rec *llmeter.Recorder) {
	lu := llmeter.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		lu.InputCachedTokens = d.CachedTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		lu.OutputReasoningTokens = d.ReasoningTokens
	}
	rec.SetUsage(lu)
}

// --- streaming ---

// chunk is the part of a chat.completion.chunk the parser needs, for
// encoding/json (chunks the fast path declines). Only the first choice is
// decoded (LLMeter reads choices[0]); reasoning_content, tool_calls,
// logprobs and the like are skipped.
type chunk struct {
	Choices [1]struct {
		Index int `json:"index"`
		Delta struct {
			Content string `json:"content"` // null leaves it ""
		} `json:"delta"`
	} `json:"choices"`
	Usage *usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// chunkWithID also decodes the id; it is used until an id was seen, so that
// later chunks do not allocate the same id string again.
type chunkWithID struct {
	ID string `json:"id"`
	chunk
}

// streamParser holds the reusable state of one stream parse.
type streamParser struct {
	sse  *sse.Reader
	fast fastChunk   // the fast path for the common chunk shape
	c    chunkWithID // encoding/json for the others
	big  bool        // the reader's buffer grew large: do not pool it
}

var parserPool = sync.Pool{New: func() any { return &streamParser{sse: sse.NewReader(nil)} }}

// readStream parses an SSE body of chat.completion.chunk events.
func readStream(body io.ReadCloser, rec *llmeter.Recorder) error {
	p := parserPool.Get().(*streamParser)
	p.sse.Reset(body)
	defer func() {
		p.sse.Reset(nil)
		p.c = chunkWithID{}
		p.fast.id, p.fast.content = nil, nil
		if !p.big && cap(p.fast.buf) <= maxPooledBody {
			parserPool.Put(p)
		}
	}()
	err := p.parse(rec)
	if err == nil {
		drainAndClose(body)
	} else {
		// Do not wait for the rest of a failed stream: the connection is
		// dropped (unless the body already ended, in which case it is
		// reused anyway).
		_ = body.Close()
	}
	return err
}

var doneMarker = []byte("[DONE]")

func (p *streamParser) parse(rec *llmeter.Recorder) error {
	wantID := true
	for {
		ev, err := p.sse.Next()
		if err != nil {
			switch {
			case err == io.EOF:
				return fmt.Errorf("openai: %w", llmeter.ErrIncompleteStream)
			case errors.Is(err, sse.ErrLineTooLong):
				p.big = true
				return &llmeter.ProtocolError{Err: fmt.Errorf("openai: %w", err)}
			}
			return fmt.Errorf("openai: %w", err)
		}
		if len(ev.Data) > maxPooledBody {
			p.big = true
		}
		data := bytes.TrimSpace(ev.Data)
		if string(ev.Type) == "error" {
			return apiError(data)
		}
		if len(data) == 0 {
			continue
		}
		if bytes.Equal(data, doneMarker) {
			return nil
		}
		if p.fast.decode(data) {
			if wantID && len(p.fast.id) > 0 {
				rec.SetID(string(p.fast.id))
				wantID = false
			}
			if p.fast.index == 0 {
				rec.TextBytes(p.fast.content)
			}
			continue
		}
		c := &p.c
		c.chunk = chunk{Error: c.Error[:0]} // encoding/json does not clear fields
		if wantID {
			c.ID = ""
			err = json.Unmarshal(data, c)
		} else {
			err = json.Unmarshal(data, &c.chunk)
		}
		if err != nil {
			return &llmeter.ProtocolError{Err: fmt.Errorf("openai: malformed chunk %q: %w", snippet(data, 80), err)}
		}
		if hasValue(c.Error) {
			return apiError(c.Error)
		}
		if wantID && c.ID != "" {
			rec.SetID(c.ID)
			wantID = false
		}
		if ch := &c.Choices[0]; ch.Index == 0 {
			rec.Text(ch.Delta.Content)
		}
		if c.Usage != nil {
			c.Usage.report(rec)
		}
	}
}

// --- non-streaming ---

// completion is the part of a chat.completion object the parser needs.
type completion struct {
	ID      string `json:"id"`
	Choices []struct {
		Message struct {
			Content json.RawMessage `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Usage *usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

var respBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readCompletion parses a JSON body. With stream set (the server answered a
// streaming request with plain JSON) it reports what it finds but fails with
// a ProtocolError, as there is no time to first token to measure.
func readCompletion(resp *http.Response, rec *llmeter.Recorder, stream bool) error {
	buf := respBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			respBufPool.Put(buf)
		}
	}()
	if n := resp.ContentLength; n > 0 && n <= maxResponseBody {
		buf.Grow(int(n))
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		_ = resp.Body.Close()
		return fmt.Errorf("openai: read response: %w", err)
	}
	if buf.Len() > maxResponseBody {
		_ = resp.Body.Close()
		return &llmeter.ProtocolError{Err: fmt.Errorf("openai: response body larger than %d bytes", maxResponseBody)}
	}
	if !stream {
		rec.Received()
	}
	drainAndClose(resp.Body)

	var c completion
	if err := json.Unmarshal(buf.Bytes(), &c); err != nil {
		return &llmeter.ProtocolError{Err: fmt.Errorf("openai: malformed response %q: %w", snippet(buf.Bytes(), 80), err)}
	}
	if hasValue(c.Error) {
		return apiError(c.Error)
	}
	rec.SetID(c.ID)
	if len(c.Choices) > 0 {
		text, ok, err := contentText(c.Choices[0].Message.Content)
		if err != nil {
			return &llmeter.ProtocolError{Err: fmt.Errorf("openai: message content: %w", err)}
		}
		if ok {
			rec.SetText(text)
		}
	}
	if c.Usage != nil {
		c.Usage.report(rec)
	}
	if stream {
		return &llmeter.ProtocolError{Err: errors.New("openai: the server did not stream (Content-Type application/json)")}
	}
	return nil
}

// contentText reads a message content: a string, null (no text), or a list
// of parts whose "text" values are concatenated.
func contentText(raw json.RawMessage) (string, bool, error) {
	if !hasValue(raw) {
		return "", false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err == nil, err
	case '[':
		var parts []struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(raw, &parts); err != nil {
			return "", false, err
		}
		var sb strings.Builder
		found := false
		for _, p := range parts {
			if p.Text != nil {
				sb.WriteString(*p.Text)
				found = true
			}
		}
		return sb.String(), found, nil
	}
	return "", false, fmt.Errorf("unexpected JSON %q", snippet(raw, 40))
}
