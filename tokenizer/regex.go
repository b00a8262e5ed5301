package tokenizer

import (
	"fmt"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// pattern finds the matches of a pre-tokenizer regular expression. Known
// patterns (GPT-2, cl100k_base/Llama 3, Qwen2, o200k_base) use hand-written
// matchers; any other is run by github.com/dlclark/regexp2, a backtracking
// engine with lookaround, which Go's regexp lacks and these patterns need
// (\s+(?!\S)).
type pattern struct {
	src string
	m   matcher         // known pattern
	re  *regexp2.Regexp // otherwise
}

// forceRegexp2 makes compilePattern ignore the hand-written matchers; tests
// use it to check the regexp2 path against the reference ids.
var forceRegexp2 = false

func compilePattern(src string) (*pattern, error) {
	if m, ok := knownMatchers[src]; ok && !forceRegexp2 {
		return &pattern{src: src, m: m}, nil
	}
	re, err := regexp2.Compile(src, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", src, err)
	}
	return &pattern{src: src, re: re}, nil
}

// each calls fn with the byte offsets of each match in s, in order. Empty
// matches are reported too.
func (p *pattern) each(s string, fn func(start, end int)) {
	if p.m != nil {
		for i := 0; i < len(s); {
			j := p.m(s, i)
			fn(i, j)
			i = j
		}
		return
	}
	// regexp2 reports rune positions; an invalid byte is one rune (U+FFFD).
	runes := make([]rune, 0, len(s))
	offs := make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		runes = append(runes, r)
		offs = append(offs, i)
		i += w
	}
	offs = append(offs, len(s))
	m, err := p.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		fn(offs[m.Index], offs[m.Index+m.Length])
		m, err = p.re.FindNextMatch(m)
	}
}
