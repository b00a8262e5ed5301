package experiment

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmeter-go/llmeter"
)

// Defaults of LoadTest (LLMeter's).
const (
	DefaultMinRequestsPerClient = 1
	DefaultMinRequestsPerRun    = 10
)

// LoadTest runs the same payloads at a sequence of client counts: one run per
// level, written to OutputPath/TestName/NNNNN-clients (the layout LLMeter
// documents, its defect D1 fixed). Its zero values have LLMeter's defaults.
type LoadTest struct {
	// Endpoint is the API under test. Required.
	Endpoint llmeter.Endpoint
	// Payloads, or PayloadPath (a .json/.jsonl file or a folder), are the
	// requests of every level.
	Payloads    []llmeter.Payload
	PayloadPath string
	// SequenceOfClients are the client counts, run in this order. Required.
	SequenceOfClients []int
	// Count-bound levels send n requests per client, where
	// n = ceil(MinRequestsPerRun / clients) when clients × MinRequestsPerClient
	// is below MinRequestsPerRun, else MinRequestsPerClient (LLMeter's rule;
	// defaults 1 and 10).
	MinRequestsPerClient int
	MinRequestsPerRun    int
	// RunDuration makes every level time-bound instead.
	RunDuration time.Duration
	// OutputPath is the folder under which the test folder is written;
	// empty writes nothing (LowMemory then cannot be used).
	OutputPath string
	// TestName names the test folder; default the local time YYYYMMDD-HHMM.
	TestName       string
	RunDescription string
	Tokenizer      llmeter.Tokenizer
	Callbacks      []llmeter.Callback
	LowMemory      bool
	Timeout        time.Duration // per request; the Runner's default when 0
	GracePeriod    time.Duration // on cancellation; the Runner's default when 0
	// StopIf ends the test after a level whose statistics pass one of these
	// limits: going further would only burn quota.
	StopIf []Limit
	// OnLevel, if set, is called before each level (counting from 1).
	OnLevel func(level, levels, clients int)
	// OnProgress, if set, receives the running level's progress (see
	// llmeter.Runner.OnProgress).
	OnProgress func(llmeter.Progress)
	// Configure, if set, adjusts every Runner the experiment builds before
	// it runs (connect, first-token and idle timeouts, retries, …).
	Configure func(*llmeter.Runner)
}

// Limit is a bound on one statistic of a level: the test stops when the
// statistic is above Max. Stat is a key of the run's statistics, such as
// "failed_requests_rate" or "time_to_first_token-p90".
type Limit struct {
	Stat string
	Max  float64
}

func (l Limit) String() string { return l.Stat + " > " + strconv.FormatFloat(l.Max, 'g', -1, 64) }

// LoadTestResult is the outcome of a LoadTest: one Result per client count.
type LoadTestResult struct {
	Results  map[int]*llmeter.Result
	TestName string
	// OutputPath is the test folder ("" when nothing was written).
	OutputPath string
	// StoppedBy says why the test ended before its last level: a passed
	// limit, or the context's error. Empty when every level ran.
	StoppedBy string
}

// Clients returns the client counts in increasing order.
func (r *LoadTestResult) Clients() []int { return slices.Sorted(maps.Keys(r.Results)) }

// RequestsPerClient is LLMeter's count of requests per client for a level.
func RequestsPerClient(clients, minPerClient, minPerRun int) int {
	if clients*minPerClient < minPerRun {
		return (minPerRun + clients - 1) / clients
	}
	return minPerClient
}

// LevelName is the run name of a level: "00005-clients".
func LevelName(clients int) string { return fmt.Sprintf("%05d-clients", clients) }

// Run runs every level in order. A failed level's error stops the test; a
// canceled context stops it after the level in progress is saved (marked
// interrupted). The result holds every level that ran, also on error.
func (lt *LoadTest) Run(ctx context.Context) (*LoadTestResult, error) {
	if lt.Endpoint == nil {
		return nil, errors.New("experiment: load test: no endpoint")
	}
	if len(lt.SequenceOfClients) == 0 {
		return nil, errors.New("experiment: load test: no client counts")
	}
	seen := map[int]bool{}
	for _, c := range lt.SequenceOfClients {
		if c < 1 {
			return nil, fmt.Errorf("experiment: load test: client counts must be positive, got %d", c)
		}
		if seen[c] {
			return nil, fmt.Errorf("experiment: load test: client count %d given twice", c)
		}
		seen[c] = true
	}
	minClient, minRun := lt.MinRequestsPerClient, lt.MinRequestsPerRun
	if minClient == 0 {
		minClient = DefaultMinRequestsPerClient
	}
	if minRun == 0 {
		minRun = DefaultMinRequestsPerRun
	}
	if minClient < 0 || minRun < 0 {
		return nil, errors.New("experiment: load test: minimum request counts must be positive")
	}
	payloads := lt.Payloads
	if len(payloads) == 0 {
		if lt.PayloadPath == "" {
			return nil, errors.New("experiment: load test: no payload")
		}
		var err error
		if payloads, err = llmeter.LoadPayloads(lt.PayloadPath); err != nil {
			return nil, err
		}
	}
	name := lt.TestName
	if name == "" {
		name = time.Now().Format("20060102-1504")
	}
	out := &LoadTestResult{Results: map[int]*llmeter.Result{}, TestName: name}
	if lt.OutputPath != "" {
		out.OutputPath = llmeter.JoinPath(lt.OutputPath, name)
	}
	for i, c := range lt.SequenceOfClients {
		if err := ctx.Err(); err != nil {
			out.StoppedBy = err.Error()
			return out, nil
		}
		if lt.OnLevel != nil {
			lt.OnLevel(i+1, len(lt.SequenceOfClients), c)
		}
		r := &llmeter.Runner{
			Endpoint:       lt.Endpoint,
			OutputPath:     out.OutputPath,
			Tokenizer:      lt.Tokenizer,
			Clients:        c,
			RunDuration:    lt.RunDuration,
			Payloads:       payloads,
			RunName:        LevelName(c),
			RunDescription: lt.RunDescription,
			Timeout:        lt.Timeout,
			GracePeriod:    lt.GracePeriod,
			Callbacks:      lt.Callbacks,
			LowMemory:      lt.LowMemory,
			OnProgress:     lt.OnProgress,
		}
		if lt.RunDuration == 0 {
			r.NRequests = RequestsPerClient(c, minClient, minRun)
		}
		if lt.Configure != nil {
			lt.Configure(r)
		}
		res, err := r.Run(ctx)
		if res != nil {
			out.Results[c] = res
		}
		if err != nil {
			return out, fmt.Errorf("experiment: load test: level %d clients: %w", c, err)
		}
		if res.Interrupted {
			out.StoppedBy = "interrupted"
			if cerr := ctx.Err(); cerr != nil {
				out.StoppedBy = cerr.Error()
			}
			return out, nil
		}
		if l, v, ok := passed(res, lt.StopIf); ok && i < len(lt.SequenceOfClients)-1 {
			out.StoppedBy = fmt.Sprintf("%d clients: %s = %g > %g", c, l.Stat, v, l.Max)
			return out, nil
		}
	}
	return out, nil
}

// passed returns the first limit a result's statistics pass.
func passed(res *llmeter.Result, limits []Limit) (Limit, float64, bool) {
	if len(limits) == 0 {
		return Limit{}, 0, false
	}
	st := res.Stats()
	for _, l := range limits {
		if v, ok := st.Float(l.Stat); ok && v > l.Max {
			return l, v, true
		}
	}
	return Limit{}, 0, false
}

var levelDir = regexp.MustCompile(`^\d+-clients$`)

// LoadLoadTest loads a load test folder: every subfolder that holds a run
// (ours, or one written by LLMeter) becomes a Result, keyed by its client
// count. The test name is the folder's name.
func LoadLoadTest(dir string, opts llmeter.LoadOptions) (*LoadTestResult, error) {
	entries, err := llmeter.ListPath(context.Background(), dir)
	if err != nil {
		return nil, fmt.Errorf("experiment: load test: %w", err)
	}
	out := &LoadTestResult{Results: map[int]*llmeter.Result{}, TestName: llmeter.BasePath(dir), OutputPath: dir}
	for _, e := range entries {
		name, isDir := strings.CutSuffix(e, "/")
		if !isDir {
			continue
		}
		sub := llmeter.JoinPath(dir, name)
		if !llmeter.IsRunFolder(sub) {
			continue
		}
		res, err := llmeter.LoadResult(sub, opts)
		if err != nil {
			return nil, fmt.Errorf("experiment: load test: %w", err)
		}
		if prev, ok := out.Results[res.Clients]; ok {
			return nil, fmt.Errorf("experiment: load test: %s and %s both ran %d clients", prev.OutputPath, sub, res.Clients)
		}
		if levelDir.MatchString(name) && res.OutputPath == "" {
			res.OutputPath = sub
		}
		out.Results[res.Clients] = res
	}
	if len(out.Results) == 0 {
		return nil, fmt.Errorf("experiment: load test: no results found in %s", dir)
	}
	return out, nil
}
