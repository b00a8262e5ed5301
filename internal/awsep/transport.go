package awsep

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/llmeter-go/llmeter/internal/httpep"
)

// tune sets a transport up for load generation, like httpep.NewClient: no
// limit on idle connections per host, no waiting for a connection, no
// transparent gzip, and the connect timeout of each request (httpep.Dial:
// llmeter.Runner.ConnectTimeout, error class timeout_connect) instead of the
// SDK dialer's fixed 30 s.
func tune(t *http.Transport) {
	t.DialContext = httpep.Dial
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = 1 << 16
	t.MaxConnsPerHost = 0
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	t.DisableCompression = true
}

// watchClient wraps the SDK's HTTP client so that it (1) records read errors
// of response bodies in their call's CallState, (2) hides the io.WriterTo
// of request bodies and (3) bounds what it reads of response bodies
// (limitBody).
//
// (1): the SDK's event-stream reader takes io.ErrUnexpectedEOF for the end
// of a stream, so a dropped connection would look like a complete stream.
//
// (2) works around a race in smithy-go: the SDK closes its request body as
// soon as the response headers arrive, and the closed body's WriteTo then
// returns io.EOF, which net/http's writeLoop, still checking that the body
// has no bytes beyond its Content-Length, takes for a write error: it closes
// the connection under the streaming response. With Read instead of WriteTo
// a closed body just ends. Against a fast server about a third of the
// streams broke off.
type watchClient struct{ base aws.HTTPClient }

func (c watchClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		r := *req
		r.Body = readOnlyBody{req.Body}
		req = &r
	}
	resp, err := c.base.Do(req)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = limitBody(resp)
	if cs, ok := req.Context().Value(callStateKey{}).(*CallState); ok {
		resp.Body = &watchedBody{ReadCloser: resp.Body, cs: cs}
	}
	return resp, nil
}

// CloseIdleConnections passes the call on.
func (c watchClient) CloseIdleConnections() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// readOnlyBody has the Read and Close methods of a body, and no WriteTo.
type readOnlyBody struct{ io.ReadCloser }

// CallState is what the transport learns about one call: the first error
// reading its response body.
type CallState struct {
	mu      sync.Mutex
	bodyErr error
}

type callStateKey struct{}

// WithCallState returns a context whose call records what its transport
// sees in the returned CallState.
func WithCallState(ctx context.Context) (context.Context, *CallState) {
	cs := &CallState{}
	return context.WithValue(ctx, callStateKey{}, cs), cs
}

func (cs *CallState) set(err error) {
	cs.mu.Lock()
	if cs.bodyErr == nil {
		cs.bodyErr = err
	}
	cs.mu.Unlock()
}

// BodyErr returns the first error (other than io.EOF) reading the call's
// response body: a dropped connection.
func (cs *CallState) BodyErr() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.bodyErr
}

type watchedBody struct {
	io.ReadCloser
	cs *CallState
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.cs.set(err)
	}
	return n, err
}

// defaultClient is the SDK's own buildable client (which honours a custom CA
// bundle from AWS_CA_BUNDLE or the shared config) tuned for load generation.
func defaultClient(ac aws.Config) aws.HTTPClient {
	if bc, ok := ac.HTTPClient.(*awshttp.BuildableClient); ok {
		return bc.WithTransportOptions(tune)
	}
	if ac.HTTPClient != nil {
		return ac.HTTPClient
	}
	return awshttp.NewBuildableClient().WithTransportOptions(tune)
}
