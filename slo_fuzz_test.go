package llmeter

import (
	"math"
	"testing"
)

// FuzzParseSLO parses arbitrary objectives. One that parses names a metric
// and a number, and its canonical form (String without the original text)
// parses back to the same objective.
func FuzzParseSLO(f *testing.F) {
	for _, s := range []string{"ttft.p90<500ms", "tpot.p99<0.05", "ttlt<2s", "ttft.avg<300ms",
		"failed_requests_rate<0.01", "goodput_rate>0.95", "e2e.mean<=1e3", " itl . p50 < 1h ", "x.p100<1",
		"lag>-0", "a.b.c<+Inf", "<1", "x<", "ttft.p0<1", "ttft<NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		slo, err := ParseSLO(s)
		if err != nil {
			return
		}
		if slo.Metric == "" {
			t.Errorf("ParseSLO(%q): no metric", s)
		}
		bound := slo.Max
		if slo.Min != nil {
			bound = *slo.Min
		}
		if math.IsNaN(bound) {
			t.Fatalf("ParseSLO(%q): bound NaN", s)
		}
		canon := slo
		canon.Text = ""
		again, err := ParseSLO(canon.String())
		if err != nil {
			t.Fatalf("ParseSLO(%q) = %+v, whose form %q does not parse: %v", s, slo, canon.String(), err)
		}
		again.Text = ""
		if again.String() != canon.String() {
			t.Errorf("ParseSLO(%q): canonical form %q parses back as %q", s, canon.String(), again.String())
		}
	})
}
