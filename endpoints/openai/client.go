package openai

import (
	"errors"
	"net/http"
	"strings"

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

// targetOptions are the connection settings every OpenAI endpoint shares.
type targetOptions struct {
	path            string // appended to the base URL, e.g. "responses"
	baseURL, apiKey string // "": from the environment
	headers         map[string]string
	stream          bool // Accept: text/event-stream
	client          *http.Client
}

// newTarget builds the HTTP target of an OpenAI endpoint: BaseURL from
// $OPENAI_BASE_URL, else DefaultBaseURL, and the API key from
// $OPENAI_API_KEY when the options leave them empty; JSON (or event-stream)
// Accept and a Bearer Authorization header, then the user's headers.
func newTarget(o targetOptions) (*httpep.Target, error) {
	o.baseURL = httpep.EnvOr(o.baseURL, EnvBaseURL, DefaultBaseURL)
	o.apiKey = httpep.EnvOr(o.apiKey, EnvAPIKey, "")
	if strings.ContainsAny(o.apiKey, "\r\n") {
		return nil, errors.New("openai: APIKey contains a line break")
	}
	def := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	if o.stream {
		def.Set("Accept", "text/event-stream")
	}
	if o.apiKey != "" {
		def.Set("Authorization", "Bearer "+o.apiKey)
	}
	return httpep.NewTarget(httpep.TargetConfig{
		Name:    "openai",
		BaseURL: o.baseURL,
		Path:    o.path,
		Default: def,
		Headers: o.headers,
		Client:  o.client,
	})
}
