package main

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/callbacks/cachebuster"
	"github.com/llmeter-go/llmeter/callbacks/cost"
	"github.com/llmeter-go/llmeter/callbacks/mlflow"
)

// callbackFlags turn on the built-in callbacks.
type callbackFlags struct {
	cost, pricing string
	cacheBuster   bool
	mlflow        bool
}

func (f *callbackFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cost, "cost", "", "prices in USD per million tokens, e.g. input=3,output=15[,cached=0.3]: cost_* per request and per run")
	fs.StringVar(&f.pricing, "pricing", "", "price table `file` (YAML or JSON, model id → input_per_million, output_per_million, …)")
	fs.BoolVar(&f.cacheBuster, "cache-buster", false, "make every prompt unique (a tag before its text) so that prompt caches do not flatter the numbers")
	fs.BoolVar(&f.mlflow, "mlflow", false, "log the run to MLflow ($MLFLOW_TRACKING_URI, $MLFLOW_TRACKING_TOKEN, $MLFLOW_EXPERIMENT_NAME)")
}

// check validates the flags that need no endpoint.
func (f *callbackFlags) check(e *env) error {
	if f.cost != "" && f.pricing != "" {
		return usageErrorf("give --cost or --pricing, not both")
	}
	if f.cost != "" {
		if _, err := parseCost(f.cost, false); err != nil {
			return err
		}
	}
	if f.mlflow && e.getenv("MLFLOW_TRACKING_URI") == "" {
		return usageErrorf("--mlflow needs MLFLOW_TRACKING_URI, e.g. http://localhost:5000")
	}
	return nil
}

// callbacks returns the callbacks the flags ask for, for an endpoint.
func (f *callbackFlags) callbacks(e *env, ep llmeter.Endpoint) ([]llmeter.Callback, error) {
	var out []llmeter.Callback
	info := ep.Info()
	switch {
	case f.cost != "":
		m, err := parseCost(f.cost, cost.InputIncludesCached(info.EndpointType))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	case f.pricing != "":
		table, err := cost.LoadPriceTable(f.pricing)
		if err != nil {
			return nil, usageErrorf("--pricing: %v", err)
		}
		m, err := table.CostModel(info.ModelID, cost.InputIncludesCached(info.EndpointType))
		if err != nil {
			return nil, usageErrorf("--pricing %s: %v", f.pricing, err)
		}
		out = append(out, m)
	}
	if f.cacheBuster {
		out = append(out, &cachebuster.CacheBuster{})
	}
	if f.mlflow {
		// Its failures are logged on the console (redacted, between live
		// display frames).
		out = append(out, &mlflow.Callback{Logger: slog.New(slog.NewTextHandler(consoleWriter{e.con}, nil))})
	}
	return out, nil
}

// parseCost reads --cost: input=P,output=P[,cached=P] in USD per million
// tokens.
func parseCost(s string, inputIncludesCached bool) (*cost.CostModel, error) {
	req := map[string]cost.RequestDimension{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		price, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || price < 0 {
			return nil, usageErrorf("--cost %q: want input=P,output=P[,cached=P] in USD per million tokens", s)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "input":
			req["InputTokens"] = &cost.InputTokens{PricePerMillion: price}
		case "output":
			req["OutputTokens"] = &cost.OutputTokens{PricePerMillion: price}
		case "cached":
			req["CachedInputTokens"] = &cost.CachedInputTokens{PricePerMillion: price}
		default:
			return nil, usageErrorf("--cost: unknown price %q (want input, output or cached)", k)
		}
	}
	if in, ok := req["InputTokens"].(*cost.InputTokens); ok && req["CachedInputTokens"] != nil {
		in.ExcludeCached = inputIncludesCached
	}
	m, err := cost.New(req, nil)
	if err != nil {
		return nil, usageErrorf("--cost: %v", err)
	}
	return m, nil
}
