package llmeter

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Payload is one request body as a JSON object. Values are what
// encoding/json produces (map[string]any, []any, string, json.Number or
// float64, bool, nil); []byte values are allowed and are written to LLMeter
// files as {"__llmeter_bytes__": "<base64>"}.
type Payload = map[string]any

// InvocationResponse is the record of one request, LLMeter's 14 fields in
// LLMeter's order. A nil pointer (or an empty ID/Error) is JSON null.
//
// The fields after Retries/RequestTime are this tool's additions; they are
// never written to responses.jsonl (LLMeter's loader refuses unknown keys) but
// to the line-aligned sidecar file (see SidecarFile).
type InvocationResponse struct {
	ResponseText             *string
	InputPayload             Payload
	ID                       string
	InputPrompt              any // string, JSON value or nil
	TimeToFirstToken         *float64
	TimeToLastToken          *float64
	NumTokensInput           *int
	NumTokensOutput          *int
	NumTokensInputCached     *int
	NumTokensOutputReasoning *int
	TimePerOutputToken       *float64
	Error                    string // "" = no error
	Retries                  *int
	RequestTime              *time.Time

	// ErrorClass is a machine-readable class of Error (see ErrorClass*).
	ErrorClass string
	// SendOffset is the monotonic time from the start of the run to the moment
	// the request was sent; set by the Runner.
	SendOffset time.Duration
	// ChunkOffsets are the arrival times of the chunks that carried visible
	// output, measured from the send (streaming endpoints only).
	ChunkOffsets []time.Duration
	// TokensInputSource and TokensOutputSource say where the token counts came
	// from: "usage" (reported by the API), "tokenizer" (local fallback) or "".
	TokensInputSource  string
	TokensOutputSource string
	// IntendedOffset, in an open-loop run, is when the request was due: the
	// time from the start of the run that its arrival schedule gave it (the
	// request was sent SendOffset−IntendedOffset late). Nil in closed-loop
	// runs.
	IntendedOffset *time.Duration
	// Warmup marks a response of the warm-up, left out of the statistics.
	Warmup bool
	// PayloadIndex is the position, in the Runner's Payloads, of the payload
	// this response answers; nil outside a Runner.
	PayloadIndex *int
	// Extra holds values that callbacks attach to a response (cost_* etc.);
	// they are saved in the sidecar file.
	Extra map[string]any
}

// Failed reports whether the response is an error.
func (r *InvocationResponse) Failed() bool { return r.Error != "" }

// Text returns the response text or "".
func (r *InvocationResponse) Text() string {
	if r.ResponseText == nil {
		return ""
	}
	return *r.ResponseText
}

// NewID returns a random UUID4 as 32 hex characters, LLMeter's default id.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// ErrorOutput builds a failed response, as LLMeter's error_output does.
func ErrorOutput(payload Payload, err error, class string) *InvocationResponse {
	msg := "invocation failed"
	if err != nil && err.Error() != "" {
		msg = err.Error()
	}
	if class == "" {
		class = ClassifyError(err)
	}
	return &InvocationResponse{InputPayload: payload, ID: NewID(), Error: msg, ErrorClass: class}
}

// Ptr returns a pointer to v; handy for the optional fields.
func Ptr[T any](v T) *T { return &v }

// MarshalJSON writes exactly LLMeter's 14 keys in LLMeter's order.
func (r *InvocationResponse) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil)
}

// AppendJSON appends the LLMeter JSON of r (one line, no newline) to b.
func (r *InvocationResponse) AppendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"response_text": `...)
	b = appendOptString(b, r.ResponseText)
	b = append(b, `, "input_payload": `...)
	if r.InputPayload == nil {
		b = append(b, "null"...)
	} else if b, err = appendValue(b, r.InputPayload, true); err != nil {
		return nil, fmt.Errorf("input_payload: %w", err)
	}
	b = append(b, `, "id": `...)
	b = appendStringOrNull(b, r.ID)
	b = append(b, `, "input_prompt": `...)
	if b, err = appendValue(b, r.InputPrompt, true); err != nil {
		return nil, fmt.Errorf("input_prompt: %w", err)
	}
	b = append(b, `, "time_to_first_token": `...)
	b = appendOptFloat(b, r.TimeToFirstToken)
	b = append(b, `, "time_to_last_token": `...)
	b = appendOptFloat(b, r.TimeToLastToken)
	b = append(b, `, "num_tokens_input": `...)
	b = appendOptInt(b, r.NumTokensInput)
	b = append(b, `, "num_tokens_output": `...)
	b = appendOptInt(b, r.NumTokensOutput)
	b = append(b, `, "num_tokens_input_cached": `...)
	b = appendOptInt(b, r.NumTokensInputCached)
	b = append(b, `, "num_tokens_output_reasoning": `...)
	b = appendOptInt(b, r.NumTokensOutputReasoning)
	b = append(b, `, "time_per_output_token": `...)
	b = appendOptFloat(b, r.TimePerOutputToken)
	b = append(b, `, "error": `...)
	b = appendStringOrNull(b, r.Error)
	b = append(b, `, "retries": `...)
	b = appendOptInt(b, r.Retries)
	b = append(b, `, "request_time": `...)
	if r.RequestTime == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = AppendTimestamp(b, *r.RequestTime)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// responseFields is the on-disk shape, for decoding.
type responseFields struct {
	ResponseText             *string          `json:"response_text"`
	InputPayload             json.RawMessage  `json:"input_payload"`
	ID                       *string          `json:"id"`
	InputPrompt              json.RawMessage  `json:"input_prompt"`
	TimeToFirstToken         *float64         `json:"time_to_first_token"`
	TimeToLastToken          *float64         `json:"time_to_last_token"`
	NumTokensInput           *json.Number     `json:"num_tokens_input"`
	NumTokensOutput          *json.Number     `json:"num_tokens_output"`
	NumTokensInputCached     *json.Number     `json:"num_tokens_input_cached"`
	NumTokensOutputReasoning *json.Number     `json:"num_tokens_output_reasoning"`
	TimePerOutputToken       *float64         `json:"time_per_output_token"`
	Error                    *json.RawMessage `json:"error"`
	Retries                  *json.Number     `json:"retries"`
	RequestTime              *string          `json:"request_time"`
}

// UnmarshalJSON reads one LLMeter response line. Unknown keys are ignored;
// timestamps may carry any ISO-8601 offset; {"__llmeter_bytes__": …}
// markers become []byte.
func (r *InvocationResponse) UnmarshalJSON(data []byte) error {
	var f responseFields
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	*r = InvocationResponse{ResponseText: f.ResponseText, TimeToFirstToken: f.TimeToFirstToken,
		TimeToLastToken: f.TimeToLastToken, TimePerOutputToken: f.TimePerOutputToken}
	if f.ID != nil {
		r.ID = *f.ID
	}
	var err error
	if len(f.InputPayload) > 0 && !bytes.Equal(f.InputPayload, []byte("null")) {
		v, err := DecodeJSON(f.InputPayload)
		if err != nil {
			return fmt.Errorf("input_payload: %w", err)
		}
		p, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("input_payload: not a JSON object")
		}
		r.InputPayload = p
	}
	if len(f.InputPrompt) > 0 {
		if r.InputPrompt, err = DecodeJSON(f.InputPrompt); err != nil {
			return fmt.Errorf("input_prompt: %w", err)
		}
	}
	for _, c := range []struct {
		src *json.Number
		dst **int
		key string
	}{{f.NumTokensInput, &r.NumTokensInput, "num_tokens_input"},
		{f.NumTokensOutput, &r.NumTokensOutput, "num_tokens_output"},
		{f.NumTokensInputCached, &r.NumTokensInputCached, "num_tokens_input_cached"},
		{f.NumTokensOutputReasoning, &r.NumTokensOutputReasoning, "num_tokens_output_reasoning"},
		{f.Retries, &r.Retries, "retries"}} {
		if c.src == nil {
			continue
		}
		n, err := numberToInt(*c.src)
		if err != nil {
			return fmt.Errorf("%s: %w", c.key, err)
		}
		*c.dst = &n
	}
	if f.Error != nil && !bytes.Equal(*f.Error, []byte("null")) {
		var s string
		if json.Unmarshal(*f.Error, &s) != nil {
			s = string(*f.Error) // a non-string error value still means failure
		}
		if s == "" {
			s = "invocation failed"
		}
		r.Error = s
	}
	if f.RequestTime != nil {
		t, err := ParseTimestamp(*f.RequestTime)
		if err != nil {
			return fmt.Errorf("request_time: %w", err)
		}
		r.RequestTime = &t
	}
	return nil
}

// numberToInt accepts 12 and 12.0 (Python may write either).
func numberToInt(n json.Number) (int, error) {
	if i, err := n.Int64(); err == nil {
		return int(i), nil
	}
	f, err := n.Float64()
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("not an integer: %s", n)
	}
	return int(f), nil
}

// TimestampLayout is how timestamps are written: UTC, microseconds, "Z".
// Python's datetime.fromisoformat reads it (3.10 needs exactly 3 or 6 digits).
const TimestampLayout = "2006-01-02T15:04:05.000000Z"

// AppendTimestamp appends t in TimestampLayout.
func AppendTimestamp(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, TimestampLayout)
}

// FormatTimestamp formats t in TimestampLayout.
func FormatTimestamp(t time.Time) string { return string(AppendTimestamp(nil, t)) }

// ParseTimestamp reads an ISO-8601 timestamp with "Z", any offset, or no
// offset (taken as UTC, as LLMeter writes naive datetimes), with or without
// fractional seconds, "T" or space separated.
func ParseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO-8601 timestamp: %q", s)
}
