package report

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// synthetic is a run of n successful responses whose TTFT is drawn around
// mean seconds.
func synthetic(name string, n int, mean float64, seed uint64) *llmeter.Result {
	rng := rand.New(rand.NewPCG(seed, 1))
	res := &llmeter.Result{RunName: name}
	for range n {
		v := mean * (0.8 + 0.4*rng.Float64())
		res.Responses = append(res.Responses, &llmeter.InvocationResponse{TimeToFirstToken: llmeter.Ptr(v), TimeToLastToken: llmeter.Ptr(2 * v)})
	}
	return res
}

func TestCompareVerdicts(t *testing.T) {
	base := synthetic("base", 600, 1, 1)
	same := synthetic("same", 600, 1, 2)
	fast := synthetic("fast", 600, 0.8, 3)
	slow := synthetic("slow", 40, 1.5, 4)
	cmp, err := Compare(CompareOptions{Metrics: []string{llmeter.MetricTTFT}, Seed: 1}, base, same, fast, slow)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Verdict{"same": NoDifference, "fast": Faster, "slow": Slower}
	for _, rc := range cmp.Runs {
		for _, m := range rc.Metrics {
			if m.Verdict != want[rc.Run] {
				t.Errorf("%s p%d: %s (diff %+v), want %s", rc.Run, m.Percentile, m.Verdict, m.Diff, want[rc.Run])
			}
			if !(m.Candidate.Low <= m.Candidate.Value && m.Candidate.Value <= m.Candidate.High) {
				t.Errorf("%s p%d: value outside its interval: %+v", rc.Run, m.Percentile, m.Candidate)
			}
			wantWarn := rc.Run == "slow" && m.Percentile >= 90
			if (m.Warning != "") != wantWarn {
				t.Errorf("%s p%d: warning %q, want one: %v", rc.Run, m.Percentile, m.Warning, wantWarn)
			}
		}
	}
	// 600 samples: no warning for p99; 40: p90 and p99 flagged.
	if w := cmp.Runs[2].Metrics[2].Warning; !strings.Contains(w, "p99 from 40 samples") {
		t.Errorf("p99 warning %q", w)
	}
	// The same seed gives the same intervals.
	again, _ := Compare(CompareOptions{Metrics: []string{llmeter.MetricTTFT}, Seed: 1}, base, same, fast, slow)
	if again.Runs[0].Metrics[1] != cmp.Runs[0].Metrics[1] {
		t.Errorf("not reproducible: %+v vs %+v", again.Runs[0].Metrics[1], cmp.Runs[0].Metrics[1])
	}
	if _, err := Compare(CompareOptions{}, base); err == nil {
		t.Error("Compare of one run: no error")
	}
}

// On the load test fixture, 16 clients (past the capacity of 4) have a
// slower time to first token than 1 client.
func TestCompareLoadTestLevels(t *testing.T) {
	lt := loadLoadTest(t)
	cmp, err := Compare(CompareOptions{Seed: 1}, lt.Results[1], lt.Results[16])
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cmp.Runs[0].Metrics {
		if m.Metric == llmeter.MetricTTFT && m.Percentile == 50 && m.Verdict != Slower {
			t.Errorf("TTFT p50 at 16 clients vs 1: %s (%+v)", m.Verdict, m.Diff)
		}
		if m.Percentile == 99 && m.Warning == "" {
			t.Errorf("%s p99 from %d samples: no warning", m.Metric, m.NCandidate)
		}
	}
}

// lognormalRun is a run of n successful responses whose TTFT is lognormal
// with median med and log-sd 0.3, as latencies often are.
func lognormalRun(name string, n int, med float64, rng *rand.Rand) *llmeter.Result {
	res := &llmeter.Result{RunName: name}
	for range n {
		v := med * math.Exp(0.3*rng.NormFloat64())
		res.Responses = append(res.Responses, &llmeter.InvocationResponse{TimeToFirstToken: llmeter.Ptr(v), TimeToLastToken: llmeter.Ptr(2 * v)})
	}
	return res
}

// The verdicts hold their stated 95%: over many pairs of runs drawn from
// one distribution, about 5% (at most 10% here) are called different; a
// known 15% shift of the median is detected nearly always.
func TestBootstrapErrorRates(t *testing.T) {
	const trials, n = 100, 200
	rng := rand.New(rand.NewPCG(7, 7))
	falsePos, detected := 0, 0
	for i := range trials {
		a := lognormalRun("a", n, 1, rng)
		same := lognormalRun("same", n, 1, rng)
		slower := lognormalRun("slower", n, 1.25, rng)
		opts := CompareOptions{Metrics: []string{llmeter.MetricTTFT}, Percentiles: []int{50}, Resamples: 400, Seed: uint64(i)}
		cmp, err := Compare(opts, a, same, slower)
		if err != nil {
			t.Fatal(err)
		}
		if cmp.Runs[0].Metrics[0].Verdict != NoDifference {
			falsePos++
		}
		if cmp.Runs[1].Metrics[0].Verdict == Slower {
			detected++
		}
	}
	t.Logf("no difference called different in %d of %d trials; a 25%% shift detected in %d", falsePos, trials, detected)
	if falsePos > trials/10 {
		t.Errorf("no difference: called different in %d of %d trials, want about 5%% (at most 10%%)", falsePos, trials)
	}
	if detected < trials*95/100 {
		t.Errorf("a 25%% shift of the median: detected in %d of %d trials, want at least 95%%", detected, trials)
	}
}
