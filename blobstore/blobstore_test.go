package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/blobstore"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/experiment"
	"github.com/llmeter-go/llmeter/report"
	"github.com/llmeter-go/llmeter/sim"
)

// fakeS3 starts an in-process S3-compatible server with one bucket and
// registers it for s3:// URLs. It returns the server's request log.
func fakeS3(t *testing.T, bucket string) *requestLog {
	t.Helper()
	faker := gofakes3.New(s3mem.New())
	log := &requestLog{h: faker.Server()}
	ts := httptest.NewServer(log)
	t.Cleanup(ts.Close)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret-test", ""),
	}
	opts := func(o *s3.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}
	if _, err := s3.NewFromConfig(cfg, opts).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	store := blobstore.S3(cfg, opts)
	t.Cleanup(func() { store.Close() })
	llmeter.RegisterStorage("s3", store)
	return log
}

// requestLog records the S3 operations the server saw.
type requestLog struct {
	h   http.Handler
	ops chan string
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Method + " " + r.URL.Path
	if r.URL.Query().Has("uploads") {
		op += " ?uploads"
	}
	if r.URL.Query().Has("partNumber") {
		op += " ?partNumber"
	}
	if l.ops != nil {
		l.ops <- op
	}
	l.h.ServeHTTP(w, r)
}

func TestStorageOperations(t *testing.T) {
	fakeS3(t, "bkt")
	ctx := t.Context()
	st, err := llmeter.StorageFor("s3://bkt/a")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WriteFile(ctx, "s3://bkt/a/b/one.json", []byte(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	w, err := st.Create(ctx, "s3://bkt/a/two.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		io.WriteString(w, "{}\n")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := llmeter.ReadFile(ctx, "s3://bkt/a/two.jsonl")
	if err != nil || string(got) != "{}\n{}\n{}\n" {
		t.Errorf("read back %q, %v", got, err)
	}
	names, err := st.List(ctx, "s3://bkt/a")
	if err != nil || !slices.Equal(names, []string{"b/", "two.jsonl"}) {
		t.Errorf("List: %q, %v; want [b/ two.jsonl]", names, err)
	}
	if ok, err := st.Exists(ctx, "s3://bkt/a/b/one.json"); !ok || err != nil {
		t.Errorf("Exists of a file: %v, %v", ok, err)
	}
	if ok, err := st.Exists(ctx, "s3://bkt/a/b/nope.json"); ok || err != nil {
		t.Errorf("Exists of nothing: %v, %v", ok, err)
	}
	if _, err := st.Open(ctx, "s3://bkt/a/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of nothing: %v, want fs.ErrNotExist", err)
	}
	if _, err := st.List(ctx, "s3://bkt/empty"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List of nothing: %v, want fs.ErrNotExist", err)
	}
	if err := st.Claim(ctx, "s3://bkt/a"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Claim of a used folder: %v, want fs.ErrExist", err)
	}
	if err := st.Claim(ctx, "s3://bkt/new"); err != nil {
		t.Errorf("Claim of a new folder: %v", err)
	}
	if _, err := llmeter.StorageFor("gs://bkt/x"); err == nil || !strings.Contains(err.Error(), "no storage for gs://") {
		t.Errorf("unregistered scheme: %v", err)
	}
}

// A file larger than a part is uploaded in parts as it is written, not
// held whole in memory and sent at the end.
func TestCreateStreamsInParts(t *testing.T) {
	log := fakeS3(t, "bkt")
	log.ops = make(chan string, 100)
	w, err := llmeter.Local.Create(t.Context(), t.TempDir()+"/x") // the local one, for contrast: no S3 traffic
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	st, _ := llmeter.StorageFor("s3://bkt")
	w, err = st.Create(t.Context(), "s3://bkt/big.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("x"), 1<<20)
	for range 24 { // 24 MiB: past the 16 MiB the uploader reads before it chooses a multipart upload
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	// Before Close, parts are already on their way.
	parts := 0
	deadline := time.After(30 * time.Second)
	for parts < 1 {
		select {
		case op := <-log.ops:
			if strings.HasSuffix(op, "?partNumber") {
				parts++
			}
		case <-deadline:
			t.Fatalf("no part uploaded before Close (saw %d)", parts)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := llmeter.ReadFile(t.Context(), "s3://bkt/big.jsonl")
	if err != nil || len(got) != 24<<20 {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
}

func simEndpoint(t *testing.T, cfg sim.Config) llmeter.Endpoint {
	t.Helper()
	srv, _ := sim.Start(cfg)
	t.Cleanup(srv.Close)
	ep, err := openai.NewChatEndpoint(openai.ChatConfig{ModelID: "m", BaseURL: srv.URL + "/v1", Stream: true, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

var payload = llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hello there"}}, "max_tokens": 8}

// A run written to s3:// loads back from there, with the same responses
// and statistics, and its report builds.
func TestRunToS3(t *testing.T) {
	fakeS3(t, "bkt")
	ep := simEndpoint(t, sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, OutputTokens: 5})
	if err := llmeter.WriteFile(t.Context(), "s3://bkt/in/payload.jsonl", []byte(`{"messages":[{"role":"user","content":"from s3"}],"max_tokens":4}`+"\n")); err != nil {
		t.Fatal(err)
	}
	payloads, err := llmeter.LoadPayloads("s3://bkt/in/payload.jsonl")
	if err != nil || len(payloads) != 1 {
		t.Fatalf("payloads from s3: %v, %v", payloads, err)
	}
	r := &llmeter.Runner{Endpoint: ep, Payloads: payloads, Clients: 3, NRequests: 4, OutputPath: "s3://bkt/runs", RunName: "r1"}
	res, err := r.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputPath != "s3://bkt/runs/r1" {
		t.Errorf("OutputPath %q", res.OutputPath)
	}
	loaded, err := llmeter.LoadResult("s3://bkt/runs/r1", llmeter.LoadOptions{Warn: func(m string) { t.Errorf("warning: %s", m) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Responses) != 12 || loaded.TotalRequests != 12 {
		t.Errorf("loaded %d responses, total_requests %d; want 12", len(loaded.Responses), loaded.TotalRequests)
	}
	for _, k := range []string{"time_to_first_token-p50", "time_to_last_token-p90", "failed_requests"} {
		a, _ := res.Stats().Get(k)
		b, _ := loaded.Stats().Get(k)
		if a != b {
			t.Errorf("%s: %v written, %v loaded", k, a, b)
		}
	}
	for _, f := range []string{llmeter.RunConfigFile, llmeter.PayloadFile, llmeter.SidecarFile} {
		if ok, _ := llmeter.Local.Exists(t.Context(), "s3://bkt/runs/r1/"+f); ok {
			t.Fatal("Local claims an s3:// file")
		}
		if b, err := llmeter.ReadFile(t.Context(), "s3://bkt/runs/r1/"+f); err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", f, len(b), err)
		}
	}
	// The same name again is refused.
	if _, err := r.Run(t.Context()); !errors.Is(err, llmeter.ErrRunExists) {
		t.Errorf("second run into the same folder: %v, want ErrRunExists", err)
	}
	rep := report.Run(loaded)
	if len(rep.Charts) == 0 {
		t.Error("no charts")
	}
	files, err := rep.WritePNGs("s3://bkt/runs/r1/charts")
	if err != nil || len(files) != len(rep.Charts) {
		t.Errorf("PNGs to s3: %d files, %v", len(files), err)
	}
}

// A load test written to s3:// loads back level by level.
func TestLoadTestToS3(t *testing.T) {
	fakeS3(t, "bkt")
	ep := simEndpoint(t, sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, OutputTokens: 5})
	lt := &experiment.LoadTest{Endpoint: ep, Payloads: []llmeter.Payload{payload}, SequenceOfClients: []int{1, 2, 4},
		MinRequestsPerClient: 2, MinRequestsPerRun: 4, OutputPath: "s3://bkt/tests", TestName: "lt"}
	if _, err := lt.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	loaded, err := experiment.LoadLoadTest("s3://bkt/tests/lt", llmeter.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Results) != 3 || loaded.TestName != "lt" {
		t.Fatalf("loaded %d levels named %q", len(loaded.Results), loaded.TestName)
	}
	for c, res := range loaded.Results {
		if want := max(4, 2*c); len(res.Responses) != want {
			t.Errorf("%d clients: %d responses, want %d", c, len(res.Responses), want)
		}
	}
	if rep := report.LoadTest(loaded); len(rep.Charts) < 7 {
		t.Errorf("%d load test charts", len(rep.Charts))
	}
}

// A run interrupted midway still leaves its responses, uploaded when the
// writer closed, and a summary that says it was interrupted.
func TestInterruptedRunToS3(t *testing.T) {
	fakeS3(t, "bkt")
	ep := simEndpoint(t, sim.Config{TTFT: 2 * time.Millisecond, ITL: time.Millisecond, OutputTokens: 5})
	ctx, cancel := context.WithCancel(t.Context())
	r := &llmeter.Runner{Endpoint: ep, Payloads: []llmeter.Payload{payload}, Clients: 2, NRequests: 100000,
		OutputPath: "s3://bkt/runs", RunName: "cut", ProgressInterval: time.Millisecond,
		OnProgress: func(p llmeter.Progress) {
			if p.Done >= 20 {
				cancel()
			}
		}}
	res, err := r.Run(ctx)
	if res == nil {
		t.Fatal(err)
	}
	if !res.Interrupted {
		t.Fatalf("not interrupted: %v", err)
	}
	loaded, err := llmeter.LoadResult("s3://bkt/runs/cut", llmeter.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Responses) != len(res.Responses) || len(loaded.Responses) < 20 || !loaded.Interrupted {
		t.Errorf("loaded %d responses (interrupted %v), the run had %d", len(loaded.Responses), loaded.Interrupted, len(res.Responses))
	}
	if rep := report.Run(loaded); len(rep.Charts) == 0 {
		t.Error("no charts for the interrupted run")
	}
}
