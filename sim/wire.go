package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/llmeter-go/llmeter/internal/jsonw"
)

// words are the output tokens, used in turn. Each ends in a space so that a
// whitespace tokenizer counts one token per word.
var words = []string{
	"lorem ", "ipsum ", "dolor ", "sit ", "amet ", "consectetur ", "adipiscing ",
	"elit ", "sed ", "do ", "eiusmod ", "tempor ", "incididunt ", "ut ", "labore ",
	"et ", "dolore ", "magna ", "aliqua ",
}

// Pre-built pieces of the wire format. A chunk event is
// "data: " + reqState.head + tail, where head is
// {"id":"chatcmpl-…","object":"chat.completion.chunk","created":…,"model":"…",
// wordsBytes is the length of all words together.
var wordsBytes = func() (n int) {
	for _, w := range words {
		n += len(w)
	}
	return n
}()

var (
	roleTail         = []byte(`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
	finishStopTail   = []byte(`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	finishLengthTail = []byte(`"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}` + "\n\n")
	tokenTails       = func() [][]byte {
		t := make([][]byte, len(words))
		for i, w := range words {
			t[i] = []byte(`"choices":[{"index":0,"delta":{"content":"` + w + `"},"finish_reason":null}]}` + "\n\n")
		}
		return t
	}()

	// Shared header values; net/http only reads them.
	hdrSSE     = []string{"text/event-stream"}
	hdrNoCache = []string{"no-cache"}
	hdrJSON    = []string{"application/json"}
	hdrPost    = []string{"POST"}
	hdrOne     = []string{"1"}
)

const (
	idOffset = len(`{"id":"`)
	idLen    = len("chatcmpl-") + 16

	writeThreshold = 32 << 10 // hand buffered output to the ResponseWriter beyond this size
	keepBuffer     = 1 << 20  // pooled buffers larger than this are dropped
)

var errBodyTooLarge = errors.New("request body too large")

// chatRequest holds the fields of a chat completion request the server uses.
type chatRequest struct {
	Model               string        `json:"model"`
	Messages            []chatMessage `json:"messages"`
	MaxTokens           int           `json:"max_tokens"`
	MaxCompletionTokens int           `json:"max_completion_tokens"`
	Stream              bool          `json:"stream"`
	StreamOptions       struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type chatMessage struct {
	Content json.RawMessage `json:"content"`
}

type contentPart struct {
	Type string          `json:"type"`
	Text json.RawMessage `json:"text"`
}

// reqState is the reusable per-request memory.
type reqState struct {
	body  []byte
	out   []byte
	head  []byte // chunk prefix, see above
	req   chatRequest
	parts []contentPart

	objectAt, objectEnd int // position of the "object" value in head
}

func (st *reqState) release() {
	if cap(st.body) > keepBuffer {
		st.body = nil
	}
	if cap(st.out) > keepBuffer {
		st.out = nil
	}
	if len(st.req.Messages) > 1024 {
		st.req.Messages = nil
	}
	statePool.Put(st)
}

// readBody reads the whole request body into st.body.
func (st *reqState) readBody(r io.Reader) error {
	b := st.body[:0]
	if r == nil { // a server request always has a Body; a hand-made one may not
		st.body = b
		return nil
	}
	if cap(b) < 512 {
		b = make([]byte, 0, 512)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		st.body = b
		if len(b) > maxBodyBytes {
			return errBodyTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// decode parses st.body and counts the prompt tokens.
func (st *reqState) decode() (*chatRequest, int, error) {
	// encoding/json decodes into reused slice elements without zeroing
	// them, so clear what a previous request left behind.
	msgs := st.req.Messages[:cap(st.req.Messages)]
	for i := range msgs {
		msgs[i].Content = msgs[i].Content[:0]
	}
	st.req = chatRequest{Messages: msgs[:0]}
	if err := json.Unmarshal(st.body, &st.req); err != nil {
		return nil, 0, err
	}
	prompt := 0
	for i := range st.req.Messages {
		n, err := st.countContent(st.req.Messages[i].Content)
		if err != nil {
			return nil, 0, fmt.Errorf("messages[%d].content: %w", i, err)
		}
		prompt += n
	}
	return &st.req, prompt, nil
}

// countContent counts the words of a message content: a string, an array of
// content parts (only "text" parts count) or null.
func (st *reqState) countContent(raw json.RawMessage) (int, error) {
	for len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t' || raw[0] == '\n' || raw[0] == '\r') {
		raw = raw[1:]
	}
	if len(raw) == 0 {
		return 0, nil
	}
	switch raw[0] {
	case '"':
		return countStringWords(raw), nil
	case 'n':
		return 0, nil
	case '[':
		parts := st.parts[:cap(st.parts)]
		for i := range parts {
			parts[i] = contentPart{Text: parts[i].Text[:0]}
		}
		st.parts = parts[:0]
		if err := json.Unmarshal(raw, &st.parts); err != nil {
			return 0, err
		}
		n := 0
		for _, p := range st.parts {
			if p.Type == "text" && len(p.Text) > 0 && p.Text[0] == '"' {
				n += countStringWords(p.Text)
			}
		}
		return n, nil
	}
	return 0, errors.New("must be a string or an array of content parts")
}

// countStringWords returns the number of whitespace-separated words (as
// strings.Fields counts them) in the decoded value of a valid JSON string
// literal, without decoding it into memory.
func countStringWords(lit []byte) int {
	s := lit[1 : len(lit)-1]
	n := 0
	inWord := false
	for i := 0; i < len(s); {
		c := s[i]
		var space bool
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'n', 't', 'r', 'f':
				space = true
			case 'u':
				r := rune(0)
				for _, h := range s[i+2 : i+6] {
					r = r<<4 | rune(unhex(h))
				}
				space = unicode.IsSpace(r)
				i += 4
			}
			i += 2
		case c < utf8.RuneSelf:
			space = c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if space {
			inWord = false
		} else if !inWord {
			inWord = true
			n++
		}
	}
	return n
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// writeHead builds the chunk prefix
// {"id":"chatcmpl-<hex>","object":"chat.completion.chunk","created":<unix>,"model":<model>,
func (st *reqState) writeHead(id uint64, created int64, model string) {
	const hex = "0123456789abcdef"
	b := append(st.head[:0], `{"id":"chatcmpl-`...)
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[id>>uint(shift)&0xf])
	}
	b = append(b, `","object":`...)
	st.objectAt = len(b)
	b = append(b, `"chat.completion.chunk"`...)
	st.objectEnd = len(b)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, model)
	st.head = append(b, ',')
}

// id returns the completion id, "chatcmpl-<hex>".
func (st *reqState) id() []byte { return st.head[idOffset : idOffset+idLen] }

// appendUsage appends "usage":{...}.
func appendUsage(b []byte, prompt, completion int) []byte {
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completion), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completion), 10)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }

func itoa(n int) string { return strconv.Itoa(n) }

// output buffers a streamed response and writes it out before each wait.
type output struct {
	w  http.ResponseWriter
	fl http.Flusher             // nil if w is not a Flusher
	rc *http.ResponseController // used when fl is nil
	b  []byte
	st *reqState
}

func newOutput(w http.ResponseWriter, st *reqState) output {
	o := output{w: w, b: st.out[:0], st: st}
	if fl, ok := w.(http.Flusher); ok {
		o.fl = fl
	} else {
		o.rc = http.NewResponseController(w)
	}
	return o
}

// chunk appends the event "data: " + head + tail.
func (o *output) chunk(st *reqState, tail []byte) {
	o.b = append(o.b, "data: "...)
	o.b = append(o.b, st.head...)
	o.b = append(o.b, tail...)
	if len(o.b) >= writeThreshold {
		o.write()
	}
}

// write hands the buffered bytes to the ResponseWriter.
func (o *output) write() bool {
	if len(o.b) == 0 {
		return true
	}
	_, err := o.w.Write(o.b)
	o.st.out = o.b[:0]
	o.b = o.b[:0]
	return err == nil
}

// flush writes out and flushes the buffered bytes.
func (o *output) flush() bool {
	if !o.write() {
		return false
	}
	if o.fl != nil {
		o.fl.Flush()
		return true
	}
	return o.rc.Flush() == nil
}

// tokens sends the output tokens on the plan's schedule: before token i it
// waits for its time, then emit(i) appends it. A mid-stream fault
// (p.fault) strikes before token p.cut() (see output.streamFault). It
// reports false when the stream must end here: the client went away, or
// the fault ended it.
func (o *output) tokens(p *plan, emit func(i int)) bool {
	for i := 0; i < p.n; i++ {
		if p.fault != "" && i == p.cut() && !o.streamFault(p) {
			return false
		}
		if !o.waitUntil(&p.waitFor, p.at(i)) {
			return false
		}
		emit(i)
		if len(o.b) >= writeThreshold {
			o.write()
		}
	}
	return true
}

// waitUntil flushes and waits if t is in the future; events already due are
// coalesced with what is buffered. It reports false when the client is gone.
func (o *output) waitUntil(wt *waiter, t time.Time) bool {
	if time.Until(t) <= 0 {
		return true
	}
	if !o.flush() {
		return false
	}
	return wt.until(t)
}

// waiter waits for points of the schedule with one reusable timer, finishing
// each wait with a precise sleep where the platform supports it.
type waiter struct {
	done  <-chan struct{}
	fine  time.Duration
	timer *time.Timer
}

// until waits until t and reports true, or false if done closes first.
func (wt *waiter) until(t time.Time) bool {
	for {
		rem := time.Until(t)
		if rem <= 0 {
			return true
		}
		if rem <= wt.fine {
			if sleepPrecise(rem) {
				select {
				case <-wt.done:
					return false
				default:
				}
				continue
			}
		} else {
			rem -= wt.fine
		}
		if wt.timer == nil {
			wt.timer = time.NewTimer(rem)
		} else {
			wt.timer.Reset(rem)
		}
		select {
		case <-wt.timer.C:
		case <-wt.done:
			return false
		}
	}
}

func (wt *waiter) stop() {
	if wt.timer != nil {
		wt.timer.Stop()
	}
}
