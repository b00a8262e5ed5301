// Package sse is a lean, allocation-free reader for Server-Sent Events
// (text/event-stream), tuned for reading streamed LLM responses (OpenAI,
// Anthropic, ...) on the hot path of a load generator.
//
// Parsing follows the WHATWG HTML "event stream interpretation" rules with
// two deliberate deviations:
//
//   - Bytes are not UTF-8 decoded; field values are passed through as is.
//   - If the stream ends in the middle of an event (at least one "data" line
//     was received but no terminating blank line), the pending event is still
//     dispatched. Many servers close the connection right after the last
//     data line.
//
// A Reader does not allocate per event in steady state: the common case (an
// event with a single data line that lies completely inside the read buffer)
// is returned as a sub-slice of the read buffer; multi-line data, "event" and
// "id" values are kept in reusable scratch buffers.
package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLineSize is the longest line (excluding its line terminator) a Reader
// accepts. A longer line makes Next fail with ErrLineTooLong.
const MaxLineSize = 16 << 20

// ErrLineTooLong is returned by Next when a line exceeds MaxLineSize.
var ErrLineTooLong = errors.New("sse: line too long")

const (
	defaultBufSize = 4 << 10
	minBufSize     = 16
	maxEmptyReads  = 100
	shrinkAbove    = 64 << 10
)

// Event is one dispatched event. Its slices alias the reader's internal
// buffers and are valid only until the next call to Next (or Reset).
type Event struct {
	// Type is the value of the last "event:" field of this event, nil if
	// there was none (or its value was empty, which the specification
	// treats the same as none: type "message").
	Type []byte
	// Data is the values of the event's "data:" fields joined by '\n',
	// without a trailing newline. It is non-nil (possibly empty) for every
	// dispatched event.
	Data []byte
	// ID is the stream's "last event ID" at dispatch time: the value of the
	// last "id:" field seen so far in the stream (it persists across events,
	// per the specification), nil if none or if it was reset with an empty
	// "id" field. Values containing NUL are ignored.
	ID []byte
}

// Reader reads events from a text/event-stream. It is not safe for
// concurrent use.
type Reader struct {
	rd io.Reader

	buf   []byte // read buffer; len(buf) is its capacity in use
	start int    // start of unconsumed bytes in buf
	end   int    // end of valid bytes in buf
	scan  int    // buf[start:start+scan] is known to hold no '\r' or '\n'
	lfEnd int    // buf[start:lfEnd] is known to hold no '\n' (if lfEnd > start)

	eof     bool  // underlying reader returned io.EOF
	readErr error // pending (already wrapped) error from the underlying reader
	err     error // sticky error returned by Next

	bom    bool // a UTF-8 BOM may still have to be skipped
	skipLF bool // the previous line ended in '\r': skip a following '\n'

	// Pending event state.
	dataLines int    // number of data lines seen in the pending event
	data      []byte // pending data; aliases buf (dataInBuf) or scratch
	dataInBuf bool
	scratch   []byte // multi-line data / data saved before compaction
	typ       []byte // event type buffer
	id        []byte // last event ID buffer

	size    int // initial buffer size
	maxLine int // maximum line length, MaxLineSize unless changed by tests
}

// NewReader returns a Reader with a 4 KiB initial buffer, which grows as
// needed for long lines up to MaxLineSize.
func NewReader(r io.Reader) *Reader {
	return NewReaderSize(r, defaultBufSize)
}

// NewReaderSize returns a Reader whose initial buffer holds size bytes
// (at least 16). The buffer grows as needed for long lines up to
// MaxLineSize; size does not limit the line length.
func NewReaderSize(r io.Reader, size int) *Reader {
	if size < minBufSize {
		size = minBufSize
	}
	rd := &Reader{buf: make([]byte, size), size: size, maxLine: MaxLineSize}
	rd.Reset(r)
	return rd
}

// Reset discards all state and makes the Reader read a new stream from rd,
// reusing its buffers. Buffers that grew beyond 64 KiB (and beyond the
// initial size) because of an unusually long line are released, so that a
// pooled Reader does not pin up to MaxLineSize bytes forever.
func (r *Reader) Reset(rd io.Reader) {
	r.rd = rd
	if len(r.buf) > max(r.size, shrinkAbove) {
		r.buf = make([]byte, r.size)
	}
	if cap(r.scratch) > shrinkAbove {
		r.scratch = nil
	}
	r.start, r.end, r.scan, r.lfEnd = 0, 0, 0, 0
	r.eof, r.readErr, r.err = false, nil, nil
	r.bom, r.skipLF = true, false
	r.resetEvent()
	r.id = r.id[:0]
}

func (r *Reader) resetEvent() {
	r.dataLines = 0
	r.data = nil
	r.dataInBuf = false
	r.typ = r.typ[:0]
}

// Next returns the next event. At the end of the stream it returns io.EOF.
// If the stream ends in the middle of an event (data received but no blank
// line), the pending event is returned first and the following call returns
// io.EOF. Errors from the underlying reader are returned wrapped ("sse: read:
// ...", errors.Is works); a line longer than MaxLineSize yields
// ErrLineTooLong. Errors are sticky: once Next returned an error, it keeps
// returning it until Reset.
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	for {
		line, err := r.readLine()
		if err != nil {
			r.err = err
			if err == io.EOF && r.dataLines > 0 {
				return r.dispatch(), nil
			}
			r.resetEvent()
			return Event{}, err
		}
		if len(line) == 0 {
			if r.dataLines > 0 {
				return r.dispatch(), nil
			}
			r.resetEvent()
			continue
		}
		r.processLine(line)
	}
}

// dispatch returns the pending event and resets the pending state. The
// returned slices stay valid until the buffers are modified by the next call
// to Next.
func (r *Reader) dispatch() Event {
	ev := Event{Data: r.data}
	if ev.Data == nil {
		// Empty data saved into a still unallocated scratch buffer.
		ev.Data = r.buf[:0]
	}
	if len(r.typ) > 0 {
		ev.Type = r.typ
	}
	if len(r.id) > 0 {
		ev.ID = r.id
	}
	r.resetEvent()
	return ev
}

func (r *Reader) processLine(line []byte) {
	if line[0] == ':' {
		return // comment / keep-alive
	}
	var name, value []byte
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	} else {
		name, value = line, line[len(line):]
	}
	switch string(name) { // no allocation: the compiler optimizes this conversion
	case "data":
		r.appendData(value)
	case "event":
		r.typ = append(r.typ[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			r.id = append(r.id[:0], value...)
		}
	}
	// "retry" and unknown fields are ignored.
}

// appendData adds one data line (value is a sub-slice of buf).
func (r *Reader) appendData(value []byte) {
	if r.dataLines == 0 {
		r.data, r.dataInBuf = value, true
	} else {
		if r.dataInBuf {
			r.saveData()
		}
		r.scratch = append(r.scratch, '\n')
		r.scratch = append(r.scratch, value...)
		r.data = r.scratch
	}
	r.dataLines++
}

// saveData moves pending data that aliases buf into scratch, so that buf can
// be overwritten.
func (r *Reader) saveData() {
	r.scratch = append(r.scratch[:0], r.data...)
	r.data, r.dataInBuf = r.scratch, false
}

var bom = []byte("\xEF\xBB\xBF")

// readLine returns the next line without its terminator. The returned slice
// aliases buf. At the end of input it returns io.EOF; an unterminated last
// line is returned as a line first.
func (r *Reader) readLine() ([]byte, error) {
	for {
		if r.skipLF {
			if r.start < r.end {
				if r.buf[r.start] == '\n' {
					r.start++
				}
				r.skipLF = false
			} else if r.eof {
				r.skipLF = false
			} else {
				if err := r.fill(); err != nil {
					return nil, err
				}
				continue
			}
		}
		if r.bom {
			if r.end-r.start >= len(bom) || r.eof {
				if bytes.HasPrefix(r.buf[r.start:r.end], bom) {
					r.start += len(bom)
				}
				r.bom = false
			} else {
				if err := r.fill(); err != nil {
					return nil, err
				}
				continue
			}
		}

		if i := r.indexEOL(); i >= 0 {
			line := r.buf[r.start:i]
			if r.buf[i] == '\r' {
				r.skipLF = true
			}
			r.start, r.scan = i+1, 0
			if len(line) > r.maxLine {
				return nil, ErrLineTooLong
			}
			return line, nil
		}
		r.scan = r.end - r.start
		if r.scan > r.maxLine {
			return nil, ErrLineTooLong
		}
		if r.eof {
			if r.start == r.end {
				return nil, io.EOF
			}
			line := r.buf[r.start:r.end]
			r.start, r.scan = r.end, 0
			return line, nil
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// indexEOL returns the absolute index in buf of the first '\r' or '\n' in
// buf[start:end], or -1. It avoids rescanning bytes known to be free of line
// terminators, so CR-only streams and lines spanning many reads stay linear.
func (r *Reader) indexEOL() int {
	from := r.start + r.scan
	lfFrom := max(from, r.lfEnd)
	lf := bytes.IndexByte(r.buf[lfFrom:r.end], '\n')
	crEnd := r.end
	if lf >= 0 {
		lf += lfFrom
		crEnd = lf
		r.lfEnd = lf
	} else {
		r.lfEnd = r.end
	}
	if cr := bytes.IndexByte(r.buf[from:crEnd], '\r'); cr >= 0 {
		return from + cr
	}
	return lf
}

// fill reads more data into buf, compacting or growing it when full.
// It returns nil if data was added or io.EOF was reached (r.eof is set).
func (r *Reader) fill() error {
	if r.readErr != nil {
		return r.readErr
	}
	if r.start == r.end && !(r.dataInBuf && r.dataLines > 0) {
		// Everything consumed and nothing pending aliases buf: start over
		// at the beginning for free.
		r.start, r.end, r.scan, r.lfEnd = 0, 0, 0, 0
	}
	if r.end == len(r.buf) {
		if r.start > 0 {
			if r.dataInBuf && r.dataLines > 0 {
				r.saveData()
			}
			n := copy(r.buf, r.buf[r.start:r.end])
			r.lfEnd = max(r.lfEnd-r.start, 0)
			r.start, r.end = 0, n
		} else {
			// start == 0 implies no pending data aliases buf (it would lie
			// before start).
			limit := r.maxLine + 1 // room for a maximal line plus '\r'/'\n'
			if len(r.buf) >= limit {
				// Unreachable: readLine reports ErrLineTooLong first.
				return ErrLineTooLong
			}
			size := min(max(2*len(r.buf), minBufSize), limit)
			nb := make([]byte, size)
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
	}
	for range maxEmptyReads {
		n, err := r.rd.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			r.readErr = fmt.Errorf("sse: read: invalid count %d from Read", n)
			return r.readErr
		}
		r.end += n
		if err != nil {
			if err == io.EOF {
				r.eof = true
				return nil
			}
			r.readErr = fmt.Errorf("sse: read: %w", err)
			if n > 0 {
				return nil // consume the data first, report the error later
			}
			return r.readErr
		}
		if n > 0 {
			return nil
		}
	}
	r.readErr = fmt.Errorf("sse: read: %w", io.ErrNoProgress)
	return r.readErr
}
