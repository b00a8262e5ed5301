package llmeter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A run folder as Python LLMeter writes it (spec §2.1): Python separators,
// seconds-precision timestamps, floats with ".0", 4-space indentation, the
// live stats key set, and no sidecar.
var llmeterFolder = map[string]string{
	RunConfigFile: `{
    "endpoint": {
        "endpoint_name": "my-endpoint",
        "model_id": "my-model",
        "provider": "openai",
        "endpoint_type": "OpenAICompletionStreamEndpoint"
    },
    "output_path": "outputs/my-model/20260101-1200",
    "tokenizer": {
        "tokenizer_module": "llmeter"
    },
    "clients": 2,
    "n_requests": 2,
    "run_duration": null,
    "payload": "outputs/my-model/20260101-1200/payload.jsonl",
    "run_name": "20260101-1200",
    "run_description": null,
    "timeout": 60,
    "callbacks": null,
    "low_memory": false,
    "progress_bar_stats": null
}`,
	PayloadFile: `{"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16}
`,
	ResponsesFile: `{"response_text": "Hello world!", "input_payload": {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16, "model": "my-model", "stream": true, "stream_options": {"include_usage": true}}, "id": "chatcmpl-abc", "input_prompt": "Say hello", "time_to_first_token": 0.0502, "time_to_last_token": 0.1506, "num_tokens_input": 12, "num_tokens_output": 3, "num_tokens_input_cached": null, "num_tokens_output_reasoning": null, "time_per_output_token": 0.0502, "error": null, "retries": null, "request_time": "2026-01-01T12:00:20Z"}
{"response_text": "Hello there, world!", "input_payload": {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16, "model": "my-model", "stream": true, "stream_options": {"include_usage": true}}, "id": "chatcmpl-abd", "input_prompt": "Say hello", "time_to_first_token": 0.0503, "time_to_last_token": 0.1602, "num_tokens_input": 12, "num_tokens_output": 3, "num_tokens_input_cached": 4, "num_tokens_output_reasoning": null, "time_per_output_token": 0.055, "error": null, "retries": null, "request_time": "2026-01-01T12:00:20Z"}
{"response_text": "Hi", "input_payload": {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16, "model": "my-model", "stream": true, "stream_options": {"include_usage": true}}, "id": "chatcmpl-abe", "input_prompt": "Say hello", "time_to_first_token": 0.0502, "time_to_last_token": 0.1509, "num_tokens_input": 12, "num_tokens_output": 3, "num_tokens_input_cached": null, "num_tokens_output_reasoning": null, "time_per_output_token": 0.0503, "error": null, "retries": null, "request_time": "2026-01-01T12:00:20Z"}
{"response_text": null, "input_payload": {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16, "model": "my-model", "stream": true, "stream_options": {"include_usage": true}}, "id": "5c0ffee5c0ffee5c0ffee5c0ffee5c0f", "input_prompt": "Say hello", "time_to_first_token": null, "time_to_last_token": null, "num_tokens_input": null, "num_tokens_output": null, "num_tokens_input_cached": null, "num_tokens_output_reasoning": null, "time_per_output_token": null, "error": "An error occurred (ThrottlingException) when calling the Converse operation: Too many requests", "retries": null, "request_time": "2026-01-01T12:00:20Z"}
`,
	SummaryFile: `{
    "total_requests": 4,
    "clients": 2,
    "n_requests": 2,
    "total_test_time": 0.31809049200001027,
    "model_id": "my-model",
    "output_path": "outputs/my-model/20260101-1200",
    "endpoint_name": "my-endpoint",
    "provider": "openai",
    "run_name": "20260101-1200",
    "run_description": null,
    "start_time": "2026-01-01T12:00:20Z",
    "first_request_time": "2026-01-01T12:00:20Z",
    "last_request_time": "2026-01-01T12:00:20Z",
    "end_time": "2026-01-01T12:00:20Z"
}`,
	StatsFile: `{
    "total_requests": 4,
    "clients": 2,
    "n_requests": 2,
    "total_test_time": 0.31809049200001027,
    "model_id": "my-model",
    "output_path": "outputs/my-model/20260101-1200",
    "endpoint_name": "my-endpoint",
    "provider": "openai",
    "run_name": "20260101-1200",
    "run_description": null,
    "start_time": "2026-01-01T12:00:20Z",
    "first_request_time": "2026-01-01T12:00:20Z",
    "last_request_time": "2026-01-01T12:00:20Z",
    "end_time": "2026-01-01T12:00:20Z",
    "failed_requests": 1,
    "failed_requests_rate": 0.25,
    "total_input_tokens": 36.0,
    "total_output_tokens": 9.0,
    "time_to_last_token-average": 0.1539,
    "time_to_last_token-p50": 0.1509,
    "time_per_output_token-average": 0.0525,
    "num_tokens_output-average": 3,
    "requests_per_minute": 1514.75,
    "output_tps": 38.66,
    "cost_total": 0.0123,
    "interrupted": true
}`,
}

func writeFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadLLMeterRunFolder(t *testing.T) {
	dir := writeFolder(t, llmeterFolder)
	res, err := LoadResult(dir, LoadOptions{Warn: func(m string) { t.Errorf("warning: %s", m) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalRequests != 4 || res.Clients != 2 || len(res.Responses) != 4 || res.ModelID != "my-model" {
		t.Fatalf("summary: %+v", res)
	}
	st := res.Stats()
	want := map[string]any{
		"failed_requests":           1,
		"failed_requests_rate":      0.25,
		"total_input_tokens":        36,
		"total_output_tokens":       9,
		"total_cached_input_tokens": 4,
		"num_tokens_output-average": 3,
		"time_to_first_token-p50":   0.0502,
		"time_to_last_token-p50":    0.1509,
		// Recomputed from the responses over total_test_time.
		"requests_per_minute": 4 * 60 / 0.31809049200001027,
		"output_tps":          9 / 0.31809049200001027,
		// Only stats.json knew these: kept.
		"cost_total":  0.0123,
		"interrupted": true,
	}
	for k, w := range want {
		g, ok := st.Get(k)
		gf, _ := toFloat(g)
		wf, _ := toFloat(w)
		if !ok || gf != wf {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	// Recomputed, not copied: LLMeter's TPOT-average in the file was 0.0525.
	if v, _ := st.Float("time_per_output_token-average"); v != (0.0502+0.055+0.0503)/3 {
		t.Errorf("time_per_output_token-average = %v, want it recomputed from the responses", v)
	}
	if got := res.Responses[1].InputPayload["stream_options"]; got == nil {
		t.Errorf("input payload not loaded: %v", res.Responses[1].InputPayload)
	}
	if res.Responses[3].ErrorClass != "" || !res.Responses[3].Failed() {
		t.Errorf("LLMeter error line: %+v", res.Responses[3])
	}

	// Lazy loading gives stats.json as LLMeter wrote it.
	lazy, err := LoadResult(dir, LoadOptions{SkipResponses: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(lazy.Responses) != 0 {
		t.Errorf("lazy load read %d responses", len(lazy.Responses))
	}
	if v, _ := lazy.Stats().Float("requests_per_minute"); v != 1514.75 {
		t.Errorf("lazy requests_per_minute = %v, want stats.json's 1514.75", v)
	}
	if err := lazy.LoadResponses(); err != nil || len(lazy.Responses) != 4 {
		t.Fatalf("LoadResponses: %v (%d responses)", err, len(lazy.Responses))
	}
	if _, ok := lazy.Stats().Get("cost_total"); ok {
		t.Error("LoadResponses kept a stats.json-only key; LLMeter recomputes from the responses alone")
	}

	dims, err := res.GetDimension("num_tokens_input_cached", "", nil)
	if err != nil || len(dims) != 4 || dims[1] != 4 || dims[0] != nil {
		t.Errorf("GetDimension = %v, %v", dims, err)
	}
	errs, _ := res.GetDimension("error", "id", "5c0ffee5c0ffee5c0ffee5c0ffee5c0f")
	if len(errs) != 1 || !strings.Contains(errs[0].(string), "Throttling") {
		t.Errorf("filtered GetDimension = %v", errs)
	}
	if _, err := res.GetDimension("nope", "", nil); err == nil {
		t.Error("unknown dimension accepted")
	}
}

func TestLoadRecoversKilledRun(t *testing.T) {
	files := map[string]string{}
	for k, v := range llmeterFolder {
		files[k] = v
	}
	delete(files, SummaryFile)
	delete(files, StatsFile)
	// A kill in mid-write leaves a torn last line.
	files[ResponsesFile] += `{"response_text": "torn", "input_pay`
	dir := writeFolder(t, files)
	var warnings []string
	res, err := LoadResult(dir, LoadOptions{Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalRequests != 4 || len(res.Responses) != 4 {
		t.Errorf("recovered %d requests (%d responses), want the 4 complete lines", res.TotalRequests, len(res.Responses))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "torn") || !strings.Contains(warnings[0], ":5:") {
		t.Errorf("warnings = %q, want one naming the torn line 5", warnings)
	}
	if res.RunName != "20260101-1200" || res.Clients != 2 || res.ModelID != "my-model" || !res.Interrupted {
		t.Errorf("recovered summary: %+v", res)
	}
	if v, _ := res.Stats().Get("interrupted"); v != true {
		t.Errorf("recovered stats interrupted = %v, want true", v)
	}

	// A malformed line that is not the last one is an error naming it.
	files[ResponsesFile] = "{\"id\": \"w\"}\n{not json}\n{\"id\": \"x\"}\n"
	dir = writeFolder(t, files)
	if _, err := LoadResult(dir, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "responses.jsonl:2") {
		t.Errorf("err = %v, want it to name responses.jsonl:2", err)
	}
	if _, err := LoadResult(t.TempDir(), LoadOptions{}); err == nil {
		t.Error("an empty folder loaded")
	}
}

func TestLoadPayloads(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jl := write("a.jsonl", "{\"n\": 12345678901234567890}\n\n{\"img\": {\"__llmeter_bytes__\": \"AQI=\"}}\r\n")
	ps, err := LoadPayloads(jl)
	if err != nil || len(ps) != 2 {
		t.Fatalf("LoadPayloads = %v, %v", ps, err)
	}
	if b, _ := MarshalJSONValue(ps[0]); string(b) != `{"n": 12345678901234567890}` {
		t.Errorf("big number changed: %s", b)
	}
	if img, ok := ps[1]["img"].([]byte); !ok || len(img) != 2 {
		t.Errorf("bytes marker: %#v", ps[1]["img"])
	}
	one := write("b.json", `{"messages": []}`)
	if ps, err := LoadPayloads(one); err != nil || len(ps) != 1 {
		t.Errorf("single JSON: %v, %v", ps, err)
	}
	if ps, err := LoadPayloads(dir); err != nil || len(ps) != 3 {
		t.Errorf("folder: %d payloads, %v; want 3", len(ps), err)
	}
	bad := write("bad.jsonl", "{\"ok\": 1}\n{\"broken\": \n")
	if _, err := LoadPayloads(bad); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Errorf("err = %v, want it to name bad.jsonl:2", err)
	}
	notObj := write("list.jsonl", "[1, 2]\n")
	if _, err := LoadPayloads(notObj); err == nil || !strings.Contains(err.Error(), "list.jsonl:1") {
		t.Errorf("err = %v, want it to name list.jsonl:1", err)
	}
	badDoc := write("doc.notjson", "{\n \"a\": 1,\n oops\n}")
	if _, err := LoadPayloads(badDoc); err == nil || !strings.Contains(err.Error(), "doc.notjson:3") {
		t.Errorf("err = %v, want it to name doc.notjson:3", err)
	}
}

func TestResultSaveRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		res := &Result{TotalRequests: 1, Clients: 1, NRequests: 1, TotalTestTime: Ptr(2.0), RunName: "x",
			Responses: []*InvocationResponse{{ID: "a", ResponseText: Ptr("one two"), TimeToLastToken: Ptr(1.0),
				NumTokensOutput: Ptr(2), RequestTime: &rt, ErrorClass: ""}}}
		if err := res.Save(""); err == nil {
			t.Error("Save without a folder succeeded")
		}
		dir := t.TempDir()
		if err := res.Save(dir); err != nil {
			t.Fatal(err)
		}
		back, err := LoadResult(dir, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		compareStats(t, "saved and loaded", back.Stats(), res.Stats())
	})
}
