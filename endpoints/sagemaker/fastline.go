package sagemaker

import "bytes"

// fastLine decodes the fields of a TGI stream line that the parser needs,
// without allocating, from input that json.Valid accepted. It declines (and
// the parser falls back to encoding/json) whenever encoding/json could
// decode the line differently: escaped or non-ASCII keys, keys equal to a
// field name but for case, duplicated fields, a token that is not an object
// or null. FuzzFastLine checks that the two agree.
type fastLine struct {
	token   bool   // "token" is an object (encoding/json: Token != nil)
	text    []byte // raw value of token.text; nil when absent
	genText bool   // generated_text is present and not null
	details []byte // raw value of details; nil when absent
	errRaw  []byte // raw value of error; nil when absent
}

var (
	keyToken   = []byte("token")
	keyText    = []byte("text")
	keyGenText = []byte("generated_text")
	keyDetails = []byte("details")
	keyError   = []byte("error")
)

// decode reads b, a valid JSON text; it reports false when it declines.
func (f *fastLine) decode(b []byte) bool {
	*f = fastLine{}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	var seen [4]bool // token, generated_text, details, error
	ok := true
	i = eachMember(b, i, func(key []byte, v, end int) {
		switch {
		case !ok:
		case bytes.Equal(key, keyToken):
			ok = !seen[0] && f.decodeToken(b, v)
			seen[0] = true
		case bytes.Equal(key, keyGenText):
			ok = !seen[1]
			seen[1] = true
			f.genText = !isNull(b[v:end])
		case bytes.Equal(key, keyDetails):
			ok = !seen[2]
			seen[2] = true
			f.details = b[v:end]
		case bytes.Equal(key, keyError):
			ok = !seen[3]
			seen[3] = true
			f.errRaw = b[v:end]
		default:
			ok = plainKey(key, keyToken, keyGenText, keyDetails, keyError)
		}
	})
	return ok && i >= 0
}

// decodeToken reads the value of "token" at b[v].
func (f *fastLine) decodeToken(b []byte, v int) bool {
	switch b[v] {
	case 'n':
		return true // null: encoding/json sets Token to nil
	case '{':
	default:
		return false // a type error for encoding/json
	}
	f.token = true
	ok, seen := true, false
	end := eachMember(b, v, func(key []byte, v, end int) {
		switch {
		case !ok:
		case bytes.Equal(key, keyText):
			ok = !seen
			seen = true
			f.text = b[v:end]
		default:
			ok = plainKey(key, keyText)
		}
	})
	return ok && end >= 0
}

// plainKey reports whether key can match none of the names under
// encoding/json's case-insensitive, Unicode-folding comparison: it must be
// ASCII, without escapes, and not equal to a name but for case.
func plainKey(key []byte, names ...[]byte) bool {
	for _, c := range key {
		if c >= 0x80 || c == '\\' {
			return false
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, n) {
			return false
		}
	}
	return true
}

// eachMember calls f for each member of the object starting at b[i] (a
// '{'), with the key's raw bytes (between the quotes) and the span of its
// value; it returns the index after the object, or -1.
func eachMember(b []byte, i int, f func(key []byte, v, end int)) int {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for i < len(b) {
		if b[i] != '"' {
			return -1
		}
		kEnd := skipString(b, i)
		if kEnd < 0 {
			return -1
		}
		key := b[i+1 : kEnd-1]
		i = skipWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		v := skipWS(b, i+1)
		end := skipValue(b, v)
		if end < 0 {
			return -1
		}
		f(key, v, end)
		i = skipWS(b, end)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
	return -1
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string literal at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j)
				if j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

func isNull(v []byte) bool { return string(v) == "null" }
