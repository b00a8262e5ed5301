package anthropic

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The fast path decodes the events that make up almost all of a stream
// (content_block_delta, and the content_block_start/stop, ping and
// message_stop events of streams without event names) without
// encoding/json's per-call allocations: the input is first checked with
// json.Valid (which does not allocate), then scanned for exactly the fields
// the parser uses: the event's "type", and its delta's "type" and "text".
// Whenever an event holds anything whose decoding is not trivially identical
// to encoding/json's (a non-null message, usage or error, a key spelled in
// another case or with escapes, a duplicate key, a value of an unexpected
// type), it declines and the caller falls back to encoding/json.
// FuzzFastEvent checks the two agree. (The scanner is the one of
// endpoints/openai/fastchunk.go.)

// fastEvent is what the fast path extracts.
type fastEvent struct {
	typ       []byte // the event's "type", unquoted (aliases data or typBuf); nil if absent
	deltaType []byte // delta.type
	text      []byte // delta.text
	typBuf    []byte // scratch for unescaped values
	dtBuf     []byte
	textBuf   []byte
}

// decode fills f from data and reports whether it could; false means "use
// encoding/json".
func (f *fastEvent) decode(data []byte) bool {
	f.typ, f.deltaType, f.text = nil, nil, nil
	if !json.Valid(data) {
		return false
	}
	s := scanner{data: data}
	if !s.consume('{') {
		return false
	}
	var seen uint8
	const (
		seenType = 1 << iota
		seenDelta
		seenMessage
		seenUsage
		seenError
	)
	return s.object(func(key []byte) bool {
		var bit uint8
		switch string(key) {
		case "type":
			bit = seenType
		case "delta":
			bit = seenDelta
		case "message":
			bit = seenMessage
		case "usage":
			bit = seenUsage
		case "error":
			bit = seenError
		default:
			if foldsTo(key, "type", "delta", "message", "usage", "error") {
				return false
			}
			s.skip()
			return true
		}
		if seen&bit != 0 {
			return false // duplicate key
		}
		seen |= bit
		switch bit {
		case seenType:
			if s.null() {
				return true
			}
			v, ok := s.str(&f.typBuf)
			f.typ = v
			return ok
		case seenDelta:
			return s.null() || s.delta(f)
		default: // message, usage, error: only null is handled here
			return s.null()
		}
	})
}

// delta reads a delta object: its "type" and "text".
func (s *scanner) delta(f *fastEvent) bool {
	if !s.consume('{') {
		return false
	}
	var seenType, seenText bool
	return s.object(func(key []byte) bool {
		var dst *[]byte
		var buf *[]byte
		switch string(key) {
		case "type":
			if seenType {
				return false
			}
			seenType = true
			dst, buf = &f.deltaType, &f.dtBuf
		case "text":
			if seenText {
				return false
			}
			seenText = true
			dst, buf = &f.text, &f.textBuf
		default:
			if foldsTo(key, "type", "text") {
				return false
			}
			s.skip()
			return true
		}
		if s.null() {
			return true
		}
		v, ok := s.str(buf)
		*dst = v
		return ok
	})
}

// foldsTo reports whether key matches one of names the way encoding/json
// matches field names (case-insensitively), or has an escape, which could
// spell one of them.
func foldsTo(key []byte, names ...string) bool {
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

// scanner walks JSON that json.Valid accepted.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// consume skips white space and the byte c if it comes next.
func (s *scanner) consume(c byte) bool {
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// null consumes a null literal if it comes next.
func (s *scanner) null() bool {
	s.space()
	if bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
		s.pos += 4
		return true
	}
	return false
}

// object calls field for each key of the object whose '{' was consumed,
// with the scanner before the value; field must consume the value.
func (s *scanner) object(field func(key []byte) bool) bool {
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

// str reads a string value, unquoted. Without escapes or invalid UTF-8 the
// result aliases the input; otherwise it is built in *buf.
func (s *scanner) str(buf *[]byte) ([]byte, bool) {
	s.space()
	start := s.pos
	if !s.skipString() {
		return nil, false
	}
	return unquote(s.data[start+1:s.pos-1], buf), true
}

// skipString moves past a string starting at pos.
func (s *scanner) skipString() bool {
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

// skip moves past any value.
func (s *scanner) skip() {
	s.space()
	depth := 0
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; c {
		case '"':
			s.skipString()
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
		case ',':
			if depth == 0 {
				return
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return
			}
		}
		s.pos++
	}
}

// unquote decodes the body of a JSON string (known to be valid) as
// encoding/json does, invalid UTF-8 and lone surrogates becoming U+FFFD.
func unquote(s []byte, buf *[]byte) []byte {
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
