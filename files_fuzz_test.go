package llmeter

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// maxFuzzFile bounds the files the fuzz targets write: longer inputs add
// nothing the short ones do not exercise, and slow the fuzzer down.
const maxFuzzFile = 1 << 16

// payloadFuzzNames are the file names FuzzLoadPayloads writes its input
// to, chosen by a byte of the input: the name decides the format.
var payloadFuzzNames = []string{"p.jsonl", "p.json", "p.manifest", "p.txt"}

// FuzzLoadPayloads writes arbitrary bytes to a payload file and loads it.
// Whatever loads must save (SavePayloads) and load back unchanged, and a
// JSON Lines file gives at most one payload per line.
func FuzzLoadPayloads(f *testing.F) {
	for _, s := range []string{
		llmeterFolder[PayloadFile],
		"{\"n\": 12345678901234567890}\n\n{\"img\": {\"__llmeter_bytes__\": \"AQI=\"}}\r\n",
		`[{"messages": []}, {"prompt": "a", "max_tokens": 1.5e3}]`,
		"{\n \"a\": 1,\n oops\n}", "[1, 2]\n", `{"a": {"__llmeter_bytes__": "!"}}`,
		"\xef\xbb\xbf{\"a\": \"\\ud800\"}\n{\"b\": null}",
	} {
		for kind := range payloadFuzzNames {
			f.Add([]byte(s), uint8(kind))
		}
	}
	// The fuzz function runs one call at a time in each process: the calls
	// can share a folder (a t.TempDir for each costs more than the call).
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		if len(data) > maxFuzzFile {
			return
		}
		name := payloadFuzzNames[int(kind)%len(payloadFuzzNames)]
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ps, err := LoadPayloads(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "llmeter: payload: ") {
				t.Errorf("error %q: want the prefix %q", err, "llmeter: payload: ")
			}
			return
		}
		if ext := filepath.Ext(name); ext == ".jsonl" || ext == ".manifest" {
			if lines := bytes.Count(data, []byte("\n")) + 1; len(ps) > lines {
				t.Errorf("%d payloads from %d lines", len(ps), lines)
			}
		}
		for i, p := range ps {
			if p == nil {
				t.Fatalf("payload %d is nil", i)
			}
		}
		if len(ps) == 0 {
			return // SavePayloads of nothing writes an empty file, which is no payload file
		}
		saved, err := SavePayloads(ps, filepath.Join(dir, "saved"), "")
		if err != nil {
			t.Fatalf("SavePayloads of loaded payloads: %v", err)
		}
		again, err := LoadPayloads(saved)
		if err != nil {
			t.Fatalf("loading saved payloads: %v", err)
		}
		if !reflect.DeepEqual(again, ps) {
			t.Errorf("saved and loaded back:\n got %v\nwant %v", again, ps)
		}
	})
}

// The files of a run folder that FuzzLoadResult replaces with its input,
// chosen by a byte of the input. Without a summary, LoadResult recovers
// the run from run_config.json and responses.jsonl.
var resultFuzzFiles = []struct {
	name      string
	noSummary bool
}{
	{SummaryFile, false},
	{StatsFile, false},
	{ResponsesFile, false},
	{SidecarFile, false},
	{RunConfigFile, true},
	{ResponsesFile, true},
}

// resultFuzzSidecar is a sidecar for llmeterFolder's responses.
const resultFuzzSidecar = `{"id": "chatcmpl-abc", "tokens_input_source": "usage", "tokens_output_source": "usage", "payload_index": 0, "chunk_offsets_us": [50200, 100000, 150600]}
{"id": "chatcmpl-abd", "send_offset": 0.38, "error_class": null, "payload_index": 1, "chunk_offsets_us": []}
{"id": "5c0ffee5c0ffee5c0ffee5c0ffee5c0f", "error_class": "throttled", "retries": 2}
`

// FuzzLoadResult loads a run folder (LLMeter's, plus a sidecar) one of
// whose files holds arbitrary bytes. What a corrupt stats.json, sidecar or
// run_config.json breaks is only a warning: the load still gives every
// response. A loaded result's statistics must compute, and saving it must
// give a folder that loads again with the same responses.
func FuzzLoadResult(f *testing.F) {
	for i, file := range resultFuzzFiles {
		content := llmeterFolder[file.name]
		if file.name == SidecarFile {
			content = resultFuzzSidecar
		}
		f.Add([]byte(content), uint8(i), false)
		f.Add([]byte(content), uint8(i), true)
	}
	f.Add([]byte(`{"total_requests": "4", "start_time": "yesterday", "end_time": 7}`), uint8(0), false)
	f.Add([]byte(`{"goodput_slos": "ttft<1s, tpot.p90<, x>y", "interrupted": true}`), uint8(1), false)
	f.Add([]byte("{\"id\": \"w\", \"time_to_first_token\": -1e308, \"request_time\": \"2026-13-01T00:00:00Z\"}\n{\"id\": \"x\", \"num_tokens_output\": 1.5}"), uint8(2), false)
	f.Add([]byte("{\"id\": \"chatcmpl-abc\", \"chunk_offsets_us\": [9e18, -1]}\n{\"id\": 5}\n{"), uint8(3), false)
	f.Add([]byte(`{"endpoint": [], "clients": -1, "n_requests": 1e99, "run_name": null}`), uint8(4), false)

	// The fuzz function runs one call at a time in each process: the calls
	// can share a folder (a t.TempDir for each costs more than the call).
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, which uint8, skip bool) {
		if len(data) > maxFuzzFile {
			return
		}
		file := resultFuzzFiles[int(which)%len(resultFuzzFiles)]
		files := maps.Clone(llmeterFolder)
		files[SidecarFile] = resultFuzzSidecar
		if file.noSummary {
			delete(files, SummaryFile)
		}
		files[file.name] = string(data)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res, err := LoadResult(dir, LoadOptions{SkipResponses: skip})
		if err != nil {
			if file.name != SummaryFile && file.name != ResponsesFile {
				t.Fatalf("%s corrupt: got the error %v, want only warnings", file.name, err)
			}
			return
		}
		st := res.Stats()
		if st == nil {
			t.Fatal("Stats: got nil")
		}
		if skip && !file.noSummary {
			return
		}
		if file.name != ResponsesFile && !skip && len(res.Responses) != 4 {
			t.Errorf("%s corrupt: got %d responses, want the 4 of responses.jsonl", file.name, len(res.Responses))
		}
		if lines := strings.Count(files[ResponsesFile], "\n") + 1; len(res.Responses) > lines {
			t.Errorf("%d responses from %d lines", len(res.Responses), lines)
		}
		for _, name := range []string{"time_to_first_token", "num_tokens_output", "error", "id"} {
			if _, err := res.GetDimension(name, "", nil); err != nil {
				t.Errorf("GetDimension(%q): %v", name, err)
			}
		}
		if skip {
			return
		}
		n := len(res.Responses)
		if err := res.Save(""); err != nil {
			// Statistics that overflow (an average of huge values) cannot
			// be written as JSON; that is reported, not written.
			return
		}
		again, err := LoadResult(dir, LoadOptions{})
		if err != nil {
			t.Fatalf("loading the saved result: %v", err)
		}
		if len(again.Responses) != n {
			t.Errorf("saved and loaded back: %d responses, want %d", len(again.Responses), n)
		}
	})
}
