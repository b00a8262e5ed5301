package report

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var screenshots = flag.String("screenshots", "", "save full-page screenshots of the browser test's pages in this folder")

// chromium finds a headless-capable Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LLMETER_CHROMIUM"); p != "" {
		return p
	}
	// Debian's /usr/bin/chromium is a shell wrapper that fails to start
	// under chromedp; the binary behind it works.
	if _, err := os.Stat("/usr/lib/chromium/chromium"); err == nil {
		return "/usr/lib/chromium/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (install Debian's chromium, or set LLMETER_CHROMIUM): the HTML reports were not checked in a browser")
	return ""
}

// Each report opens in headless Chromium with no JavaScript error and no
// request leaving the page; every chart is drawn with the number of points
// the model has, and the interactions (hover, zoom, legend toggle) work.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		t.Skipf("cannot start %s: %v", exe, err)
	}
	all := reports(t)
	for _, name := range []string{"run", "loadtest", "heatmap", "sweep", "capacity", "compare"} {
		t.Run(name, func(t *testing.T) { checkInBrowser(t, bctx, name, all[name]) })
	}
}

func checkInBrowser(t *testing.T, bctx context.Context, name string, rep *Report) {
	path := filepath.Join(t.TempDir(), name+".html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	url := "file://" + path

	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	log := watch(t, ctx, url)
	err = chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`window.llmeterReady === true`, chromedp.WithPollingTimeout(30*time.Second)),
	)
	if err != nil {
		t.Fatalf("open %s: %v (JS errors: %v)", name, err, log.errors())
	}

	// What ECharts drew: per chart, the data length of each series by id,
	// and the size of its canvas.
	const probe = `(() => {
	  const out = {};
	  for (const [id, c] of Object.entries(window.llmeterCharts)) {
	    const o = c.getOption();
	    const series = {};
	    for (const s of o.series) series[s.id] = (s.data || []).length;
	    const cv = document.querySelector('#chart-' + id + ' canvas');
	    out[id] = {series, width: cv ? cv.width : 0, height: cv ? cv.height : 0, title: o.title[0].text};
	  }
	  return out;
	})()`
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]struct {
		Series        map[string]int `json:"series"`
		Width, Height int
		Title         string
	}](probe))
	if err != nil {
		t.Fatal(err)
	}
	if len(drawn) != len(rep.Charts) {
		t.Errorf("%d charts drawn, want %d", len(drawn), len(rep.Charts))
	}
	for _, c := range rep.Charts {
		d, ok := drawn[c.ID]
		if !ok {
			t.Errorf("chart %s not drawn", c.ID)
			continue
		}
		if d.Width < 300 || d.Height < 200 || d.Title != c.Title {
			t.Errorf("chart %s: canvas %d×%d, title %q", c.ID, d.Width, d.Height, d.Title)
		}
		for i, s := range c.Series {
			id := fmt.Sprintf("s%d", i)
			if got := d.Series[id]; got != s.Len() {
				t.Errorf("chart %s series %q: %d points drawn, want %d", c.ID, s.Name, got, s.Len())
			}
			if c.Kind == KindBox {
				out := 0
				for _, b := range s.Boxes {
					out += len(b.Outliers)
				}
				if got := d.Series[id+"-outliers"]; got != out {
					t.Errorf("chart %s series %q: %d outliers drawn, want %d", c.ID, s.Name, got, out)
				}
			}
		}
	}

	// Interactions: hover the first point, toggle the first series off in
	// the legend, zoom in, restore.
	const interact = `(() => {
	  const res = {};
	  for (const [id, c] of Object.entries(window.llmeterCharts)) {
	    const o = c.getOption();
	    c.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0});
	    // The tooltip is a div that ECharts adds to the chart's element.
	    const tip = [...document.querySelectorAll('#chart-' + id + ' div')].find(d =>
	      d.style.position === 'absolute' && d.style.display !== 'none' && d.style.zIndex === '9999999' && d.textContent.trim() !== '');
	    const tipText = tip ? tip.textContent : '';
	    let toggled = null;
	    if (o.legend && o.legend.length) {
	      const name = o.series[0].name;
	      c.dispatchAction({type: 'legendUnSelect', name: name});
	      toggled = c.getOption().legend[0].selected[name] === false;
	      c.dispatchAction({type: 'legendSelect', name: name});
	    }
	    if (o.dataZoom && o.dataZoom.length) c.dispatchAction({type: 'dataZoom', start: 20, end: 80});
	    const zoomed = o.dataZoom && o.dataZoom.length ? c.getOption().dataZoom[0].start === 20 : null;
	    c.dispatchAction({type: 'restore'});
	    c.dispatchAction({type: 'hideTip'});
	    res[id] = {toggled, zoomed, tip: tipText};
	  }
	  return res;
	})()`
	inter, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]struct {
		Toggled, Zoomed *bool
		Tip             string
	}](interact))
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range inter {
		if r.Toggled != nil && !*r.Toggled {
			t.Errorf("chart %s: the legend did not toggle the series", id)
		}
		if os.Getenv("LLMETER_LOG_TIPS") != "" {
			t.Logf("%s tooltip: %q", id, r.Tip)
		}
		if r.Tip == "" {
			t.Errorf("chart %s: hovering the first point shows no tooltip", id)
		}
		if r.Zoomed != nil && !*r.Zoomed {
			t.Errorf("chart %s: zoom had no effect", id)
		}
	}

	if *screenshots != "" {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(*screenshots, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screenshots, name+".html"), mustRead(t, path), 0o644); err != nil {
			t.Fatal(err)
		}
		// Each chart as ECharts renders it.
		urls, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(Object.entries(window.llmeterCharts).map(
			([id, c]) => [id, c.getDataURL({type: 'png', pixelRatio: 1, backgroundColor: '#fff'})]))`))
		if err != nil {
			t.Fatal(err)
		}
		for id, u := range urls {
			b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(u, "data:image/png;base64,"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(*screenshots, name+"-"+id+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if e := log.errors(); len(e) > 0 {
		t.Errorf("JavaScript errors:\n%s", strings.Join(e, "\n"))
	}
	if r := log.requests(); len(r) > 0 {
		t.Errorf("the page made requests: %v", r)
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pageLog collects a page's JavaScript errors (exceptions, console errors
// and warnings) and the requests it makes other than for itself.
type pageLog struct {
	mu   sync.Mutex
	errs []string
	reqs []string
}

func (l *pageLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

func (l *pageLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

func watch(t *testing.T, ctx context.Context, url string) *pageLog {
	t.Helper()
	l := &pageLog{}
	err := chromedp.Listen(ctx, func(ev any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			l.errs = append(l.errs, msg)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				l.errs = append(l.errs, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *network.EventRequestWillBeSent:
			if ev.Request.URL != url {
				l.reqs = append(l.reqs, ev.Request.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return l
}

// The checks see what they are meant to: a page with a script error and a
// request for a remote image fails them.
func TestBrowserCatchesProblems(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		t.Skipf("cannot start %s: %v", exe, err)
	}
	path := filepath.Join(t.TempDir(), "bad.html")
	page := `<!DOCTYPE html><html><body><img src="http://192.0.2.1/x.png"><script>null.x; window.llmeterReady = true;</script>` +
		`<script>window.llmeterReady = true; console.error("boom");</script></body></html>`
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + path
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	log := watch(t, ctx, url)
	if err := chromedp.Do(ctx, chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`window.llmeterReady === true`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the events arrive
	if e := log.errors(); len(e) < 2 {
		t.Errorf("JavaScript errors seen: %q, want the exception and the console error", e)
	}
	if r := log.requests(); len(r) != 1 || !strings.Contains(r[0], "192.0.2.1") {
		t.Errorf("requests seen: %q, want the remote image", r)
	}
}
