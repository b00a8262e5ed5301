// Package report turns results into charts: a self-contained interactive
// HTML page (one file, opens offline, charts drawn by an embedded copy of
// Apache ECharts) and PNG or SVG images of every chart (drawn in pure Go by
// gonum.org/v1/plot).
//
// A Report is built from a result — Run, LoadTest, Heatmap, Sweep,
// Capacity, or CompareRuns after Compare — as a list of Charts and Tables. The Chart is the data model the
// HTML page and the images share: series of points, box-plot summaries,
// histogram bins or heatmap cells, already computed in Go, so that both
// outputs show the same numbers and the data can be golden-tested as JSON.
//
// Compare puts runs side by side: bootstrap confidence intervals of their
// percentiles and a verdict per metric (faster, slower or no significant
// difference at 95%), flagging percentiles computed from too few samples.
//
// The charting library is Apache ECharts (Apache-2.0), pinned in
// assets/VERSION and refreshed by scripts/report/refresh.sh; its licence and
// notice are kept beside it in assets/.
//
//	rep := report.Run(res)
//	f, _ := os.Create("report.html")
//	err := rep.WriteHTML(f)
//	files, err := rep.WritePNGs("charts")
package report
