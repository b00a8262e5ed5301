// Package jsonl reads newline-delimited records (JSON Lines) and reports
// the file name and line number of every problem.
package jsonl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxLineSize bounds one line, excluding its line ending. A longer line makes
// Next fail with a *LineError wrapping ErrLineTooLong.
const MaxLineSize = 64 << 20

// ErrLineTooLong is wrapped by the *LineError returned for a line longer than
// MaxLineSize.
var ErrLineTooLong = errors.New("jsonl: line too long")

const defaultBufSize = 64 << 10

// LineError locates a problem: "<name>:<line>: <msg>". Unwrap returns Err.
type LineError struct {
	Name string // file name given to NewReader
	Line int    // 1-based line number
	Err  error
}

func (e *LineError) Error() string {
	return e.Name + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
}

func (e *LineError) Unwrap() error { return e.Err }

// Reader reads newline-delimited records. Lines may end in "\n" or "\r\n".
// Blank lines (consisting only of spaces, tabs and carriage returns, i.e.
// JSON whitespace) are skipped but counted. It is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	name    string
	lineNo  int    // number of the last line read
	acc     []byte // accumulates lines longer than br's buffer
	torn    bool
	err     error // sticky error
	maxLine int   // MaxLineSize unless changed by tests
}

// NewReader returns a Reader reading from r. name (typically the file path)
// is used in error messages.
func NewReader(r io.Reader, name string) *Reader {
	return newReaderSize(r, name, defaultBufSize)
}

func newReaderSize(r io.Reader, name string, size int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, size), name: name, maxLine: MaxLineSize}
}

// Next returns the next non-blank line (without its line ending; valid until
// the next call) and its 1-based line number, counting blank lines too.
//
// At the end it returns io.EOF (and line number 0). If the last line has no
// trailing newline it is still returned, and Torn reports true after it was
// returned (a possibly torn write by a killed process). A read error or a
// line longer than MaxLineSize is returned as a *LineError naming the line.
// Errors are sticky.
func (r *Reader) Next() (line []byte, lineNo int, err error) {
	for {
		if r.err != nil {
			return nil, 0, r.err
		}
		line, terminated, err := r.readLine()
		if err != nil {
			if err == io.EOF {
				r.err = io.EOF
			} else {
				r.err = &LineError{Name: r.name, Line: r.lineNo, Err: err}
			}
			return nil, 0, r.err
		}
		if terminated {
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
		}
		if len(line) > r.maxLine {
			r.err = &LineError{Name: r.name, Line: r.lineNo, Err: ErrLineTooLong}
			return nil, 0, r.err
		}
		if isBlank(line) {
			continue
		}
		if !terminated {
			r.torn = true
		}
		return line, r.lineNo, nil
	}
}

// Torn reports whether the last line returned by Next had no trailing
// newline, i.e. the input ended in the middle of a line.
func (r *Reader) Torn() bool { return r.torn }

// readLine reads one raw line including its '\n' (if any). terminated
// reports whether the line ends in '\n'. It returns io.EOF only when no bytes
// remain.
func (r *Reader) readLine() (line []byte, terminated bool, err error) {
	b, err := r.br.ReadSlice('\n')
	if err == nil {
		r.lineNo++
		return b, true, nil
	}
	if len(b) == 0 && err == io.EOF {
		return nil, false, io.EOF
	}
	r.lineNo++
	// Slow path: the line is longer than the bufio buffer, or the input ends
	// without a final newline, or a read error occurred.
	r.acc = append(r.acc[:0], b...)
	for err == bufio.ErrBufferFull {
		// A '\r' may still be followed by '\n': allow one extra byte.
		if len(r.acc) > r.maxLine+1 {
			return nil, false, ErrLineTooLong
		}
		b, err = r.br.ReadSlice('\n')
		r.acc = append(r.acc, b...)
	}
	switch err {
	case nil:
		return r.acc, true, nil
	case io.EOF:
		return r.acc, false, nil
	default:
		return nil, false, fmt.Errorf("read: %w", err)
	}
}

// isBlank reports whether b holds only JSON whitespace (other than '\n').
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
