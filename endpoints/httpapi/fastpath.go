package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/llmeter-go/llmeter/internal/jsonscan"
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
			f.text = jsonscan.Unquote(r[1:len(r)-1], &f.buf)
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
			f.id = jsonscan.Unquote(r[1:len(r)-1], &f.idBuf)
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
	s := jsonscan.New(raw)
	n, ok = s.SmallInt() // declines fractions and exponents
	return n, ok, ok
}

// lookup sets raw[i] to the raw value at path i in obj (valid JSON, an
// object), or nil when a key is missing, a value on the way is not an
// object, or the value is null. The top-level object is scanned once for
// all paths.
func (f *fastEvent) lookup(obj []byte, fp *fastPaths, wantID bool, raw *[numPaths][]byte) {
	s := jsonscan.New(obj)
	s.Object(func(key []byte) bool {
		if bytes.IndexByte(key, '\\') >= 0 {
			key = jsonscan.Unquote(key, &f.keyBuf)
		}
		v := s.Raw()
		for i, chain := range fp.chains {
			if chain != nil && string(key) == chain[0] {
				raw[i] = v // the last of duplicate keys wins
			}
		}
		return true
	})
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
	var found []byte
	s := jsonscan.New(obj)
	s.Object(func(key []byte) bool {
		v := s.Raw()
		if string(key) == name || bytes.IndexByte(key, '\\') >= 0 && string(jsonscan.Unquote(key, &f.keyBuf)) == name {
			found = v
		}
		return true
	})
	return found
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
		if rest := bytes.TrimLeft(raw[1:], " \t\r\n"); len(rest) > 0 && (rest[0] == '}' || rest[0] == ']') {
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
