package report

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/experiment"
	"github.com/llmeter-go/llmeter/sim"
)

// The run folders in testdata are made by the simulator on the fake clock:
//
//	go test ./report -run TestMakeFixtures -fixtures
//
// Tests read them back, as a user's saved results; the golden files depend
// on them, so regenerate those (-update) after regenerating the fixtures.
var makeFixtures = flag.Bool("fixtures", false, "regenerate the run folders in testdata with the simulator")

func simEndpoint(t *testing.T, cfg sim.Config) llmeter.Endpoint {
	t.Helper()
	cfg.TimersOnly = true
	client := &http.Client{Transport: sim.Transport(sim.New(cfg))}
	ep, err := openai.NewChatEndpoint(openai.ChatConfig{ModelID: "sim-model", BaseURL: "http://sim/v1", Stream: true, APIKey: "k", HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func payloads(t *testing.T) []llmeter.Payload {
	var ps []llmeter.Payload
	for i, words := range []int{5, 20, 60, 120} {
		text := ""
		for range words {
			text += "word "
		}
		p, err := openai.CreatePayload([]string{text}, 16<<i, nil)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func TestMakeFixtures(t *testing.T) {
	if !*makeFixtures {
		t.Skip("run with -fixtures to regenerate the run folders in testdata")
	}
	for _, d := range []string{"run", "loadtest", "heatmap", "sweep"} {
		if err := os.RemoveAll(filepath.Join("testdata", d)); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		cfg := sim.Config{TTFT: 150 * time.Millisecond, PrefillPerToken: time.Millisecond, ITL: 15 * time.Millisecond,
			OutputTokens: 100, OutputJitter: 0.5, Capacity: 4, Seed: 7}
		// One run with failures.
		errCfg := cfg
		errCfg.ErrorRate, errCfg.ErrorKinds = 0.1, []sim.ErrorKind{sim.Error500, sim.ErrorDropMidStream}
		r := &llmeter.Runner{Endpoint: simEndpoint(t, errCfg), Payloads: payloads(t), Clients: 3, NRequests: 40,
			OutputPath: "testdata", RunName: "run", RunDescription: "simulated, 10% errors"}
		if _, err := r.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		// A load test past the capacity.
		lt := &experiment.LoadTest{Endpoint: simEndpoint(t, cfg), Payloads: payloads(t), SequenceOfClients: []int{1, 2, 4, 8, 16},
			MinRequestsPerClient: 2, MinRequestsPerRun: 24, OutputPath: "testdata", TestName: "loadtest"}
		if _, err := lt.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		// A heatmap.
		lh := &experiment.LatencyHeatmap{Endpoint: simEndpoint(t, sim.Config{TTFT: 100 * time.Millisecond, PrefillPerToken: time.Millisecond,
			ITL: 10 * time.Millisecond, OutputTokens: 1000}),
			SourceFile: "../prompt/testdata/source.txt",
			CreatePayload: func(text string, maxTokens int) (llmeter.Payload, error) {
				return openai.CreatePayload([]string{text}, maxTokens, nil)
			},
			InputLengths: []int{10, 50, 200}, OutputLengths: []int{16, 64, 128, 256}, RequestsPerCombination: 2,
			OutputPath: filepath.Join("testdata", "heatmap")}
		if _, err := lh.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		// An open-loop sweep past the capacity.
		sw := &experiment.Sweep{OpenLoop: experiment.OpenLoop{Endpoint: simEndpoint(t, cfg), Payloads: payloads(t),
			Duration: 20 * time.Second, OutputPath: "testdata", TestName: "sweep"}, Rates: []float64{0.5, 1, 2, 3, 4}}
		if _, err := sw.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// Loaders of the fixtures.

func loadRun(t testing.TB) *llmeter.Result {
	t.Helper()
	res, err := llmeter.LoadResult(filepath.Join("testdata", "run"), llmeter.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func loadLoadTest(t testing.TB) *experiment.LoadTestResult {
	t.Helper()
	lt, err := experiment.LoadLoadTest(filepath.Join("testdata", "loadtest"), llmeter.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

func loadHeatmap(t testing.TB) *experiment.HeatmapResult {
	t.Helper()
	res, err := llmeter.LoadResult(filepath.Join("testdata", "heatmap"), llmeter.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &experiment.HeatmapResult{Result: res}
}

var sweepRates = []float64{0.5, 1, 2, 3, 4}

func loadSweep(t testing.TB) *experiment.SweepResult {
	t.Helper()
	s := &experiment.SweepResult{Results: map[float64]*llmeter.Result{}, TestName: "sweep"}
	for _, r := range sweepRates {
		res, err := llmeter.LoadResult(filepath.Join("testdata", "sweep", experiment.RateLevelName(r)), llmeter.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Rates = append(s.Rates, r)
		s.Results[r] = res
	}
	return s
}

// loadCapacity rebuilds a capacity search from the sweep's levels, as if
// they had been its probes.
func loadCapacity(t testing.TB, slos ...llmeter.SLO) *experiment.CapacityResult {
	t.Helper()
	s := loadSweep(t)
	c := &experiment.CapacityResult{TestName: "capacity"}
	for _, r := range []float64{0.5, 4, 2, 3} { // the order a search would probe
		p := &experiment.Probe{Rate: r, Result: s.Results[r], Pass: true, Values: map[string]float64{}}
		for _, o := range slos {
			v, found, ok := o.Check(p.Result)
			if found {
				p.Values[o.String()] = v
			}
			if !ok {
				p.Pass = false
				p.Failed = append(p.Failed, o.String())
			}
		}
		c.Probes = append(c.Probes, p)
	}
	for _, p := range c.Bracket() {
		if p.Pass && c.Fail == nil {
			c.Pass, c.Capacity = p, p.Rate
		} else if !p.Pass && c.Fail == nil {
			c.Fail = p
		}
	}
	if c.Fail == nil && !slices.ContainsFunc(c.Probes, func(p *experiment.Probe) bool { return !p.Pass }) {
		c.Converged = true
	}
	return c
}
