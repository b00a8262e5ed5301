package httpapi

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readLines reads every line of r with a lineReader.
func readLines(r io.Reader, maxLine int) ([]string, error) {
	var lr lineReader
	lr.max = maxLine
	lr.reset(r)
	var lines []string
	for {
		line, err := lr.next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return lines, err
		}
		lines = append(lines, string(line))
	}
}

// refLines splits data as the line reader must, for complete input.
func refLines(data []byte) []string {
	var lines []string
	for len(data) > 0 {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		if !found && len(line) == 0 {
			break
		}
		lines = append(lines, string(bytes.TrimSuffix(line, []byte("\r"))))
		data = rest
	}
	return lines
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		wantErr error
	}{
		{name: "empty", in: ""},
		{name: "lines", in: "a\nbb\n", want: []string{"a", "bb"}},
		{name: "last line without newline", in: "a\nbb", want: []string{"a", "bb"}},
		{name: "CRLF and blank lines", in: "a\r\n\r\n\nb\r\n", want: []string{"a", "", "", "b"}},
		{name: "lone CR is kept inside", in: "a\rb\n", want: []string{"a\rb"}},
		{name: "line longer than the buffer", in: "a\n" + long + "\nb", want: []string{"a", long, "b"}},
		{name: "line at the limit", in: "12345\nab", max: 5, want: []string{"12345", "ab"}},
		{name: "line over the limit", in: "12345\n123456\n", max: 5, want: []string{"12345"}, wantErr: errLineTooLong},
		{name: "last line over the limit", in: "123456", max: 5, wantErr: errLineTooLong},
	}
	for _, tc := range tests {
		for _, mode := range []string{"whole", "one byte", "half"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tc.in)
				switch mode {
				case "one byte":
					r = iotest.OneByteReader(r)
				case "half":
					r = iotest.HalfReader(r)
				}
				max := tc.max
				if max == 0 {
					max = MaxLineSize
				}
				got, err := readLines(r, max)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error: got %v, want %v", err, tc.wantErr)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
					t.Errorf("lines: got %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// TestLineReaderReadError checks that complete lines before a read error
// are returned, then the error, and that a partial line is dropped.
func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a\nb\npart"), iotest.ErrReader(boom))
	got, err := readLines(r, MaxLineSize)
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "ndjson: read: ") {
		t.Errorf("error: got %v, want ndjson: read: boom", err)
	}
	if strings.Join(got, "|") != "a|b" {
		t.Errorf("lines: got %q, want [a b]", got)
	}
	// Sticky.
	var lr lineReader
	lr.reset(iotest.ErrReader(boom))
	for range 2 {
		if _, err := lr.next(); !errors.Is(err, boom) {
			t.Errorf("error: got %v, want boom", err)
		}
	}
}

// TestLineReaderNoProgress checks that a reader returning nothing forever
// is an error.
func TestLineReaderNoProgress(t *testing.T) {
	_, err := readLines(readerFunc(func([]byte) (int, error) { return 0, nil }), MaxLineSize)
	if !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("error: got %v, want io.ErrNoProgress", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestLineReaderNoAlloc checks that reading lines that fit the buffer does
// not allocate once the buffer exists.
func TestLineReaderNoAlloc(t *testing.T) {
	data := []byte(strings.Repeat(`{"response":"token","done":false}`+"\n", 200))
	var lr lineReader
	br := bytes.NewReader(data)
	lr.reset(br)
	_, _ = lr.next() // allocate the buffer
	allocs := testing.AllocsPerRun(20, func() {
		br.Reset(data)
		lr.reset(br)
		for {
			if _, err := lr.next(); err != nil {
				break
			}
		}
	})
	if allocs > 1 { // the io.EOF path allocates nothing; allow noise
		t.Errorf("allocations per stream of 200 lines: got %v, want at most 1", allocs)
	}
}

// TestLineReaderShrinks checks that a buffer grown by a long line is
// dropped on reset.
func TestLineReaderShrinks(t *testing.T) {
	var lr lineReader
	if _, err := readLines(strings.NewReader(strings.Repeat("x", 1<<20)+"\n"), MaxLineSize); err != nil {
		t.Fatal(err)
	}
	lr.reset(strings.NewReader(strings.Repeat("x", 1<<20) + "\n"))
	if _, err := lr.next(); err != nil {
		t.Fatal(err)
	}
	lr.reset(nil)
	if cap(lr.buf) > shrinkAbove {
		t.Errorf("buffer after reset: got %d bytes, want at most %d", cap(lr.buf), shrinkAbove)
	}
}

// FuzzLineReader compares the line reader with bytes.Cut, reading the input
// whole and a byte at a time, with a small line limit.
func FuzzLineReader(f *testing.F) {
	for _, s := range []string{"", "a\nb", "a\r\n\r\nb\r", "\n\n\n", "x\ry\n", strings.Repeat("z", 40) + "\nq"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 32
		want := refLines(data)
		tooLong := false
		for _, l := range want {
			if len(l) > max {
				tooLong = true
			}
		}
		for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data))} {
			got, err := readLines(r, max)
			if tooLong {
				if !errors.Is(err, errLineTooLong) {
					t.Fatalf("%q: error: got %v, want errLineTooLong", data, err)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%q: line %d: got %q, want %q", data, i, got[i], want[i])
					}
				}
				continue
			}
			if err != nil {
				t.Fatalf("%q: error: %v", data, err)
			}
			if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
				t.Fatalf("%q: lines: got %q, want %q", data, got, want)
			}
		}
	})
}
