package openai

import (
	"net/http"

	"github.com/llmeter-go/llmeter/internal/httpep"
)

// NewHTTPClient returns a client tuned for load generation. Its transport
// (a clone of http.DefaultTransport, so proxies from the environment still
// apply) keeps up to concurrency idle connections per host (no limit when
// concurrency ≤ 0), never queues a request waiting for a connection
// (a wait inside the transport would be measured as server latency), closes
// idle connections after 90 s, attempts HTTP/2, disables transparent gzip
// (so that streamed events are not buffered by a decompressor) and keeps the
// transport's default 4 KiB read buffer per connection. The client has no
// Timeout: the Runner gives each request a context deadline.
func NewHTTPClient(concurrency int) *http.Client { return httpep.NewClient(concurrency) }
