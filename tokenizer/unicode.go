package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes used by the pre-tokenizer patterns, one bit each.
const (
	clsL     uint8 = 1 << iota // \p{L}
	clsN                       // \p{N}
	clsS                       // \s: Unicode White_Space
	clsUpper                   // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k)
	clsLower                   // [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k)
	clsNL                      // \r or \n
)

// bmpClass holds the classes of the runes below 0x10000 (built at start-up,
// in about 0.2 ms).
var bmpClass = buildBMP()

func buildBMP() []uint8 {
	t := make([]uint8, 0x10000)
	set := func(tab *unicode.RangeTable, c uint8) {
		for _, r := range tab.R16 {
			for x := uint32(r.Lo); x <= uint32(r.Hi); x += uint32(r.Stride) {
				t[x] |= c
			}
		}
		for _, r := range tab.R32 {
			if r.Lo >= 0x10000 {
				break
			}
			for x := r.Lo; x <= r.Hi && x < 0x10000; x += r.Stride {
				t[x] |= c
			}
		}
	}
	set(unicode.L, clsL)
	set(unicode.N, clsN)
	set(unicode.White_Space, clsS)
	for _, tab := range []*unicode.RangeTable{unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M} {
		set(tab, clsUpper)
	}
	for _, tab := range []*unicode.RangeTable{unicode.Ll, unicode.Lm, unicode.Lo, unicode.M} {
		set(tab, clsLower)
	}
	t['\r'] |= clsNL
	t['\n'] |= clsNL
	return t
}

func classOf(r rune) uint8 {
	if r < 0x10000 {
		return bmpClass[r]
	}
	var c uint8
	switch {
	case unicode.IsLetter(r):
		c = clsL
		switch {
		case unicode.Is(unicode.Ll, r):
			c |= clsLower
		case unicode.Is(unicode.Lm, r) || unicode.Is(unicode.Lo, r):
			c |= clsUpper | clsLower
		default: // Lu, Lt
			c |= clsUpper
		}
	case unicode.IsMark(r):
		c = clsUpper | clsLower
	case unicode.IsNumber(r):
		c = clsN
	case unicode.IsSpace(r):
		c = clsS
	}
	return c
}

// next decodes the rune at s[i:] and returns its classes and width. An
// invalid byte counts as one character of no class (like U+FFFD, a symbol),
// so byte-level tokenizers still encode every byte.
func next(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return bmpClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return 0, 1
	}
	return classOf(r), w
}
