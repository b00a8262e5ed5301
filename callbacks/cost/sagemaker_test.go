package cost

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/awsep"
)

// fakeAWS answers SageMaker's DescribeEndpoint/DescribeEndpointConfig and
// the Price List's GetProducts (awsJson 1.1, dispatched on X-Amz-Target)
// from testdata, the way the API references show them. GetProducts pages:
// the first page is empty with a NextToken.
type fakeAWS struct {
	t        *testing.T
	mu       sync.Mutex
	calls    []string
	products map[string]string // instanceName or volumeType → file
	extra    int               // more matching products (an ambiguous filter)
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		f.t.Errorf("%s: request not signed", target)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("%s: body: %v", target, err)
	}
	f.mu.Lock()
	f.calls = append(f.calls, target)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	send := func(file string) {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.t.Error(err)
		}
		w.Write(data)
	}
	switch target {
	case "SageMaker.DescribeEndpoint":
		if body["EndpointName"] != "my-llm" {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"__type":"ValidationException","message":"Could not find endpoint %v."}`, body["EndpointName"])
			return
		}
		send("describe_endpoint.json")
	case "SageMaker.DescribeEndpointConfig":
		if body["EndpointConfigName"] != "my-llm-config" {
			f.t.Errorf("EndpointConfigName = %v", body["EndpointConfigName"])
		}
		send("describe_endpoint_config.json")
	case "AWSPriceListService.GetProducts":
		if r.Host != "" && body["ServiceCode"] != "AmazonSageMaker" {
			f.t.Errorf("ServiceCode = %v", body["ServiceCode"])
		}
		filters := map[string]string{}
		for _, x := range body["Filters"].([]any) {
			m := x.(map[string]any)
			if m["Type"] != "TERM_MATCH" {
				f.t.Errorf("filter type %v", m["Type"])
			}
			filters[m["Field"].(string)] = m["Value"].(string)
		}
		if filters["regionCode"] != "us-west-2" {
			f.t.Errorf("regionCode = %q", filters["regionCode"])
		}
		if body["NextToken"] == nil {
			w.Write([]byte(`{"FormatVersion":"aws_v1","PriceList":[],"NextToken":"page2"}`))
			return
		}
		key := filters["instanceName"]
		if key == "" {
			key = filters["volumeType"]
		}
		var list []string
		if file, ok := f.products[key]; ok {
			data, _ := os.ReadFile(filepath.Join("testdata", file))
			for range 1 + f.extra {
				list = append(list, string(data))
			}
		}
		out, _ := json.Marshal(map[string]any{"FormatVersion": "aws_v1", "PriceList": list})
		w.Write(out)
	default:
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"%s"}`, target)
	}
}

func newFakeAWS(t *testing.T) (*fakeAWS, awsep.Config) {
	f := &fakeAWS{t: t, products: map[string]string{
		"ml.g5.xlarge":            "product_hosting_g5.json",
		"ml.c5.large":             "product_hosting_c5.json",
		"General Purpose-Hosting": "product_storage.json",
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, awsep.Config{
		EndpointURL: srv.URL,
		MaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:  srv.Client(),
	}
}

func TestSageMakerEndpoint(t *testing.T) {
	f, cfg := newFakeAWS(t)
	ctx := context.Background()
	m, err := SageMakerEndpoint(ctx, "my-llm", SageMakerOptions{Region: "us-west-2", AWS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range m.RunDims {
		names = append(names, n)
	}
	if len(names) != 3 || m.RunDims["A_SageMakerRTEndpointCompute"] == nil ||
		m.RunDims["B_SageMakerRTEndpointCompute"] == nil || m.RunDims["B_SageMakerRTEndpointStorage"] == nil {
		t.Fatalf("run dims %v", names)
	}
	a := m.RunDims["A_SageMakerRTEndpointCompute"].(*SageMakerRTEndpointCompute)
	if a.InstanceType != "ml.g5.xlarge" || a.InstanceCount != 2 || *a.PricePerHour != 1.408 || *a.Region != "us-west-2" {
		t.Errorf("A = %+v", a)
	}
	s := m.RunDims["B_SageMakerRTEndpointStorage"].(*SageMakerRTEndpointStorage)
	if s.GBsProvisioned != 4 || !near(*s.PricePerGBHour, 0.14/720) {
		t.Errorf("storage = %+v", s)
	}
	// 100.2 s → 101 s billed:
	//   A: 101 × 2 × 1.408 / 3600, B: 101 × 1 × 0.119 / 3600,
	//   storage: 101 × 4 GB × (0.14/720) / 3600.
	res := &llmeter.Result{TotalTestTime: llmeter.Ptr(100.2)}
	run, _, err := m.RunCost(ctx, res, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"A_SageMakerRTEndpointCompute": 101 * 2 * 1.408 / 3600,
		"B_SageMakerRTEndpointCompute": 101 * 0.119 / 3600,
		"B_SageMakerRTEndpointStorage": 101 * 4 * (0.14 / 720) / 3600,
	}
	for k, w := range want {
		if got := run[k]; got == nil || !near(*got, w) {
			t.Errorf("%s = %v, want %v", k, got, w)
		}
	}
	// Looked-up prices are saved with the model: it reloads without AWS.
	b, _ := json.Marshal(m)
	if !strings.Contains(string(b), `"price_per_hour":1.408`) {
		t.Errorf("saved model lacks the price: %s", b)
	}
	n := len(f.calls)
	var m2 CostModel
	if err := json.Unmarshal(b, &m2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m2.RunCost(ctx, res, false); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != n {
		t.Errorf("reloaded model called AWS: %v", f.calls[n:])
	}
}

func TestSageMakerEndpointMergedStorage(t *testing.T) {
	_, cfg := newFakeAWS(t)
	m, err := SageMakerEndpoint(context.Background(), "my-llm", SageMakerOptions{Region: "us-west-2", AWS: cfg, MergeStorage: true})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := m.RunDims["SageMakerRTEndpointStorage"].(*SageMakerRTEndpointStorage)
	if !ok || s.GBsProvisioned != 4 {
		t.Errorf("merged storage = %+v", m.RunDims)
	}
}

func TestPriceLookupErrors(t *testing.T) {
	f, cfg := newFakeAWS(t)
	ctx := context.Background()
	pl := &PriceList{AWS: cfg}
	if _, err := pl.HostingPrice(ctx, "ml.nonexistent", "us-west-2"); err == nil || !strings.Contains(err.Error(), "expected 1 matching product, got 0") {
		t.Errorf("no product: %v", err)
	}
	f.extra = 1
	if _, err := pl.HostingPrice(ctx, "ml.g5.xlarge", "us-west-2"); err == nil || !strings.Contains(err.Error(), "got 2") {
		t.Errorf("two products: %v", err)
	}
	f.extra = 0
	if _, err := SageMakerEndpoint(ctx, "missing", SageMakerOptions{Region: "us-west-2", AWS: cfg}); err == nil || !strings.Contains(err.Error(), "Could not find endpoint") {
		t.Errorf("missing endpoint: %v", err)
	}
	// A dimension without a price looks it up before the run.
	d := &SageMakerRTEndpointCompute{InstanceType: "ml.c5.large", InstanceCount: 1, Region: aws.String("us-west-2"), Pricing: pl}
	m, err := New(nil, map[string]RunDimension{"c": d})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.BeforeRun(ctx, &llmeter.Runner{}); err != nil {
		t.Fatal(err)
	}
	if d.PricePerHour == nil || *d.PricePerHour != 0.119 {
		t.Errorf("price = %v", d.PricePerHour)
	}
}

func TestParseOnDemandPrice(t *testing.T) {
	g5, _ := os.ReadFile(filepath.Join("testdata", "product_hosting_g5.json"))
	if v, err := parseOnDemandPrice([]string{string(g5)}, "hrs", "USD"); err != nil || v != 1.408 {
		t.Errorf("got %v, %v", v, err)
	}
	if _, err := parseOnDemandPrice([]string{string(g5)}, "GB-Mo", "USD"); err == nil {
		t.Error("wrong unit accepted")
	}
	if _, err := parseOnDemandPrice([]string{string(g5)}, "Hrs", "EUR"); err == nil {
		t.Error("missing currency accepted")
	}
	noOD := `{"product":{"sku":"X"},"terms":{"Reserved":{}}}`
	if _, err := parseOnDemandPrice([]string{noOD}, "Hrs", "USD"); err == nil {
		t.Error("no OnDemand term accepted")
	}
}
