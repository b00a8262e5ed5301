package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The fast path reads stream events without decoding them into Go values.
// encoding/json allocates every map, string and number of an event (about a
// dozen allocations for one Ollama line) and JMESPath walks the result;
// here, when every path used on events is a chain of plain identifiers
// ("response", "message.content", "details.generated_tokens"), the event is
// checked with json.Valid (which does not allocate) and each path is looked
// up directly in the bytes, the text aliasing the event unless it holds
// escapes.
//
// It gives exactly what decoding the event with encoding/json (no
// UseNumber) and evaluating the JMESPath expressions would, or declines and
// the caller takes that slow path: for an event that is not a JSON object,
// holds a number encoding/json would reject (out of float64's range), or has
// at one of the paths a value whose reading is not trivial (a list as text,
// a fraction as a count, an error). Keys compare after unescaping, and the
// last of duplicate keys wins, as in a decoded map. FuzzFastEvent checks the
// two agree.

// The event paths, in the order of fastPaths.chains.
const (
	pathErr = iota
	pathText
	pathIn
	pathOut
	pathID
	pathDone
	numPaths
)

// fastPaths are the event paths as field chains; a nil chain is a disabled
// path.
type fastPaths struct {
	chains [numPaths][]string
}

// nullLiteral is the JMESPath expression that finds nothing.
const nullLiteral = "`null`"

// compileFast returns the fast paths of cfg, or nil when one of its event
// paths is not a chain of plain identifiers.
func compileFast(cfg Config) *fastPaths {
	fp := &fastPaths{}
	for _, p := range []struct {
		expr string
		dst  *[]string
	}{
		{cfg.TextPath, &fp.chains[pathText]}, {cfg.InputTokensPath, &fp.chains[pathIn]},
		{cfg.OutputTokensPath, &fp.chains[pathOut]}, {cfg.IDPath, &fp.chains[pathID]},
		{cfg.ErrorPath, &fp.chains[pathErr]}, {cfg.DonePath, &fp.chains[pathDone]},
	} {
		expr := strings.TrimSpace(p.expr)
		if expr == "" || expr == nullLiteral {
			continue
		}
		chain := fieldChain(expr)
		if chain == nil {
			return nil
		}
		*p.dst = chain
	}
	return fp
}

// fieldChain splits a JMESPath expression made of unquoted identifiers
// joined by dots ("a.b_c.d1"); nil if it is anything else.
func fieldChain(expr string) []string {
	parts := strings.Split(expr, ".")
	for _, p := range parts {
		if p == "" {
			return nil
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
			case '0' <= c && c <= '9' && i > 0:
			default:
				return nil
			}
		}
	}
	return parts
}

// fastEvent is what the fast path found in one event.
type fastEvent struct {
	text    []byte // aliases the event or buf
	in, out int
	inOK    bool
	outOK   bool
	id      []byte // aliases the event or idBuf; nil if none
	done    bool

	buf, idBuf, keyBuf []byte // scratch for unescaped strings
}

// decode reads data and reports whether it could; false means "decode the
// event with encoding/json". The id is looked up only when wantID is set.
func (f *fastEvent) decode(fp *fastPaths, data []byte, wantID bool) bool {
	f.text, f.id, f.inOK, f.outOK, f.done = nil, nil, false, false, false
	if !json.Valid(data) {
		return false
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	if data[0] != '{' || !numbersDecodable(data) {
		return false
	}
	var raw [numPaths][]byte
	f.lookup(data, fp, wantID, &raw)
	if r := raw[pathErr]; r != nil && jmesTruthy(r) > 0 {
		return false // an error: the slow path builds its message
	}
	if r := raw[pathText]; r != nil {
		switch r[0] {
		case '"':
			f.text = unquote(r[1:len(r)-1], &f.buf)
		case '[':
			return false // a list of strings is joined
		}
	}
	var ok bool
	if f.in, f.inOK, ok = count(raw[pathIn]); !ok {
		return false
	}
	if f.out, f.outOK, ok = count(raw[pathOut]); !ok {
		return false
	}
	if r := raw[pathID]; r != nil {
		switch {
		case r[0] == '"':
			f.id = unquote(r[1:len(r)-1], &f.idBuf)
		case r[0] == '-' || '0' <= r[0] && r[0] <= '9':
			return false
		}
	}
	if r := raw[pathDone]; r != nil {
		f.done = jmesTruthy(r) > 0
	}
	return true
}

// count reads a raw value as a whole number the way jpath.Int does: ok is false
// when the number is not a plain integer of at most 15 digits (the slow path
// decides), found is false when there is no number.
func count(raw []byte) (n int, found, ok bool) {
	if raw == nil || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false, true
	}
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) > 15 {
		return 0, false, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false, false // fraction or exponent
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true, true
}

// lookup sets raw[i] to the raw value at path i in obj (valid JSON, an
// object), or nil when a key is missing, a value on the way is not an
// object, or the value is null. The top-level object is scanned once for
// all paths.
func (f *fastEvent) lookup(obj []byte, fp *fastPaths, wantID bool, raw *[numPaths][]byte) {
	s := scanner{data: obj, pos: 1}
	if !s.consume('}') {
		for {
			s.space()
			start := s.pos
			s.skipString()
			key := obj[start+1 : s.pos-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				key = unquote(key, &f.keyBuf)
			}
			s.consume(':')
			s.space()
			vs := s.pos
			s.skip()
			for i, chain := range fp.chains {
				if chain != nil && string(key) == chain[0] {
					raw[i] = obj[vs:s.pos] // the last of duplicate keys wins
				}
			}
			if !s.consume(',') {
				break
			}
		}
	}
	if !wantID {
		raw[pathID] = nil
	}
	for i, chain := range fp.chains {
		v := raw[i]
		for _, key := range chain[min(1, len(chain)):] {
			if len(v) == 0 || v[0] != '{' {
				v = nil
				break
			}
			v = f.field(v, key)
		}
		if len(v) == 0 || v[0] == 'n' {
			v = nil
		}
		raw[i] = v
	}
}

// field returns the raw value of the last key named name in the object obj,
// or nil.
func (f *fastEvent) field(obj []byte, name string) []byte {
	s := scanner{data: obj, pos: 1}
	if s.consume('}') {
		return nil
	}
	var found []byte
	for {
		s.space()
		start := s.pos
		s.skipString()
		key := obj[start+1 : s.pos-1]
		s.consume(':')
		s.space()
		vs := s.pos
		s.skip()
		if string(key) == name || bytes.IndexByte(key, '\\') >= 0 && string(unquote(key, &f.keyBuf)) == name {
			found = obj[vs:s.pos]
		}
		if !s.consume(',') {
			return found
		}
	}
}

// jmesTruthy tells whether a raw JSON value (not null) is true by JMESPath's
// rules: 1 true, -1 false (false, "", [], {}). Numbers are true.
func jmesTruthy(raw []byte) int {
	switch raw[0] {
	case 'f':
		return -1
	case '"':
		if len(raw) == 2 {
			return -1
		}
	case '{', '[':
		s := scanner{data: raw, pos: 1}
		s.space()
		if s.pos < len(raw) && (raw[s.pos] == '}' || raw[s.pos] == ']') {
			return -1
		}
	}
	return 1
}

// numbersDecodable reports whether encoding/json can decode every number of
// data (valid JSON) into a float64: it fails only on overflow, so a number
// is accepted when its magnitude is surely below 1e308.
func numbersDecodable(data []byte) bool {
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			for i++; data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case c == '-' || '0' <= c && c <= '9':
			j, ok := numberFits(data, i)
			if !ok {
				return false
			}
			i = j - 1
		}
	}
	return true
}

// numberFits scans the number starting at data[i] and returns the index
// after it and whether its magnitude is below 1e308.
func numberFits(data []byte, i int) (int, bool) {
	if data[i] == '-' {
		i++
	}
	intDigits := 0
	zero := data[i] == '0'
	for ; i < len(data) && '0' <= data[i] && data[i] <= '9'; i++ {
		intDigits++
	}
	if zero {
		intDigits = 0 // 0.xxx < 1
	}
	if i < len(data) && data[i] == '.' {
		for i++; i < len(data) && '0' <= data[i] && data[i] <= '9'; i++ {
		}
	}
	exp := 0
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		neg := false
		if data[i] == '+' || data[i] == '-' {
			neg = data[i] == '-'
			i++
		}
		for ; i < len(data) && '0' <= data[i] && data[i] <= '9'; i++ {
			if exp < 1<<20 {
				exp = exp*10 + int(data[i]-'0')
			}
		}
		if neg {
			exp = -exp
		}
	}
	return i, intDigits+exp <= 307
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

// skipString moves past the string starting at pos.
func (s *scanner) skipString() {
	for i := s.pos + 1; i < len(s.data); i++ {
		switch s.data[i] {
		case '\\':
			i++
		case '"':
			s.pos = i + 1
			return
		}
	}
	s.pos = len(s.data)
}

// skip moves past the value starting at pos.
func (s *scanner) skip() {
	depth := 0
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
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
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return
			}
		}
		s.pos++
	}
}

// unquote decodes the body of a JSON string (known to be valid) as
// encoding/json does, invalid UTF-8 and lone surrogates becoming U+FFFD.
// Without escapes or invalid UTF-8 the result aliases s; otherwise it is
// built in *buf.
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
