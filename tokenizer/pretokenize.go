package tokenizer

// Hand-written matchers for the pre-tokenizer regular expressions of the
// known byte-level BPE encodings. Each one returns the end of the match that
// the regex (leftmost-first alternation, greedy quantifiers, backtracking)
// finds at position i of s. These patterns match at every position, so the
// pieces are contiguous. Go's regexp has no lookahead (\s+(?!\S)); these
// matchers are also several times faster than a backtracking regex engine.
// FuzzMatchers checks them against github.com/dlclark/regexp2 running the
// original patterns; the reference tests check the resulting token ids.

// Pre-tokenizer patterns, as written by tiktoken and Hugging Face.
const (
	// patGPT2 is GPT-2's pattern (r50k_base, p50k_base, and Hugging Face's
	// ByteLevel pre-tokenizer with use_regex).
	patGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// patCL100K is cl100k_base's pattern, also used by Llama 3.
	patCL100K = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patQwen2 is cl100k's pattern with single digits (Qwen2, Qwen3).
	patQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patO200K is o200k_base's pattern.
	patO200K = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// matcher returns the end (> i) of the match at s[i:]; i < len(s).
type matcher func(s string, i int) int

// knownMatchers maps the patterns above to their matchers.
var knownMatchers = map[string]matcher{
	patGPT2:   matchGPT2,
	patCL100K: matchCL100K,
	patQwen2:  matchQwen2,
	patO200K:  matchO200K,
}

// isOther reports [^\s\p{L}\p{N}].
func isOther(c uint8) bool { return c&(clsS|clsL|clsN) == 0 }

// isPrefix reports [^\r\n\p{L}\p{N}].
func isPrefix(c uint8) bool { return c&(clsNL|clsL|clsN) == 0 }

// run returns the end of the longest run of characters whose class has a
// bit of want, starting at i.
func run(s string, i int, want uint8) int {
	for i < len(s) {
		c, w := next(s, i)
		if c&want == 0 {
			break
		}
		i += w
	}
	return i
}

// contraction returns the length of 's 't 're 've 'm 'll 'd at s[i:], or 0.
// With fold, ASCII letters match case-insensitively. (Rust's regex would
// also fold ſ, U+017F, to s, regexp2 does not; no token of cl100k_base or
// o200k_base spans ſ and a following letter, so the ids are the same.)
func contraction(s string, i int, fold bool) int {
	if i+1 >= len(s) || s[i] != '\'' {
		return 0
	}
	lower := func(b byte) byte {
		if fold && 'A' <= b && b <= 'Z' {
			return b + 'a' - 'A'
		}
		return b
	}
	switch lower(s[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && lower(s[i+2]) == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && lower(s[i+2]) == 'l' {
			return 3
		}
	}
	return 0
}

// whitespace handles the shared tail of the patterns at a whitespace
// character: \s*[\r\n]+ (when nl), then \s+(?!\S), then \s+.
func whitespace(s string, i int, nl bool) int {
	j, lastNL, lastStart := i, -1, i
	for j < len(s) {
		c, w := next(s, j)
		if c&clsS == 0 {
			break
		}
		if c&clsNL != 0 {
			lastNL = j + 1
		}
		lastStart = j
		j += w
	}
	if nl && lastNL > 0 {
		return lastNL // \s*[\r\n]+ ends after the last newline of the run
	}
	if j == len(s) || lastStart == i {
		return j // \s+(?!\S) at the end, or \s+ of a single character
	}
	return lastStart // \s+(?!\S): leave the last space to the next piece
}

func matchGPT2(s string, i int) int {
	if n := contraction(s, i, false); n > 0 {
		return i + n
	}
	c, w := next(s, i)
	if c&clsS != 0 {
		if s[i] == ' ' && i+1 < len(s) {
			c2, w2 := next(s, i+1)
			switch {
			case c2&clsL != 0:
				return run(s, i+1+w2, clsL)
			case c2&clsN != 0:
				return run(s, i+1+w2, clsN)
			case isOther(c2):
				return runOther(s, i+1+w2)
			}
		}
		return whitespace(s, i, false)
	}
	switch {
	case c&clsL != 0:
		return run(s, i+w, clsL)
	case c&clsN != 0:
		return run(s, i+w, clsN)
	}
	return runOther(s, i+w)
}

// runOther returns the end of a run of [^\s\p{L}\p{N}] starting at i.
func runOther(s string, i int) int {
	for i < len(s) {
		c, w := next(s, i)
		if !isOther(c) {
			break
		}
		i += w
	}
	return i
}

// otherTail matches " ?[^\s\p{L}\p{N}]+" followed by [\r\n]* (or [\r\n/]*
// when slash) at i, or returns -1.
func otherTail(s string, i int, slash bool) int {
	j := i
	if s[j] == ' ' {
		j++
		if j == len(s) {
			return -1
		}
	}
	c, w := next(s, j)
	if !isOther(c) {
		return -1
	}
	j = runOther(s, j+w)
	for j < len(s) && (s[j] == '\r' || s[j] == '\n' || (slash && s[j] == '/')) {
		j++
	}
	return j
}

func matchCL100K(s string, i int) int { return matchCL(s, i, 3) }
func matchQwen2(s string, i int) int  { return matchCL(s, i, 1) }

func matchCL(s string, i int, digits int) int {
	if n := contraction(s, i, true); n > 0 {
		return i + n
	}
	c, w := next(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c&clsL != 0 {
		return run(s, i+w, clsL)
	}
	if isPrefix(c) && i+w < len(s) {
		if c2, w2 := next(s, i+w); c2&clsL != 0 {
			return run(s, i+w+w2, clsL)
		}
	}
	// \p{N}{1,digits}
	if c&clsN != 0 {
		j := i + w
		for k := 1; k < digits && j < len(s); k++ {
			c2, w2 := next(s, j)
			if c2&clsN == 0 {
				break
			}
			j += w2
		}
		return j
	}
	if j := otherTail(s, i, false); j >= 0 {
		return j
	}
	return whitespace(s, i, true)
}

// o200kUL matches [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+
// at i, or returns -1. Backtracking of the first run ends the match after
// its last character that is also in the second class.
func o200kUL(s string, i int) int {
	j, lastLower := i, -1
	for j < len(s) {
		c, w := next(s, j)
		if c&clsUpper == 0 {
			break
		}
		j += w
		if c&clsLower != 0 {
			lastLower = j
		}
	}
	if j < len(s) {
		if c, w := next(s, j); c&clsLower != 0 {
			return run(s, j+w, clsLower)
		}
	}
	return lastLower
}

// o200kU matches [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*
// at i, or returns -1.
func o200kU(s string, i int) int {
	if c, _ := next(s, i); c&clsUpper == 0 {
		return -1
	}
	return run(s, run(s, i, clsUpper), clsLower)
}

func matchO200K(s string, i int) int {
	c, w := next(s, i)
	pre := isPrefix(c) && i+w < len(s)
	// The two letter alternatives, with the optional prefix character
	// tried first, then without it.
	for _, alt := range [...]func(string, int) int{o200kUL, o200kU} {
		if pre {
			if j := alt(s, i+w); j >= 0 {
				return j + contraction(s, j, true)
			}
		}
		if j := alt(s, i); j >= 0 {
			return j + contraction(s, j, true)
		}
	}
	if c&clsN != 0 {
		j := i + w
		for k := 1; k < 3 && j < len(s); k++ {
			c2, w2 := next(s, j)
			if c2&clsN == 0 {
				break
			}
			j += w2
		}
		return j
	}
	if j := otherTail(s, i, true); j >= 0 {
		return j
	}
	return whitespace(s, i, true)
}
