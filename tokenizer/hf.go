package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// HuggingFace is a tokenizer loaded from a Hugging Face tokenizer.json file,
// run the way the Hugging Face tokenizers library runs it (normalizer,
// pre-tokenizer, model, decoder), without network access.
//
// Supported: the BPE model, byte-level (GPT-2, Llama 3, Qwen, …: ByteLevel
// pre-tokenizer and decoder, Split with lookahead regexes, ignore_merges)
// and SentencePiece-style (Llama 2, Mistral, …: Metaspace, or Prepend and
// Replace normalizers, byte_fallback <0xNN> tokens, fuse_unk); merges as
// "a b" strings or ["a", "b"] lists; normalizers NFC, NFD, NFKC, NFKD,
// Lowercase, Strip, StripAccents, Prepend, Replace, Sequence;
// pre-tokenizers ByteLevel, Split, Metaspace, Digits, Punctuation,
// WhitespaceSplit, CharDelimiterSplit, Sequence; decoders ByteLevel,
// Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder, Sequence.
// Anything else (Unigram and WordPiece models, BERT components,
// SentencePiece's Precompiled normalizer, …) is refused at load time with
// an error naming the component.
//
// Encode differs from the library's default in two ways, both chosen for
// counting the tokens of a prompt: the post-processor's special tokens
// (e.g. Llama's <s>) are not added (add_special_tokens=False), and special
// added tokens written in the text, such as "<|endoftext|>", are encoded as
// plain text (split_special_tokens=True), like tiktoken's encode_ordinary.
// Non-special added tokens are matched as the library does (lstrip, rstrip,
// single_word, normalized). Decode keeps special tokens
// (skip_special_tokens=False).
//
// A HuggingFace tokenizer is safe for concurrent use.
type HuggingFace struct {
	name string

	addedRaw  []addedToken // non-special, matched in the raw text
	addedNorm []addedToken // non-special, matched in the normalized text

	norm normalizer
	pre  preTokenizer
	bpe  bpe

	idToToken []string // id → token as written in tokenizer.json; "" if none
	dec       decoder
}

type addedToken struct {
	content                    string
	id                         int
	lstrip, rstrip, singleWord bool
}

// LoadHuggingFace reads a tokenizer.json file, or the tokenizer.json in a
// directory. A path ending in .gz is decompressed. The path is kept as the
// tokenizer's name in run_config.json.
func LoadHuggingFace(path string) (*HuggingFace, error) {
	file := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file = filepath.Join(path, "tokenizer.json")
		if _, err := os.Stat(file); err != nil {
			hint := ""
			if _, err := os.Stat(filepath.Join(path, "tokenizer.model")); err == nil {
				hint = " (only tokenizer.model, a SentencePiece model, which is not supported: convert it to tokenizer.json)"
			}
			return nil, fmt.Errorf("tokenizer: no tokenizer.json in %s%s", path, hint)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if strings.HasSuffix(file, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", file, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", file, err)
		}
	}
	t, err := parseHuggingFace(data, path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", file, err)
	}
	return t, nil
}

// ErrUnsupported is wrapped by errors about tokenizer.json components this
// package does not implement.
var ErrUnsupported = errors.New("not supported")

func unsupported(kind, typ string) error {
	return fmt.Errorf("%s %q is %w", kind, typ, ErrUnsupported)
}

type hfFile struct {
	AddedTokens  []hfAddedToken  `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        json.RawMessage `json:"model"`
}

type hfAddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type hfModel struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// ParseHuggingFace builds a tokenizer from the contents of a
// tokenizer.json file; name is what TokenizerConfig reports.
func ParseHuggingFace(data []byte, name string) (*HuggingFace, error) {
	t, err := parseHuggingFace(data, name)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

// maxID bounds the ids of a tokenizer.json (the largest vocabularies have a
// few hundred thousand tokens).
const maxID = 1 << 24

func parseHuggingFace(data []byte, name string) (*HuggingFace, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	t := &HuggingFace{name: name}
	var err error
	if t.norm, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	var bl *byteLevelPre
	if t.pre, bl, err = parsePreTokenizer(f.PreTokenizer, true); err != nil {
		return nil, err
	}
	if t.dec, err = parseDecoder(f.Decoder); err != nil {
		return nil, err
	}

	var m hfModel
	if len(f.Model) == 0 || string(f.Model) == "null" {
		return nil, errors.New("no model")
	}
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if m.Type == "" && len(m.Merges) > 0 {
		m.Type = "BPE" // older files do not name the model type
	}
	if m.Type != "BPE" {
		return nil, unsupported("model", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("model: BPE dropout %g is %w (it makes encoding random)", *m.Dropout, ErrUnsupported)
	}
	var vocab map[string]int32
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("model: vocab: %w", err)
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}

	// id → token, model vocabulary then added tokens (which win, as in
	// the library's id_to_token).
	top := int32(-1)
	for tok, id := range vocab {
		if id < 0 || id >= maxID {
			return nil, fmt.Errorf("model: vocab: token %q has id %d", tok, id)
		}
		top = max(top, id)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 || a.ID >= maxID {
			return nil, fmt.Errorf("added_tokens: token %q has id %d", a.Content, a.ID)
		}
		top = max(top, int32(a.ID))
	}
	t.idToToken = make([]string, top+1)
	for tok, id := range vocab {
		t.idToToken[id] = tok
	}
	for _, a := range f.AddedTokens {
		// The library keeps a normalized added token in its normalized
		// form, which is what decoding sees.
		content := a.Content
		if a.Normalized && t.norm != nil {
			content = t.norm.normalize(content)
		}
		t.idToToken[a.ID] = content
	}

	b := &t.bpe
	b.unk = -1
	if m.UnkToken != nil {
		id, ok := vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("model: unk_token %q is not in the vocabulary", *m.UnkToken)
		}
		b.unk = id
	}
	if m.ContinuingSubwordPrefix != nil {
		b.prefix = *m.ContinuingSubwordPrefix
	}
	if m.EndOfWordSuffix != nil {
		b.suffix = *m.EndOfWordSuffix
	}
	b.fuseUnk, b.byteFallback, b.ignoreMerges = m.FuseUnk, m.ByteFallback, m.IgnoreMerges
	for i := range b.fallbackID {
		b.fallbackID[i] = -1
		if id, ok := vocab[fmt.Sprintf("<0x%02X>", i)]; ok {
			b.fallbackID[i] = id
		}
	}
	b.merges = make(map[uint64]merge, len(merges))
	for rank, p := range merges {
		a, ok1 := vocab[p[0]]
		c, ok2 := vocab[p[1]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("model: merge %d (%q %q): token not in the vocabulary", rank+1, p[0], p[1])
		}
		if len(b.prefix) > len(p[1]) {
			return nil, fmt.Errorf("model: merge %d (%q %q): shorter than continuing_subword_prefix", rank+1, p[0], p[1])
		}
		id, ok := vocab[p[0]+p[1][len(b.prefix):]]
		if !ok {
			return nil, fmt.Errorf("model: merge %d (%q %q): result not in the vocabulary", rank+1, p[0], p[1])
		}
		// A repeated pair keeps its last rank, as in the library.
		b.merges[uint64(uint32(a))<<32|uint64(uint32(c))] = merge{int32(rank), id}
	}
	b.whole = make([]atomic.Uint32, top+1)

	// Byte-level: when ByteLevel is the last pre-tokenizer and the model
	// needs nothing but its vocabulary, the pre-tokenizer hands raw bytes
	// to the BPE core, whose vocabulary is then keyed by bytes rather than
	// by GPT-2's byte characters. Otherwise pieces are mapped to those
	// characters, as the library does.
	b.vocab = vocab
	if bl != nil {
		if bl.last && b.prefix == "" && b.suffix == "" && !b.byteFallback {
			bl.mapChars = false
			b.byteMode = true
			b.vocab = make(map[string]int32, len(vocab))
			for tok, id := range vocab {
				if raw, ok := byteLevelDecode(tok); ok {
					b.vocab[string(raw)] = id
				}
			}
			for i := range b.byteID {
				b.byteID[i] = -1
				if id, ok := b.vocab[string([]byte{byte(i)})]; ok {
					b.byteID[i] = id
				}
			}
		} else {
			bl.mapChars = true
		}
	}

	// Non-special added tokens; special ones are plain text (see the type
	// documentation).
	for _, a := range f.AddedTokens {
		if a.Special || a.Content == "" {
			continue
		}
		at := addedToken{content: a.Content, id: a.ID, lstrip: a.Lstrip, rstrip: a.Rstrip, singleWord: a.SingleWord}
		if a.Normalized {
			if t.norm != nil {
				at.content = t.norm.normalize(at.content)
			}
			t.addedNorm = append(t.addedNorm, at)
		} else {
			t.addedRaw = append(t.addedRaw, at)
		}
	}
	// Longest first: the library matches leftmost-longest.
	for _, l := range [][]addedToken{t.addedRaw, t.addedNorm} {
		sort.SliceStable(l, func(i, j int) bool { return len(l[i].content) > len(l[j].content) })
	}
	return t, nil
}

func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			parts := strings.Split(s, " ")
			if len(parts) != 2 {
				return nil, fmt.Errorf("model: merge %d %q: want two tokens separated by a space", i+1, s)
			}
			out[i] = [2]string{parts[0], parts[1]}
		}
		return out, nil
	}
	var lists [][]string
	if err := json.Unmarshal(raw, &lists); err != nil {
		return nil, fmt.Errorf("model: merges: %w", err)
	}
	out := make([][2]string, len(lists))
	for i, l := range lists {
		if len(l) != 2 {
			return nil, fmt.Errorf("model: merge %d: want two tokens, got %d", i+1, len(l))
		}
		out[i] = [2]string{l[0], l[1]}
	}
	return out, nil
}

// segment is a part of the input between added tokens.
type segment struct {
	text  string
	id    int  // added token id, or -1
	first bool // starts at the beginning of the input
}

// splitAdded splits s on the added tokens of toks (the library's
// AddedVocabulary::find_matches): leftmost-longest matches; single_word
// tokens only between non-word characters; lstrip and rstrip take the
// surrounding whitespace into the token.
func splitAdded(s string, first bool, toks []addedToken, out []segment) []segment {
	if len(toks) == 0 || s == "" {
		return append(out, segment{text: s, id: -1, first: first})
	}
	startOff := 0
	for p := 0; p < len(s); {
		var tok *addedToken
		for k := range toks {
			if strings.HasPrefix(s[p:], toks[k].content) {
				tok = &toks[k]
				break
			}
		}
		if tok == nil {
			p++
			continue
		}
		start, stop := p, p+len(tok.content)
		p = stop
		if tok.singleWord && (start > 0 && endsWithWord(s[:start]) || stop < len(s) && startsWithWord(s[stop:])) {
			continue
		}
		if tok.lstrip {
			start = max(len(strings.TrimRightFunc(s[:start], isWhiteSpace)), startOff)
		}
		if tok.rstrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], isWhiteSpace))
			p = stop
		}
		if startOff < start {
			out = append(out, segment{text: s[startOff:start], id: -1, first: first && startOff == 0})
		}
		out = append(out, segment{text: s[start:stop], id: tok.id})
		startOff = stop
	}
	if startOff < len(s) {
		out = append(out, segment{text: s[startOff:], id: -1, first: first && startOff == 0})
	}
	return out
}

// tokenize runs the pipeline on text and calls emit with each piece for
// the model, or id with each added token.
func (t *HuggingFace) tokenize(text string, piece func(string), id func(int)) {
	segs := splitAdded(text, true, t.addedRaw, nil)
	var norm []segment
	for _, sg := range segs {
		if sg.id >= 0 {
			norm = append(norm, sg)
			continue
		}
		s := sg.text
		if t.norm != nil {
			s = t.norm.normalize(s)
		}
		norm = splitAdded(s, sg.first, t.addedNorm, norm)
	}
	for _, sg := range norm {
		switch {
		case sg.id >= 0:
			id(sg.id)
		case sg.text == "":
		case t.pre == nil:
			piece(sg.text)
		default:
			t.pre.split(sg.text, sg.first, func(p string, _ bool) {
				if p != "" {
					piece(p)
				}
			})
		}
	}
}

// Encode returns the token ids of text; see the type documentation for how
// special tokens are handled.
func (t *HuggingFace) Encode(text string) []int {
	sc := getScratch()
	defer putScratch(sc)
	out := make([]int, 0, len(text)/3+1)
	t.tokenize(text,
		func(p string) { out = t.bpe.encode(sc, p, out) },
		func(id int) { out = append(out, id) })
	return out
}

// CountTokens returns len(t.Encode(text)) without building the list.
func (t *HuggingFace) CountTokens(text string) int {
	sc := getScratch()
	defer putScratch(sc)
	n := 0
	t.tokenize(text,
		func(p string) { n += t.bpe.count(sc, p) },
		func(int) { n++ })
	return n
}

// Decode returns the text of tokens through the tokenizer's decoder, keeping
// special tokens; unknown ids are skipped. Without a decoder, tokens are
// joined with spaces, as the library does.
func (t *HuggingFace) Decode(tokens []int) string {
	toks := make([]string, 0, len(tokens))
	for _, id := range tokens {
		if id >= 0 && id < len(t.idToToken) && t.idToToken[id] != "" {
			toks = append(toks, t.idToToken[id])
		}
	}
	if t.dec == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.dec.decode(toks), "")
}

// TokenizerConfig is LLMeter's saved form of a Hugging Face tokenizer:
// {"tokenizer_module": "transformers", "name": <the path or name given>}.
func (t *HuggingFace) TokenizerConfig() map[string]any {
	return map[string]any{"tokenizer_module": "transformers", "name": t.name}
}

// VocabSize returns the number of ids, added tokens included.
func (t *HuggingFace) VocabSize() int { return len(t.idToToken) }
