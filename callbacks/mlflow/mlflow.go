package mlflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmeter-go/llmeter"
)

// Type is the callback's "type" in run_config.json (LLMeter's class name).
const Type = "MlflowCallback"

// DefaultTimeout bounds the work of AfterRun.
const DefaultTimeout = 10 * time.Second

// ParameterNames are the Result fields logged as parameters (LLMeter's
// parameters_names).
var ParameterNames = []string{"total_requests", "clients", "n_requests", "model_id", "output_path",
	"endpoint_name", "provider", "run_name", "run_description"}

// Callback logs a run to MLflow.
type Callback struct {
	// Step of the metrics; nil logs step 0 (MLflow's default).
	Step *int64
	// Nested logs into a new child run named after the LLMeter run.
	Nested bool
	// Experiment is the experiment name for new runs; default
	// $MLFLOW_EXPERIMENT_NAME.
	Experiment string
	// RunID is the run to log into (or, with Nested, the parent run);
	// default $MLFLOW_RUN_ID.
	RunID string
	// Timeout bounds AfterRun's network work; default 10 s.
	Timeout time.Duration
	// Client talks to the server; nil reads the environment at AfterRun.
	Client *Client
	// Logger receives failures (the run goes on); nil uses slog.Default().
	Logger *slog.Logger
	// Now is the clock of timestamps; nil is time.Now.
	Now func() time.Time
}

func (c *Callback) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Callback) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// AfterRun logs the run. It always returns nil: a failure is logged.
func (c *Callback) AfterRun(ctx context.Context, res *llmeter.Result) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	runID, err := c.Log(ctx, res)
	if err != nil {
		c.logger().Warn("mlflow: run not logged", "run_name", res.RunName, "mlflow_run_id", runID, "error", err)
	}
	return nil
}

// Log logs the run and returns the MLflow run id it logged into. Unlike
// AfterRun it returns its error, and it is bounded only by ctx.
func (c *Callback) Log(ctx context.Context, res *llmeter.Result) (string, error) {
	client := c.Client
	if client == nil {
		client = ClientFromEnv()
	}
	if _, err := client.base(); err != nil {
		return "", err
	}
	params, metrics := c.Collect(res)
	parent := c.RunID
	if parent == "" {
		parent = os.Getenv(EnvRunID)
	}
	runID, created := parent, false
	if c.Nested || parent == "" {
		var expID string
		var tags []Tag
		if parent != "" {
			info, err := client.GetRun(ctx, parent)
			if err != nil {
				return "", fmt.Errorf("parent run %s: %w", parent, err)
			}
			expID = info.ExperimentID
			tags = append(tags, Tag{Key: "mlflow.parentRunId", Value: parent})
		} else {
			var err error
			if expID, err = c.experimentID(ctx, client); err != nil {
				return "", err
			}
		}
		tags = append(tags, Tag{Key: "mlflow.source.name", Value: "llmeter"})
		start := c.now()
		if res.StartTime != nil {
			start = *res.StartTime
		}
		info, err := client.CreateRun(ctx, expID, res.RunName, start, tags)
		if err != nil {
			return "", err
		}
		runID, created = info.RunID, true
	}
	err := client.LogBatch(ctx, runID, params, metrics)
	if created {
		status := StatusFinished
		if err != nil {
			status = StatusFailed
		}
		end := c.now()
		if res.EndTime != nil {
			end = *res.EndTime
		}
		if ctx.Err() == nil {
			err = errors.Join(err, client.UpdateRun(ctx, runID, status, end))
		}
	}
	return runID, err
}

func (c *Callback) experimentID(ctx context.Context, client *Client) (string, error) {
	name := c.Experiment
	if name == "" {
		name = os.Getenv(EnvExperimentName)
	}
	if name != "" {
		return client.EnsureExperiment(ctx, name)
	}
	if id := os.Getenv(EnvExperimentID); id != "" {
		return id, nil
	}
	return "0", nil // MLflow's default experiment
}

// Collect returns the params and metrics logged for a run.
func (c *Callback) Collect(res *llmeter.Result) ([]Param, []Metric) {
	st := res.Stats()
	var params []Param
	for _, k := range ParameterNames {
		v, ok := st.Get(k)
		if !ok || v == nil {
			continue
		}
		params = append(params, Param{Key: k, Value: paramString(v)})
	}
	ts := c.now().UnixMilli()
	var step int64
	if c.Step != nil {
		step = *c.Step
	}
	var metrics []Metric
	for _, k := range st.Keys() {
		if slices.Contains(ParameterNames, k) {
			continue
		}
		v, _ := st.Get(k)
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case bool:
			if x {
				f = 1
			}
		default:
			continue // strings, times, nulls
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		metrics = append(metrics, Metric{Key: metricKey(k), Value: f, Timestamp: ts, Step: step})
	}
	return params, metrics
}

// metricKey replaces the characters MLflow refuses in names (it takes
// letters, digits, _ - . space : /) with "_".
func metricKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_-. :/", r):
			return r
		}
		return '_'
	}, k)
}

func paramString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// CallbackConfig saves the settings in run_config.json (never the tracking
// URI's credentials or the token).
func (c *Callback) CallbackConfig() map[string]any {
	cfg := map[string]any{"type": Type, "step": nil, "nested": c.Nested}
	if c.Step != nil {
		cfg["step"] = *c.Step
	}
	if c.Experiment != "" {
		cfg["experiment"] = c.Experiment
	}
	if c.Timeout > 0 {
		cfg["timeout"] = c.Timeout.Seconds()
	}
	return cfg
}

// FromConfig re-creates a callback from its CallbackConfig (or LLMeter's
// to_dict: step and nested). The server comes from the environment.
func FromConfig(cfg map[string]any) (*Callback, error) {
	c := &Callback{}
	for k, v := range cfg {
		switch k {
		case "type", "_type", "_callback_type":
		case "step":
			if v == nil {
				continue
			}
			f, ok := number(v)
			if !ok || f != math.Trunc(f) {
				return nil, fmt.Errorf("mlflow: step must be an integer, got %v", v)
			}
			c.Step = llmeter.Ptr(int64(f))
		case "nested":
			b, ok := v.(bool)
			if !ok && v != nil {
				return nil, fmt.Errorf("mlflow: nested must be a boolean, got %v", v)
			}
			c.Nested = b
		case "experiment":
			s, ok := v.(string)
			if !ok && v != nil {
				return nil, fmt.Errorf("mlflow: experiment must be a string, got %v", v)
			}
			c.Experiment = s
		case "timeout":
			f, ok := number(v)
			if !ok || f <= 0 {
				return nil, fmt.Errorf("mlflow: timeout must be a positive number of seconds, got %v", v)
			}
			c.Timeout = time.Duration(f * float64(time.Second))
		default:
			return nil, fmt.Errorf("mlflow: unknown setting %q", k)
		}
	}
	return c, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
