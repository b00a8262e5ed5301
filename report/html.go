package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// The embedded charting library: Apache ECharts (Apache-2.0; licence and
// notice in assets/, version in assets/VERSION, refreshed by
// scripts/report/refresh.sh).
var (
	//go:embed assets/echarts.min.js
	echartsJS string
	//go:embed assets/VERSION
	echartsVersion string
	//go:embed assets/report.js
	reportJS string
)

// LibraryVersion is the version of the embedded charting library.
func LibraryVersion() string {
	v, _, _ := strings.Cut(echartsVersion, "\n")
	return v
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="llmeter report ({{.Library}})">
<title>{{.R.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 2em; color: #222; }
h1 { font-size: 1.5em; }
.notes { color: #555; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(540px, 1fr)); gap: 1em; }
.chart { height: 440px; border: 1px solid #ddd; border-radius: 4px; }
.chart.tall { height: 600px; }
.table { overflow-x: auto; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
footer { margin-top: 2em; color: #888; font-size: 0.8em; }
</style>
</head>
<body>
<h1>{{.R.Title}}</h1>
{{range .R.Notes}}<p class="notes">{{.}}</p>
{{end}}<div class="charts">
{{range .R.Charts}}<div class="chart{{if .Tall}} tall{{end}}" id="chart-{{.ID}}" data-kind="{{.Kind}}"></div>
{{end}}</div>
{{range .R.Tables}}<h2>{{.Title}}</h2>
<div class="table"><table id="table-{{.ID}}">
<thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{end}}<footer>Made by llmeter with {{.Library}} (Apache License 2.0). Drag or scroll on a chart to zoom; click a legend entry to hide its series.</footer>
<script>{{.Lib}}</script>
<script>window.llmeterData = {{.Data}};</script>
<script>{{.JS}}</script>
</body>
</html>
`))

// WriteHTML writes the report as one self-contained HTML page: the data,
// the charting library and the code that draws the charts are inline, so
// the page opens offline and makes no request.
func (r *Report) WriteHTML(w io.Writer) error {
	data, err := json.Marshal(r) // escapes <, > and & for HTML
	if err != nil {
		return fmt.Errorf("report: encode data: %w", err)
	}
	err = page.Execute(w, map[string]any{
		"R": r, "Library": LibraryVersion(), "Data": template.JS(data),
		"Lib": template.JS(echartsJS), "JS": template.JS(reportJS),
	})
	if err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}
