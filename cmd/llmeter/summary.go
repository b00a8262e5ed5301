package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/progress"
)

// statsJSON is the stats as stats.json writes them: one key per line,
// indented by four spaces, in the stats' order.
func statsJSON(st *llmeter.Stats) ([]byte, error) {
	b, err := llmeter.MarshalJSONValue(st)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "    "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// infoKeys are the run's description (summary.json's keys and
// "interrupted"), shown above the statistics.
var infoKeys = map[string]bool{"interrupted": true}

func init() {
	for _, k := range llmeter.SummaryKeys {
		infoKeys[k] = true
	}
}

// distKey matches the keys of a distribution's summary: "<metric>-average"
// and "<metric>-p<N>".
var distKey = regexp.MustCompile(`^(.+)-(average|max|p[0-9]+)$`)

// Groups of the summary table, in order (LLMeter's live display groups,
// with TPOT on its own line as in LLMeter's report).
var summaryGroups = []string{progress.GroupThroughput, progress.GroupTTFT, progress.GroupTTLT, "TPOT", "ITL",
	groupSchedule, groupGoodput, progress.GroupTokens, progress.GroupErrors, groupCost, progress.GroupOther}

const (
	groupSchedule = "Schedule"
	groupGoodput  = "Goodput"
	groupCost     = "Cost"
)

// noteKeys are stats whose values are sentences: printed below the table.
var noteKeys = map[string]string{
	"server_saturated":       "The server is saturated: ",
	"load_generator_warning": "Warning: ",
}

// summaryGroup returns the group of a stat key (for a distribution, of its
// metric name).
func summaryGroup(key string) string {
	switch {
	case strings.Contains(key, "_from_schedule"), strings.HasPrefix(key, llmeter.MetricScheduleLag),
		key == "late_requests", key == "requests_not_sent", key == "requests_queued_at_cap",
		strings.HasSuffix(key, "asked_rate"), strings.HasPrefix(key, "asked_rate"), key == "achieved_rate":
		return groupSchedule
	case strings.HasPrefix(key, "goodput"):
		return groupGoodput
	case strings.HasPrefix(key, "cost_"):
		return groupCost
	case key == llmeter.MetricITL:
		return "ITL"
	case key == llmeter.MetricTTFT:
		return progress.GroupTTFT
	case key == llmeter.MetricTTLT:
		return progress.GroupTTLT
	case key == llmeter.MetricTPOT:
		return "TPOT"
	case strings.HasPrefix(key, "failed_requests"), key == "callback_errors":
		return progress.GroupErrors
	case strings.Contains(key, "_per_minute"), strings.Contains(key, "tps"):
		return progress.GroupThroughput
	case strings.Contains(key, "tokens"):
		return progress.GroupTokens
	}
	return progress.GroupOther
}

// formatStat formats a value of the summary: LLMeter's rules (see
// progress.FormatValue), except that error counts are counts, the failure
// rate a percentage, and other stats (a callback's cost_*) keep six
// significant digits.
func formatStat(key string, v any) string {
	group := summaryGroup(key)
	if m := distKey.FindStringSubmatch(key); m != nil {
		group = summaryGroup(m[1])
	}
	metric := key
	if m := distKey.FindStringSubmatch(key); m != nil {
		metric = m[1]
	}
	switch {
	case metric == llmeter.MetricITL || metric == llmeter.MetricScheduleLag:
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', 4, 64) + "s"
		}
	case strings.HasSuffix(key, "_rate") && group == groupSchedule:
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', 2, 64) + "/s"
		}
	case key == "goodput_rate", key == "client_cpu_utilization":
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
		}
	case group == progress.GroupOther || group == groupCost:
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'g', 6, 64)
		}
	case key == "failed_requests_rate":
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
		}
	case group == progress.GroupErrors:
		if n, ok := v.(int); ok {
			return strconv.Itoa(n)
		}
	}
	return progress.FormatValue(key, v, false)
}

// writeSummary prints the run's description and its statistics as a table:
// one row per scalar stat and one per distribution (its average and
// percentiles in columns), grouped like LLMeter's live display.
func writeSummary(w io.Writer, st *llmeter.Stats) {
	get := func(k string) any { v, _ := st.Get(k); return v }
	str := func(k string) string {
		switch v := get(k).(type) {
		case nil:
			return ""
		case time.Time:
			return llmeter.FormatTimestamp(v)
		default:
			return fmt.Sprint(v)
		}
	}
	status := "completed"
	if get("interrupted") == true {
		status = "interrupted"
	}
	name := str("run_name")
	if name == "" {
		name = "(no name)"
	}
	fmt.Fprintf(w, "Run %s (%s)\n", name, status)
	info := &table{right: []bool{false, false}}
	add := func(label, value string) {
		if value != "" {
			info.rows = append(info.rows, []string{label, value})
		}
	}
	add("folder", str("output_path"))
	add("description", str("run_description"))
	model := str("model_id")
	var via []string
	if s := str("endpoint_name"); s != "" {
		via = append(via, "endpoint "+s)
	}
	if s := str("provider"); s != "" {
		via = append(via, "provider "+s)
	}
	if len(via) > 0 {
		model += " (" + strings.Join(via, ", ") + ")"
	}
	add("model", strings.TrimSpace(model))
	requests := str("total_requests")
	if rate := get("asked_rate"); rate != nil {
		requests += fmt.Sprintf(", open loop at %s/s asked (at most %s in flight)", str("asked_rate"), str("clients"))
	} else if c := str("clients"); c != "" {
		requests += " from " + c + " clients"
		if n := str("n_requests"); n != "" {
			requests += " (" + n + " each)"
		}
	}
	add("requests", requests)
	testTime := progress.FormatValue("total_test_time", get("total_test_time"), false)
	if s, e := str("start_time"), str("end_time"); s != "" && e != "" {
		testTime += ", from " + s + " to " + e
	}
	add("test time", testTime)
	if get(insecureStat) == true {
		add("warning", "TLS certificates were not verified (--insecure)")
	}
	info.write(w, "  ")

	// One row per scalar stat, one per distribution.
	type row struct {
		key  string
		cols map[string]any // "" for a scalar, else "average", "p50", …
	}
	var rows []*row
	byMetric := map[string]*row{}
	var columns []string
	var notes []string
	for _, k := range st.Keys() {
		if infoKeys[k] {
			continue
		}
		if prefix, ok := noteKeys[k]; ok {
			notes = append(notes, prefix+str(k))
			continue
		}
		v := get(k)
		if m := distKey.FindStringSubmatch(k); m != nil {
			r := byMetric[m[1]]
			if r == nil {
				r = &row{key: m[1], cols: map[string]any{}}
				byMetric[m[1]] = r
				rows = append(rows, r)
			}
			r.cols[m[2]] = v
			if !slices.Contains(columns, m[2]) {
				columns = append(columns, m[2])
			}
			continue
		}
		rows = append(rows, &row{key: k, cols: map[string]any{"": v}})
	}
	if len(rows) == 0 {
		return
	}
	// average first, then the percentiles in increasing order
	slices.SortStableFunc(columns, func(a, b string) int { return colRank(a) - colRank(b) })
	t := &table{right: []bool{false, false}}
	head := []string{"", ""}
	for _, c := range columns {
		head = append(head, c)
		t.right = append(t.right, true)
	}
	if len(columns) == 0 {
		t.right = append(t.right, true)
	}
	t.rows = append(t.rows, head)
	for _, g := range summaryGroups {
		first := true
		label := func() string {
			if first {
				first = false
				return g
			}
			return ""
		}
		for _, r := range rows {
			if summaryGroup(r.key) != g {
				continue
			}
			if v, ok := r.cols[""]; ok {
				t.rows = append(t.rows, []string{label(), r.key, formatStat(r.key, v)})
				continue
			}
			cells := []string{label(), r.key}
			inverse := []string{"", "1/" + r.key}
			for _, c := range columns {
				v, ok := r.cols[c]
				if !ok {
					cells = append(cells, "")
					inverse = append(inverse, "")
					continue
				}
				cells = append(cells, formatStat(r.key+"-"+c, v))
				inverse = append(inverse, progress.FormatValue(r.key+"-"+c, v, true))
			}
			t.rows = append(t.rows, cells)
			if r.key == llmeter.MetricTPOT {
				// LLMeter's p50_tps: the time per output token as a speed
				t.rows = append(t.rows, inverse)
			}
		}
	}
	fmt.Fprintln(w)
	t.write(w, "")
	for _, n := range notes {
		fmt.Fprintf(w, "\n%s\n", n)
	}
}

// colRank orders the distribution columns: average, then p1…p99.
func colRank(c string) int {
	switch c {
	case "average":
		return -1
	case "max":
		return 1000
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(c, "p"))
	return n
}

// table is a text table: columns two spaces apart, each aligned left or
// right.
type table struct {
	rows  [][]string
	right []bool
}

func (t *table) write(w io.Writer, indent string) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], ansi.StringWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		b.Reset()
		b.WriteString(indent)
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-ansi.StringWidth(c))
			if i < len(t.right) && t.right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
