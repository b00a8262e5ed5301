package awsep

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestLoad(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", "")
	ac, err := Load(context.Background(), Config{Region: "us-east-1", EndpointURL: "http://127.0.0.1:1", Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	if ac.Region != "us-east-1" || aws.ToString(ac.BaseEndpoint) != "http://127.0.0.1:1" || ac.RetryMaxAttempts != DefaultMaxAttempts {
		t.Errorf("got region %q, endpoint %q, attempts %d", ac.Region, aws.ToString(ac.BaseEndpoint), ac.RetryMaxAttempts)
	}
	wc, ok := ac.HTTPClient.(watchClient)
	if !ok {
		t.Fatalf("HTTP client %T, want the watching wrapper", ac.HTTPClient)
	}
	bc, ok := wc.base.(*awshttp.BuildableClient)
	if !ok {
		t.Fatalf("base client %T, want the SDK's buildable client", wc.base)
	}
	if tr := bc.GetTransport(); tr.MaxIdleConnsPerHost != 1<<16 || !tr.DisableCompression {
		t.Errorf("transport not tuned: %d idle per host, compression off %v", tr.MaxIdleConnsPerHost, tr.DisableCompression)
	}
	if _, err := Load(context.Background(), Config{EndpointURL: "http://x", Credentials: creds, Region: ""}); err != nil && !strings.Contains(err.Error(), "region") {
		t.Errorf("no region: %v", err)
	}
}

// A custom CA bundle in the environment must not make Load fail (the SDK's
// loader refuses a plain *http.Client then).
func TestLoadWithCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	dir := t.TempDir()
	path := dir + "/ca.pem"
	writePEM(t, path, srv)
	t.Setenv("AWS_CA_BUNDLE", path)
	if _, err := Load(context.Background(), Config{Region: "us-east-1", HTTPClient: &http.Client{}}); err != nil {
		t.Errorf("with an HTTP client: %v", err)
	}
	if _, err := Load(context.Background(), Config{Region: "us-east-1"}); err != nil {
		t.Errorf("default client: %v", err)
	}
}

// The wrapper records a body that breaks off and hides WriteTo.
func TestWatchClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Body.(io.WriterTo); ok {
			t.Error("request body still has WriteTo")
		}
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("short"))
	}))
	defer srv.Close()
	c := watchClient{base: &writerToCheck{t: t, base: srv.Client()}}
	ctx, cs := WithCallState(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader("body"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if cs.BodyErr() == nil {
		t.Error("a body cut short was not recorded")
	}
}

type writerToCheck struct {
	t    *testing.T
	base *http.Client
}

func (w *writerToCheck) Do(req *http.Request) (*http.Response, error) {
	if _, ok := req.Body.(io.WriterTo); ok {
		w.t.Error("request body passed on with WriteTo")
	}
	return w.base.Do(req)
}

func writePEM(t *testing.T, path string, srv *httptest.Server) {
	t.Helper()
	var b strings.Builder
	for _, c := range srv.TLS.Certificates {
		for _, der := range c.Certificate {
			b.WriteString("-----BEGIN CERTIFICATE-----\n")
			enc := base64.StdEncoding.EncodeToString(der)
			for len(enc) > 64 {
				b.WriteString(enc[:64] + "\n")
				enc = enc[64:]
			}
			b.WriteString(enc + "\n-----END CERTIFICATE-----\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}
