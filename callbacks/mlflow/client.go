package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// Environment variables the client reads, as MLflow's own clients do.
const (
	EnvTrackingURI      = "MLFLOW_TRACKING_URI"
	EnvTrackingToken    = "MLFLOW_TRACKING_TOKEN"
	EnvTrackingUsername = "MLFLOW_TRACKING_USERNAME"
	EnvTrackingPassword = "MLFLOW_TRACKING_PASSWORD"
	EnvExperimentName   = "MLFLOW_EXPERIMENT_NAME"
	EnvExperimentID     = "MLFLOW_EXPERIMENT_ID"
	EnvRunID            = "MLFLOW_RUN_ID"
)

// Defaults of the client's zero values.
const (
	DefaultMaxAttempts    = 3
	DefaultRequestTimeout = 5 * time.Second
)

// MLflow's limits for one runs/log-batch request.
const (
	maxParamsPerBatch  = 100
	maxMetricsPerBatch = 1000
	maxParamValueLen   = 500 // the oldest servers' limit (newer ones take 6000)
)

// ErrNoTrackingURI is returned when no tracking server is configured.
var ErrNoTrackingURI = errors.New("mlflow: no tracking URI (set " + EnvTrackingURI + ")")

// Client is a small client of MLflow's tracking REST API (api/2.0/mlflow):
// experiments, runs, batched logging. It retries network errors, 429 and
// 5xx answers with exponential backoff.
type Client struct {
	// TrackingURI is the server's base URL (http or https).
	TrackingURI string
	// Token, if set, is sent as a bearer token; else Username and
	// Password, if set, as basic authentication.
	Token              string
	Username, Password string
	// HTTPClient defaults to http.DefaultClient.
	HTTPClient *http.Client
	// MaxAttempts per call (default 3); RequestTimeout per attempt
	// (default 5 s).
	MaxAttempts    int
	RequestTimeout time.Duration
}

// ClientFromEnv returns a client configured from MLFLOW_TRACKING_URI,
// MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME and
// MLFLOW_TRACKING_PASSWORD.
func ClientFromEnv() *Client {
	return &Client{
		TrackingURI: os.Getenv(EnvTrackingURI),
		Token:       os.Getenv(EnvTrackingToken),
		Username:    os.Getenv(EnvTrackingUsername),
		Password:    os.Getenv(EnvTrackingPassword),
	}
}

// APIError is an error answer of the tracking server.
type APIError struct {
	StatusCode int
	Code       string // MLflow's error_code, e.g. RESOURCE_DOES_NOT_EXIST
	Message    string
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("mlflow: HTTP %d %s: %s", e.StatusCode, e.Code, e.Message)
	}
	return fmt.Sprintf("mlflow: HTTP %d: %s", e.StatusCode, e.Message)
}

func (e *APIError) retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// IsNotFound reports whether err is MLflow's RESOURCE_DOES_NOT_EXIST.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Code == "RESOURCE_DOES_NOT_EXIST" || e.StatusCode == http.StatusNotFound)
}

func (c *Client) base() (*url.URL, error) {
	if c.TrackingURI == "" {
		return nil, ErrNoTrackingURI
	}
	u, err := url.Parse(strings.TrimRight(c.TrackingURI, "/"))
	if err != nil {
		return nil, fmt.Errorf("mlflow: tracking URI: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("mlflow: tracking URI %q: only http(s) tracking servers are supported", c.TrackingURI)
	}
	return u, nil
}

// call sends one API request (GET with query, or POST with a JSON body)
// with retries, and decodes the answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	base, err := c.base()
	if err != nil {
		return err
	}
	u := *base
	u.Path += "/api/2.0/mlflow/" + path
	if query != nil {
		u.RawQuery = query.Encode()
	}
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("mlflow: %s: %w", path, err)
		}
	}
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err = c.attempt(ctx, method, u.String(), payload, out)
		var apiErr *APIError
		retry := err != nil && ctx.Err() == nil && (!errors.As(err, &apiErr) || apiErr.retryable())
		if !retry || attempt >= attempts {
			if err != nil {
				return fmt.Errorf("mlflow: %s: %w", path, err)
			}
			return nil
		}
		d := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("mlflow: %s: %w (after: %w)", path, ctx.Err(), err)
		case <-t.C:
		}
		backoff *= 2
	}
}

func (c *Client) attempt(ctx context.Context, method, u string, payload []byte, out any) error {
	timeout := c.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.Username != "" || c.Password != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{StatusCode: resp.StatusCode}
		var eb struct {
			ErrorCode string `json:"error_code"`
			Message   string `json:"message"`
		}
		if json.Unmarshal(data, &eb) == nil && (eb.ErrorCode != "" || eb.Message != "") {
			e.Code, e.Message = eb.ErrorCode, eb.Message
		} else {
			e.Message = strings.TrimSpace(string(data[:min(len(data), 300)]))
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
	}
	return nil
}

// GetExperimentByName returns the id of the named experiment; an error
// satisfying IsNotFound if there is none.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (string, error) {
	var out struct {
		Experiment struct {
			ExperimentID string `json:"experiment_id"`
		} `json:"experiment"`
	}
	err := c.call(ctx, http.MethodGet, "experiments/get-by-name", url.Values{"experiment_name": {name}}, nil, &out)
	return out.Experiment.ExperimentID, err
}

// CreateExperiment creates an experiment and returns its id.
func (c *Client) CreateExperiment(ctx context.Context, name string) (string, error) {
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	err := c.call(ctx, http.MethodPost, "experiments/create", nil, map[string]any{"name": name}, &out)
	return out.ExperimentID, err
}

// EnsureExperiment returns the id of the named experiment, creating it if
// needed.
func (c *Client) EnsureExperiment(ctx context.Context, name string) (string, error) {
	id, err := c.GetExperimentByName(ctx, name)
	if err == nil {
		return id, nil
	}
	if !IsNotFound(err) {
		return "", err
	}
	id, err = c.CreateExperiment(ctx, name)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Code == "RESOURCE_ALREADY_EXISTS" {
		return c.GetExperimentByName(ctx, name) // created meanwhile
	}
	return id, err
}

// Tag is a run tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Param is a run parameter.
type Param = Tag

// Metric is one metric value.
type Metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"` // milliseconds since the epoch
	Step      int64   `json:"step"`
}

// RunInfo is what the server says about a run.
type RunInfo struct {
	RunID        string `json:"run_id"`
	ExperimentID string `json:"experiment_id"`
	RunName      string `json:"run_name"`
	Status       string `json:"status"`
}

// CreateRun starts a run in an experiment.
func (c *Client) CreateRun(ctx context.Context, experimentID, runName string, start time.Time, tags []Tag) (RunInfo, error) {
	body := map[string]any{"experiment_id": experimentID, "start_time": start.UnixMilli()}
	if runName != "" {
		body["run_name"] = runName
	}
	if len(tags) > 0 {
		body["tags"] = tags
	}
	var out struct {
		Run struct {
			Info RunInfo `json:"info"`
		} `json:"run"`
	}
	err := c.call(ctx, http.MethodPost, "runs/create", nil, body, &out)
	return out.Run.Info, err
}

// GetRun returns a run's information.
func (c *Client) GetRun(ctx context.Context, runID string) (RunInfo, error) {
	var out struct {
		Run struct {
			Info RunInfo `json:"info"`
		} `json:"run"`
	}
	err := c.call(ctx, http.MethodGet, "runs/get", url.Values{"run_id": {runID}}, nil, &out)
	return out.Run.Info, err
}

// LogBatch logs params and metrics to a run, in as many runs/log-batch
// requests as MLflow's limits need. Param values longer than 500
// characters are cut.
func (c *Client) LogBatch(ctx context.Context, runID string, params []Param, metrics []Metric) error {
	for len(params) > 0 || len(metrics) > 0 {
		body := map[string]any{"run_id": runID}
		if len(params) > 0 {
			n := min(len(params), maxParamsPerBatch)
			ps := make([]Param, n)
			for i, p := range params[:n] {
				if len(p.Value) > maxParamValueLen {
					cut := maxParamValueLen
					for cut > 0 && !utf8.RuneStart(p.Value[cut]) {
						cut-- // never split a character
					}
					p.Value = p.Value[:cut]
				}
				ps[i] = p
			}
			body["params"], params = ps, params[n:]
		} else {
			n := min(len(metrics), maxMetricsPerBatch)
			body["metrics"], metrics = metrics[:n], metrics[n:]
		}
		if err := c.call(ctx, http.MethodPost, "runs/log-batch", nil, body, nil); err != nil {
			return err
		}
	}
	return nil
}

// Run statuses.
const (
	StatusFinished = "FINISHED"
	StatusFailed   = "FAILED"
	StatusKilled   = "KILLED"
)

// UpdateRun sets a run's status and end time.
func (c *Client) UpdateRun(ctx context.Context, runID, status string, end time.Time) error {
	body := map[string]any{"run_id": runID, "status": status, "end_time": end.UnixMilli()}
	return c.call(ctx, http.MethodPost, "runs/update", nil, body, nil)
}
