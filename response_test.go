package llmeter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The 14 keys of a responses.jsonl line, in LLMeter's order.
var llmeterResponseKeys = []string{"response_text", "input_payload", "id", "input_prompt", "time_to_first_token",
	"time_to_last_token", "num_tokens_input", "num_tokens_output", "num_tokens_input_cached",
	"num_tokens_output_reasoning", "time_per_output_token", "error", "retries", "request_time"}

// jsonKeys returns the top-level keys of a JSON object in order.
func jsonKeys(t *testing.T, data []byte) []string {
	t.Helper()
	st, err := decodeOrderedObject(data)
	if err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return st.Keys()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestResponseJSONExactShape(t *testing.T) {
	rt := time.Date(2026, 1, 1, 12, 0, 20, 123456789, time.FixedZone("X", 3600))
	r := &InvocationResponse{
		ResponseText:     Ptr("Hello <world> & \"you\"\n"),
		InputPayload:     Payload{"messages": []any{map[string]any{"role": "user", "content": "Say hello"}}, "max_tokens": json.Number("16"), "img": []byte{0xff, 0xd8, 0xff}},
		ID:               "chatcmpl-abc",
		InputPrompt:      "Say hello",
		TimeToFirstToken: Ptr(0.0502),
		TimeToLastToken:  Ptr(1.0),
		NumTokensInput:   Ptr(12),
		NumTokensOutput:  Ptr(3),
		RequestTime:      &rt,
		ErrorClass:       "ignored-here",
	}
	b, err := r.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonKeys(t, b); !equalStrings(got, llmeterResponseKeys) {
		t.Errorf("keys = %v, want exactly LLMeter's %v", got, llmeterResponseKeys)
	}
	s := string(b)
	for _, want := range []string{
		`"response_text": "Hello <world> & \"you\"\n"`,
		`"img": {"__llmeter_bytes__": "/9j/"}`,
		`"max_tokens": 16`,
		`"time_to_last_token": 1.0`,
		`"num_tokens_input_cached": null`,
		`"error": null`,
		`"retries": null`,
		`"request_time": "2026-01-01T11:00:20.123456Z"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s\nlacks %s", s, want)
		}
	}
	if strings.Contains(s, "ignored-here") {
		t.Errorf("JSON %s carries the sidecar-only error class", s)
	}

	var back InvocationResponse
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Text() != r.Text() || back.ID != r.ID || *back.NumTokensOutput != 3 || *back.TimeToFirstToken != 0.0502 {
		t.Errorf("round trip lost fields: %+v", back)
	}
	if got := back.RequestTime.Format(time.RFC3339Nano); got != "2026-01-01T11:00:20.123456Z" {
		t.Errorf("request_time = %s", got)
	}
	if img, ok := back.InputPayload["img"].([]byte); !ok || len(img) != 3 || img[0] != 0xff {
		t.Errorf("bytes marker not restored: %#v", back.InputPayload["img"])
	}
}

func TestResponseReadsPythonForms(t *testing.T) {
	tests := []struct {
		name, line string
		check      func(*testing.T, *InvocationResponse)
	}{
		{"python offset and float counts", `{"response_text": null, "input_payload": null, "id": "x", "input_prompt": null, "time_to_first_token": null, "time_to_last_token": null, "num_tokens_input": 12.0, "num_tokens_output": null, "num_tokens_input_cached": null, "num_tokens_output_reasoning": null, "time_per_output_token": null, "error": "boom", "retries": 2, "request_time": "2026-01-01T13:00:20+01:00"}`,
			func(t *testing.T, r *InvocationResponse) {
				if !r.Failed() || r.Error != "boom" || *r.NumTokensInput != 12 || *r.Retries != 2 {
					t.Errorf("got %+v", r)
				}
				if want := time.Date(2026, 1, 1, 12, 0, 20, 0, time.UTC); !r.RequestTime.Equal(want) {
					t.Errorf("request_time = %v, want %v", r.RequestTime, want)
				}
			}},
		{"seconds precision Z", `{"response_text": "hi", "id": null, "request_time": "2026-01-01T04:00:00Z"}`,
			func(t *testing.T, r *InvocationResponse) {
				if r.Text() != "hi" || r.ID != "" || r.RequestTime.Hour() != 4 {
					t.Errorf("got %+v", r)
				}
			}},
		{"naive timestamp is UTC", `{"request_time": "2026-01-01T04:00:00.5"}`,
			func(t *testing.T, r *InvocationResponse) {
				if r.RequestTime.Hour() != 4 || r.RequestTime.Nanosecond() != 500000000 {
					t.Errorf("got %v", r.RequestTime)
				}
			}},
		{"marker with extra keys left alone", `{"input_payload": {"a": {"__llmeter_bytes__": "AA==", "b": 1}}}`,
			func(t *testing.T, r *InvocationResponse) {
				if _, ok := r.InputPayload["a"].(map[string]any); !ok {
					t.Errorf("got %#v", r.InputPayload["a"])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r InvocationResponse
			if err := json.Unmarshal([]byte(tt.line), &r); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &r)
		})
	}
	var r InvocationResponse
	if err := json.Unmarshal([]byte(`{"input_payload": {"a": {"__llmeter_bytes__": "!!"}}}`), &r); err == nil {
		t.Error("invalid base64 in a bytes marker was accepted")
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x1f\t\r\n", "ünïcödé 日本", "bad \xff utf8", "<>&", "\u2028\u2029"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("appendString(%q) = %s: invalid JSON: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("appendString(%q) decodes to %q, want %q", s, back, wantBack)
		}
	}
}

func FuzzResponseUnmarshal(f *testing.F) {
	f.Add([]byte(`{"response_text": "Hello", "input_payload": {"x": {"__llmeter_bytes__": "AA=="}}, "id": "a", "num_tokens_input": 3, "request_time": "2026-01-01T04:00:00Z"}`))
	f.Add([]byte(`{"error": 5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r InvocationResponse
		if err := r.UnmarshalJSON(data); err != nil {
			return
		}
		out, err := r.AppendJSON(nil)
		if err != nil {
			return // e.g. a payload holding a non-finite number cannot be written
		}
		var again InvocationResponse
		if err := again.UnmarshalJSON(out); err != nil {
			t.Fatalf("re-reading our own output %s: %v", out, err)
		}
		if again.Text() != r.Text() || again.Error != r.Error || again.ID != r.ID {
			t.Fatalf("round trip changed the response: %s", out)
		}
	})
}
