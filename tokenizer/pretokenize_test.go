package tokenizer

import (
	"fmt"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

func handSplit(m matcher, s string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := m(s, i)
		if j <= i || j > len(s) {
			panic(fmt.Sprintf("matcher returned %d at %d of %q", j, i, s))
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

func regexpSplit(t testing.TB, re *regexp2.Regexp, s string) []string {
	p := &pattern{re: re}
	var out []string
	p.each(s, func(i, j int) { out = append(out, s[i:j]) })
	return out
}

var matcherSeeds = []string{
	"", " ", "  ", "a", "Hello, world!", "I'm you'll they've DON'T 'S 'ſ 'ſt",
	"  two   three\t\ttabs\n\nblank\r\n   \n  x  ", "12345 1,000 ١٢٣٤ ½Ⅻ²",
	"HelloWorld XMLHttpRequest ǅemal ǈ e\u0301 A\u030A x\u0327\u0301Y",
	"日本語のテキスト 한국어 ไทย क्ष 👩\u200d👩\u200d👧 🇫🇷",
	"path/to/file //\n/\r\n*** ??? .\n", "\u00a0\u3000\u2028\u0085\ufeff", "a\xffb \xe4\xb8 \xc5",
	"\u0301abc \u0301ABC 'll\u0301", "ʰa ʰA aʰ Aʰb", "\t\u0301x", " \u0301", "\n'", "'\n",
}

// FuzzMatchers checks the hand-written pre-tokenizer matchers against the
// original patterns run by regexp2.
func FuzzMatchers(f *testing.F) {
	for _, s := range matcherSeeds {
		f.Add(s)
	}
	res := map[string]*regexp2.Regexp{}
	for src := range knownMatchers {
		res[src] = regexp2.MustCompile(src, regexp2.None)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for src, m := range knownMatchers {
			got := handSplit(m, s)
			if !utf8.ValidString(s) {
				continue // regexp2 sees U+FFFD; only check that it does not panic
			}
			want := regexpSplit(t, res[src], s)
			if !slices.Equal(got, want) {
				t.Errorf("pattern %s\ninput %q\n got %q\nwant %q", src, s, got, want)
			}
		}
	})
}
