package sagemaker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/httpep"
)

// streamParser reads the bytes of a streaming response, PayloadPart after
// PayloadPart: it cuts them into lines and decodes each line of TGI's stream
// schema. Lines may be split across parts and a part may hold several lines.
// Its buffers are reused, so that a stream costs no allocation for the line
// splitting once they have grown.
type streamParser struct {
	buf     []byte          // the start of a line whose end has not arrived
	fast    fastLine        // the decoder of common lines
	line    tgiLine         // encoding/json's target for the others
	tok     tgiToken        // target of line.Token
	details json.RawMessage // "details" of the last JSON line
	tokens  int             // lines that carried token.text
	done    bool            // a line carried generated_text or details: TGI's last line
}

// tgiLine is what the parser reads of a TGI stream line:
//
//	{"index":0,"token":{"id":…,"text":"…","logprob":…,"special":false},"generated_text":null,"details":null}
type tgiLine struct {
	Token         *tgiToken       `json:"token"`
	GeneratedText present         `json:"generated_text"`
	Details       json.RawMessage `json:"details"`
	Error         json.RawMessage `json:"error"`
}

type tgiToken struct {
	Text json.RawMessage `json:"text"`
}

// present records whether a JSON value is there and not null, without
// keeping it (generated_text holds the whole text).
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = present(httpep.HasValue(b))
	return nil
}

var parserPool = sync.Pool{New: func() any { return new(streamParser) }}

func getParser() *streamParser { return parserPool.Get().(*streamParser) }

// release resets p and pools it unless a buffer grew large.
func (p *streamParser) release() {
	for _, c := range []int{cap(p.buf), cap(p.details), cap(p.tok.Text), cap(p.line.Details), cap(p.line.Error)} {
		if c > httpep.MaxPooled {
			return
		}
	}
	p.buf, p.details = p.buf[:0], p.details[:0]
	p.fast = fastLine{}
	p.tokens, p.done = 0, false
	parserPool.Put(p)
}

// complete reports whether TGI's final line arrived.
func (p *streamParser) complete() bool { return p.done }

// feed takes the bytes of one PayloadPart. It does not keep b.
func (p *streamParser) feed(b []byte, rec *llmeter.Recorder) error {
	if len(p.buf) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.buf = append(p.buf, b...)
			return nil
		}
		p.buf = append(p.buf, b[:i]...)
		err := p.handleLine(p.buf, rec)
		p.buf = p.buf[:0]
		if err != nil {
			return err
		}
		b = b[i+1:]
	}
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		if err := p.handleLine(b[:i], rec); err != nil {
			return err
		}
		b = b[i+1:]
	}
	p.buf = append(p.buf, b...)
	return nil
}

// finish ends a stream that ended without error: it parses a last line
// without a line break, checks that TGI's final line arrived and reports
// the output token count.
func (p *streamParser) finish(rec *llmeter.Recorder) error {
	if len(p.buf) > 0 {
		err := p.handleLine(p.buf, rec)
		p.buf = p.buf[:0]
		if err != nil {
			return err
		}
	}
	if !p.done {
		return fmt.Errorf("sagemaker: %w (no line with generated_text or details)", llmeter.ErrIncompleteStream)
	}
	n, reason := p.outputTokens()
	rec.SetUsage(llmeter.Usage{OutputTokens: &n})
	if reason == "error" {
		return errFinishError
	}
	return nil
}

// outputTokens returns LLMeter's num_tokens_output: details.generated_tokens
// of the last line when that line had a non-empty details object (0 when the
// key is missing), else the number of token lines; and details.finish_reason.
func (p *streamParser) outputTokens() (n int, finishReason string) {
	var d map[string]json.RawMessage
	if !httpep.HasValue(p.details) || json.Unmarshal(p.details, &d) != nil || len(d) == 0 {
		return p.tokens, ""
	}
	_ = json.Unmarshal(d["finish_reason"], &finishReason)
	raw, ok := d["generated_tokens"]
	if !ok {
		return 0, finishReason
	}
	if v, ok := wholeNumber(json.Number(bytes.TrimSpace(raw))); ok && httpep.HasValue(raw) {
		return v, finishReason
	}
	return p.tokens, finishReason // null (or not a count): LLMeter counts the lines
}

var dataPrefix = []byte("data:")

// handleLine decodes one line: "data:" and white space around it are
// stripped; blank lines and lines that are not a JSON object (SSE comments
// and fields, "[DONE]") are skipped.
func (p *streamParser) handleLine(b []byte, rec *llmeter.Recorder) error {
	b = bytes.TrimSpace(b)
	if rest, ok := bytes.CutPrefix(b, dataPrefix); ok {
		b = bytes.TrimLeft(rest, " \t")
	}
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return nil // not JSON: skipped, as LLMeter does
	}
	var token, genText bool
	var text, details, errRaw []byte
	if p.fast.decode(b) {
		token, text, genText, details, errRaw = p.fast.token, p.fast.text, p.fast.genText, p.fast.details, p.fast.errRaw
	} else {
		l := &p.line
		p.tok.Text = p.tok.Text[:0]
		*l = tgiLine{Token: &p.tok, Details: l.Details[:0], Error: l.Error[:0]}
		if err := json.Unmarshal(b, l); err != nil {
			return &llmeter.ProtocolError{Err: fmt.Errorf("sagemaker: malformed stream line %q: %w", httpep.Snippet(b, 80), err)}
		}
		token, genText, details, errRaw = l.Token != nil, bool(l.GeneratedText), l.Details, l.Error
		if token {
			text = l.Token.Text // not p.tok after {"token":null,"token":{…}}
		}
	}
	if httpep.HasValue(errRaw) && truthy(errRaw) {
		return httpep.APIError(errRaw)
	}
	// Every line replaces the details (only the last line's count).
	p.details = append(p.details[:0], details...)
	final := genText || httpep.HasValue(p.details)
	if final {
		p.done = true
	}
	t := text
	if !token || len(t) == 0 {
		if final {
			return nil
		}
		return &llmeter.ProtocolError{Err: fmt.Errorf("sagemaker: stream line %q has no token.text: "+
			"not TGI's stream schema (for a container that streams OpenAI chat completion chunks, use the openai endpoint)",
			httpep.Snippet(b, 80))}
	}
	switch t[0] {
	case '"':
		if s := t[1 : len(t)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			rec.TextBytes(s)
		} else {
			var s string
			if err := json.Unmarshal(t, &s); err != nil {
				return &llmeter.ProtocolError{Err: fmt.Errorf("sagemaker: token.text %q: %w", httpep.Snippet(t, 80), err)}
			}
			rec.Text(s)
		}
	case 'n': // null: a token without text
	default:
		return &llmeter.ProtocolError{Err: fmt.Errorf("sagemaker: token.text %q is not a string", httpep.Snippet(t, 80))}
	}
	p.tokens++
	return nil
}

// truthy is Python's bool() of a raw JSON value (LLMeter tests
// line_data.get("error")).
func truthy(raw json.RawMessage) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	return httpep.Truthy(v)
}
