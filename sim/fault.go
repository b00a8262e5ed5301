package sim

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// Injected failures beyond Error429, Error500 and ErrorDropMidStream (see
// the package documentation, "Faults", for what each does in every
// protocol).
const (
	// Error401 answers at once with HTTP 401 and the provider's
	// authentication error body.
	Error401 ErrorKind = "401"
	// Error403 answers at once with HTTP 403 and the provider's permission
	// error body.
	Error403 ErrorKind = "403"
	// Error503 answers at once with HTTP 503 and the provider's
	// "unavailable" or "overloaded" error body.
	Error503 ErrorKind = "503"
	// ErrorReset resets the TCP connection (RST) after about half of the
	// tokens; on the in-memory Transport the body fails with ECONNRESET,
	// and over HTTP/2, where the handler cannot take the connection over,
	// the stream is aborted (RST_STREAM) as with ErrorDropMidStream.
	ErrorReset ErrorKind = "reset"
	// ErrorStall stops sending for Config.FaultDelay after about half of
	// the tokens, then finishes the response (its later tokens shifted by
	// the stall).
	ErrorStall ErrorKind = "stall"
	// ErrorTruncate ends the response cleanly after about half of the
	// tokens, without the stream's terminator ([DONE], message_stop, the
	// final event or line); a non-streaming body is cut in half.
	ErrorTruncate ErrorKind = "truncate"
	// ErrorMalformed sends, after about half of the tokens, an event whose
	// JSON does not parse (an AWS event-stream frame with a bad CRC), then
	// goes on; a non-streaming body is not JSON.
	ErrorMalformed ErrorKind = "malformed"
	// ErrorEvent sends the provider's own in-stream error event after about
	// half of the tokens and ends the stream; a non-streaming request gets
	// HTTP 500 instead.
	ErrorEvent ErrorKind = "error-event"
	// ErrorSlowStart waits Config.FaultDelay before sending the response
	// headers, then answers normally (its schedule shifted by the delay).
	ErrorSlowStart ErrorKind = "slow-start"
	// ErrorOversized sends a valid response carrying Config.OversizeBytes
	// of text: in a stream, one text event (line, frame) that large after
	// about half of the tokens; a non-streaming response holding that much
	// text (at once: no inter-token latency).
	ErrorOversized ErrorKind = "oversized"
)

// FaultKinds lists every ErrorKind, in the order of the documentation.
var FaultKinds = []ErrorKind{Error401, Error403, Error429, Error500, Error503, ErrorDropMidStream, ErrorReset,
	ErrorStall, ErrorTruncate, ErrorMalformed, ErrorEvent, ErrorSlowStart, ErrorOversized}

// Fault is a failure injected into a fraction Rate (0..1) of the requests.
type Fault struct {
	Kind ErrorKind
	Rate float64
}

const (
	defaultFaultDelay    = 30 * time.Second
	defaultOversizeBytes = 64 << 20

	faultMarkerPrefix = "[[sim-fault:"
	faultMarkerSuffix = "]]"
)

// FaultMarker returns the marker that selects a fault for one request:
// "[[sim-fault:KIND]]". A request whose body contains it anywhere (in the
// prompt, typically) gets that fault, whatever the random draws.
func FaultMarker(k ErrorKind) string { return faultMarkerPrefix + string(k) + faultMarkerSuffix }

func (k ErrorKind) valid() bool {
	for _, v := range FaultKinds {
		if k == v {
			return true
		}
	}
	return false
}

// status returns the HTTP status and reject kind of the faults answered
// with an error status at once.
func (k ErrorKind) status() (code int, kind, msg string, ok bool) {
	switch k {
	case Error401:
		return http.StatusUnauthorized, "unauthorized", "Incorrect API key provided (simulated).", true
	case Error403:
		return http.StatusForbidden, "forbidden", "You are not allowed to access this model (simulated).", true
	case Error429:
		return http.StatusTooManyRequests, "rate_limit", "Rate limit reached for requests (simulated).", true
	case Error500:
		return http.StatusInternalServerError, "server", "The server had an error while processing your request (simulated).", true
	case Error503:
		return http.StatusServiceUnavailable, "unavailable", "The service is temporarily unavailable (simulated).", true
	}
	return 0, "", "", false
}

// markedFault finds a fault marker in a request body; found reports whether
// there is one, err whether its kind is unknown.
func markedFault(body []byte) (k ErrorKind, found bool, err error) {
	i := bytes.Index(body, []byte(faultMarkerPrefix))
	if i < 0 {
		return "", false, nil
	}
	rest := body[i+len(faultMarkerPrefix):]
	j := bytes.Index(rest, []byte(faultMarkerSuffix))
	if j < 0 || j > 32 {
		return "", true, fmt.Errorf("unterminated fault marker %q", snippet(body[i:], 48))
	}
	k = ErrorKind(rest[:j])
	if !k.valid() {
		return "", true, fmt.Errorf("unknown fault %q in marker (known: %s)", k, kindList())
	}
	return k, true, nil
}

func snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

func kindList() string {
	s := make([]string, len(FaultKinds))
	for i, k := range FaultKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// midStream reports whether the fault acts in the middle of the response.
func (k ErrorKind) midStream() bool {
	switch k {
	case ErrorDropMidStream, ErrorReset, ErrorStall, ErrorTruncate, ErrorMalformed, ErrorEvent, ErrorOversized:
		return true
	}
	return false
}

// cut is the index of the token before which a mid-stream fault strikes:
// after about half of the tokens.
func (p *plan) cut() int { return p.n / 2 }

// cutTime is when a mid-stream fault strikes a non-streaming response: the
// time of the last token sent before the cut (t0 when none).
func (p *plan) cutTime() time.Time {
	if k := p.cut(); k > 0 {
		return p.at(k - 1)
	}
	return p.t0
}

// streamFault runs a mid-stream fault before token p.cut() of a stream. It
// reports whether the stream goes on.
func (o *output) streamFault(p *plan) bool {
	switch p.fault {
	case ErrorDropMidStream:
		if b, ok := p.proto.streamFault(o.b, o.st, p, ErrorDropMidStream); ok {
			o.b = b // SageMaker reports the broken stream in-band
			o.flush()
			return false
		}
		o.flush()
		panic(http.ErrAbortHandler)
	case ErrorReset:
		o.flush()
		resetConn(o.w)
	case ErrorStall:
		if !o.flush() || !p.waitFor.until(time.Now().Add(p.delay)) {
			return false
		}
		p.t0 = p.t0.Add(p.delay)
		return true
	case ErrorTruncate:
		o.flush()
		return false
	case ErrorMalformed:
		o.b, _ = p.proto.streamFault(o.b, o.st, p, ErrorMalformed)
		return true
	case ErrorEvent:
		o.b, _ = p.proto.streamFault(o.b, o.st, p, ErrorEvent)
		o.flush()
		return false
	case ErrorOversized:
		if !o.write() {
			return false
		}
		return o.writeBig(p.proto.bigEvent(o.st, p), p.oversize) == nil
	}
	return true
}

// sendWhole sends a complete non-streaming body with the plan's fault:
// truncated, malformed or stalled half-way. ctype is the Content-Type.
func (p *plan) sendWhole(w http.ResponseWriter, ctype []string, b []byte) {
	h := w.Header()
	h["Content-Type"] = ctype
	switch p.fault {
	case ErrorTruncate:
		b = b[:len(b)/2]
	case ErrorMalformed:
		b = append([]byte("<!-- not JSON -->"), b...)
	}
	h["Content-Length"] = []string{itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	if p.fault == ErrorStall {
		half := len(b) / 2
		w.Write(b[:half])
		if http.NewResponseController(w).Flush() != nil || !p.waitFor.until(time.Now().Add(p.delay)) {
			return
		}
		b = b[half:]
	}
	w.Write(b)
}

// resetConn resets the client's connection: a TCP RST where the connection
// can be taken over (HTTP/1), an abort otherwise (HTTP/2: RST_STREAM). It
// does not return.
func resetConn(w http.ResponseWriter) {
	if r, ok := w.(interface{ reset() }); ok {
		r.reset()
		panic(http.ErrAbortHandler)
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		raw := conn
		if tc, ok := raw.(*tls.Conn); ok {
			raw = tc.NetConn()
		}
		if tc, ok := raw.(*net.TCPConn); ok {
			tc.SetLinger(0)
			tc.Close()
		} else {
			conn.Close()
		}
	}
	panic(http.ErrAbortHandler)
}

// errConnReset is what a reset connection's reader sees on the in-memory
// Transport.
var errConnReset = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}

// bigEvent is the framing of one oversized text event: the text goes
// between pre and post; with b64 that is base64-encoded inside
// {"bytes":"…"} (Bedrock's PayloadPart); with headers (encoded AWS
// event-stream headers) the result is the payload of one event-stream
// message.
type bigEvent struct {
	pre, post []byte
	b64       bool
	headers   []byte
}

// crcWriter hands bytes to the output, updating a CRC when framing.
type crcWriter struct {
	o   *output
	crc hash.Hash32 // nil: no frame
}

func (c *crcWriter) Write(b []byte) (int, error) {
	if c.crc != nil {
		c.crc.Write(b)
	}
	c.o.b = append(c.o.b, b...)
	if len(c.o.b) >= writeThreshold && !c.o.write() {
		return 0, io.ErrClosedPipe
	}
	return len(b), nil
}

var (
	b64Pre  = []byte(`{"bytes":"`)
	b64Post = []byte(`"}`)
)

// writeBig writes an event carrying size bytes of text (words), without
// holding it in memory, then flushes.
func (o *output) writeBig(e bigEvent, size int) error {
	inner := len(e.pre) + size + len(e.post)
	payload := inner
	if e.b64 {
		payload = len(b64Pre) + base64.StdEncoding.EncodedLen(inner) + len(b64Post)
	}
	cw := &crcWriter{o: o}
	if e.headers != nil {
		cw.crc = crc32.NewIEEE()
		var prelude [12]byte
		binary.BigEndian.PutUint32(prelude[0:], uint32(12+len(e.headers)+payload+4))
		binary.BigEndian.PutUint32(prelude[4:], uint32(len(e.headers)))
		binary.BigEndian.PutUint32(prelude[8:], crc32.ChecksumIEEE(prelude[:8]))
		if _, err := cw.Write(prelude[:]); err != nil {
			return err
		}
		if _, err := cw.Write(e.headers); err != nil {
			return err
		}
	}
	var w io.Writer = cw
	var enc io.WriteCloser
	if e.b64 {
		if _, err := cw.Write(b64Pre); err != nil {
			return err
		}
		enc = base64.NewEncoder(base64.StdEncoding, cw)
		w = enc
	}
	if _, err := w.Write(e.pre); err != nil {
		return err
	}
	chunk := make([]byte, 0, writeThreshold)
	for i := 0; len(chunk) < cap(chunk)-16; i++ {
		chunk = append(chunk, words[i%len(words)]...)
	}
	for left := size; left > 0; {
		n := min(left, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return err
		}
		left -= n
	}
	if _, err := w.Write(e.post); err != nil {
		return err
	}
	if enc != nil {
		if err := enc.Close(); err != nil {
			return err
		}
		if _, err := cw.Write(b64Post); err != nil {
			return err
		}
	}
	if cw.crc != nil {
		o.b = binary.BigEndian.AppendUint32(o.b, cw.crc.Sum32())
	}
	if !o.flush() {
		return io.ErrClosedPipe
	}
	return nil
}

// corruptFrame returns a copy of an event-stream frame with a bad message
// CRC.
func corruptFrame(frame []byte) []byte {
	b := bytes.Clone(frame)
	b[len(b)-1] ^= 0xff
	return b
}

// exceptionFrame appends an event-stream exception message.
func exceptionFrame(b []byte, typ string, payload []byte) []byte {
	headers := encodeHeaders("exception", ":exception-type", typ, "application/json")
	b, start := beginFrame(b, headers)
	return endFrame(append(b, payload...), start, len(headers))
}
