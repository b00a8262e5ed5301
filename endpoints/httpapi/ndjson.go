package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLineSize is the longest NDJSON line (without its line ending) a stream
// may hold; a longer one fails the response with a protocol error.
const MaxLineSize = 16 << 20

// errLineTooLong is returned for a line longer than MaxLineSize.
var errLineTooLong = errors.New("ndjson: line too long")

const (
	lineBufSize   = 4 << 10  // initial buffer
	shrinkAbove   = 64 << 10 // buffers grown beyond this are dropped on reset
	maxEmptyReads = 100
)

// lineReader splits a newline-delimited stream into lines without
// allocating in steady state: a line is returned as a sub-slice of the read
// buffer, which grows (up to MaxLineSize) only for a line that does not fit.
// It is not safe for concurrent use.
type lineReader struct {
	rd      io.Reader
	buf     []byte
	start   int   // start of the unread bytes in buf
	end     int   // end of the valid bytes in buf
	scan    int   // buf[start:scan] is known to hold no '\n'
	eof     bool  // rd returned io.EOF
	readErr error // a read error, returned once the complete lines before it are
	err     error // sticky error of next
	max     int   // MaxLineSize unless changed by tests
}

// reset makes r read a new stream from rd, reusing its buffer unless it
// grew beyond 64 KiB.
func (r *lineReader) reset(rd io.Reader) {
	r.rd = rd
	if cap(r.buf) > shrinkAbove {
		r.buf = nil
	}
	r.start, r.end, r.scan = 0, 0, 0
	r.eof, r.readErr, r.err = false, nil, nil
	if r.max == 0 {
		r.max = MaxLineSize
	}
}

// next returns the next line without its "\n" or "\r\n", valid until the
// next call. A last line without a line ending is returned too. At the end
// of the stream it returns io.EOF; a read error (wrapped, "ndjson: read:
// …") is returned after the complete lines read before it, and a partial
// line before the error is dropped. Errors are sticky.
func (r *lineReader) next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		if i := bytes.IndexByte(r.buf[r.scan:r.end], '\n'); i >= 0 {
			j := r.scan + i
			line := trimCR(r.buf[r.start:j])
			r.start, r.scan = j+1, j+1
			if len(line) > r.max {
				r.err = errLineTooLong
				return nil, r.err
			}
			return line, nil
		}
		r.scan = r.end
		// The line's content exceeds max: a last byte '\r' may still turn
		// out to be part of a "\r\n" line ending.
		if n := r.end - r.start; n > r.max+1 || n == r.max+1 && r.buf[r.end-1] != '\r' {
			r.err = errLineTooLong
			return nil, r.err
		}
		switch {
		case r.readErr != nil:
			r.err = fmt.Errorf("ndjson: read: %w", r.readErr)
			return nil, r.err
		case r.eof:
			if r.start < r.end {
				line := r.buf[r.start:r.end]
				r.start = r.end
				return trimCR(line), nil
			}
			r.err = io.EOF
			return nil, r.err
		}
		r.fill()
	}
}

// fill reads more bytes, first moving the unread ones to the front of the
// buffer and growing it when it is full.
func (r *lineReader) fill() {
	if r.start > 0 {
		n := copy(r.buf, r.buf[r.start:r.end])
		r.scan -= r.start
		r.start, r.end = 0, n
	}
	if r.end == len(r.buf) {
		size := min(max(2*len(r.buf), lineBufSize), r.max+2)
		if size <= len(r.buf) {
			size = len(r.buf) + 1 // r.max shrank (tests); next reports the long line
		}
		nb := make([]byte, size)
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for range maxEmptyReads {
		n, err := r.rd.Read(r.buf[r.end:])
		r.end += n
		switch {
		case err == io.EOF:
			r.eof = true
			return
		case err != nil:
			r.readErr = err
			return
		case n > 0:
			return
		}
	}
	r.readErr = io.ErrNoProgress
}

func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}
