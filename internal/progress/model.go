package progress

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/llmeter-go/llmeter"
)

// Missing is shown for a statistic that has no value yet (LLMeter's "—").
const Missing = "—"

// DisplayStat is one statistic of the live display: its label, the stat key
// it shows, and whether the value is inverted (1/v: the time per output token
// shown as tokens per second).
type DisplayStat struct {
	Label  string
	Key    string
	Invert bool
}

// DefaultDisplayStats are LLMeter's DEFAULT_DISPLAY_STATS, in order.
var DefaultDisplayStats = []DisplayStat{
	{Label: "rpm", Key: "requests_per_minute"},
	{Label: "output_tps", Key: "output_tps"},
	{Label: "p50_ttft", Key: "time_to_first_token-p50"},
	{Label: "p90_ttft", Key: "time_to_first_token-p90"},
	{Label: "p50_ttlt", Key: "time_to_last_token-p50"},
	{Label: "p90_ttlt", Key: "time_to_last_token-p90"},
	{Label: "p50_tps", Key: "time_per_output_token-p50", Invert: true},
	{Label: "input_tokens", Key: "total_input_tokens"},
	{Label: "output_tokens", Key: "total_output_tokens"},
	{Label: "fail", Key: "failed_requests"},
}

// Groups of the display, in the order they are drawn.
const (
	GroupThroughput = "Throughput"
	GroupTTFT       = "TTFT"
	GroupTTLT       = "TTLT"
	GroupTokens     = "Tokens"
	GroupErrors     = "Errors"
	GroupOther      = "Other"
)

var groupOrder = []string{GroupThroughput, GroupTTFT, GroupTTLT, GroupTokens, GroupErrors, GroupOther}

// Group returns the group of a display label, by LLMeter's rules: the first
// of these substrings found in the label, ignoring case: "rpm" or "tps" →
// Throughput, "ttft" → TTFT, "ttlt" → TTLT, "token" → Tokens, "fail" →
// Errors; else Other.
func Group(label string) string {
	l := strings.ToLower(label)
	switch {
	case strings.Contains(l, "rpm"), strings.Contains(l, "tps"):
		return GroupThroughput
	case strings.Contains(l, "ttft"):
		return GroupTTFT
	case strings.Contains(l, "ttlt"):
		return GroupTTLT
	case strings.Contains(l, "token"):
		return GroupTokens
	case strings.Contains(l, "fail"):
		return GroupErrors
	}
	return GroupOther
}

// FormatValue formats the value v of the stat key by LLMeter's rules,
// checked in order on the key: inverted and v > 0 → "{1/v:.1f} tok/s"; key
// contains "tps" → "{v:.1f} tok/s"; contains "time", "ttft" or "ttlt" →
// "{v:.3f}s"; contains "_per_minute" → "{v:.1f}"; an integer → "{v}"; else
// "{v:.1f}". nil or NaN is Missing; a value that is not a number is shown
// as is.
//
// Unlike LLMeter's display, which converts every value to float first, an
// integer value (a count) is shown as an integer.
func FormatValue(key string, v any, invert bool) string {
	if v == nil {
		return Missing
	}
	var f float64
	isInt := false
	switch x := v.(type) {
	case int:
		f, isInt = float64(x), true
	case int64:
		f, isInt = float64(x), true
	case float64:
		f = x
	case float32:
		f = float64(x)
	default:
		return fmt.Sprint(v)
	}
	if math.IsNaN(f) {
		return Missing
	}
	switch {
	case invert && f > 0:
		return strconv.FormatFloat(1/f, 'f', 1, 64) + " tok/s"
	case strings.Contains(key, "tps"):
		return strconv.FormatFloat(f, 'f', 1, 64) + " tok/s"
	case strings.Contains(key, "time"), strings.Contains(key, "ttft"), strings.Contains(key, "ttlt"):
		return strconv.FormatFloat(f, 'f', 3, 64) + "s"
	case strings.Contains(key, "_per_minute"):
		return strconv.FormatFloat(f, 'f', 1, 64)
	case isInt:
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

type item struct{ label, value string }

// StatsLines returns the live statistics, one line per non-empty group in
// LLMeter's order: "  <Group>: label=value  label=value". Stats may be nil
// (every value Missing). The Errors group ends with the count of every
// error class that occurred ("http_429=2").
func StatsLines(st *llmeter.Stats, specs []DisplayStat) []string {
	groups := map[string][]item{}
	get := func(key string) any {
		if st == nil {
			return nil
		}
		v, _ := st.Get(key)
		return v
	}
	for _, s := range specs {
		g := Group(s.Label)
		groups[g] = append(groups[g], item{s.Label, FormatValue(s.Key, get(s.Key), s.Invert)})
	}
	if len(groups[GroupErrors]) > 0 {
		for _, c := range llmeter.ErrorClasses {
			if n, ok := get("failed_requests_" + c).(int); ok && n > 0 {
				groups[GroupErrors] = append(groups[GroupErrors], item{c, strconv.Itoa(n)})
			}
		}
	}
	var lines []string
	for _, g := range groupOrder {
		items := groups[g]
		if len(items) == 0 {
			continue
		}
		var b strings.Builder
		b.WriteString("  ")
		b.WriteString(g)
		b.WriteString(":")
		for i, it := range items {
			if i == 0 {
				b.WriteString(" ")
			} else {
				b.WriteString("  ")
			}
			b.WriteString(it.label)
			b.WriteString("=")
			b.WriteString(it.value)
		}
		lines = append(lines, b.String())
	}
	return lines
}

// Lines returns the block to draw for p, each line at most width columns
// wide (no limit if width ≤ 0): the progress bar (see Bar); once no more
// requests are sent (p.Sending is false, or a time-bound run's time is up),
// how many are still in flight ("Waiting for N requests in flight") and how
// many responses wait to be processed ("Processing backlog: N responses");
// for a time-bound
// run the number of responses so far ("  reqs=N"); then the live statistics
// (see StatsLines with DefaultDisplayStats).
func Lines(p llmeter.Progress, width int) []string {
	lines := []string{Bar(p, width)}
	// A time-bound run sends nothing after its time, though Sending turns
	// false only when every client has returned.
	stopping := !p.Sending || (p.Duration > 0 && p.Elapsed >= p.Duration)
	if stopping && p.InFlight > 0 {
		lines = append(lines, fmt.Sprintf("Waiting for %d %s in flight", p.InFlight, plural(p.InFlight, "request", "requests")))
	}
	if stopping && p.Backlog > 0 {
		lines = append(lines, fmt.Sprintf("Processing backlog: %d %s", p.Backlog, plural(p.Backlog, "response", "responses")))
	}
	if p.Duration > 0 {
		lines = append(lines, "  reqs="+strconv.Itoa(p.Done))
	}
	lines = append(lines, StatsLines(p.Stats, DefaultDisplayStats)...)
	for i, l := range lines {
		lines[i] = fit(l, width)
	}
	return lines
}

// barMax is the widest the bar itself gets.
const barMax = 40

// Bar returns the progress bar line, tqdm style, at most width columns
// wide. A count-bound run shows requests done out of the total, with the
// time left estimated from the pace so far:
//
//	Total requests:  50%|██████████          | 16/32 [00:02<00:02, 8.0 req/s]
//
// A time-bound run shows whole seconds elapsed out of its duration:
//
//	Elapsed:  37%|███████▌            | 3/8 s [00:03<00:05, 9.3 req/s]
//
// The bar is left out when the width leaves no room for it.
func Bar(p llmeter.Progress, width int) string {
	var desc, count, eta string
	var frac float64
	if p.Duration > 0 {
		desc = "Elapsed"
		frac = p.Elapsed.Seconds() / p.Duration.Seconds()
		shown := min(p.Elapsed, p.Duration)
		count = strconv.Itoa(int(shown.Seconds())) + "/" + strconv.FormatFloat(p.Duration.Seconds(), 'f', -1, 64) + " s"
		eta = clock(max(p.Duration-p.Elapsed, 0))
	} else {
		desc = "Total requests"
		if p.Total > 0 {
			frac = float64(p.Done) / float64(p.Total)
		}
		count = strconv.Itoa(p.Done) + "/" + strconv.Itoa(p.Total)
		switch {
		case p.Done >= p.Total:
			eta = clock(0)
		case p.Done > 0:
			eta = clock(time.Duration(float64(p.Elapsed) * float64(p.Total-p.Done) / float64(p.Done)))
		default:
			eta = "?"
		}
	}
	if p.Final {
		eta = clock(0)
	}
	frac = min(max(frac, 0), 1)
	rate := "? req/s"
	if p.Elapsed > 0 {
		rate = strconv.FormatFloat(float64(p.Done)/p.Elapsed.Seconds(), 'f', 1, 64) + " req/s"
	}
	head := fmt.Sprintf("%s: %3.0f%%", desc, math.Floor(frac*100))
	tail := fmt.Sprintf(" %s [%s<%s, %s]", count, clock(p.Elapsed), eta, rate)
	barWidth := barMax
	if width > 0 {
		barWidth = min(barMax, width-ansi.StringWidth(head)-ansi.StringWidth(tail)-2)
	}
	if barWidth < 5 {
		return fit(head+tail, width)
	}
	return head + "|" + bar(frac, barWidth) + "|" + tail
}

// partial are the eighth blocks tqdm draws the bar's tip with.
var partial = []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// bar draws frac (0..1) of width cells.
func bar(frac float64, width int) string {
	eighths := int(frac * float64(width) * 8)
	full := eighths / 8
	var b strings.Builder
	b.WriteString(strings.Repeat("█", full))
	cells := full
	if full < width {
		if tip := partial[eighths%8]; tip != "" {
			b.WriteString(tip)
			cells++
		}
	}
	b.WriteString(strings.Repeat(" ", width-cells))
	return b.String()
}

// clock formats d as tqdm does: mm:ss, or h:mm:ss from one hour on.
func clock(d time.Duration) string {
	s := int(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// fit cuts s to width columns, ending in "…" when cut.
func fit(s string, width int) string {
	if width <= 0 || ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
