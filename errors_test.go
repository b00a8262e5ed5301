package llmeter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

// statusCoder stands for another client's error type with a status (the AWS
// SDK's ResponseError).
type statusCoder struct{ code int }

func (e statusCoder) Error() string       { return fmt.Sprintf("status %d", e.code) }
func (e statusCoder) HTTPStatusCode() int { return e.code }

func TestClassifyError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&StatusError{StatusCode: 429}, ErrorClassHTTP429},
		{fmt.Errorf("x: %w", &StatusError{StatusCode: 503}), ErrorClassHTTP5xx},
		{&StatusError{StatusCode: 404}, ErrorClassHTTP4xx},
		{fmt.Errorf("op: %w", statusCoder{429}), ErrorClassHTTP429},
		{statusCoder{500}, ErrorClassHTTP5xx},
		{statusCoder{400}, ErrorClassHTTP4xx},
		{&APIError{Message: "overloaded"}, ErrorClassAPI},
		{&ProtocolError{Err: errors.New("bad json")}, ErrorClassProtocol},
		{fmt.Errorf("read: %w", ErrIncompleteStream), ErrorClassProtocol},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), ErrorClassTimeout},
		{context.Canceled, ErrorClassCanceled},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, ErrorClassConnection},
		{io.ErrUnexpectedEOF, ErrorClassConnection},
		{errors.New("something else"), ErrorClassOther},
		{nil, ErrorClassOther},
	}
	for _, tc := range tests {
		if got := ClassifyError(tc.err); got != tc.want {
			t.Errorf("ClassifyError(%v): got %q, want %q", tc.err, got, tc.want)
		}
	}
}
