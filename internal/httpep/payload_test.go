package httpep

import (
	"reflect"
	"testing"
)

func TestEachMap(t *testing.T) {
	a, b := map[string]any{"n": 1}, map[string]any{"n": 2}
	for _, tc := range []struct {
		v    any
		want []map[string]any
	}{
		{[]any{a, "x", nil, 3, b}, []map[string]any{a, b}},
		{[]map[string]any{a, b}, []map[string]any{a, b}},
		{[]any{}, nil}, {nil, nil}, {"text", nil}, {a, nil}, {[]string{"x"}, nil},
	} {
		var got []map[string]any
		EachMap(tc.v, func(m map[string]any) { got = append(got, m) })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("EachMap(%v): got %v, want %v", tc.v, got, tc.want)
		}
	}
}
