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
	"github.com/llmeter-go/llmeter/internal/sse"
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
	resp, err := e.target.Send(ctx, p)
	if err != nil {
		return err
	}
	if e.stream && !httpep.IsJSON(resp.Header.Get("Content-Type")) {
		return readStream(resp.Body, rec)
	}
	return readCompletion(resp, rec, e.stream)
}

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
		if !p.big && cap(p.fast.buf) <= httpep.MaxPooled {
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
		if len(ev.Data) > httpep.MaxPooled {
			p.big = true
		}
		data := bytes.TrimSpace(ev.Data)
		if string(ev.Type) == "error" {
			return httpep.APIError(data)
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
			return &llmeter.ProtocolError{Err: fmt.Errorf("openai: malformed chunk %q: %w", httpep.Snippet(data, 80), err)}
		}
		if httpep.HasValue(c.Error) {
			return httpep.APIError(c.Error)
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

// readCompletion parses a JSON body. With stream set (the server answered a
// streaming request with plain JSON) it reports what it finds but fails with
// a ProtocolError, as there is no time to first token to measure.
func readCompletion(resp *http.Response, rec *llmeter.Recorder, stream bool) error {
	var received func()
	if !stream {
		received = rec.Received
	}
	data, release, err := httpep.ReadAll("openai", resp, received)
	if err != nil {
		return err
	}
	defer release()

	var c completion
	if err := json.Unmarshal(data, &c); err != nil {
		return &llmeter.ProtocolError{Err: fmt.Errorf("openai: malformed response %q: %w", httpep.Snippet(data, 80), err)}
	}
	if httpep.HasValue(c.Error) {
		return httpep.APIError(c.Error)
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
	if !httpep.HasValue(raw) {
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
	return "", false, fmt.Errorf("unexpected JSON %q", httpep.Snippet(raw, 40))
}
