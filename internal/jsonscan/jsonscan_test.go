package jsonscan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// stringSeeds are JSON strings meant to trip Unquote: escapes, surrogate
// pairs and lone surrogates, invalid UTF-8.
var stringSeeds = []string{
	`""`, `"plain"`, `"raw é 中 😀"`,
	`"line\nbreak \"quoted\" \\ \/ \b\f\r\t"`,
	`"\u00e9\u4e2d\ud83d\ude00 \ud83d \ude00x \ud83d\u0041 \ud83d\n"`,
	`"\ud83d\ud83d\ude00"`, `"\uDBFF\uDFFF\uD800"`, `"\u0000\u001f\u007F"`,
	"\"bad \xff utf8 \xe4\xb8\"", "\"\xed\xa0\x80 surrogate in UTF-8\"", "\"\xf4\x90\x80\x80 above U+10FFFF\"",
	"\"é\\n\xff\"",
}

// wantString decodes a JSON string literal with encoding/json.
func wantString(t *testing.T, lit []byte) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		t.Fatalf("encoding/json: %q: %v", lit, err)
	}
	return s
}

func checkUnquote(t *testing.T, lit []byte) {
	t.Helper()
	want := wantString(t, lit)
	body := lit[1 : len(lit)-1]
	buf := []byte("scratch")
	got := Unquote(body, &buf)
	if string(got) != want {
		t.Errorf("Unquote(%q): got %q, want %q", body, got, want)
	}
	aliases := len(got) > 0 && &got[0] == &body[0]
	if plain := bytes.IndexByte(body, '\\') < 0 && string(body) == want; plain != aliases && len(body) > 0 {
		t.Errorf("Unquote(%q): aliases the input %v, want %v", body, aliases, plain)
	}
}

func TestUnquote(t *testing.T) {
	for _, s := range stringSeeds {
		checkUnquote(t, []byte(s))
	}
	// The scratch buffer is reused.
	buf := make([]byte, 0, 64)
	got := Unquote([]byte(`a\nb`), &buf)
	if string(got) != "a\nb" || &got[0] != &buf[:1][0] {
		t.Errorf("Unquote with room in buf: got %q, want it built in buf", got)
	}
}

// FuzzUnquote compares Unquote with encoding/json on JSON strings.
func FuzzUnquote(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		lit = bytes.TrimSpace(lit)
		if len(lit) < 2 || lit[0] != '"' || !json.Valid(lit) {
			return
		}
		checkUnquote(t, lit)
	})
}

// decode rebuilds a JSON value with the scanner: objects (the last of
// duplicate keys wins), arrays, strings and null with Object, Array, Str and
// Null; numbers, true and false from Raw. It is what encoding/json decodes
// with UseNumber.
func decode(t *testing.T, s *Scanner) any {
	t.Helper()
	var buf []byte
	s.space()
	if s.pos >= len(s.data) {
		t.Fatalf("decode: at the end of %q", s.data)
	}
	switch s.data[s.pos] {
	case '{':
		m := map[string]any{}
		if !s.Object(func(key []byte) bool {
			k := string(Unquote(key, &buf))
			m[k] = decode(t, s)
			return true
		}) {
			t.Fatalf("Object declined %q", s.data)
		}
		return m
	case '[':
		a := []any{}
		if !s.Array(func(i int) bool {
			if i != len(a) {
				t.Fatalf("Array: index %d after %d elements", i, len(a))
			}
			a = append(a, decode(t, s))
			return true
		}) {
			t.Fatalf("Array declined %q", s.data)
		}
		return a
	case '"':
		v, ok := s.Str(&buf)
		if !ok {
			t.Fatalf("Str declined %q", s.data)
		}
		return string(v)
	case 'n':
		if !s.Null() {
			t.Fatalf("Null declined %q", s.data)
		}
		return nil
	}
	raw := s.Raw()
	switch string(raw) {
	case "true":
		return true
	case "false":
		return false
	}
	return json.Number(raw)
}

// valueSeeds are JSON documents for the scanner as a whole.
var valueSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-1.5e+10`, `"s"`, ` { } `, ` [ ] `,
	`{"a":1,"b":[true,false,null,{"c":"d"}],"e":{"f":[[],{}]}}`,
	` { "id" : "s" , "choices" : [ { "delta" : { "content" : "sp" } , "x" : [ {"a":[1,{"b":"}"}]} ] } ] } `,
	`{"a":"x","a":"y","\u0061":"z"}`, `{"s":"\"}","t":"\\","u":"]"}`, `[1,"2",[3,[4,[5]]],{"6":7}]`,
	"{\"k\":\"\xff\",\"\xe4\":1}", "\t[\n1\r,\n2 ]\n",
}

// FuzzScanner rebuilds any JSON value with the scanner and compares it with
// encoding/json; it also checks that Skip and Raw move past the whole value.
func FuzzScanner(f *testing.F) {
	for _, s := range append(valueSeeds, stringSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var want any
		if err := d.Decode(&want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		s := New(data)
		got := decode(t, &s)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, want %#v", data, got, want)
		}
		if s.space(); s.pos != len(data) {
			t.Errorf("%q: decode stopped at %d of %d", data, s.pos, len(data))
		}
		s = New(data)
		s.Skip()
		if s.space(); s.pos != len(data) {
			t.Errorf("%q: Skip stopped at %d of %d", data, s.pos, len(data))
		}
		s = New(data)
		if raw := s.Raw(); string(raw) != string(bytes.TrimSpace(data)) {
			t.Errorf("%q: Raw: got %q, want the trimmed input", data, raw)
		}
	})
}

func TestSmallInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"7", 7, true}, {" 42 ", 42, true}, {"-123", -123, true},
		{"999999999999999", 999999999999999, true}, {"-999999999999999", -999999999999999, true},
		{"1000000000000000", 0, false}, {"12345678901234567890", 0, false},
		{"1.0", 0, false}, {"1e0", 0, false}, {"1E2", 0, false}, {"-1.5", 0, false},
		{`"1"`, 0, false}, {"null", 0, false}, {"true", 0, false}, {"[1]", 0, false}, {"", 0, false},
	} {
		s := New([]byte(tc.in))
		got, ok := s.SmallInt()
		if got != tc.want || ok != tc.ok {
			t.Errorf("SmallInt(%q): got %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzSmallInt checks that SmallInt reads, on valid JSON, only integers
// encoding/json decodes into an int, and reads them alike.
func FuzzSmallInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "15", "-7", "1.0", "1e3", "123456789012345", "1234567890123456", `"3"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		s := New(data)
		got, ok := s.SmallInt()
		var want int
		err := json.Unmarshal(data, &want)
		if ok && (err != nil || got != want) {
			t.Errorf("SmallInt(%q): got %d, want %d (encoding/json: %v)", data, got, want, err)
		}
		trimmed := bytes.TrimSpace(data)
		if !ok && err == nil && len(bytes.TrimLeft(trimmed, "-")) <= 15 && !bytes.ContainsAny(trimmed, ".eE") {
			t.Errorf("SmallInt(%q): declined an integer of at most 15 digits", data)
		}
	})
}

// fieldsNames are the keys of fieldsStruct, as Fields reads them.
var fieldsNames = []string{"type", "delta", "index"}

// fieldsStruct is what encoding/json reads with the same keys.
type fieldsStruct struct {
	Type  string `json:"type"`
	Delta string `json:"delta"`
	Index int    `json:"index"`
}

// fieldsDecode reads data with Fields into a fieldsStruct; false when Fields
// declines.
func fieldsDecode(data []byte) (fieldsStruct, bool) {
	var v fieldsStruct
	var typBuf, deltaBuf []byte
	s := New(data)
	ok := s.Fields(fieldsNames, func(i int) bool {
		var b []byte
		var ok bool
		switch i {
		case 0:
			b, ok = s.StrOrNull(&typBuf)
			v.Type = string(b)
		case 1:
			b, ok = s.StrOrNull(&deltaBuf)
			v.Delta = string(b)
		case 2:
			if s.Null() {
				return true
			}
			v.Index, ok = s.SmallInt()
		}
		return ok
	})
	return v, ok
}

// fieldsSeeds are objects meant to trip Fields.
var fieldsSeeds = []string{
	`{"type":"a","delta":"b","index":3}`, `{"type":"a","x":{"type":"no"},"y":["delta"]}`,
	`{"Type":"a"}`, `{"TYPE":"a"}`, `{"\u0074ype":"a"}`, "{\"\u212aey\":1}", "{\"typ\u017f\":1}", "{\"\u017fype\":1}",
	`{"type":"a","type":"b"}`, `{"delta":"a","delta":null}`, `{"index":1,"index":1}`,
	`{"type":null,"delta":null,"index":null}`, `{"type":5}`, `{"delta":["x"]}`, `{"index":1.5}`, `{"index":"1"}`,
	`{"other":1,"Other":2,"OTHER":3}`, `{}`, `[]`, `"type"`, `null`,
	` { "type" : "sp" , "index" : -2 , "delta" : "\u00e9\n" } `,
}

func checkFields(t *testing.T, data []byte) (handled bool) {
	t.Helper()
	got, ok := fieldsDecode(data)
	if !ok {
		return false
	}
	var want fieldsStruct
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("Fields accepted %q, encoding/json: %v", data, err)
	}
	if got != want {
		t.Errorf("%q: got %+v, want %+v", data, got, want)
	}
	return true
}

func TestFields(t *testing.T) {
	handled := 0
	for _, s := range fieldsSeeds {
		if checkFields(t, []byte(s)) {
			handled++
		}
	}
	if handled < 5 {
		t.Errorf("Fields accepted %d seeds, want at least 5", handled)
	}
	for _, s := range []string{`{"type":"a","type":"b"}`, `{"Type":"a"}`, `{"\u0074ype":"a"}`, "{\"\u212aey\":1}",
		"{\"\u017fype\":1}", `{"type":5}`, `[]`} {
		if _, ok := fieldsDecode([]byte(s)); ok {
			t.Errorf("Fields accepted %s, want it declined", s)
		}
	}
	for _, s := range []string{`{"type":"a","x":{"type":"no"}}`, `{"other":1,"Other":2}`, `{}`, `{"type":null}`} {
		if _, ok := fieldsDecode([]byte(s)); !ok {
			t.Errorf("Fields declined %s, want it accepted", s)
		}
	}
}

// FuzzFields compares Fields with encoding/json on a struct of the same
// keys: whatever Fields accepts, encoding/json reads alike.
func FuzzFields(f *testing.F) {
	for _, s := range fieldsSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		checkFields(t, data)
	})
}

func TestFoldsTo(t *testing.T) {
	names := []string{"id", "choices", "skip"}
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"ID", true}, {"Choices", true}, {"CHOICES", true}, {`\u0069d`, true}, {`x\"y`, true},
		{"\u017fkip", true}, {"\u212aey", true}, {"idx", false}, {"choice", false}, {"other", false}, {"", false},
	} {
		if got := foldsTo([]byte(tc.key), names); got != tc.want {
			t.Errorf("foldsTo(%q): got %v, want %v", tc.key, got, tc.want)
		}
	}
}

func TestArray(t *testing.T) {
	// Only the first element read, the others skipped, as a decoder of
	// choices[0] does.
	s := New([]byte(` [ {"a":1} , [2,{"b":"]"}] , "3" ] `))
	var first []byte
	if !s.Array(func(i int) bool {
		if i == 0 {
			first = s.Raw()
		} else {
			s.Skip()
		}
		return true
	}) {
		t.Fatal("Array declined")
	}
	if string(first) != `{"a":1}` {
		t.Errorf("first element: got %s", first)
	}
	for _, in := range []string{`{}`, `"[]"`, `null`} {
		s := New([]byte(in))
		if s.Array(func(int) bool { s.Skip(); return true }) {
			t.Errorf("Array(%s): got true, want false", in)
		}
	}
	s = New([]byte(`[1,2]`))
	if s.Array(func(i int) bool { s.Skip(); return i == 0 }) {
		t.Error("Array: got true though elem stopped the walk")
	}
}

// TestNoAllocs checks that reading allocates nothing once the scratch
// buffers are large enough.
func TestNoAllocs(t *testing.T) {
	data := []byte(`{"type":"content_block_delta","index":0,"x":[1,{"y":null}],"delta":"esc\u00e9\n ` +
		strings.Repeat("text ", 20) + `"}`)
	if _, ok := fieldsDecode(data); !ok {
		t.Fatal("declined")
	}
	var buf []byte
	allocs := testing.AllocsPerRun(100, func() {
		s := New(data)
		s.Fields(fieldsNames, func(i int) bool {
			switch i {
			case 2:
				_, ok := s.SmallInt()
				return ok
			default:
				_, ok := s.StrOrNull(&buf)
				return ok
			}
		})
	})
	if allocs != 0 {
		t.Errorf("allocations per run: got %v, want 0", allocs)
	}
}
