package tokenizer

import (
	"fmt"
	"strings"
	"sync"

	"github.com/llmeter-go/llmeter/tokenizer/internal/ranks"
)

// Tiktoken is one of OpenAI's tiktoken encodings. The rank tables of
// cl100k_base and o200k_base are embedded in the binary (about 1.5 MB,
// gzip-compressed) and decompressed once, on first use; nothing is
// downloaded. o200k_harmony (gpt-oss) encodes text like o200k_base: it only
// adds special tokens.
//
// Encode is tiktoken's encode_ordinary: special tokens such as
// <|endoftext|> in the text are encoded as plain text, never as their
// special ids. A Tiktoken is safe for concurrent use.
type Tiktoken struct {
	name string
	enc  *encoding
}

type encoding struct {
	bpe     bpe
	pat     *pattern
	tokens  [][]byte       // rank → bytes
	special map[int]string // special token ids, for Decode only
}

type lazyEncoding struct {
	table   string // embedded rank table
	pattern string
	once    sync.Once
	enc     *encoding
	err     error
}

var encodings = map[string]*lazyEncoding{
	"cl100k_base":   {table: "cl100k_base", pattern: patCL100K},
	"o200k_base":    {table: "o200k_base", pattern: patO200K},
	"o200k_harmony": {table: "o200k_base", pattern: patO200K},
}

// specialTokens of each table, as tiktoken defines them (o200k_harmony's
// own are not listed: Decode skips them).
var specialTokens = map[string]map[int]string{
	"cl100k_base": {100257: "<|endoftext|>", 100258: "<|fim_prefix|>", 100259: "<|fim_middle|>",
		100260: "<|fim_suffix|>", 100276: "<|endofprompt|>"},
	"o200k_base": {199999: "<|endoftext|>", 200018: "<|endofprompt|>"},
}

// sharedTables lets o200k_base and o200k_harmony share one table.
var (
	sharedMu     sync.Mutex
	sharedTables = map[string]*encoding{}
)

// TiktokenEncodings lists the encodings that are built in.
func TiktokenEncodings() []string { return []string{"cl100k_base", "o200k_base", "o200k_harmony"} }

// NewTiktoken returns the tiktoken encoding name (cl100k_base, o200k_base
// or o200k_harmony). The first call for an encoding builds its table (tens
// of milliseconds); later ones share it.
func NewTiktoken(name string) (*Tiktoken, error) {
	l, ok := encodings[name]
	if !ok {
		return nil, fmt.Errorf("tokenizer: tiktoken encoding %q is not built in (built in: %s); for other encodings, load a tokenizer.json with hf:PATH",
			name, strings.Join(TiktokenEncodings(), ", "))
	}
	l.once.Do(func() { l.enc, l.err = loadEncoding(l.table, l.pattern) })
	if l.err != nil {
		return nil, l.err
	}
	return &Tiktoken{name: name, enc: l.enc}, nil
}

// TiktokenForModel returns the encoding tiktoken uses for an OpenAI model,
// e.g. "gpt-4o" → o200k_base, "gpt-4" → cl100k_base (see EncodingForModel).
func TiktokenForModel(model string) (*Tiktoken, error) {
	name, err := EncodingForModel(model)
	if err != nil {
		return nil, err
	}
	if _, ok := encodings[name]; !ok {
		return nil, fmt.Errorf("tokenizer: model %q uses tiktoken encoding %q, which is not built in (built in: %s)",
			model, name, strings.Join(TiktokenEncodings(), ", "))
	}
	return NewTiktoken(name)
}

func loadEncoding(table, pat string) (*encoding, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if e, ok := sharedTables[table]; ok {
		return e, nil
	}
	tokens, err := ranks.Load(table)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	p, err := compilePattern(pat)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	e := &encoding{tokens: tokens, pat: p, special: specialTokens[table]}
	e.bpe.ranks = make(map[string]int32, len(tokens))
	for rank, tok := range tokens {
		e.bpe.ranks[string(tok)] = int32(rank)
	}
	e.bpe.byteMode = true
	for b := range e.bpe.byteID {
		id, ok := e.bpe.ranks[string([]byte{byte(b)})]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: no token for byte %#02x", table, b)
		}
		e.bpe.byteID[b] = id
	}
	e.bpe.unk = -1
	sharedTables[table] = e
	return e, nil
}

// Name returns the encoding name, e.g. "o200k_base".
func (t *Tiktoken) Name() string { return t.name }

// Encode returns the token ids of text (tiktoken's encode_ordinary).
func (t *Tiktoken) Encode(text string) []int {
	sc := getScratch()
	defer putScratch(sc)
	out := make([]int, 0, len(text)/4+1)
	b := &t.enc.bpe
	if m := t.enc.pat.m; m != nil {
		for i := 0; i < len(text); {
			j := m(text, i)
			out = b.encode(sc, text[i:j], out)
			i = j
		}
		return out
	}
	// tiktoken encodes the matches only; its patterns match everywhere.
	t.enc.pat.each(text, func(i, j int) { out = b.encode(sc, text[i:j], out) })
	return out
}

// CountTokens returns len(t.Encode(text)) without building the list.
func (t *Tiktoken) CountTokens(text string) int {
	sc := getScratch()
	defer putScratch(sc)
	n := 0
	b := &t.enc.bpe
	if m := t.enc.pat.m; m != nil {
		for i := 0; i < len(text); {
			j := m(text, i)
			n += b.count(sc, text[i:j])
			i = j
		}
		return n
	}
	t.enc.pat.each(text, func(i, j int) { n += b.count(sc, text[i:j]) })
	return n
}

// DecodeBytes returns the bytes of tokens. A special token's id gives its
// text (e.g. "<|endoftext|>"); unknown ids are skipped.
func (t *Tiktoken) DecodeBytes(tokens []int) []byte {
	var out []byte
	for _, id := range tokens {
		if id >= 0 && id < len(t.enc.tokens) {
			out = append(out, t.enc.tokens[id]...)
		} else if s, ok := t.enc.special[id]; ok {
			out = append(out, s...)
		}
	}
	return out
}

// Decode returns the text of tokens. Bytes that do not form valid UTF-8
// (a prefix of tokens may end inside a character) become U+FFFD, as with
// tiktoken's decode(errors="replace"). Unknown ids are skipped.
func (t *Tiktoken) Decode(tokens []int) string { return lossyString(t.DecodeBytes(tokens)) }

// TokenizerConfig is LLMeter's saved form of a tiktoken encoding:
// {"tokenizer_module": "tiktoken", "name": <encoding name>}.
func (t *Tiktoken) TokenizerConfig() map[string]any {
	return map[string]any{"tokenizer_module": "tiktoken", "name": t.name}
}
