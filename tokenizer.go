package llmeter

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Tokenizer turns text into token ids and back. The Runner uses it to count
// tokens when the API did not report them.
type Tokenizer interface {
	Encode(text string) []int
	Decode(tokens []int) string
}

// TokenCounter is an optional fast path: the number of tokens of text,
// without building the token list.
type TokenCounter interface {
	CountTokens(text string) int
}

// TokenizerDescriber is implemented by tokenizers that can be saved in
// run_config.json: {"tokenizer_module": …, …}. Others are saved as
// {"tokenizer_module": "custom"}.
type TokenizerDescriber interface {
	TokenizerConfig() map[string]any
}

// CountTokens counts the tokens of text with t.
func CountTokens(t Tokenizer, text string) int {
	if c, ok := t.(TokenCounter); ok {
		return c.CountTokens(text)
	}
	return len(t.Encode(text))
}

// TokenizerToMap returns the saved form of t.
func TokenizerToMap(t Tokenizer) map[string]any {
	if d, ok := t.(TokenizerDescriber); ok {
		return d.TokenizerConfig()
	}
	return map[string]any{"tokenizer_module": "custom"}
}

// DummyTokenizer is LLMeter's default tokenizer: a token is a run of
// non-whitespace characters (Python's str.split()). Decode joins words with
// single spaces. Token ids index a vocabulary the tokenizer grows as it sees
// words. The zero value is ready to use and safe for concurrent use.
type DummyTokenizer struct {
	mu    sync.Mutex
	ids   map[string]int
	words []string
}

// CountTokens counts whitespace-separated words without allocating.
func (*DummyTokenizer) CountTokens(text string) int {
	n := 0
	in := false
	for i := 0; i < len(text); {
		c := text[i]
		var space bool
		if c < utf8.RuneSelf {
			space = asciiSpace[c] != 0
			i++
		} else {
			r, size := utf8.DecodeRuneInString(text[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

var asciiSpace = [256]uint8{'\t': 1, '\n': 1, '\v': 1, '\f': 1, '\r': 1, ' ': 1, 0x1c: 1, 0x1d: 1, 0x1e: 1, 0x1f: 1}

// Encode returns one id per whitespace-separated word.
func (t *DummyTokenizer) Encode(text string) []int {
	fields := strings.FieldsFunc(text, isPySpace)
	ids := make([]int, len(fields))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids == nil {
		t.ids = map[string]int{}
	}
	for i, w := range fields {
		id, ok := t.ids[w]
		if !ok {
			id = len(t.words)
			t.ids[w] = id
			t.words = append(t.words, w)
		}
		ids[i] = id
	}
	return ids
}

// Decode joins the words of tokens with single spaces; unknown ids are
// skipped.
func (t *DummyTokenizer) Decode(tokens []int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	words := make([]string, 0, len(tokens))
	for _, id := range tokens {
		if id >= 0 && id < len(t.words) {
			words = append(words, t.words[id])
		}
	}
	return strings.Join(words, " ")
}

// TokenizerConfig is LLMeter's saved form of its dummy tokenizer.
func (*DummyTokenizer) TokenizerConfig() map[string]any {
	return map[string]any{"tokenizer_module": "llmeter"}
}

// isPySpace matches Python's str.isspace for str.split(): Unicode White_Space
// plus the ASCII file/group/record/unit separators.
func isPySpace(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiSpace[r] != 0
	}
	return unicode.IsSpace(r)
}
