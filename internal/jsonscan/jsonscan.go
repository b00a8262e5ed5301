// Package jsonscan reads JSON without allocating, for the fast paths of
// the endpoints' stream parsers (endpoints/openai, endpoints/anthropic,
// endpoints/httpapi).
//
// A Scanner walks input that json.Valid has accepted (which does not
// allocate either): it does not check the syntax again, and on anything else
// its results are unspecified (but it never panics or loops). Strings are
// decoded exactly as encoding/json decodes them (invalid UTF-8 and lone
// surrogates becoming U+FFFD), aliasing the input unless they hold escapes.
// Fields matches keys the way a fast path must to agree with encoding/json:
// exactly, declining keys that encoding/json could fold to a known name.
package jsonscan

import (
	"bytes"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Scanner walks JSON that json.Valid accepted. The zero value reads
// nothing; use New.
type Scanner struct {
	data []byte
	pos  int
}

// New returns a scanner at the start of data.
func New(data []byte) Scanner { return Scanner{data: data} }

// space skips white space.
func (s *Scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// consume skips white space and the byte c if it comes next, and reports
// whether it did.
func (s *Scanner) consume(c byte) bool {
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// Null consumes a null literal if it comes next.
func (s *Scanner) Null() bool {
	s.space()
	if bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
		s.pos += 4
		return true
	}
	return false
}

// Object reads the object that comes next, calling field for each key (as
// written between the quotes, escapes and all) with the scanner before the
// value; field must consume the value (Skip, Raw, Str, …). It returns false
// when no object comes next or when field does (which stops the walk).
func (s *Scanner) Object(field func(key []byte) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		s.space()
		start := s.pos
		if !s.skipString() {
			return false
		}
		key := s.data[start+1 : s.pos-1]
		if !s.consume(':') || !field(key) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// Fields reads the object that comes next like Object, for a decoder that
// reads the keys names (at most 64) and ignores the others: it calls field
// with i for the value of a key spelled exactly names[i], and skips the
// values of other keys. It declines (returns false) what encoding/json might
// read differently: a key that appears twice, and a key that is not one of
// names but that encoding/json could match to one (in another case, with
// escapes, or with the Kelvin sign or the long s, which it folds to k and
// s). It also returns false when no object comes next or when field does.
func (s *Scanner) Fields(names []string, field func(i int) bool) bool {
	var seen uint64
	return s.Object(func(key []byte) bool {
		for i, name := range names {
			if string(key) == name {
				if seen&(1<<i) != 0 {
					return false // duplicate key
				}
				seen |= 1 << i
				return field(i)
			}
		}
		if foldsTo(key, names) {
			return false
		}
		s.Skip()
		return true
	})
}

// foldsTo reports whether key matches one of names the way encoding/json
// matches field names (case-insensitively), or has an escape, which could
// spell one of them.
func foldsTo(key []byte, names []string) bool {
	if bytes.IndexByte(key, '\\') >= 0 {
		return true
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	// encoding/json also folds the Kelvin sign and the long s to k and s.
	return bytes.Contains(key, []byte("\u212a")) || bytes.Contains(key, []byte("\u017f"))
}

// Array reads the array that comes next, calling elem with the index of
// each element and the scanner before it; elem must consume the element. It
// returns false when no array comes next or when elem does (which stops the
// walk).
func (s *Scanner) Array(elem func(i int) bool) bool {
	if !s.consume('[') {
		return false
	}
	if s.consume(']') {
		return true
	}
	for i := 0; ; i++ {
		if !elem(i) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

// SmallInt reads a JSON integer of at most 15 digits. It returns false
// (having consumed what it read) for anything else, fractions and exponents
// included, which encoding/json rejects for an int.
func (s *Scanner) SmallInt() (int, bool) {
	s.space()
	neg := s.pos < len(s.data) && s.data[s.pos] == '-'
	if neg {
		s.pos++
	}
	start, n := s.pos, 0
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		n = n*10 + int(s.data[s.pos]-'0')
		s.pos++
	}
	if d := s.pos - start; d == 0 || d > 15 {
		return 0, false
	}
	if s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// Str reads a string value, unquoted (see Unquote: the result aliases the
// input or *buf). It returns false when no string comes next.
func (s *Scanner) Str(buf *[]byte) ([]byte, bool) {
	s.space()
	start := s.pos
	if !s.skipString() {
		return nil, false
	}
	return Unquote(s.data[start+1:s.pos-1], buf), true
}

// StrOrNull is Str that also accepts null, as nil.
func (s *Scanner) StrOrNull(buf *[]byte) ([]byte, bool) {
	if s.Null() {
		return nil, true
	}
	return s.Str(buf)
}

// Raw reads the value that comes next and returns it as written (without
// the white space around it).
func (s *Scanner) Raw() []byte {
	s.space()
	start := s.pos
	s.Skip()
	return s.data[start:s.pos]
}

// skipString moves past the string starting at pos, if one does.
func (s *Scanner) skipString() bool {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return false
	}
	for i := s.pos + 1; i < len(s.data); i++ {
		switch s.data[i] {
		case '\\':
			i++
		case '"':
			s.pos = i + 1
			return true
		}
	}
	return false
}

// Skip moves past the value that comes next.
func (s *Scanner) Skip() {
	s.space()
	depth := 0
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '"':
			if !s.skipString() {
				s.pos = len(s.data) // unterminated: not valid JSON
				return
			}
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return
			}
			depth--
			if depth == 0 {
				s.pos++
				return
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return
			}
		}
		s.pos++
	}
}

// Unquote decodes the body of a JSON string (the bytes between its quotes,
// known to be valid) as encoding/json does, invalid UTF-8 and lone
// surrogates becoming U+FFFD. Without escapes or invalid UTF-8 the result
// aliases s; otherwise it is built in *buf, which it may grow.
func Unquote(s []byte, buf *[]byte) []byte {
	r := 0
	for r < len(s) {
		c := s[r]
		if c == '\\' {
			break
		}
		if c < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	if r == len(s) {
		return s
	}
	b := append((*buf)[:0], s[:r]...)
	for r < len(s) {
		c := s[r]
		switch {
		case c == '\\':
			r++
			if r == len(s) {
				break // a trailing backslash: not valid JSON
			}
			switch s[r] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := getu4(s[r+1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if r+1 < len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, getu4(s[r+2:])); dec != unicode.ReplacementChar {
							r += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	*buf = b
	return b
}

// getu4 decodes the 4 hex digits at the start of s (valid JSON), or -1.
func getu4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
