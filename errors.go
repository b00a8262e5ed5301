package llmeter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Error classes, stored per response in the sidecar file and counted in the
// stats as failed_requests_<class>.
const (
	ErrorClassHTTP4xx = "http_4xx"
	ErrorClassHTTP429 = "http_429"
	ErrorClassHTTP5xx = "http_5xx"
	ErrorClassTimeout = "timeout" // the request's total timeout
	// ErrorClassTimeoutConnect: no connection within the connect timeout.
	ErrorClassTimeoutConnect = "timeout_connect"
	// ErrorClassTimeoutFirstToken: no first token within the first-token timeout.
	ErrorClassTimeoutFirstToken = "timeout_first_token"
	// ErrorClassTimeoutIdle: a stream went quiet for longer than the idle
	// timeout (a stall).
	ErrorClassTimeoutIdle = "timeout_idle"
	ErrorClassConnection  = "connection"
	ErrorClassProtocol    = "protocol"
	ErrorClassTLS         = "tls"
	ErrorClassCanceled    = "canceled"
	ErrorClassAPI         = "api"   // an error reported by the API inside a successful HTTP response
	ErrorClassOther       = "other" // anything else (a panic in a provider, a callback error)
)

// ErrorClasses lists every class, in the order the stats show them.
var ErrorClasses = []string{ErrorClassHTTP4xx, ErrorClassHTTP429, ErrorClassHTTP5xx, ErrorClassTimeout,
	ErrorClassTimeoutConnect, ErrorClassTimeoutFirstToken, ErrorClassTimeoutIdle,
	ErrorClassConnection, ErrorClassProtocol, ErrorClassTLS, ErrorClassCanceled, ErrorClassAPI, ErrorClassOther}

// StatusError is an HTTP error response: the status code and the provider's
// own message when the body had one.
type StatusError struct {
	StatusCode int
	Message    string // the provider's message, or the body's first bytes
	// RetryAfter is the server's Retry-After (429, 503), 0 when absent; a
	// Runner with retries waits that long before retrying.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Message)
}

// APIError is an error the API reported inside an otherwise successful
// response (an "error" event in a stream, a failed status).
type APIError struct{ Message string }

func (e *APIError) Error() string { return e.Message }

// ErrIncompleteStream means a stream ended before its terminator: the
// response is an error even if text arrived.
var ErrIncompleteStream = errors.New("stream ended before its terminator")

// ProtocolError wraps a malformed response (bad JSON, bad framing).
type ProtocolError struct{ Err error }

func (e *ProtocolError) Error() string { return "protocol error: " + e.Err.Error() }
func (e *ProtocolError) Unwrap() error { return e.Err }

// TimeoutError is a request cut short by one of the Runner's timeouts; Class
// is the ErrorClassTimeout* constant of that timeout.
type TimeoutError struct {
	Class string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	what := map[string]string{
		ErrorClassTimeoutConnect:    "no connection",
		ErrorClassTimeoutFirstToken: "no first token",
		ErrorClassTimeoutIdle:       "stream stalled: no data",
	}[e.Class]
	if what == "" {
		return fmt.Sprintf("request timed out after %v", e.After)
	}
	return fmt.Sprintf("%s within %v", what, e.After)
}

// Timeout reports true, like net.Error.
func (e *TimeoutError) Timeout() bool { return true }

// ClassifyError maps an invocation error to one of the ErrorClass constants.
func ClassifyError(err error) string {
	if err == nil {
		return ErrorClassOther
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch {
		case se.StatusCode == 429:
			return ErrorClassHTTP429
		case se.StatusCode >= 500:
			return ErrorClassHTTP5xx
		default:
			return ErrorClassHTTP4xx
		}
	}
	// Errors of other HTTP clients that carry a status (the AWS SDK's
	// ResponseError, for one).
	var sc interface{ HTTPStatusCode() int }
	if errors.As(err, &sc) {
		switch code := sc.HTTPStatusCode(); {
		case code == 429:
			return ErrorClassHTTP429
		case code >= 500:
			return ErrorClassHTTP5xx
		case code >= 400:
			return ErrorClassHTTP4xx
		}
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return te.Class
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ErrorClassAPI
	}
	var pe *ProtocolError
	if errors.As(err, &pe) || errors.Is(err, ErrIncompleteStream) {
		return ErrorClassProtocol
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return ErrorClassTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrorClassTimeout
	}
	if errors.Is(err, context.Canceled) {
		return ErrorClassCanceled
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &recErr) {
		return ErrorClassTLS
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) {
		return ErrorClassConnection
	}
	return ErrorClassOther
}
