package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/experiment"
	"gonum.org/v1/plot/vg/vgimg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func mustSLO(t testing.TB, s string) llmeter.SLO {
	t.Helper()
	o, err := llmeter.ParseSLO(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// reports are the reports of every fixture, by name.
func reports(t testing.TB) map[string]*Report {
	slos := []llmeter.SLO{mustSLO(t, "ttft.p90<1s"), mustSLO(t, "ttlt.p99<4s")}
	return map[string]*Report{
		"run":      Run(loadRun(t)),
		"loadtest": LoadTest(loadLoadTest(t)),
		"heatmap":  Heatmap(loadHeatmap(t), 10, 10),
		"sweep":    Sweep(loadSweep(t), slos...),
		"capacity": Capacity(loadCapacity(t, mustSLO(t, "ttft.p90<0.5s"), slos[1])),
		"compare":  compareReport(t),
	}
}

func compareReport(t testing.TB) *Report {
	lt := loadLoadTest(t)
	runs := []*llmeter.Result{lt.Results[1], lt.Results[4], lt.Results[16]}
	cmp, err := Compare(CompareOptions{Seed: 1}, runs...)
	if err != nil {
		t.Fatal(err)
	}
	return CompareRuns(cmp, runs...)
}

// The chart data (series, bins, boxes, cells, axis titles) is golden:
// go test ./report -run Golden -update rewrites it.
func TestGolden(t *testing.T) {
	for name, rep := range reports(t) {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Errorf("%s: line %d is\n%s\nwant\n%s\n(go test ./report -run Golden -update rewrites the golden file)", path, i+1, gl[i], wl[i])
						return
					}
				}
				t.Errorf("%s: %d lines, want %d", path, len(gl), len(wl))
			}
		})
	}
}

// The charts each report must have, with their kinds.
func TestChartsOfEachReport(t *testing.T) {
	want := map[string][]string{
		"run": {"box_time_to_first_token", "histogram_time_to_first_token", "box_time_to_last_token", "histogram_time_to_last_token",
			"box_time_per_output_token", "histogram_time_per_output_token", "box_num_tokens_input", "histogram_num_tokens_input",
			"box_num_tokens_output", "histogram_num_tokens_output", "scatter_time_per_output_token_vs_num_tokens_output", "timeline"},
		"loadtest": {"error_rate", "requests_per_minute", "average_input_tokens_clients", "average_output_tokens_clients",
			"time_to_first_token", "time_to_last_token", "output_tps_vs_ttft_p90"},
		"heatmap":  {"heatmap_time_to_first_token", "heatmap_time_to_last_token"},
		"sweep":    {"latency_vs_rate", "latency_from_schedule_vs_rate", "achieved_vs_offered", "slo_1", "slo_2"},
		"capacity": {"slo_1", "slo_2"},
		"compare":  {"compare_time_to_first_token", "compare_time_to_last_token", "compare_time_per_output_token"},
	}
	for name, rep := range reports(t) {
		var ids []string
		for _, c := range rep.Charts {
			ids = append(ids, c.ID)
			if c.Title == "" || c.XTitle == "" || c.YTitle == "" {
				t.Errorf("%s/%s: missing title or axis title: %q %q %q", name, c.ID, c.Title, c.XTitle, c.YTitle)
			}
			total := 0
			for _, s := range c.Series {
				total += s.Len()
			}
			if total == 0 {
				t.Errorf("%s/%s: no data", name, c.ID)
			}
		}
		if strings.Join(ids, " ") != strings.Join(want[name], " ") {
			t.Errorf("%s charts:\n got %v\nwant %v", name, ids, want[name])
		}
	}
}

func TestRunCharts(t *testing.T) {
	res := loadRun(t)
	rep := Run(res)
	ok, failed := 0, 0
	for _, r := range res.Responses {
		if r.Failed() {
			failed++
		} else if r.TimeToLastToken != nil {
			ok++
		}
	}
	if failed == 0 {
		t.Fatal("the run fixture has no failures")
	}
	tl := rep.Chart("timeline")
	if got := len(tl.Series[0].Points); got != ok {
		t.Errorf("timeline: %d successful points, want %d", got, ok)
	}
	if got := len(tl.Series[2].Points); got != failed || !tl.Series[2].Error {
		t.Errorf("timeline: %d failed points (error series %v), want %d", got, tl.Series[2].Error, failed)
	}
	// The box plot's median is the run's p50.
	p50, _ := res.Stats().Float("time_to_first_token-p50")
	if b := rep.Chart("box_time_to_first_token").Series[0].Boxes[0]; b.Median != p50 {
		t.Errorf("box median %v, want the p50 %v", b.Median, p50)
	}
	// Histograms count every value once and their fractions sum to 1.
	for _, d := range DefaultDimensions {
		h := rep.Chart("histogram_" + d).Series[0]
		n, sum := 0, 0.0
		for _, b := range h.Bins {
			n += b.Count
			sum += b.Fraction
			if !(b.Hi > b.Lo) {
				t.Errorf("%s: empty bin %+v", d, b)
			}
		}
		if want := len(values(successful(res.Responses), d)); n != want || (n > 0 && (sum < 0.999 || sum > 1.001)) {
			t.Errorf("%s: bins hold %d values (fractions sum %v), want %d", d, n, sum, want)
		}
	}
	if rep.Tables[0].Rows[0][0] != "total_requests" {
		t.Errorf("stats table starts with %v", rep.Tables[0].Rows[0])
	}
}

func TestHeatmapBinning(t *testing.T) {
	h := loadHeatmap(t)
	// 3 input lengths and 4 output lengths: exact values with 10 bins.
	c := Heatmap(h, 10, 10).Chart("heatmap_time_to_first_token")
	if got := strings.Join(c.Categories, ","); got != "10,50,200" {
		t.Errorf("x categories %s, want the exact input lengths", got)
	}
	if got := strings.Join(c.YCategories, ","); got != "16,64,128,256" {
		t.Errorf("y categories %s, want the exact output lengths", got)
	}
	if n := len(c.Series[0].Cells); n != 12 {
		t.Errorf("%d cells, want 12", n)
	}
	for _, cl := range c.Series[0].Cells {
		if cl.Count != 2 {
			t.Errorf("cell %+v: count %d, want 2", cl, cl.Count)
		}
	}
	// Fewer bins than values: LLMeter's _cut, width ceil((256-16)/2) = 120.
	c = Heatmap(h, 10, 2).Chart("heatmap_time_to_first_token")
	if got := strings.Join(c.YCategories, " "); got != "[16, 136) [136, 257)" {
		t.Errorf("binned y categories %q", got)
	}
	total := 0
	for _, cl := range c.Series[0].Cells {
		total += cl.Count
	}
	if total != 24 {
		t.Errorf("binned cells hold %d responses, want 24", total)
	}
}

func TestBoxStats(t *testing.T) {
	b := boxStats([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 100})
	if b.N != 10 || b.Median != 5.5 || b.Max != 9 || len(b.Outliers) != 1 || b.Outliers[0] != 100 || b.Min != 1 {
		t.Errorf("boxStats = %+v", b)
	}
	if b := boxStats([]float64{2}); b.Q1 != 2 || b.Q3 != 2 || b.Min != 2 || b.Max != 2 {
		t.Errorf("boxStats of one value = %+v", b)
	}
}

// Every chart exports as a PNG of the expected size that is not blank.
func TestWritePNGs(t *testing.T) {
	dir := t.TempDir()
	for name, rep := range reports(t) {
		files, err := rep.WritePNGs(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(rep.Charts) {
			t.Errorf("%s: %d files for %d charts", name, len(files), len(rep.Charts))
		}
		for _, f := range files {
			checkPNG(t, f)
		}
	}
	if out := os.Getenv("LLMETER_REPORT_PNGS"); out != "" {
		for name, rep := range reports(t) {
			if _, err := rep.WritePNGs(filepath.Join(out, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	wantW, wantH := int(ImageWidth.Dots(vgimg.DefaultDPI)), int(ImageHeight.Dots(vgimg.DefaultDPI))
	if b.Dx() != wantW || b.Dy() != wantH {
		t.Errorf("%s: %v×%v, want %v×%v", path, b.Dx(), b.Dy(), wantW, wantH)
	}
	// Not blank: many non-white pixels and several colours.
	colours := map[[3]uint32]bool{}
	dark := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 12, g >> 12, bl >> 12}] = true
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				dark++
			}
		}
	}
	if dark < b.Dx()*b.Dy()/4/100 || len(colours) < 4 {
		t.Errorf("%s looks blank: %d non-white samples, %d colours", path, dark, len(colours))
	}
}

func TestWriteSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := Run(loadRun(t)).Charts[0].WriteImage(&buf, "svg"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("<svg")) {
		t.Errorf("not an SVG: %.100s", buf.String())
	}
}

// The page is one file: the library and the data are inline, nothing is
// fetched.
func TestWriteHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := Run(loadRun(t)).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, bad := range []string{"<script src", "<link", "http://", "https://cdn", "@import"} {
		if strings.Contains(strings.ReplaceAll(s, echartsJS, ""), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if !strings.Contains(s, echartsJS[:200]) || !strings.Contains(s, "window.llmeterData = {") {
		t.Error("library or data not inline")
	}
}

// Empty results give empty charts, not failures.
func TestEmpty(t *testing.T) {
	dir := t.TempDir()
	for name, rep := range map[string]*Report{
		"run":      Run(&llmeter.Result{}),
		"heatmap":  Heatmap(&experiment.HeatmapResult{}, 0, 0),
		"loadtest": LoadTest(&experiment.LoadTestResult{Results: map[int]*llmeter.Result{1: {}}}),
	} {
		if err := rep.WriteHTML(io.Discard); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := rep.WritePNGs(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
