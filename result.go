package llmeter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"time"
)

// Result is one run: its responses, its summary (the fields of
// summary.json) and its statistics.
type Result struct {
	Responses []*InvocationResponse

	TotalRequests    int
	Clients          int
	NRequests        int
	TotalTestTime    *float64 // seconds
	ModelID          string
	OutputPath       string
	EndpointName     string
	Provider         string
	RunName          string
	RunDescription   string
	StartTime        *time.Time
	FirstRequestTime *time.Time
	LastRequestTime  *time.Time
	EndTime          *time.Time

	// Interrupted is set when the run was stopped before its end.
	Interrupted bool

	stats       *Stats // precomputed (live run, or stats.json when loaded lazily)
	recomputed  *Stats // cache of stats computed from Responses
	contributed *Stats // stats added by callbacks
	slos        []SLO  // goodput objectives of the run
}

// SummaryKeys are summary.json's keys (the Result fields LLMeter saves), in
// order; LLMeter's loader accepts no others.
var SummaryKeys = []string{"total_requests", "clients", "n_requests", "total_test_time", "model_id", "output_path",
	"endpoint_name", "provider", "run_name", "run_description", "start_time", "first_request_time",
	"last_request_time", "end_time"}

// summary returns the summary fields as ordered stats.
func (r *Result) summary() *Stats {
	st := NewStats()
	st.Set("total_requests", r.TotalRequests)
	st.Set("clients", r.Clients)
	st.Set("n_requests", r.NRequests)
	if r.TotalTestTime != nil {
		st.Set("total_test_time", *r.TotalTestTime)
	} else {
		st.Set("total_test_time", nil)
	}
	st.Set("model_id", nullIfEmpty(r.ModelID))
	st.Set("output_path", nullIfEmpty(r.OutputPath))
	st.Set("endpoint_name", nullIfEmpty(r.EndpointName))
	st.Set("provider", nullIfEmpty(r.Provider))
	st.Set("run_name", nullIfEmpty(r.RunName))
	st.Set("run_description", nullIfEmpty(r.RunDescription))
	for _, kv := range []struct {
		k string
		t *time.Time
	}{{"start_time", r.StartTime}, {"first_request_time", r.FirstRequestTime},
		{"last_request_time", r.LastRequestTime}, {"end_time", r.EndTime}} {
		if kv.t == nil {
			st.Set(kv.k, nil)
		} else {
			st.Set(kv.k, *kv.t)
		}
	}
	return st
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Stats returns the run's statistics (a fresh copy): the precomputed ones if
// the run was live or loaded lazily, else computed from the responses; then
// the stats contributed by callbacks.
func (r *Result) Stats() *Stats {
	var st *Stats
	switch {
	case r.stats != nil:
		st = r.stats.Clone()
	default:
		if r.recomputed == nil {
			r.recomputed = r.computeStats()
		}
		st = r.recomputed.Clone()
	}
	if r.contributed != nil {
		for _, k := range r.contributed.Keys() {
			v, _ := r.contributed.Get(k)
			st.Set(k, v)
		}
	}
	return st
}

// computeStats is the one definition of the statistics, from Responses.
func (r *Result) computeStats() *Stats {
	acc := newAccumulator()
	acc.slos = r.slos
	for _, resp := range r.Responses {
		acc.add(resp)
	}
	elapsed := 0.0
	if r.TotalTestTime != nil {
		elapsed = *r.TotalTestTime
	}
	st := acc.stats(r.summary(), elapsed)
	if r.Interrupted {
		st.Set("interrupted", true)
	}
	return st
}

// UpdateContributedStats adds stats from a callback (e.g. cost_*). Every
// value must be a number (or a bool).
func (r *Result) UpdateContributedStats(stats map[string]any) error {
	for k, v := range stats {
		if _, ok := toFloat(v); !ok || v == nil {
			return fmt.Errorf("llmeter: contributed stat %q is not a number: %v", k, v)
		}
	}
	if r.contributed == nil {
		r.contributed = NewStats()
	}
	for _, k := range sortedKeys(stats) {
		r.contributed.Set(k, stats[k])
	}
	return nil
}

// GetDimension returns the named InvocationResponse field (its JSON name,
// e.g. "time_to_first_token") of every response, nil for null, optionally
// only of the responses whose filterDimension equals filterValue.
func (r *Result) GetDimension(name string, filterDimension string, filterValue any) ([]any, error) {
	if !isResponseField(name) {
		return nil, fmt.Errorf("llmeter: unknown response field %q", name)
	}
	if filterDimension != "" && !isResponseField(filterDimension) {
		return nil, fmt.Errorf("llmeter: unknown response field %q", filterDimension)
	}
	var out []any
	for _, resp := range r.Responses {
		if filterDimension != "" && !reflect.DeepEqual(ResponseField(resp, filterDimension), filterValue) {
			continue
		}
		out = append(out, ResponseField(resp, name))
	}
	return out, nil
}

var responseFieldNames = []string{"response_text", "input_payload", "id", "input_prompt", "time_to_first_token",
	"time_to_last_token", "num_tokens_input", "num_tokens_output", "num_tokens_input_cached",
	"num_tokens_output_reasoning", "time_per_output_token", "error", "retries", "request_time"}

func isResponseField(name string) bool {
	for _, n := range responseFieldNames {
		if n == name {
			return true
		}
	}
	return false
}

// ResponseField returns the value of one of the 14 fields by its JSON name:
// nil for null, else string, float64, int, time.Time, Payload or the prompt.
func ResponseField(r *InvocationResponse, name string) any {
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	i := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	switch name {
	case "response_text":
		if r.ResponseText == nil {
			return nil
		}
		return *r.ResponseText
	case "input_payload":
		if r.InputPayload == nil {
			return nil
		}
		return r.InputPayload
	case "id":
		return nullIfEmpty(r.ID)
	case "input_prompt":
		return r.InputPrompt
	case "time_to_first_token":
		return f(r.TimeToFirstToken)
	case "time_to_last_token":
		return f(r.TimeToLastToken)
	case "num_tokens_input":
		return i(r.NumTokensInput)
	case "num_tokens_output":
		return i(r.NumTokensOutput)
	case "num_tokens_input_cached":
		return i(r.NumTokensInputCached)
	case "num_tokens_output_reasoning":
		return i(r.NumTokensOutputReasoning)
	case "time_per_output_token":
		return f(r.TimePerOutputToken)
	case "error":
		return nullIfEmpty(r.Error)
	case "retries":
		return i(r.Retries)
	case "request_time":
		if r.RequestTime == nil {
			return nil
		}
		return *r.RequestTime
	}
	return nil
}

// File names of a run folder (LLMeter's), plus this tool's sidecar.
const (
	RunConfigFile = "run_config.json"
	PayloadFile   = "payload.jsonl"
	ResponsesFile = "responses.jsonl"
	SummaryFile   = "summary.json"
	StatsFile     = "stats.json"
	// SidecarFile holds, line for line with responses.jsonl and keyed by id,
	// what this tool records beyond LLMeter's 14 fields.
	SidecarFile = "responses.ext.jsonl"
)

// ErrNoOutputPath is returned by Save and LoadResponses without a folder.
var ErrNoOutputPath = errors.New("llmeter: no output path")

// Save writes summary.json and stats.json into the Result's OutputPath (or
// dir, when the Result has none, which then becomes its OutputPath), and responses.jsonl (with its sidecar)
// if it does not exist yet.
func (r *Result) Save(dir string) error {
	if r.OutputPath != "" {
		dir = r.OutputPath
	}
	if dir == "" {
		return ErrNoOutputPath
	}
	r.OutputPath = dir
	if !fileExists(JoinPath(dir, ResponsesFile)) {
		w, err := createResponseWriter(context.Background(), dir)
		if err != nil {
			return err
		}
		for _, resp := range r.Responses {
			if err := w.write(resp); err != nil {
				w.close()
				return err
			}
		}
		if err := w.close(); err != nil {
			return err
		}
	}
	if err := writeJSONFile(JoinPath(dir, SummaryFile), r.summary()); err != nil {
		return err
	}
	return writeJSONFile(JoinPath(dir, StatsFile), r.Stats())
}

// writeJSONFile writes v indented by 4 spaces, atomically (see
// Storage.WriteFile), so that a crash never leaves a half-written file.
func writeJSONFile(path string, v any) error {
	b, err := MarshalJSONValue(v)
	if err != nil {
		return fmt.Errorf("llmeter: write %s: %w", path, err)
	}
	if b, err = indentJSON(b); err != nil {
		return fmt.Errorf("llmeter: write %s: %w", path, err)
	}
	if err := WriteFile(context.Background(), path, b); err != nil {
		return fmt.Errorf("llmeter: write %s: %w", path, err)
	}
	return nil
}

// LoadOptions controls LoadResult.
type LoadOptions struct {
	// SkipResponses loads only the summary and stats.json (lazy loading);
	// call LoadResponses later.
	SkipResponses bool
	// Warn receives problems that do not stop the load (a torn last line, a
	// corrupt stats.json); nil ignores them.
	Warn func(msg string)
}

// LoadResult reads a run folder written by this tool or by LLMeter. Without
// summary.json (a killed run) it recovers what it can from run_config.json
// and responses.jsonl.
func LoadResult(dir string, opts LoadOptions) (*Result, error) {
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}
	r := &Result{}
	var recovered bool
	summaryPath := JoinPath(dir, SummaryFile)
	data, err := ReadFile(context.Background(), summaryPath)
	switch {
	case err == nil:
		if err := r.decodeSummary(data); err != nil {
			return nil, fmt.Errorf("llmeter: %s: %w", summaryPath, err)
		}
		// The folder may have moved since it was written: the place it
		// was loaded from is where its files are.
		r.OutputPath = dir
	case errors.Is(err, fs.ErrNotExist):
		if !fileExists(JoinPath(dir, ResponsesFile)) && !fileExists(JoinPath(dir, StatsFile)) {
			return nil, fmt.Errorf("llmeter: %s: no %s, %s or %s: %w", dir, SummaryFile, ResponsesFile, StatsFile, fs.ErrNotExist)
		}
		recovered = true
		r.OutputPath = dir
		r.recoverFromConfig(dir, warn)
	default:
		return nil, fmt.Errorf("llmeter: %w", err)
	}

	fileStats := readStatsFile(JoinPath(dir, StatsFile), warn)
	if fileStats != nil {
		if v, ok := fileStats.Get("interrupted"); ok && v == true {
			r.Interrupted = true
		}
		if v, ok := fileStats.Get("goodput_slos"); ok {
			// Goodput is recomputed against the run's own objectives.
			s, _ := v.(string)
			for _, part := range strings.Split(s, ", ") {
				if o, err := ParseSLO(part); err == nil && part != "" {
					r.slos = append(r.slos, o)
				}
			}
		}
	}
	if recovered {
		// A run that never wrote its summary ended early.
		r.Interrupted = true
	}
	if opts.SkipResponses && !recovered {
		if fileStats != nil {
			r.stats = fileStats
		}
		return r, nil
	}
	responses, err := readResponses(dir, warn)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		warn(fmt.Sprintf("%s: no %s", dir, ResponsesFile))
	}
	if recovered {
		r.recoverFromResponses(responses)
	}
	r.Responses = responses
	if fileStats != nil || recovered || opts.SkipResponses {
		rec := r.computeStats()
		if fileStats != nil {
			// Keep what only stats.json knows (callback stats, interrupted, …).
			for _, k := range fileStats.Keys() {
				if k == "approximate_percentiles" {
					continue // the recomputed percentiles are exact
				}
				if _, ok := rec.Get(k); !ok {
					v, _ := fileStats.Get(k)
					rec.Set(k, v)
				}
			}
		}
		r.recomputed = rec
	}
	if opts.SkipResponses {
		r.Responses = nil
		r.stats = r.recomputed
	}
	return r, nil
}

// LoadResponses reads responses.jsonl into Responses and recomputes the
// stats from them alone (stats only stats.json had are dropped; stats
// contributed to this Result in memory stay).
func (r *Result) LoadResponses() error {
	if r.OutputPath == "" {
		return ErrNoOutputPath
	}
	responses, err := readResponses(r.OutputPath, nil)
	if err != nil {
		return err
	}
	r.Responses = responses
	r.stats, r.recomputed = nil, nil
	return nil
}

func (r *Result) decodeSummary(data []byte) error {
	var s struct {
		TotalRequests    *json.Number `json:"total_requests"`
		Clients          *json.Number `json:"clients"`
		NRequests        *json.Number `json:"n_requests"`
		TotalTestTime    *float64     `json:"total_test_time"`
		ModelID          *string      `json:"model_id"`
		OutputPath       *string      `json:"output_path"`
		EndpointName     *string      `json:"endpoint_name"`
		Provider         *string      `json:"provider"`
		RunName          *string      `json:"run_name"`
		RunDescription   *string      `json:"run_description"`
		StartTime        *string      `json:"start_time"`
		FirstRequestTime *string      `json:"first_request_time"`
		LastRequestTime  *string      `json:"last_request_time"`
		EndTime          *string      `json:"end_time"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	for _, c := range []struct {
		src *json.Number
		dst *int
	}{{s.TotalRequests, &r.TotalRequests}, {s.Clients, &r.Clients}, {s.NRequests, &r.NRequests}} {
		if c.src != nil {
			n, err := numberToInt(*c.src)
			if err != nil {
				return err
			}
			*c.dst = n
		}
	}
	r.TotalTestTime = s.TotalTestTime
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	r.ModelID, r.OutputPath, r.EndpointName = deref(s.ModelID), deref(s.OutputPath), deref(s.EndpointName)
	r.Provider, r.RunName, r.RunDescription = deref(s.Provider), deref(s.RunName), deref(s.RunDescription)
	for _, c := range []struct {
		src *string
		dst **time.Time
	}{{s.StartTime, &r.StartTime}, {s.FirstRequestTime, &r.FirstRequestTime},
		{s.LastRequestTime, &r.LastRequestTime}, {s.EndTime, &r.EndTime}} {
		if c.src == nil {
			continue
		}
		t, err := ParseTimestamp(*c.src)
		if err != nil {
			return err
		}
		*c.dst = &t
	}
	return nil
}

// recoverFromConfig copies what run_config.json knows into a Result whose
// summary.json is missing.
func (r *Result) recoverFromConfig(dir string, warn func(string)) {
	data, err := ReadFile(context.Background(), JoinPath(dir, RunConfigFile))
	if err != nil {
		warn(fmt.Sprintf("%s: cannot read %s: %v", dir, RunConfigFile, err))
		return
	}
	var c struct {
		Clients        *json.Number   `json:"clients"`
		NRequests      *json.Number   `json:"n_requests"`
		RunName        *string        `json:"run_name"`
		RunDescription *string        `json:"run_description"`
		Endpoint       map[string]any `json:"endpoint"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		warn(fmt.Sprintf("%s: corrupt %s: %v", dir, RunConfigFile, err))
		return
	}
	if c.Clients != nil {
		r.Clients, _ = numberToInt(*c.Clients)
	}
	if c.NRequests != nil {
		r.NRequests, _ = numberToInt(*c.NRequests)
	}
	if c.RunName != nil {
		r.RunName = *c.RunName
	}
	if c.RunDescription != nil {
		r.RunDescription = *c.RunDescription
	}
	r.ModelID, _ = c.Endpoint["model_id"].(string)
	r.EndpointName, _ = c.Endpoint["endpoint_name"].(string)
	r.Provider, _ = c.Endpoint["provider"].(string)
}

// recoverFromResponses sets the counts and times from the responses of a run
// whose summary is missing. The test time is estimated as the span from the
// first send to the last response's end.
func (r *Result) recoverFromResponses(responses []*InvocationResponse) {
	r.TotalRequests = len(responses)
	var first, last, end time.Time
	for _, resp := range responses {
		if resp.RequestTime == nil {
			continue
		}
		t := *resp.RequestTime
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if last.IsZero() || t.After(last) {
			last = t
		}
		e := t
		if resp.TimeToLastToken != nil {
			e = t.Add(time.Duration(*resp.TimeToLastToken * float64(time.Second)))
		}
		if e.After(end) {
			end = e
		}
	}
	if !first.IsZero() {
		r.StartTime, r.FirstRequestTime = &first, &first
		r.LastRequestTime, r.EndTime = &last, &last
		if span := end.Sub(first).Seconds(); span > 0 {
			r.TotalTestTime = &span
		}
	}
	if r.Clients > 0 && r.NRequests == 0 {
		r.NRequests = r.TotalRequests / r.Clients
	}
}

func readStatsFile(path string, warn func(string)) *Stats {
	data, err := ReadFile(context.Background(), path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			warn(fmt.Sprintf("cannot read %s: %v", path, err))
		}
		return nil
	}
	st, err := decodeOrderedObject(data)
	if err != nil {
		warn(fmt.Sprintf("corrupt %s: %v", path, err))
		return nil
	}
	for _, k := range []string{"start_time", "first_request_time", "last_request_time", "end_time"} {
		if v, ok := st.Get(k); ok {
			if s, ok := v.(string); ok {
				if t, err := ParseTimestamp(s); err == nil {
					st.Set(k, t)
				}
			}
		}
	}
	return st
}

// decodeOrderedObject decodes a flat JSON object keeping its key order;
// numbers become int when integral in the text, else float64.
func decodeOrderedObject(data []byte) (*Stats, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	st := NewStats()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = int(i)
			} else if f, err := n.Float64(); err == nil {
				v = f
			}
		}
		st.Set(key, v)
	}
	return st, nil
}
