package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/callbacks/internal/cbtest"
)

// fakeServer implements the MLflow REST endpoints the client uses, the way
// MLflow's REST API reference describes them.
type fakeServer struct {
	t         *testing.T
	token     string // expected bearer token, if any
	mu        sync.Mutex
	exps      map[string]string // name → id
	runs      map[string]*fakeRun
	next      int
	calls     []string
	failFirst int           // answer this many requests with 503 first
	delay     time.Duration // per request (canceled with the request)
}

type fakeRun struct {
	info    RunInfo
	tags    map[string]string
	params  map[string]string
	metrics map[string]Metric
	end     int64
}

func newFakeServer(t *testing.T) *fakeServer {
	return &fakeServer{t: t, exps: map[string]string{"Default": "0"}, runs: map[string]*fakeRun{}}
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/api/2.0/mlflow/")
	f.calls = append(f.calls, path)
	if f.failFirst > 0 {
		f.failFirst--
		writeErr(w, 503, "TEMPORARILY_UNAVAILABLE", "try again")
		return
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		writeErr(w, 401, "UNAUTHENTICATED", "bad token")
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost {
		if r.Header.Get("Content-Type") != "application/json" {
			f.t.Errorf("%s: content type %q", path, r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeErr(w, 400, "MALFORMED_REQUEST", err.Error())
			return
		}
	}
	enc := json.NewEncoder(w)
	switch r.Method + " " + path {
	case "GET experiments/get-by-name":
		name := r.URL.Query().Get("experiment_name")
		id, ok := f.exps[name]
		if !ok {
			writeErr(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Could not find experiment with name '%s'", name))
			return
		}
		enc.Encode(map[string]any{"experiment": map[string]any{"experiment_id": id, "name": name, "lifecycle_stage": "active"}})
	case "POST experiments/create":
		name, _ := body["name"].(string)
		if _, ok := f.exps[name]; ok {
			writeErr(w, 400, "RESOURCE_ALREADY_EXISTS", "exists")
			return
		}
		f.next++
		f.exps[name] = strconv.Itoa(f.next)
		enc.Encode(map[string]any{"experiment_id": f.exps[name]})
	case "POST runs/create":
		f.next++
		id := fmt.Sprintf("run%d", f.next)
		run := &fakeRun{info: RunInfo{RunID: id, ExperimentID: body["experiment_id"].(string), Status: "RUNNING"},
			tags: map[string]string{}, params: map[string]string{}, metrics: map[string]Metric{}}
		run.info.RunName, _ = body["run_name"].(string)
		if tags, ok := body["tags"].([]any); ok {
			for _, x := range tags {
				m := x.(map[string]any)
				run.tags[m["key"].(string)] = m["value"].(string)
			}
		}
		f.runs[id] = run
		enc.Encode(map[string]any{"run": map[string]any{"info": run.info, "data": map[string]any{}}})
	case "GET runs/get":
		run, ok := f.runs[r.URL.Query().Get("run_id")]
		if !ok {
			writeErr(w, 404, "RESOURCE_DOES_NOT_EXIST", "no run")
			return
		}
		enc.Encode(map[string]any{"run": map[string]any{"info": run.info}})
	case "POST runs/log-batch":
		run, ok := f.runs[body["run_id"].(string)]
		if !ok {
			writeErr(w, 404, "RESOURCE_DOES_NOT_EXIST", "no run")
			return
		}
		params, _ := body["params"].([]any)
		metrics, _ := body["metrics"].([]any)
		if len(params) > 100 || len(metrics) > 1000 || len(params)+len(metrics) > 1000 {
			writeErr(w, 400, "INVALID_PARAMETER_VALUE", "too many")
			return
		}
		for _, x := range params {
			m := x.(map[string]any)
			k, v := m["key"].(string), m["value"].(string)
			if old, ok := run.params[k]; ok && old != v {
				writeErr(w, 400, "INVALID_PARAMETER_VALUE", "param changed")
				return
			}
			run.params[k] = v
		}
		for _, x := range metrics {
			b, _ := json.Marshal(x)
			var m Metric
			json.Unmarshal(b, &m)
			run.metrics[m.Key] = m
		}
		enc.Encode(map[string]any{})
	case "POST runs/update":
		run, ok := f.runs[body["run_id"].(string)]
		if !ok {
			writeErr(w, 404, "RESOURCE_DOES_NOT_EXIST", "no run")
			return
		}
		run.info.Status = body["status"].(string)
		run.end = int64(body["end_time"].(float64))
		enc.Encode(map[string]any{"run_info": run.info})
	default:
		writeErr(w, 404, "ENDPOINT_NOT_FOUND", r.Method+" "+path)
	}
}

func (f *fakeServer) run(t *testing.T, name string) *fakeRun {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.info.RunName == name {
			return r
		}
	}
	t.Fatalf("no run %q", name)
	return nil
}

// handlerTransport serves requests in memory, so that tests run on
// synctest's fake clock.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

type downTransport struct{}

func (downTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp 127.0.0.1:5000: connect: connection refused")
}

func testResult() *llmeter.Result {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	end := start.Add(90 * time.Second)
	r := &llmeter.Result{TotalRequests: 4, Clients: 2, NRequests: 2, TotalTestTime: llmeter.Ptr(90.0), ModelID: "m",
		EndpointName: "ep", Provider: "test", RunName: "run-a", StartTime: &start, EndTime: &end}
	r.UpdateContributedStats(map[string]any{"cost_total": 0.25, "some_flag": true})
	return r
}

func TestLogNewRun(t *testing.T) {
	t.Setenv(EnvRunID, "")
	t.Setenv(EnvExperimentName, "")
	f := newFakeServer(t)
	f.token = "s3cret"
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv(EnvTrackingURI, srv.URL+"/")
	t.Setenv(EnvTrackingToken, "s3cret")
	var logs bytes.Buffer
	cb := &Callback{Experiment: "llmeter-tests", Step: llmeter.Ptr(int64(3)), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := cb.AfterRun(context.Background(), testResult()); err != nil {
		t.Fatal(err)
	}
	if logs.Len() > 0 {
		t.Fatalf("logged: %s", logs.String())
	}
	run := f.run(t, "run-a")
	if run.info.Status != StatusFinished || run.info.ExperimentID != f.exps["llmeter-tests"] {
		t.Errorf("run info %+v", run.info)
	}
	if run.end != time.Date(2026, 1, 1, 12, 1, 30, 0, time.UTC).UnixMilli() {
		t.Errorf("end time %d", run.end)
	}
	wantParams := map[string]string{"total_requests": "4", "clients": "2", "n_requests": "2", "model_id": "m",
		"endpoint_name": "ep", "provider": "test", "run_name": "run-a"}
	if fmt.Sprint(run.params) != fmt.Sprint(wantParams) {
		t.Errorf("params %v, want %v", run.params, wantParams)
	}
	for k, want := range map[string]float64{"cost_total": 0.25, "some_flag": 1, "total_test_time": 90, "failed_requests": 0} {
		m, ok := run.metrics[k]
		if !ok || m.Value != want || m.Step != 3 {
			t.Errorf("metric %s = %+v, want %v at step 3", k, m, want)
		}
	}
	for _, k := range []string{"clients", "start_time", "model_id"} {
		if _, ok := run.metrics[k]; ok {
			t.Errorf("%s logged as a metric", k)
		}
	}
	// A second run finds the experiment.
	r2 := testResult()
	r2.RunName = "run-b"
	cb.AfterRun(context.Background(), r2)
	if got := f.run(t, "run-b").info.ExperimentID; got != f.exps["llmeter-tests"] {
		t.Errorf("second run in experiment %s", got)
	}
}

func TestLogIntoActiveAndNestedRuns(t *testing.T) {
	f := newFakeServer(t)
	srv := httptest.NewServer(f)
	defer srv.Close()
	client := &Client{TrackingURI: srv.URL}
	parent, err := client.CreateRun(context.Background(), "0", "parent", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvRunID, parent.RunID)

	// Not nested: into the active run, left running.
	cb := &Callback{Client: client}
	if _, err := cb.Log(context.Background(), testResult()); err != nil {
		t.Fatal(err)
	}
	p := f.run(t, "parent")
	if p.params["run_name"] != "run-a" || p.info.Status != "RUNNING" {
		t.Errorf("active run: params %v, status %s", p.params, p.info.Status)
	}

	// Nested: a child named after the LLMeter run.
	cb = &Callback{Client: client, Nested: true}
	r := testResult()
	r.RunName = "child"
	id, err := cb.Log(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	c := f.run(t, "child")
	if c.info.RunID != id || c.tags["mlflow.parentRunId"] != parent.RunID || c.info.Status != StatusFinished || c.info.ExperimentID != "0" {
		t.Errorf("child run %+v tags %v", c.info, c.tags)
	}
}

func TestRetriesAndBatches(t *testing.T) {
	t.Setenv(EnvRunID, "")
	synctest.Test(t, func(t *testing.T) {
		f := newFakeServer(t)
		f.failFirst = 2
		client := &Client{TrackingURI: "http://mlflow.test", HTTPClient: &http.Client{Transport: handlerTransport{f}}}
		info, err := client.CreateRun(context.Background(), "0", "big", time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var metrics []Metric
		for i := range 2500 {
			metrics = append(metrics, Metric{Key: fmt.Sprintf("m%d", i), Value: float64(i)})
		}
		var params []Param
		for i := range 150 {
			params = append(params, Param{Key: fmt.Sprintf("p%d", i), Value: strings.Repeat("x", 600)})
		}
		params[149].Value = strings.Repeat("x", 499) + "é" // cut before the é, not inside it
		if err := client.LogBatch(context.Background(), info.RunID, params, metrics); err != nil {
			t.Fatal(err)
		}
		run := f.run(t, "big")
		if len(run.metrics) != 2500 || len(run.params) != 150 || len(run.params["p7"]) != 500 || len(run.params["p149"]) != 499 {
			t.Errorf("got %d metrics, %d params", len(run.metrics), len(run.params))
		}
		// 3 tries of runs/create, then 2 param batches and 3 metric batches.
		if len(f.calls) != 3+2+3 {
			t.Errorf("calls %v", f.calls)
		}
		// A client error is not retried.
		f.calls = nil
		if err := client.UpdateRun(context.Background(), "nope", StatusFinished, time.Now()); !IsNotFound(err) {
			t.Errorf("got %v", err)
		}
		if len(f.calls) != 1 {
			t.Errorf("a 404 was retried: %v", f.calls)
		}
	})
}

// A slow or down tracking server neither fails the load test nor holds it
// up beyond the callback's timeout; the failure is logged.
func TestBadServerDoesNotHoldTheRun(t *testing.T) {
	t.Setenv(EnvRunID, "")
	slow := newFakeServer(t)
	slow.delay = time.Hour
	for _, c := range []struct {
		name      string
		transport http.RoundTripper
		limit     time.Duration
	}{
		{"slow", handlerTransport{slow}, 10 * time.Second},
		{"down", downTransport{}, 2 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs bytes.Buffer
				cb := &Callback{
					Client: &Client{TrackingURI: "http://mlflow.test", HTTPClient: &http.Client{Transport: c.transport}},
					Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				}
				r := &llmeter.Runner{
					Endpoint:  &cbtest.Endpoint{Text: "ok", InputTokens: 1, OutputTokens: 1},
					Payloads:  []llmeter.Payload{{"prompt": "hi"}},
					NRequests: 3,
					Callbacks: []llmeter.Callback{cb},
				}
				start := time.Now()
				res, err := r.Run(context.Background())
				elapsed := time.Since(start)
				if err != nil || res.TotalRequests != 3 {
					t.Fatalf("run: %v, %d requests", err, res.TotalRequests)
				}
				t.Logf("run took %v on the fake clock", elapsed)
				if elapsed > c.limit {
					t.Errorf("the run took %v (fake clock), want at most %v", elapsed, c.limit)
				}
				if !strings.Contains(logs.String(), "mlflow: run not logged") {
					t.Errorf("failure not logged: %q", logs.String())
				}
			})
		})
	}
}

func TestNoTrackingURI(t *testing.T) {
	t.Setenv(EnvTrackingURI, "")
	var logs bytes.Buffer
	cb := &Callback{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := cb.AfterRun(context.Background(), testResult()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "no tracking URI") {
		t.Errorf("logs: %q", logs.String())
	}
	t.Setenv(EnvTrackingURI, "file:///tmp/mlruns")
	if _, err := cb.Log(context.Background(), testResult()); err == nil || !strings.Contains(err.Error(), "only http") {
		t.Errorf("file store: %v", err)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	cb := &Callback{Step: llmeter.Ptr(int64(2)), Nested: true, Experiment: "e", Timeout: 3 * time.Second}
	cfg := cb.CallbackConfig()
	b, _ := json.Marshal(cfg)
	var back map[string]any
	json.Unmarshal(b, &back)
	got, err := FromConfig(back)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Step != 2 || !got.Nested || got.Experiment != "e" || got.Timeout != 3*time.Second {
		t.Errorf("got %+v", got)
	}
	// LLMeter's to_dict.
	got, err = FromConfig(map[string]any{"_callback_type": "MlflowCallback", "step": nil, "nested": false})
	if err != nil || got.Step != nil || got.Nested {
		t.Errorf("LLMeter config: %+v, %v", got, err)
	}
	if _, err := FromConfig(map[string]any{"step": 1.5}); err == nil {
		t.Error("fractional step accepted")
	}
	if _, err := FromConfig(map[string]any{"tracking_token": "x"}); err == nil {
		t.Error("unknown setting accepted")
	}
}

func TestMetricKey(t *testing.T) {
	for in, want := range map[string]string{"time_to_first_token-p50": "time_to_first_token-p50", "ttft<500ms": "ttft_500ms", "a/b: c.d": "a/b: c.d"} {
		if got := metricKey(in); got != want {
			t.Errorf("metricKey(%q) = %q, want %q", in, got, want)
		}
	}
}
