package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The normalizers, pre-tokenizers and decoders of tokenizer.json, each
// following the Hugging Face tokenizers library (version 0.23): the same
// splits, the same empty-piece handling, the same quirks.

type component struct {
	Type string `json:"type"`
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// ---- normalizers ------------------------------------------------------------

type normalizer interface{ normalize(s string) string }

type normFunc func(string) string

func (f normFunc) normalize(s string) string { return f(s) }

type normSeq []normalizer

func (q normSeq) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// hfPattern is a {"String": …} or {"Regex": …} pattern.
type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// matcherOf returns a function listing the matches of p in s.
func (p hfPattern) compile() (func(s string, fn func(start, end int)), error) {
	switch {
	case p.String != nil:
		lit := *p.String
		return func(s string, fn func(start, end int)) {
			if lit == "" {
				return
			}
			for i := 0; ; {
				j := strings.Index(s[i:], lit)
				if j < 0 {
					return
				}
				fn(i+j, i+j+len(lit))
				i += j + len(lit)
			}
		}, nil
	case p.Regex != nil:
		pat, err := compilePattern(*p.Regex)
		if err != nil {
			return nil, err
		}
		return pat.each, nil
	}
	return nil, fmt.Errorf("pattern: want String or Regex")
}

// replaceAll replaces the non-empty matches of find in s with content.
func replaceAll(find func(string, func(int, int)), s, content string) string {
	var sb strings.Builder
	last := 0
	find(s, func(start, end int) {
		if start == end {
			return
		}
		sb.WriteString(s[last:start])
		sb.WriteString(content)
		last = end
	})
	if last == 0 && sb.Len() == 0 {
		return s
	}
	sb.WriteString(s[last:])
	return sb.String()
}

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	switch c.Type {
	case "NFC":
		return normFunc(norm.NFC.String), nil
	case "NFD":
		return normFunc(norm.NFD.String), nil
	case "NFKC":
		return normFunc(norm.NFKC.String), nil
	case "NFKD":
		return normFunc(norm.NFKD.String), nil
	case "Lowercase":
		// Go's simple case mapping; Rust's to_lowercase also applies the
		// final-sigma rule (Σ at the end of a word → ς) and maps İ to i̇.
		return normFunc(strings.ToLower), nil
	case "StripAccents":
		// Removes combining marks (Mn, Mc, Me); meant to follow NFD.
		return normFunc(func(s string) string {
			return strings.Map(func(r rune) rune {
				if unicode.IsMark(r) {
					return -1
				}
				return r
			}, s)
		}), nil
	case "Strip":
		var v struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("normalizer Strip: %w", err)
		}
		return normFunc(func(s string) string {
			if v.Left {
				s = strings.TrimLeftFunc(s, isWhiteSpace)
			}
			if v.Right {
				s = strings.TrimRightFunc(s, isWhiteSpace)
			}
			return s
		}), nil
	case "Prepend":
		var v struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("normalizer Prepend: %w", err)
		}
		return normFunc(func(s string) string {
			if s == "" {
				return s
			}
			return v.Prepend + s
		}), nil
	case "Replace":
		var v struct {
			Pattern hfPattern `json:"pattern"`
			Content string    `json:"content"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("normalizer Replace: %w", err)
		}
		find, err := v.Pattern.compile()
		if err != nil {
			return nil, fmt.Errorf("normalizer Replace: %w", err)
		}
		return normFunc(func(s string) string { return replaceAll(find, s, v.Content) }), nil
	case "Sequence":
		var v struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("normalizer Sequence: %w", err)
		}
		var q normSeq
		for _, r := range v.Normalizers {
			n, err := parseNormalizer(r)
			if err != nil {
				return nil, err
			}
			if n != nil {
				q = append(q, n)
			}
		}
		return q, nil
	}
	return nil, unsupported("normalizer", c.Type)
}

// ---- pre-tokenizers ---------------------------------------------------------

// preTokenizer splits s into pieces. first tells whether s starts at the
// beginning of the input (Metaspace's prepend_scheme "first").
type preTokenizer interface {
	split(s string, first bool, emit func(piece string, first bool))
}

type preSeq []preTokenizer

func (q preSeq) split(s string, first bool, emit func(string, bool)) {
	q.run(0, s, first, emit)
}

func (q preSeq) run(k int, s string, first bool, emit func(string, bool)) {
	if k == len(q) {
		emit(s, first)
		return
	}
	q[k].split(s, first, func(p string, f bool) {
		if p != "" {
			q.run(k+1, p, f, emit)
		}
	})
}

type behavior int

const (
	removed behavior = iota
	isolated
	mergedWithPrevious
	mergedWithNext
	contiguous
)

var behaviors = map[string]behavior{
	"Removed": removed, "Isolated": isolated, "MergedWithPrevious": mergedWithPrevious,
	"MergedWithNext": mergedWithNext, "Contiguous": contiguous,
}

type span struct {
	start, end int
	match      bool
}

// spansOf lists matches and the text between them, covering s, as the
// library's Pattern::find_matches does.
func spansOf(s string, find func(string, func(int, int)), out []span) []span {
	if s == "" {
		return append(out, span{0, 0, false})
	}
	prev := 0
	find(s, func(start, end int) {
		if prev != start {
			out = append(out, span{prev, start, false})
		}
		out = append(out, span{start, end, true})
		prev = end
	})
	if prev != len(s) {
		out = append(out, span{prev, len(s), false})
	}
	return out
}

// eachRune reports every character for which pred holds as one match.
func eachRune(pred func(rune) bool) func(string, func(int, int)) {
	return func(s string, fn func(int, int)) {
		for i, r := range s {
			if pred(r) {
				fn(i, i+utf8.RuneLen(r))
			}
		}
	}
}

// splitBy is NormalizedString::split: apply the delimiter behavior to the
// spans and emit the non-empty pieces.
func splitBy(s string, first bool, spans []span, b behavior, invert bool, emit func(string, bool)) {
	if invert {
		for i := range spans {
			spans[i].match = !spans[i].match
		}
	}
	var kept []span
	switch b {
	case isolated:
		kept = spans
	case removed:
		for _, sp := range spans {
			if !sp.match {
				kept = append(kept, sp)
			}
		}
	case contiguous:
		prev := false
		for _, sp := range spans {
			if sp.match == prev && len(kept) > 0 {
				kept[len(kept)-1].end = sp.end
			} else {
				kept = append(kept, sp)
			}
			prev = sp.match
		}
	case mergedWithPrevious:
		prev := false
		for _, sp := range spans {
			if sp.match && !prev && len(kept) > 0 {
				kept[len(kept)-1].end = sp.end
			} else {
				kept = append(kept, sp)
			}
			prev = sp.match
		}
	case mergedWithNext:
		prev := false
		for i := len(spans) - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.match && !prev && len(kept) > 0 {
				kept[len(kept)-1].start = sp.start
			} else {
				kept = append(kept, sp)
			}
			prev = sp.match
		}
		for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
			kept[i], kept[j] = kept[j], kept[i]
		}
	}
	for _, sp := range kept {
		if sp.end > sp.start {
			emit(s[sp.start:sp.end], first && sp.start == 0)
		}
	}
}

type splitPre struct {
	find   func(string, func(int, int))
	b      behavior
	invert bool
}

func (p *splitPre) split(s string, first bool, emit func(string, bool)) {
	if p.b == isolated && !p.invert {
		// Every span is a piece: no need to collect them.
		prev := 0
		p.find(s, func(start, end int) {
			if prev < start {
				emit(s[prev:start], first && prev == 0)
			}
			if start < end {
				emit(s[start:end], first && start == 0)
			}
			prev = end
		})
		if prev < len(s) {
			emit(s[prev:], first && prev == 0)
		}
		return
	}
	splitBy(s, first, spansOf(s, p.find, nil), p.b, p.invert, emit)
}

// byteLevelPre is the ByteLevel pre-tokenizer: an optional prefix space,
// GPT-2's regex split, then each byte mapped to a character of GPT-2's
// byte alphabet. When it is the last pre-tokenizer, the mapping is skipped
// and the BPE core works on the raw bytes (mapChars false).
type byteLevelPre struct {
	addPrefixSpace bool
	useRegex       bool
	last           bool
	mapChars       bool
	pat            *pattern // GPT-2's
}

func (p *byteLevelPre) split(s string, first bool, emit func(string, bool)) {
	if p.addPrefixSpace && s != "" && s[0] != ' ' {
		s = " " + s
	}
	out := emit
	if p.mapChars {
		out = func(piece string, f bool) { emit(byteLevelEncode(piece), f) }
	}
	if !p.useRegex {
		out(s, first)
		return
	}
	p.pat.each(s, func(i, j int) {
		if i < j {
			out(s[i:j], first && i == 0)
		}
	})
}

type metaspacePre struct {
	rep     string
	prepend string // "always", "first" or "never"
	doSplit bool
}

func (p *metaspacePre) split(s string, first bool, emit func(string, bool)) {
	s = strings.ReplaceAll(s, " ", p.rep)
	if s != "" && !strings.HasPrefix(s, p.rep) && (p.prepend == "always" || p.prepend == "first" && first) {
		s = p.rep + s
	}
	if !p.doSplit {
		emit(s, first)
		return
	}
	r, _ := utf8.DecodeRuneInString(p.rep)
	splitBy(s, first, spansOf(s, eachRune(func(c rune) bool { return c == r }), nil), mergedWithNext, false, emit)
}

func parsePreTokenizer(raw json.RawMessage, last bool) (preTokenizer, *byteLevelPre, error) {
	if isNull(raw) {
		return nil, nil, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	switch c.Type {
	case "Sequence":
		var v struct {
			Pre []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer Sequence: %w", err)
		}
		var q preSeq
		var bl *byteLevelPre
		for i, r := range v.Pre {
			p, b, err := parsePreTokenizer(r, last && i == len(v.Pre)-1)
			if err != nil {
				return nil, nil, err
			}
			if b != nil {
				bl = b
			}
			if p != nil {
				q = append(q, p)
			}
		}
		return q, bl, nil
	case "ByteLevel":
		v := struct {
			AddPrefixSpace *bool `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer ByteLevel: %w", err)
		}
		pat, err := compilePattern(patGPT2)
		if err != nil {
			return nil, nil, err
		}
		p := &byteLevelPre{addPrefixSpace: true, useRegex: true, last: last, mapChars: true, pat: pat}
		if v.AddPrefixSpace != nil {
			p.addPrefixSpace = *v.AddPrefixSpace
		}
		if v.UseRegex != nil {
			p.useRegex = *v.UseRegex
		}
		return p, p, nil
	case "Split":
		var v struct {
			Pattern  hfPattern `json:"pattern"`
			Behavior string    `json:"behavior"`
			Invert   bool      `json:"invert"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer Split: %w", err)
		}
		b, ok := behaviors[v.Behavior]
		if !ok {
			return nil, nil, fmt.Errorf("pre_tokenizer Split: behavior %q: %w", v.Behavior, ErrUnsupported)
		}
		find, err := v.Pattern.compile()
		if err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer Split: %w", err)
		}
		return &splitPre{find: find, b: b, invert: v.Invert}, nil, nil
	case "Metaspace":
		var v struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			Split          *bool   `json:"split"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer Metaspace: %w", err)
		}
		p, err := newMetaspace(v.Replacement, v.PrependScheme, v.AddPrefixSpace)
		if err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer Metaspace: %w", err)
		}
		p.doSplit = v.Split == nil || *v.Split
		return p, nil, nil
	case "Digits":
		var v struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer Digits: %w", err)
		}
		b := contiguous
		if v.Individual {
			b = isolated
		}
		return &splitPre{find: eachRune(unicode.IsNumber), b: b}, nil, nil
	case "Punctuation":
		v := struct {
			Behavior *string `json:"behavior"`
		}{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer Punctuation: %w", err)
		}
		b := isolated
		if v.Behavior != nil {
			var ok bool
			if b, ok = behaviors[*v.Behavior]; !ok {
				return nil, nil, fmt.Errorf("pre_tokenizer Punctuation: behavior %q: %w", *v.Behavior, ErrUnsupported)
			}
		}
		return &splitPre{find: eachRune(isPunctuation), b: b}, nil, nil
	case "WhitespaceSplit":
		return &splitPre{find: eachRune(isWhiteSpace), b: removed}, nil, nil
	case "CharDelimiterSplit":
		var v struct {
			Delimiter string `json:"delimiter"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, fmt.Errorf("pre_tokenizer CharDelimiterSplit: %w", err)
		}
		d, n := utf8.DecodeRuneInString(v.Delimiter)
		if n == 0 || n != len(v.Delimiter) {
			return nil, nil, fmt.Errorf("pre_tokenizer CharDelimiterSplit: delimiter %q is not one character", v.Delimiter)
		}
		return &splitPre{find: eachRune(func(r rune) bool { return r == d }), b: removed}, nil, nil
	}
	return nil, nil, unsupported("pre_tokenizer", c.Type)
}

func newMetaspace(replacement string, scheme *string, addPrefixSpace *bool) (*metaspacePre, error) {
	if utf8.RuneCountInString(replacement) != 1 {
		return nil, fmt.Errorf("replacement %q is not one character", replacement)
	}
	p := &metaspacePre{rep: replacement, prepend: "always", doSplit: true}
	if scheme != nil {
		switch *scheme {
		case "always", "first", "never":
			p.prepend = *scheme
		default:
			return nil, fmt.Errorf("prepend_scheme %q: %w", *scheme, ErrUnsupported)
		}
	}
	if addPrefixSpace != nil && !*addPrefixSpace {
		p.prepend = "never"
	}
	return p, nil
}

// ---- decoders ---------------------------------------------------------------

type decoder interface {
	decode(tokens []string) []string
}

type decFunc func([]string) []string

func (f decFunc) decode(t []string) []string { return f(t) }

type decSeq []decoder

func (q decSeq) decode(t []string) []string {
	for _, d := range q {
		t = d.decode(t)
	}
	return t
}

func mapTokens(f func(i int, s string) string) decFunc {
	return func(t []string) []string {
		out := make([]string, len(t))
		for i, s := range t {
			out[i] = f(i, s)
		}
		return out
	}
}

func parseDecoder(raw json.RawMessage) (decoder, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	switch c.Type {
	case "ByteLevel":
		return decFunc(decodeByteLevel), nil
	case "Fuse":
		return decFunc(func(t []string) []string { return []string{strings.Join(t, "")} }), nil
	case "ByteFallback":
		return decFunc(decodeByteFallback), nil
	case "Replace":
		var v struct {
			Pattern hfPattern `json:"pattern"`
			Content string    `json:"content"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decoder Replace: %w", err)
		}
		find, err := v.Pattern.compile()
		if err != nil {
			return nil, fmt.Errorf("decoder Replace: %w", err)
		}
		return mapTokens(func(_ int, s string) string { return replaceAll(find, s, v.Content) }), nil
	case "Strip":
		var v struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decoder Strip: %w", err)
		}
		content, n := utf8.DecodeRuneInString(v.Content)
		if n == 0 || n != len(v.Content) {
			return nil, fmt.Errorf("decoder Strip: content %q is not one character", v.Content)
		}
		return mapTokens(func(_ int, s string) string { return stripRunes(s, content, v.Start, v.Stop) }), nil
	case "Metaspace":
		var v struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decoder Metaspace: %w", err)
		}
		p, err := newMetaspace(v.Replacement, v.PrependScheme, v.AddPrefixSpace)
		if err != nil {
			return nil, fmt.Errorf("decoder Metaspace: %w", err)
		}
		rep, _ := utf8.DecodeRuneInString(p.rep)
		return mapTokens(func(i int, s string) string {
			return strings.Map(func(r rune) rune {
				switch {
				case r != rep:
					return r
				case i == 0 && p.prepend != "never":
					return -1
				}
				return ' '
			}, s)
		}), nil
	case "BPEDecoder":
		v := struct {
			Suffix *string `json:"suffix"`
		}{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decoder BPEDecoder: %w", err)
		}
		suffix := "</w>"
		if v.Suffix != nil {
			suffix = *v.Suffix
		}
		return decFunc(func(t []string) []string {
			out := make([]string, len(t))
			for i, s := range t {
				rep := " "
				if i == len(t)-1 {
					rep = ""
				}
				out[i] = strings.ReplaceAll(s, suffix, rep)
			}
			return out
		}), nil
	case "Sequence":
		var v struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decoder Sequence: %w", err)
		}
		var q decSeq
		for _, r := range v.Decoders {
			d, err := parseDecoder(r)
			if err != nil {
				return nil, err
			}
			if d != nil {
				q = append(q, d)
			}
		}
		return q, nil
	}
	return nil, unsupported("decoder", c.Type)
}

// decodeByteLevel maps each token's characters back to bytes (a token with
// a character outside the byte alphabet, such as an added token, is kept as
// it is) and converts the whole to a string, invalid UTF-8 becoming U+FFFD.
func decodeByteLevel(t []string) []string {
	var b []byte
	for _, s := range t {
		if raw, ok := byteLevelDecode(s); ok {
			b = append(b, raw...)
		} else {
			b = append(b, s...)
		}
	}
	return []string{lossyString(b)}
}

// decodeByteFallback turns runs of <0xNN> tokens into the string of their
// bytes, or one U+FFFD per byte if they are not valid UTF-8.
func decodeByteFallback(t []string) []string {
	out := make([]string, 0, len(t))
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, s := range t {
		if len(s) == 6 && strings.HasPrefix(s, "<0x") && s[5] == '>' {
			if v, err := strconv.ParseUint(s[3:5], 16, 8); err == nil {
				pending = append(pending, byte(v))
				continue
			}
		}
		flush()
		out = append(out, s)
	}
	flush()
	return out
}

// stripRunes removes up to start leading and stop trailing c characters.
func stripRunes(s string, c rune, start, stop int) string {
	rs := []rune(s)
	lo := 0
	for lo < start && lo < len(rs) && rs[lo] == c {
		lo++
	}
	hi := len(rs)
	for k := 0; k < stop && hi > lo && rs[hi-1] == c; k++ {
		hi--
	}
	return string(rs[lo:hi])
}

// ---- byte-level alphabet ------------------------------------------------------

// GPT-2's reversible byte → character mapping: printable Latin-1 bytes map
// to themselves, the others to U+0100 onwards.
var (
	byteToChar [256]rune
	charToByte [0x144]int16
)

func init() {
	for i := range charToByte {
		charToByte[i] = -1
	}
	n := 0
	for b := 0; b < 256; b++ {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			byteToChar[b] = rune(b)
		} else {
			byteToChar[b] = rune(256 + n)
			n++
		}
		charToByte[byteToChar[b]] = int16(b)
	}
}

// byteLevelEncode maps each byte of s to its byte-level character.
func byteLevelEncode(s string) string {
	var sb strings.Builder
	sb.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		sb.WriteRune(byteToChar[s[i]])
	}
	return sb.String()
}

// byteLevelDecode maps the characters of a byte-level token back to bytes;
// ok is false if one is not in the byte alphabet.
func byteLevelDecode(tok string) ([]byte, bool) {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		if r < 0 || int(r) >= len(charToByte) || charToByte[r] < 0 {
			return nil, false
		}
		out = append(out, byte(charToByte[r]))
	}
	return out, true
}

// ---- character classes of Rust's char and regex ------------------------------

// isWhiteSpace is Rust's char::is_whitespace and regex \s (White_Space).
func isWhiteSpace(r rune) bool { return unicode.IsSpace(r) }

// isWordChar is Rust's regex \w with Unicode: Alphabetic, marks, decimal
// digits, connector punctuation, join controls.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

// isPunctuation is the library's is_punc: ASCII punctuation (which takes in
// the symbols $+<=>^`|~) or a character of category P.
func isPunctuation(r rune) bool {
	if r < utf8.RuneSelf {
		return strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", byte(r)) >= 0
	}
	return unicode.IsPunct(r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordChar(r)
}
