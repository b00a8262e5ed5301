package httpep

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"Thu, 01 Jan 2026 12:00:30 GMT", 30 * time.Second},
		{"Thu, 01 Jan 2026 11:00:00 GMT", 0}, // past
	} {
		if got := RetryAfter(tc.in, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestStatusErrorCarriesRetryAfter(t *testing.T) {
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}},
		Body: io.NopCloser(strings.NewReader(`{"error":{"message":"slow down"}}`))}
	var se *llmeter.StatusError
	if err := StatusError(resp); !errors.As(err, &se) || se.RetryAfter != 7*time.Second || se.Message != "slow down" {
		t.Errorf("got %#v, want a StatusError with RetryAfter 7s and the message", err)
	}
}

// The connect timeout comes from the request's context; a dial that
// fails on its own keeps its error.
func TestConnectTimeoutFromContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := func(ctx context.Context, _, _ string) (net.Conn, error) { <-ctx.Done(); return nil, ctx.Err() }
		dial := ConnectTimeout(block)
		start := time.Now()
		_, err := dial(llmeter.WithConnectTimeout(t.Context(), 3*time.Second), "tcp", "192.0.2.1:443")
		var te *llmeter.TimeoutError
		if !errors.As(err, &te) || te.Class != llmeter.ErrorClassTimeoutConnect || time.Since(start) != 3*time.Second {
			t.Errorf("error %v after %v, want a connect timeout after 3s", err, time.Since(start))
		}
		if !strings.Contains(err.Error(), "192.0.2.1:443") {
			t.Errorf("error %q does not name the address", err)
		}
		refused := errors.New("connection refused")
		_, err = ConnectTimeout(func(context.Context, string, string) (net.Conn, error) { return nil, refused })(t.Context(), "tcp", "x:1")
		if err != refused {
			t.Errorf("got %v, want the dialer's own error", err)
		}
	})
}
