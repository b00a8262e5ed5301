package httpep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/llmeter-go/llmeter"
)

// TargetConfig describes where and how an endpoint sends its requests.
type TargetConfig struct {
	// Name prefixes errors ("openai: …").
	Name string
	// BaseURL is an absolute http(s) URL; Path is appended to its path (a
	// query string such as ?api-version=… is kept).
	BaseURL string
	Path    string
	// Method defaults to POST.
	Method string
	// Default headers are set first: Content-Type, Accept, credentials.
	Default http.Header
	// Headers are the user's, set after (and so overriding) Default. Only
	// their names are ever saved: values may be secrets. A "Host" header
	// sets the request's Host.
	Headers map[string]string
	// Client defaults to SharedClient().
	Client *http.Client
}

// Target is a validated destination: URL, method and headers, built once and
// shared by every request. It is safe for concurrent use.
type Target struct {
	name        string
	method      string
	baseURL     string // as configured, without a trailing slash on the path
	url         string
	host        string
	header      http.Header
	headerNames []string
	shareHeader bool
	client      *http.Client
}

// NewTarget validates cfg and builds the target.
func NewTarget(cfg TargetConfig) (*Target, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return nil, fmt.Errorf("%s: BaseURL: %w", cfg.Name, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: BaseURL %q is not an absolute http(s) URL", cfg.Name, RedactURL(cfg.BaseURL))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	t := &Target{
		name:    cfg.Name,
		method:  cfg.Method,
		baseURL: u.String(),
		header:  http.Header{},
		client:  cfg.Client,
	}
	if cfg.Path != "" {
		u = u.JoinPath(cfg.Path)
	}
	t.url = u.String()
	if t.method == "" {
		t.method = http.MethodPost
	}
	if t.client == nil {
		t.client = SharedClient()
	}
	// Every request may share one header map when the transport is known to
	// honour the RoundTripper contract of not modifying requests (saving a
	// copy per request); other transports (middleware) get a copy each.
	switch t.client.Transport.(type) {
	case nil, *http.Transport:
		t.shareHeader = true
	}
	for k, v := range cfg.Default {
		for _, s := range v {
			if strings.ContainsAny(s, "\r\n\x00") {
				return nil, fmt.Errorf("%s: header %q: value contains a line break or NUL", cfg.Name, k)
			}
		}
		t.header[http.CanonicalHeaderKey(k)] = slices.Clone(v)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Headers)) {
		value := cfg.Headers[name]
		if !ValidHeaderName(name) {
			return nil, fmt.Errorf("%s: invalid header name %q", cfg.Name, name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return nil, fmt.Errorf("%s: header %q: value contains a line break or NUL", cfg.Name, name)
		}
		if http.CanonicalHeaderKey(name) == "Host" {
			t.host = value
		} else {
			t.header.Set(name, value)
		}
		t.headerNames = append(t.headerNames, name)
	}
	// Credentials are hidden from every recorded error (a server may echo
	// them).
	for name, vs := range t.header {
		if llmeter.IsSecretHeader(name) {
			for _, v := range vs {
				llmeter.RegisterSecret(v)
			}
		}
	}
	return t, nil
}

// URL is the request URL (it may hold credentials in its query; see
// RedactURL).
func (t *Target) URL() string { return t.url }

// BaseURL is the configured base URL without a trailing slash.
func (t *Target) BaseURL() string { return t.baseURL }

// Header is the header sent with every request; do not modify it.
func (t *Target) Header() http.Header { return t.header }

// HeaderNames are the sorted names of the user's headers.
func (t *Target) HeaderNames() []string { return t.headerNames }

// SaveTo adds base_url (redacted) and header_names (when there are user
// headers) to a saved endpoint configuration.
func (t *Target) SaveTo(m map[string]any) {
	m["base_url"] = RedactURL(t.baseURL)
	if len(t.headerNames) > 0 {
		m["header_names"] = slices.Clone(t.headerNames)
	}
}

// Send encodes p as JSON (llmeter.AppendRequestJSON) into a pooled body and
// sends it. A status outside 2xx is returned as a *llmeter.StatusError with
// the provider's message (the body is drained and closed); any other error
// is wrapped with the target's name. The caller closes the response body.
func (t *Target) Send(ctx context.Context, p llmeter.Payload) (*http.Response, error) {
	rb := GetBody()
	defer rb.Release()
	buf, err := llmeter.AppendRequestJSON(rb.Buf[:0], p)
	if err != nil {
		return nil, fmt.Errorf("%s: encode payload: %w", t.name, err)
	}
	rb.Buf = buf
	return t.Do(ctx, rb)
}

// Do sends a body already encoded (nil: no body); see Send.
func (t *Target) Do(ctx context.Context, rb *Body) (*http.Response, error) {
	var body io.ReadCloser
	if rb != nil {
		body = rb.Reader()
	}
	req, err := http.NewRequestWithContext(ctx, t.method, t.url, body)
	if err != nil {
		if body != nil {
			_ = body.Close()
		}
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	if rb != nil {
		req.ContentLength = int64(len(rb.Buf))
		req.GetBody = func() (io.ReadCloser, error) { return rb.Reader(), nil }
	}
	if t.shareHeader {
		req.Header = t.header // read-only: see NewTarget
	} else {
		req.Header = t.header.Clone()
	}
	if t.host != "" {
		req.Host = t.host
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer DrainAndClose(resp.Body)
		return nil, StatusError(resp)
	}
	return resp, nil
}

// MaxResponseBody bounds a non-streaming response.
const MaxResponseBody = 64 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ReadAll reads a whole (non-streaming) response body, at most
// MaxResponseBody bytes, into a pooled buffer, and closes the body so that
// the connection can be reused. received is called as soon as the last byte
// is in (the time to last token), before anything is parsed. Call release
// when done with the bytes.
func ReadAll(name string, resp *http.Response, received func()) (data []byte, release func(), err error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	release = func() {
		if buf.Cap() <= MaxPooled {
			bufPool.Put(buf)
		}
	}
	if n := resp.ContentLength; n > 0 && n <= MaxResponseBody {
		buf.Grow(int(n))
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		_ = resp.Body.Close()
		release()
		return nil, nil, fmt.Errorf("%s: read response: %w", name, err)
	}
	if buf.Len() > MaxResponseBody {
		_ = resp.Body.Close()
		release()
		return nil, nil, &llmeter.ProtocolError{Err: fmt.Errorf("%s: response body larger than %d bytes", name, MaxResponseBody)}
	}
	if received != nil {
		received()
	}
	DrainAndClose(resp.Body)
	return buf.Bytes(), release, nil
}
