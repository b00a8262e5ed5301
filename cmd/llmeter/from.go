package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/callbacks"
	"github.com/llmeter-go/llmeter/tokenizer"
)

// simStatsPrefix starts the stats.json entries in which a run against the
// built-in simulator records the simulator's settings (simulator_ttft, …),
// so that --from can start the same simulator again (run_config.json keeps
// exactly LLMeter's keys).
const simStatsPrefix = "simulator_"

// savedRun is what `llmeter run --from DIR` takes from a run folder.
type savedRun struct {
	dir       string
	config    map[string]any // run_config.json
	endpoint  map[string]any // its "endpoint"
	sim       map[string]any // the simulator's settings, if the run went there
	callbacks []llmeter.Callback
	tokenizer llmeter.Tokenizer
}

// loadSavedRun reads run_config.json (and stats.json, for the simulator)
// of a run folder, local or in object storage.
func loadSavedRun(dir string) (*savedRun, error) {
	ctx := context.Background()
	b, err := llmeter.ReadFile(ctx, llmeter.JoinPath(dir, llmeter.RunConfigFile))
	if err != nil {
		return nil, usageErrorf("--from %s: %v", dir, err)
	}
	s := &savedRun{dir: dir}
	if err := json.Unmarshal(b, &s.config); err != nil || s.config == nil {
		return nil, usageErrorf("--from %s: %s is not a JSON object: %v", dir, llmeter.RunConfigFile, err)
	}
	var ok bool
	if s.endpoint, ok = s.config["endpoint"].(map[string]any); !ok {
		return nil, usageErrorf("--from %s: %s has no \"endpoint\" object", dir, llmeter.RunConfigFile)
	}
	if cbs, ok := s.config["callbacks"].([]any); ok && len(cbs) > 0 {
		if s.callbacks, err = callbacks.LoadAll(cbs); err != nil {
			return nil, usageErrorf("--from %s: %v", dir, err)
		}
	}
	if tm, ok := s.config["tokenizer"].(map[string]any); ok {
		if s.tokenizer, err = tokenizer.FromConfig(tm); err != nil {
			return nil, usageErrorf("--from %s: tokenizer: %v", dir, err)
		}
	}
	if b, err := llmeter.ReadFile(ctx, llmeter.JoinPath(dir, llmeter.StatsFile)); err == nil {
		var st map[string]any
		if json.Unmarshal(b, &st) == nil {
			for k, v := range st {
				if name, ok := strings.CutPrefix(k, simStatsPrefix); ok {
					if s.sim == nil {
						s.sim = map[string]any{}
					}
					s.sim[name] = v
				}
			}
		}
	}
	return s, nil
}

// applyFlags gives every run flag the user did not set the saved run's
// value: the endpoint (unless one is given), the payloads, clients, requests
// or duration, timeout, description and memory mode.
func (s *savedRun) applyFlags(cmd *cobra.Command, f *runFlags) error {
	fl := cmd.Flags()
	set := func(name, value string) error {
		if fl.Changed(name) {
			return nil
		}
		if err := fl.Set(name, value); err != nil {
			return usageErrorf("--from %s: %s: %v", s.dir, name, err)
		}
		return nil
	}
	num := func(key string) (float64, bool) {
		v, ok := s.config[key].(float64)
		return v, ok
	}
	if v, ok := num("clients"); ok && v >= 1 {
		if err := set("clients", strconv.Itoa(int(v))); err != nil {
			return err
		}
	}
	if v, ok := num("run_duration"); ok && v > 0 {
		if !fl.Changed("n-requests") {
			if err := set("duration", time.Duration(v*float64(time.Second)).String()); err != nil {
				return err
			}
		}
	} else if v, ok := num("n_requests"); ok && v >= 1 && !fl.Changed("duration") {
		if err := set("n-requests", strconv.Itoa(int(v))); err != nil {
			return err
		}
	}
	if v, ok := num("timeout"); ok && v > 0 {
		if err := set("timeout", time.Duration(v*float64(time.Second)).String()); err != nil {
			return err
		}
	}
	if d, ok := s.config["run_description"].(string); ok && d != "" {
		if err := set("description", d); err != nil {
			return err
		}
	}
	if lm, ok := s.config["low_memory"].(bool); ok && lm {
		if err := set("low-memory", "true"); err != nil {
			return err
		}
	}
	if !fl.Changed("payload") && !fl.Changed("prompt") {
		// The copy in the folder, else the file the run read.
		p := llmeter.JoinPath(s.dir, llmeter.PayloadFile)
		if !llmeter.PathExists(context.Background(), p) {
			p, _ = s.config["payload"].(string)
		}
		if p == "" {
			return usageErrorf("--from %s: no %s and no payload path in %s", s.dir, llmeter.PayloadFile, llmeter.RunConfigFile)
		}
		if err := set("payload", p); err != nil {
			return err
		}
	}
	for _, name := range endpointChoiceFlags {
		if fl.Changed(name) {
			return nil // the user chose the endpoint
		}
	}
	f.endpointFlags.from = s
	if s.sim != nil {
		for flag, key := range map[string]string{"sim-ttft": "ttft", "sim-itl": "itl", "sim-prefill": "prefill_per_token"} {
			if v, ok := s.sim[key].(float64); ok {
				if err := set(flag, time.Duration(v*float64(time.Second)).String()); err != nil {
					return err
				}
			}
		}
		for flag, key := range map[string]string{"sim-tokens": "output_tokens", "sim-capacity": "capacity"} {
			if v, ok := s.sim[key].(float64); ok {
				if err := set(flag, strconv.Itoa(int(v))); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// endpointChoiceFlags choose the endpoint; with any of them, --from keeps
// its other settings but not its endpoint.
var endpointChoiceFlags = []string{"endpoint", "endpoint-config", "base-url", "model", "region", "endpoint-name"}

// simStats is the simulator's settings as recorded in stats.json.
func (f *endpointFlags) simStats() map[string]any {
	return map[string]any{
		simStatsPrefix + "ttft":              f.simTTFT.Seconds(),
		simStatsPrefix + "itl":               f.simITL.Seconds(),
		simStatsPrefix + "prefill_per_token": f.simPrefill.Seconds(),
		simStatsPrefix + "output_tokens":     f.simTokens,
		simStatsPrefix + "capacity":          f.simCapacity,
	}
}

// recordStats is a callback that adds what the command knows of the run
// (the simulator's settings, --insecure) to its stats.json.
type recordStats map[string]any

func (r recordStats) AfterRun(_ context.Context, res *llmeter.Result) error {
	return res.UpdateContributedStats(r)
}

// moveHost points a saved endpoint URL at a new server, keeping its path.
func moveHost(saved, server string) (string, error) {
	u, err := url.Parse(saved)
	if err != nil {
		return "", err
	}
	s, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	u.Scheme, u.Host = s.Scheme, s.Host
	return u.String(), nil
}

// savedEndpoint is the endpoint map of --from, pointed at the simulator
// when the saved run went to it.
func (s *savedRun) savedEndpoint(simURL string) (map[string]any, error) {
	m := make(map[string]any, len(s.endpoint))
	for k, v := range s.endpoint {
		m[k] = v
	}
	if simURL == "" {
		return m, nil
	}
	moved := false
	for _, k := range []string{"base_url", "endpoint_url"} {
		if old, ok := m[k].(string); ok && old != "" {
			u, err := moveHost(old, simURL)
			if err != nil {
				return nil, fmt.Errorf("--from %s: endpoint %s %q: %v", s.dir, k, old, err)
			}
			m[k], moved = u, true
		}
	}
	if !moved {
		return nil, fmt.Errorf("--from %s: the run went to the built-in simulator, but its endpoint has no base_url or endpoint_url to point at a new one", s.dir)
	}
	return m, nil
}

// insecureStat marks in stats.json a run whose TLS certificates were not
// verified.
const insecureStat = "insecure_tls"
