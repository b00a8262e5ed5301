package httpep

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llmeter-go/llmeter"
)

const (
	// maxErrorBody is how much of an HTTP error response is read.
	maxErrorBody = 64 << 10
	// maxErrorMessage is how much of a non-JSON error body goes into the
	// error message.
	maxErrorMessage = 512
)

// IsJSON reports whether a Content-Type is application/json.
func IsJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// StatusError reads the start of an HTTP error response, and its
// Retry-After header.
func StatusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &llmeter.StatusError{StatusCode: resp.StatusCode, Message: ErrorBodyMessage(body),
		RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// RetryAfter parses a Retry-After header value: seconds, or an HTTP date
// (relative to now); 0 when absent, invalid or past.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(math.MaxInt64/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ErrorBodyMessage extracts the provider's message from an error body:
// {"error": {"message": …}} (OpenAI), {"error": "…"}, {"message": …},
// {"detail": …} (FastAPI servers such as vLLM), a list of such objects; else
// the body's first bytes.
func ErrorBodyMessage(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) == nil {
		if m := JSONErrorMessage(v); m != "" {
			return m
		}
	}
	return Snippet(body, maxErrorMessage)
}

// JSONErrorMessage finds the message in a decoded error body; "" if none.
func JSONErrorMessage(v any) string {
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			return JSONErrorMessage(x[0])
		}
	case map[string]any:
		if ev, ok := x["error"]; ok && ev != nil {
			if m := MessageOf(ev); m != "" {
				return m
			}
		}
		if m, ok := x["message"].(string); ok && m != "" {
			return m
		}
		if d, ok := x["detail"]; ok && d != nil {
			if s, ok := d.(string); ok {
				return s
			}
			if b, err := json.Marshal(d); err == nil {
				return Snippet(b, maxErrorMessage)
			}
		}
		if ev, ok := x["error"]; ok && ev != nil {
			if b, err := json.Marshal(ev); err == nil {
				return Snippet(b, maxErrorMessage)
			}
		}
	}
	return ""
}

// MessageOf returns the message of an error value: a string, or an object's
// "message".
func MessageOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if m, ok := x["message"].(string); ok {
			return m
		}
	}
	return ""
}

// APIError builds the error for an "error" value found in a response.
func APIError(raw []byte) error {
	var v any
	msg := ""
	if json.Unmarshal(raw, &v) == nil {
		if msg = MessageOf(v); msg == "" {
			msg = JSONErrorMessage(v) // {"error": {...}} in an "error" event
		}
	}
	if msg == "" {
		msg = Snippet(raw, maxErrorMessage)
	}
	if msg == "" {
		msg = "error reported by the API"
	}
	return &llmeter.APIError{Message: msg}
}

// Snippet returns the first n bytes of b (not cutting a rune) as valid
// UTF-8, with runs of white space collapsed.
func Snippet(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(b[n]); i++ {
			n--
		}
		b = b[:n]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
}

// HasValue reports whether a raw JSON value is present and not null.
func HasValue(raw []byte) bool { return len(raw) > 0 && string(raw) != "null" }

// ValidHeaderName reports whether name is an RFC 9110 token.
func ValidHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// RedactURL removes credentials from a URL, for messages and saved
// configs: the user:password@ part, and the values of query parameters whose
// names look like secrets (key, token, secret, sig, password, auth), which
// become "REDACTED".
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid URL>"
	}
	changed := false
	if u.User != nil {
		u.User = nil
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		secret := false
		for k := range q {
			lk := strings.ToLower(k)
			for _, w := range []string{"key", "token", "secret", "sig", "password", "auth"} {
				if strings.Contains(lk, w) {
					q[k] = []string{"REDACTED"}
					secret = true
					break
				}
			}
		}
		if secret {
			u.RawQuery = q.Encode()
			changed = true
		}
	}
	if !changed {
		return s
	}
	return u.String()
}

// Truthy is Python's bool() of a JSON value.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case float64:
		return x != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := x.Float64()
		return err != nil || f != 0
	default:
		return true
	}
}
