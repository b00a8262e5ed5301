package jsonl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

type tline struct {
	Text string
	No   int
}

// readAll drains r, copying lines. It returns the lines, whether the input
// was reported torn, and the terminating error.
func readAll(t testing.TB, r *Reader) ([]tline, bool, error) {
	t.Helper()
	var out []tline
	prev := 0
	tornSeen := false
	for {
		line, no, err := r.Next()
		if err != nil {
			if line != nil || no != 0 {
				t.Fatalf("Next returned line %q / %d with error %v", line, no, err)
			}
			if _, _, err2 := r.Next(); err2 != err {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
			return out, r.Torn(), err
		}
		if no <= prev {
			t.Fatalf("line numbers not increasing: %d after %d", no, prev)
		}
		if tornSeen {
			t.Fatalf("line %d returned after a torn line", no)
		}
		tornSeen = r.Torn()
		prev = no
		out = append(out, tline{string(line), no})
	}
}

// refLines is the reference: split on '\n', strip one '\r' before each '\n',
// number all lines, keep the non-blank ones. The final piece, if non-empty,
// is an unterminated (torn) line.
func refLines(in []byte) (lines []tline, torn bool) {
	parts := strings.Split(string(in), "\n")
	for i, p := range parts {
		last := i == len(parts)-1
		if last && p == "" {
			break
		}
		if !last {
			p = strings.TrimSuffix(p, "\r")
		}
		if strings.Trim(p, " \t\r") == "" {
			continue
		}
		lines = append(lines, tline{p, i + 1})
		torn = last
	}
	return lines, torn
}

var tableTests = []struct {
	name string
	in   string
	want []tline
	torn bool
}{
	{"empty", "", nil, false},
	{"one line", "{\"a\":1}\n", []tline{{`{"a":1}`, 1}}, false},
	{"several", "{}\n[]\n1\n", []tline{{"{}", 1}, {"[]", 2}, {"1", 3}}, false},
	{"blank lines counted", "\n{}\n\n  \t\n\r\n[]\n\n", []tline{{"{}", 2}, {"[]", 6}}, false},
	{"crlf", "{}\r\n[]\r\n", []tline{{"{}", 1}, {"[]", 2}}, false},
	{"only one cr stripped", "a\r\r\nb\n", []tline{{"a\r", 1}, {"b", 2}}, false},
	{"lone cr is not a line end", "a\rb\n", []tline{{"a\rb", 1}}, false},
	{"missing final newline", "{}\n{\"a\":", []tline{{"{}", 1}, {`{"a":`, 2}}, true},
	{"torn after blank lines", "{}\n\n\nxy", []tline{{"{}", 1}, {"xy", 4}}, true},
	{"torn keeps cr", "{}\nxy\r", []tline{{"{}", 1}, {"xy\r", 2}}, true},
	{"blank torn line is skipped", "{}\n  ", []tline{{"{}", 1}}, false},
	{"only blank", "\n\n \n", nil, false},
	{"leading and trailing spaces kept", "  {} \n", []tline{{"  {} ", 1}}, false},
	{"non-json whitespace is not blank", "\v\n\f\n", []tline{{"\v", 1}, {"\f", 2}}, false},
}

var variants = []struct {
	name string
	new  func(in []byte) *Reader
}{
	{"whole", func(in []byte) *Reader { return NewReader(bytes.NewReader(in), "f.jsonl") }},
	{"onebyte", func(in []byte) *Reader { return NewReader(iotest.OneByteReader(bytes.NewReader(in)), "f.jsonl") }},
	{"dataerr-half", func(in []byte) *Reader {
		return NewReader(iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(in))), "f.jsonl")
	}},
	{"smallbuf", func(in []byte) *Reader { return newReaderSize(bytes.NewReader(in), "f.jsonl", 16) }},
	{"smallbuf-onebyte", func(in []byte) *Reader {
		return newReaderSize(iotest.OneByteReader(bytes.NewReader(in)), "f.jsonl", 16)
	}},
}

func TestReader(t *testing.T) {
	for _, tc := range tableTests {
		t.Run(tc.name, func(t *testing.T) {
			if ref, torn := refLines([]byte(tc.in)); !slices.Equal(ref, tc.want) || torn != tc.torn {
				t.Fatalf("reference disagrees with table: %v torn=%v", ref, torn)
			}
			for _, v := range variants {
				got, torn, err := readAll(t, v.new([]byte(tc.in)))
				if err != io.EOF {
					t.Errorf("%s: err = %v, want io.EOF", v.name, err)
				}
				if !slices.Equal(got, tc.want) || torn != tc.torn {
					t.Errorf("%s: got %v torn=%v, want %v torn=%v", v.name, got, torn, tc.want, tc.torn)
				}
			}
		})
	}
}

func TestTornOnlyAfterLastLine(t *testing.T) {
	r := NewReader(strings.NewReader("a\nb"), "x")
	if _, _, err := r.Next(); err != nil || r.Torn() {
		t.Fatalf("after first line: err %v torn %v", err, r.Torn())
	}
	if l, _, err := r.Next(); err != nil || string(l) != "b" || !r.Torn() {
		t.Fatalf("after last line: %q err %v torn %v", l, err, r.Torn())
	}
	if _, _, err := r.Next(); err != io.EOF || !r.Torn() {
		t.Fatalf("at EOF: err %v torn %v", err, r.Torn())
	}
}

func TestHugeLine(t *testing.T) {
	big := `{"image":"` + strings.Repeat("QUJD", 1<<20) + `"}` // ~4 MiB
	in := "{}\n" + big + "\r\n\n" + big + "\n" + big
	for _, v := range variants[:4] {
		got, torn, err := readAll(t, v.new([]byte(in)))
		want := []tline{{"{}", 1}, {big, 2}, {big, 4}, {big, 5}}
		if err != io.EOF || !torn || !slices.Equal(got, want) {
			t.Errorf("%s: err %v torn %v, %d lines", v.name, err, torn, len(got))
		}
	}
}

func TestLineTooLong(t *testing.T) {
	ok := strings.Repeat("x", 100)
	for _, v := range variants {
		for _, tc := range []struct {
			in     string
			wantOK int
		}{
			{"a\n\n" + ok + "\r\n" + ok + "\n" + ok, 4},
			{"a\n\n" + ok + "x\nb\n", 1},
			{"a\n\n" + ok + "x\r\nb\n", 1},
			{"a\n\n" + ok + "x", 1},
			{"a\n\n" + ok + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1},
			{"a\n\n" + strings.Repeat(" ", 101) + "\n", 1},
		} {
			r := v.new([]byte(tc.in))
			r.maxLine = 100 // test hook
			got, _, err := readAll(t, r)
			if len(got) != tc.wantOK {
				t.Errorf("%s: %q: got %d lines, want %d (err %v)", v.name, tc.in, len(got), tc.wantOK, err)
			}
			if tc.wantOK == 4 {
				if err != io.EOF {
					t.Errorf("%s: err %v", v.name, err)
				}
				continue
			}
			var le *LineError
			if !errors.Is(err, ErrLineTooLong) || !errors.As(err, &le) || le.Line != 3 || le.Name != "f.jsonl" {
				t.Errorf("%s: %q: err = %#v, want *LineError line 3 wrapping ErrLineTooLong", v.name, tc.in, err)
			}
			if err.Error() != "f.jsonl:3: jsonl: line too long" {
				t.Errorf("message %q", err)
			}
		}
	}
}

var errBoom = errors.New("boom")

func TestReadError(t *testing.T) {
	for _, src := range []io.Reader{
		io.MultiReader(strings.NewReader("a\n\nb\n"), iotest.ErrReader(errBoom)),
		io.MultiReader(strings.NewReader("a\n\nb\n"+strings.Repeat("c", 40)), iotest.ErrReader(errBoom)),
	} {
		r := newReaderSize(src, "data/x.jsonl", 16)
		got, _, err := readAll(t, r)
		if !slices.Equal(got, []tline{{"a", 1}, {"b", 3}}) {
			t.Errorf("got %v", got)
		}
		var le *LineError
		if !errors.Is(err, errBoom) || !errors.As(err, &le) || le.Line != 4 {
			t.Errorf("err = %v", err)
		}
		if err.Error() != "data/x.jsonl:4: read: boom" {
			t.Errorf("message %q", err)
		}
	}
}

func TestLineErrorFormat(t *testing.T) {
	e := &LineError{Name: "runs/a.jsonl", Line: 17, Err: errors.New("invalid character 'x'")}
	if got := e.Error(); got != "runs/a.jsonl:17: invalid character 'x'" {
		t.Fatal(got)
	}
	if errors.Unwrap(e) != e.Err {
		t.Fatal("Unwrap")
	}
	wrapped := fmt.Errorf("load: %w", e)
	var le *LineError
	if !errors.As(wrapped, &le) || le.Line != 17 {
		t.Fatal("errors.As")
	}
}

func TestNoAllocsShortLines(t *testing.T) {
	in := []byte(strings.Repeat(`{"ts":1731000000,"latency_ms":123.4,"ok":true}`+"\n", 100))
	br := bytes.NewReader(in)
	r := NewReader(br, "x")
	allocs := testing.AllocsPerRun(50, func() {
		br.Reset(in)
		r.br.Reset(br)
		r.err, r.lineNo = nil, 0
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs", allocs)
	}
}

func BenchmarkReader(b *testing.B) {
	in := []byte(strings.Repeat(`{"ts":1731000000,"latency_ms":123.4,"ok":true,"model":"gpt-4o-mini"}`+"\n", 1000))
	br := bytes.NewReader(in)
	r := NewReader(br, "x")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(in)
		r.br.Reset(br)
		r.err, r.lineNo = nil, 0
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, tc := range tableTests {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte("0123456789abcdef0123\r\n\r\n \n{}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			// Long inputs add nothing the 16-byte-buffer variants do not
			// already exercise, but make minimization crawl (and can trip
			// "context deadline exceeded" at the end of -fuzztime).
			return
		}
		want, wantTorn := refLines(in)
		for _, v := range variants {
			got, torn, err := readAll(t, v.new(in))
			if err != io.EOF {
				t.Fatalf("%s: err %v", v.name, err)
			}
			if !slices.Equal(got, want) || torn != wantTorn {
				t.Fatalf("%s: got %v torn=%v, want %v torn=%v", v.name, got, torn, want, wantTorn)
			}
		}
	})
}
