package httpapi

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter/internal/replay"
)

func TestFieldChain(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"response", []string{"response"}},
		{"message.content", []string{"message", "content"}},
		{"_a.B9.c_d", []string{"_a", "B9", "c_d"}},
		{"a..b", nil}, {".a", nil}, {"a.", nil}, {"9a", nil}, {"a-b", nil}, {`"a"`, nil}, {"a[0]", nil},
		{"a | b", nil}, {"a.b == `1`", nil}, {"a[].b", nil}, {"", nil},
	}
	for _, tc := range tests {
		if got := fieldChain(tc.expr); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("fieldChain(%q): got %q, want %q", tc.expr, got, tc.want)
		}
	}
	if fp := compileFast(Config{TextPath: "a.b", ErrorPath: nullLiteral, DonePath: "done"}); fp == nil || fp.chains[pathErr] != nil {
		t.Errorf("compileFast with a `null` error path: got %+v, want the fast path with no error path", fp)
	}
	if fp := compileFast(Config{TextPath: "a.b", OutputTokensPath: "usage[0]"}); fp != nil {
		t.Errorf("compileFast with an index: got %+v, want nil", fp)
	}
}

// fastTestConfig exercises every event path, nested.
var fastTestConfig = Config{URL: "http://127.0.0.1:1", TextPath: "m.content", InputTokensPath: "in",
	OutputTokensPath: "u.out", IDPath: "id", ErrorPath: "error", DonePath: "done"}

// slowEvent is what the slow path finds in an event.
type slowResult struct {
	text    string
	in, out *int
	id      string
	isErr   bool
	done    bool
}

func slowDecode(e *Endpoint, data []byte) (slowResult, bool) {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return slowResult{}, false
	}
	var r slowResult
	r.text, _ = e.paths.text.Text(v, "")
	r.in, r.out = e.paths.in.Int(v), e.paths.out.Int(v)
	r.id = idOf(e.paths.id, v)
	r.isErr = truthy(e.paths.err.Search(v))
	r.done = truthy(e.paths.done.Search(v))
	return r, true
}

// checkFastEvent decodes data with the fast path and, when it accepts it,
// with encoding/json and JMESPath, and reports any difference.
func checkFastEvent(t *testing.T, e *Endpoint, data []byte) (handled bool) {
	t.Helper()
	var f fastEvent
	if !f.decode(e.paths.fast, data, true) {
		return false
	}
	want, ok := slowDecode(e, data)
	if !ok {
		t.Fatalf("fast path accepted %q, encoding/json did not", data)
	}
	if want.isErr {
		t.Errorf("%q: fast path accepted an event with an error", data)
	}
	if string(f.text) != want.text {
		t.Errorf("%q: text: got %q, want %q", data, f.text, want.text)
	}
	if string(f.id) != want.id {
		t.Errorf("%q: id: got %q, want %q", data, f.id, want.id)
	}
	if got := intOrNil(f.in, f.inOK); replay.FmtPtr(got) != replay.FmtPtr(want.in) {
		t.Errorf("%q: input tokens: got %s, want %s", data, replay.FmtPtr(got), replay.FmtPtr(want.in))
	}
	if got := intOrNil(f.out, f.outOK); replay.FmtPtr(got) != replay.FmtPtr(want.out) {
		t.Errorf("%q: output tokens: got %s, want %s", data, replay.FmtPtr(got), replay.FmtPtr(want.out))
	}
	if f.done != want.done {
		t.Errorf("%q: done: got %v, want %v", data, f.done, want.done)
	}
	return true
}

func intOrNil(n int, ok bool) *int {
	if !ok {
		return nil
	}
	return &n
}

// fastEventSeeds are events meant to trip the fast path.
var fastEventSeeds = []string{
	`{"m":{"content":"x"},"in":3,"u":{"out":4},"id":"a","done":true}`,
	`{"m":{"content":"line\nbreak \"quoted\" \\ \/ \b\f\r\t"}}`,
	`{"m":{"content":"\u00e9\u4e2d\ud83d\ude00 \ud83d \ude00x \ud83d\u0041 \ud83d\n"}}`,
	`{"m":{"content":"raw é 中 😀"}}`, "{\"m\":{\"content\":\"bad \xff utf8 \xe4\xb8\"}}",
	`{"M":{"content":"case"}}`, `{"m":{"Content":"case"}}`, `{"\u006d":{"cont\u0065nt":"escaped keys"}}`,
	`{"m":{"content":"a","content":"b"}}`, `{"m":{"content":"a"},"m":{"other":1}}`, `{"m":{"content":"a"},"m":null}`,
	`{"id":"a","id":"b"}`, `{"id":5}`, `{"id":5.5}`, `{"id":true}`, `{"id":""}`, `{"id":null}`, `{"id":{}}`,
	`{"in":-0}`, `{"in":1.0}`, `{"in":1e2}`, `{"in":123456789012345678}`, `{"in":"3"}`, `{"in":null}`, `{"in":true}`,
	`{"u":{"out":-7}}`, `{"u":[{"out":1}]}`, `{"u":"out"}`, `{"u":{"out":{"n":1}}}`,
	`{"done":false}`, `{"done":0}`, `{"done":1}`, `{"done":""}`, `{"done":"no"}`, `{"done":[]}`, `{"done":[0]}`,
	`{"done":{}}`, `{"done":{ }}`, `{"done":{"a":1}}`, `{"done":null}`, `{"done":[ ]}`,
	`{"error":null}`, `{"error":false}`, `{"error":""}`, `{"error":{}}`, `{"error":[]}`, `{"error":"boom"}`,
	`{"error":{"message":"m"}}`, `{"error":0}`, `{"error":true}`,
	`{"m":{"content":["a","b"]}}`, `{"m":{"content":5}}`, `{"m":{"content":null}}`, `{"m":{"content":{}}}`,
	`{"m":["content"]}`, `{"m":"content"}`,
	`{"m":{"content":"big"},"x":1e309}`, `{"m":{"content":"big"},"x":-1.8e308}`, `{"m":{"content":"ok"},"x":1e-400}`,
	`{"m":{"content":"ok"},"x":0.0000001e309}`, `{"x":9.999e307}`, `{"x":17976931348623157` + strings.Repeat("0", 292) + `}`,
	` { "m" : { "content" : "sp" } , "x" : [ {"a":[1,{"b":"}"}]} ] , "in" : 2 } `,
	`{"x":{"m":{"content":"no"}},"y":["m",{"content":"no"}],"m":{"content":"yes"}}`,
	`{"z":-1.5e+10,"t":true,"f":false,"n":null,"s":"\"}","m":{"content":"q"}}`,
	`[]`, `null`, `"x"`, `1`, `{}`, `{"m":{"content":"x"}`, `{"m":{"content":"x"}} x`, ``, `  `,
}

func TestFastEvent(t *testing.T) {
	e, err := New(fastTestConfig)
	if err != nil {
		t.Fatal(err)
	}
	if e.paths.fast == nil {
		t.Fatal("test config not on the fast path")
	}
	handled := 0
	for _, s := range fastEventSeeds {
		if checkFastEvent(t, e, []byte(s)) {
			handled++
		}
	}
	if handled < len(fastEventSeeds)/2 {
		t.Errorf("fast path handled %d of %d seeds, want at least half", handled, len(fastEventSeeds))
	}
	// Every event of the Ollama and TGI transcripts without an error goes
	// through the fast path with its preset.
	n := 0
	for _, tc := range []struct{ glob, preset string }{
		{"ollama_*.ndjson", "ollama-generate"}, {"ollama_chat*.ndjson", "ollama-chat"}, {"tgi_stream*.txt", "tgi"},
	} {
		cfg, err := FromPreset(tc.preset, "http://127.0.0.1:1", "m", true)
		if err != nil {
			t.Fatal(err)
		}
		pe, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join("testdata", tc.glob))
		for _, name := range files {
			for _, data := range events(t, name) {
				if !json.Valid(data) || bytes.Contains(data, []byte(`"error"`)) {
					continue
				}
				if !checkFastEvent(t, pe, data) {
					t.Errorf("%s: fast path declined %s", name, data)
				}
				n++
			}
		}
	}
	if n < 20 {
		t.Errorf("fast path checked on %d testdata events, want at least 20", n)
	}
}

// events returns the event data of a transcript (SSE data fields or NDJSON
// lines).
func events(tb testing.TB, name string) [][]byte {
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, line := range bytes.Split(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n")) {
		if strings.HasSuffix(name, ".txt") {
			var ok bool
			if line, ok = bytes.CutPrefix(line, []byte("data:")); !ok {
				continue
			}
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}

// FuzzFastEvent compares the fast event path with encoding/json and
// JMESPath.
func FuzzFastEvent(f *testing.F) {
	e, err := New(fastTestConfig)
	if err != nil {
		f.Fatal(err)
	}
	replay.FuzzFastPath(f, fastEventSeeds, func(t *testing.T, data []byte) bool { return checkFastEvent(t, e, data) })
}
