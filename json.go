package llmeter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/llmeter-go/llmeter/internal/jsonw"
)

// bytesMarker is the key LLMeter uses to store binary data in JSON.
const bytesMarker = "__llmeter_bytes__"

// MarshalJSONValue encodes v the way LLMeter's serializer does: []byte as
// {"__llmeter_bytes__": "<base64>"}, times as UTC timestamps, map keys
// sorted, no HTML escaping. It is what every file this package writes uses.
func MarshalJSONValue(v any) ([]byte, error) { return appendValue(nil, v, true) }

// AppendRequestJSON appends v as a request body: like MarshalJSONValue, but
// []byte values are plain base64 strings (as encoding/json writes them),
// since an API does not know LLMeter's marker.
func AppendRequestJSON(b []byte, v any) ([]byte, error) { return appendValue(b, v, false) }

func appendValue(b []byte, v any, marker bool) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case json.Number:
		if x == "" {
			return append(b, '0'), nil
		}
		return append(b, x...), nil
	case float64:
		return appendFloat(b, x)
	case float32:
		return appendFloat(b, float64(x))
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case []byte:
		if !marker {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, x)
			return append(b, '"'), nil
		}
		b = append(b, `{"`+bytesMarker+`": "`...)
		b = base64.StdEncoding.AppendEncode(b, x)
		return append(b, `"}`...), nil
	case time.Time:
		b = append(b, '"')
		b = AppendTimestamp(b, x)
		return append(b, '"'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, k)
			b = append(b, ": "...)
			if b, err = appendValue(b, x[k], marker); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		return appendSlice(b, x, marker)
	case []string:
		return appendSlice(b, x, marker)
	case []map[string]any:
		return appendSlice(b, x, marker)
	case json.RawMessage:
		return append(b, x...), nil
	case *Stats:
		return x.appendJSON(b)
	default:
		// Anything else: encoding/json, without HTML escaping.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return append(b, bytes.TrimRight(buf.Bytes(), "\n")...), nil
	}
}

// appendSlice writes a JSON array of the values of s.
func appendSlice[T any](b []byte, s []T, marker bool) ([]byte, error) {
	b = append(b, '[')
	for i, e := range s {
		if i > 0 {
			b = append(b, ", "...)
		}
		var err error
		if b, err = appendValue(b, e, marker); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendFloat writes a float so that Python reads it back as a float:
// shortest round-trip digits, and a ".0" on whole numbers.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("unsupported float value %v", f)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64), nil
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	if bytes.IndexByte(b[n:], '.') < 0 {
		b = append(b, ".0"...)
	}
	return b, nil
}

// appendString writes s as a JSON string (see jsonw.AppendString).
func appendString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }

func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendOptFloat(b []byte, f *float64) []byte {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		return append(b, "null"...)
	}
	b, _ = appendFloat(b, *f)
	return b
}

func appendOptInt(b []byte, n *int) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*n), 10)
}

// DecodeJSON decodes one JSON value keeping numbers exact (json.Number) and
// turning objects whose only key is "__llmeter_bytes__" into []byte.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return restoreBytes(v)
}

func restoreBytes(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if s, ok := x[bytesMarker].(string); ok {
				data, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", bytesMarker, err)
				}
				return data, nil
			}
		}
		for k, e := range x {
			r, err := restoreBytes(e)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := restoreBytes(e)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}

// DeepCopy returns a copy of a JSON value that shares no maps or slices with
// v ([]byte values are shared: they are treated as immutable).
func DeepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = DeepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = DeepCopy(e)
		}
		return s
	default:
		return v
	}
}

// CopyPayload returns a deep copy of p.
func CopyPayload(p Payload) Payload {
	if p == nil {
		return nil
	}
	return DeepCopy(p).(map[string]any)
}

// writeIndented writes v as LLMeter writes summary/stats/config files:
// 4-space indentation.
func indentJSON(compact []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, compact, "", "    "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
