package httpep

import (
	"reflect"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
)

func TestEnvOr(t *testing.T) {
	const env = "HTTPEP_TEST_ENV_OR"
	t.Setenv(env, "")
	if got := EnvOr("", env, "def"); got != "def" {
		t.Errorf("unset: got %q, want def", got)
	}
	t.Setenv(env, "from-env")
	for _, tc := range []struct{ v, def, want string }{
		{"", "def", "from-env"}, {"set", "def", "set"}, {"", "", "from-env"},
	} {
		if got := EnvOr(tc.v, env, tc.def); got != tc.want {
			t.Errorf("EnvOr(%q, env, %q): got %q, want %q", tc.v, tc.def, got, tc.want)
		}
	}
}

func TestReadStrings(t *testing.T) {
	a, b := "keep", "keep"
	m := map[string]any{"a": "x", "b": nil, "c": 3}
	if err := ReadStrings("ep", m, StringKey{"a", &a}, StringKey{"b", &b}, StringKey{"missing", &b}); err != nil {
		t.Fatal(err)
	}
	if a != "x" || b != "keep" {
		t.Errorf("got a=%q b=%q, want x, keep", a, b)
	}
	err := ReadStrings("ep", m, StringKey{"a", &a}, StringKey{"c", &b})
	if err == nil || err.Error() != "ep: c: want a string, got int" {
		t.Errorf("error: got %v", err)
	}
	var model, name, provider, base string
	if err := ReadStrings("ep", map[string]any{"model_id": "m", "endpoint_name": "e", "provider": "p", "base_url": "u"},
		ConnectionKeys(&model, &name, &provider, &base)...); err != nil || model+name+provider+base != "mepu" {
		t.Errorf("ConnectionKeys: got %q %q %q %q (%v)", model, name, provider, base, err)
	}
}

func TestReadHeaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m       map[string]any
		want    map[string]string
		wantErr string
	}{
		{name: "absent", m: map[string]any{}, want: map[string]string{"Old": "1"}},
		{name: "null", m: map[string]any{"headers": nil}, want: map[string]string{"Old": "1"}},
		{name: "object", m: map[string]any{"headers": map[string]any{"X-A": "1", "b": ""}},
			want: map[string]string{"X-A": "1", "b": ""}},
		{name: "not an object", m: map[string]any{"headers": []any{}}, wantErr: "ep: headers: want an object, got []interface {}"},
		{name: "not a string", m: map[string]any{"headers": map[string]any{"X": 1}}, wantErr: `ep: headers["X"]: want a string, got int`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Old": "1"}
			err := ReadHeaders("ep", tc.m, &h)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error: got %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(h, tc.want) {
				t.Errorf("got %v (%v), want %v", h, err, tc.want)
			}
		})
	}
}

func TestReadReasoningTTFT(t *testing.T) {
	for _, tc := range []struct {
		m       map[string]any
		start   bool
		want    bool
		wantErr string
	}{
		{m: map[string]any{}, start: true, want: true},
		{m: map[string]any{"ttft_visible_tokens_only": nil}, want: false},
		{m: map[string]any{"ttft_visible_tokens_only": true}, start: true, want: false},
		{m: map[string]any{"ttft_visible_tokens_only": false}, want: true},
		{m: map[string]any{"ttft_visible_tokens_only": "yes"}, wantErr: "ep: ttft_visible_tokens_only: want a boolean, got string"},
	} {
		got := tc.start
		err := ReadReasoningTTFT("ep", tc.m, &got)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%v: error %v, want %s", tc.m, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: got %v (%v), want %v", tc.m, got, err, tc.want)
		}
	}
}

func TestReadStream(t *testing.T) {
	for _, tc := range []struct {
		typ     any
		want    bool
		wantErr string
	}{
		{typ: nil, want: false}, {typ: "", want: false}, {typ: "Plain", want: false}, {typ: "Stream", want: true},
		{typ: 3, want: false}, {typ: "Other", wantErr: `ep: endpoint_type "Other" is not a test endpoint`},
	} {
		m := map[string]any{}
		if tc.typ != nil {
			m["endpoint_type"] = tc.typ
		}
		got, err := ReadStream("ep", m, "Plain", "Stream", "a test endpoint")
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %s", tc.typ, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: got %v (%v), want %v", tc.typ, got, err, tc.want)
		}
	}
}

// pairEndpoint is an endpoint built by TestRegisterPair's factories.
type pairEndpoint struct {
	llmeter.Endpoint
	model  string
	stream bool
}

func TestRegisterPair(t *testing.T) {
	type cfg struct {
		model  string
		stream bool
	}
	fromMap := func(m map[string]any) (cfg, error) {
		var c cfg
		err := ReadStrings("ep", m, StringKey{"model_id", &c.model})
		c.stream = m["endpoint_type"] == "PairTestStream" // overridden by the type registered
		return c, err
	}
	RegisterPair("PairTestPlain", "PairTestStream", fromMap, func(c cfg, stream bool) (llmeter.Endpoint, error) {
		return &pairEndpoint{model: c.model, stream: stream}, nil
	})
	for typ, wantStream := range map[string]bool{"PairTestPlain": false, "PairTestStream": true} {
		ep, err := llmeter.LoadEndpoint(map[string]any{"endpoint_type": typ, "model_id": "m"})
		if err != nil {
			t.Fatal(err)
		}
		if pe := ep.(*pairEndpoint); pe.model != "m" || pe.stream != wantStream {
			t.Errorf("%s: got %+v, want model m, stream %v", typ, pe, wantStream)
		}
	}
	if _, err := llmeter.LoadEndpoint(map[string]any{"endpoint_type": "PairTestPlain", "model_id": 1}); err == nil ||
		!strings.Contains(err.Error(), "model_id") {
		t.Errorf("bad model_id: got %v, want the reader's error", err)
	}
}
