// Command llmbench measures llmeter's load generator against the simulator,
// side by side with a minimal reference client (see package
// internal/bench). It starts the simulator in a child process so that the
// server does not share the measured client's runtime.
//
//	go run ./internal/cmd/llmbench accuracy    # TTFT/TTLT error at 1, 16, 128, 512 clients
//	go run ./internal/cmd/llmbench throughput  # requests/s at 64 and 256 clients, zero delay
//	go run ./internal/cmd/llmbench memory      # bytes per in-flight request at 2,000 clients
//	go run ./internal/cmd/llmbench lowmem      # peak RSS of a 1,000,000-request low_memory run
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/internal/bench"
	"github.com/llmeter-go/llmeter/sim"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: llmbench accuracy|throughput|memory|lowmem|rate|soak|payloads [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if path := os.Getenv("LLMBENCH_CPUPROFILE"); path != "" && os.Args[1] != "serve" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "accuracy":
		err = accuracy(ctx, os.Args[2:])
	case "throughput":
		err = throughput(ctx, os.Args[2:])
	case "memory":
		err = memory(ctx, os.Args[2:])
	case "lowmem":
		err = lowmem(ctx, os.Args[2:])
	case "rate":
		err = rate(ctx, os.Args[2:])
	case "soak":
		err = soak(ctx, os.Args[2:])
	case "payloads":
		err = payloads(os.Args[2:])
	default:
		err = fmt.Errorf("unknown scenario %q", os.Args[1])
	}
	if err != nil {
		stop()
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "llmbench:", err)
		os.Exit(1)
	}
}

// serve runs the simulator (the child process) and prints its address.
func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	ttft := fs.Duration("ttft", 0, "time to first token")
	itl := fs.Duration("itl", 0, "inter-token latency")
	tokens := fs.Int("tokens", 16, "output tokens")
	_ = fs.Parse(args)
	cfg := sim.Config{TTFT: *ttft, ITL: *itl, OutputTokens: *tokens}
	return sim.ListenAndServe(ctx, "127.0.0.1:0", cfg, func(a net.Addr) {
		fmt.Println(a.String())
	})
}

// startSim starts `llmbench serve` as a child process and returns the base URL.
func startSim(ctx context.Context, ttft, itl time.Duration, tokens int) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, self, "serve", "-ttft", ttft.String(), "-itl", itl.String(), "-tokens", strconv.Itoa(tokens))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cancel()
		return "", nil, fmt.Errorf("simulator did not start: %w", err)
	}
	stopFn := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel()
			<-done
		}
		cancel()
	}
	return "http://" + strings.TrimSpace(line) + "/v1", stopFn, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

func accuracy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("accuracy", flag.ExitOnError)
	clientList := fs.String("clients", "1,16,128,512", "client counts")
	perClient := fs.Int("requests", 0, "requests per client per round (default: about 200 samples, at least 8 per client)")
	// A p99 is set by the worst 1 % of requests, and on a VM a single host
	// pause delays every request in flight at once: with the 3 rounds this
	// used to default to (576 samples at 16 clients), one pause in one
	// side's rounds doubled its p99. Twelve rounds give each side at least
	// 2,300 samples at every client count (about 35 minutes in all, 33 of
	// them at 1 client).
	rounds := fs.Int("rounds", 12, "rounds; the two clients alternate in each and their samples are pooled")
	_ = fs.Parse(args)
	const ttft, itl, tokens = 100 * time.Millisecond, 10 * time.Millisecond, 32
	truthTTFT, truthTTLT := ttft, ttft+time.Duration(tokens-1)*itl
	url, stop, err := startSim(ctx, ttft, itl, tokens)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("simulator: TTFT %v, %v per token, %d tokens => truth TTFT %v, TTLT %v (GOMAXPROCS=%d)\n",
		ttft, itl, tokens, truthTTFT, truthTTLT, runtime.GOMAXPROCS(0))
	fmt.Println("error = measured - truth, in ms")
	fmt.Println("GCs = garbage collections in the benchmark's process during each client's rounds")
	fmt.Println("ratio = llmeter's p99 / the reference's, with its 95 % bootstrap interval")
	fmt.Printf("%-8s %-10s %8s %5s %10s %10s %10s %10s  %-22s %-22s\n", "clients", "client", "samples", "GCs", "TTFT p50", "TTFT p99", "TTLT p50", "TTLT p99", "TTFT p99 ratio", "TTLT p99 ratio")
	for _, cs := range strings.Split(*clientList, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(cs))
		if err != nil {
			return err
		}
		n := *perClient
		if n == 0 {
			n = max(8, 200/c)
		}
		// Each side keeps one HTTP client for all its rounds, warmed first
		// with one request per client, so that no sample pays for opening a
		// connection. The two sides alternate round by round, so that drifts
		// of the machine's load hit both alike.
		ref := &side{name: "reference", client: bench.NewReferenceClient(c), run: bench.RunReference}
		ours := &side{name: "llmeter", client: openai.NewHTTPClient(c), run: bench.RunLLMeter}
		sides := []*side{ref, ours}
		for _, sd := range sides {
			if _, err := sd.measure(ctx, bench.Load{BaseURL: url, Clients: c, Requests: 1, MaxTokens: 1}); err != nil {
				return err
			}
		}
		for range *rounds {
			for _, sd := range sides {
				// Collect the other side's garbage first: both run in this
				// process, and without this the collections that one
				// side's garbage makes necessary fall, phase-locked, in the
				// other's rounds (at 1 client on one CPU, all 12 in
				// llmeter's rounds, though the reference allocates twice as
				// much per request).
				runtime.GC()
				before := gcCycles()
				out, err := sd.measure(ctx, bench.Load{BaseURL: url, Clients: c, Requests: n, MaxTokens: tokens})
				if err != nil {
					return err
				}
				sd.gcs += gcCycles() - before
				sd.pooled.Samples = append(sd.pooled.Samples, out.Samples...)
				sd.pooled.Errors += out.Errors
			}
		}
		for _, sd := range sides {
			f, t, ok := bench.ErrorPercentiles(sd.pooled.Samples, truthTTFT, truthTTLT)
			fmt.Printf("%-8d %-10s %8d %5d %10s %10s %10s %10s", c, sd.name, ok, sd.gcs, ms(f[0]), ms(f[1]), ms(t[0]), ms(t[1]))
			if sd == ours {
				f, t := bench.P99Ratio(ours.pooled.Samples, ref.pooled.Samples, truthTTFT, truthTTLT, 2000, uint64(c))
				fmt.Printf("  %-22s %-22s", ratio(f), ratio(t))
			}
			if sd.pooled.Errors > 0 {
				fmt.Printf("  (%d errors)", sd.pooled.Errors)
			}
			fmt.Println()
		}
	}
	return nil
}

// side is one of the two clients of the accuracy benchmark, with its own
// connections and its samples pooled over rounds.
type side struct {
	name   string
	client *http.Client
	run    func(context.Context, bench.Load) (bench.Outcome, error)
	pooled bench.Outcome
	gcs    uint64 // garbage collections during its rounds
}

func (s *side) measure(ctx context.Context, l bench.Load) (bench.Outcome, error) {
	l.HTTPClient = s.client
	return s.run(ctx, l)
}

// gcCycles is the number of garbage collections the process has completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func ratio(r [3]float64) string { return fmt.Sprintf("%.2f [%.2f, %.2f]", r[0], r[1], r[2]) }

func throughput(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("throughput", flag.ExitOnError)
	clientList := fs.String("clients", "64,256", "client counts")
	dur := fs.Duration("duration", 10*time.Second, "duration of each measurement")
	_ = fs.Parse(args)
	url, stop, err := startSim(ctx, 0, 0, 16)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("zero-delay simulator, 16 tokens per streamed response, %v per measurement, GOMAXPROCS=%d\n", *dur, runtime.GOMAXPROCS(0))
	fmt.Printf("%-8s %-10s %10s %8s %8s\n", "clients", "client", "req/s", "errors", "ratio")
	for _, cs := range strings.Split(*clientList, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(cs))
		if err != nil {
			return err
		}
		l := bench.Load{BaseURL: url, Clients: c, Duration: *dur, MaxTokens: 16}
		ref, err := bench.RunReference(ctx, l)
		if err != nil {
			return err
		}
		ours, err := bench.RunLLMeter(ctx, l)
		if err != nil {
			return err
		}
		fmt.Printf("%-8d %-10s %10.0f %8d\n", c, "reference", ref.RPS(), ref.Errors)
		fmt.Printf("%-8d %-10s %10.0f %8d %8.2f\n", c, "llmeter", ours.RPS(), ours.Errors, ours.RPS()/ref.RPS())
	}
	return nil
}

// rate measures how well an open-loop run keeps its schedule: constant
// arrivals against the zero-delay simulator, achieved rate and schedule lag.
func rate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rate", flag.ExitOnError)
	rates := fs.String("rates", "1000", "asked rates, requests per second")
	dur := fs.Duration("duration", 30*time.Second, "duration of each measurement")
	process := fs.String("arrival", llmeter.ArrivalConstant, "arrival process")
	_ = fs.Parse(args)
	url, stop, err := startSim(ctx, 0, 0, 16)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("zero-delay simulator, 16 tokens per streamed response, %s arrivals for %v, GOMAXPROCS=%d\n", *process, *dur, runtime.GOMAXPROCS(0))
	fmt.Printf("%8s %10s %8s %9s %10s %10s %10s %8s %6s\n", "asked/s", "achieved/s", "ratio", "requests", "lag p50ms", "lag p99ms", "lag max ms", "late", "CPU")
	for _, rs := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil {
			return err
		}
		l := bench.Load{BaseURL: url, Duration: *dur, MaxTokens: 16, Arrival: &llmeter.Arrival{Rate: r, Process: *process}}
		out, err := bench.RunLLMeter(ctx, l)
		if err != nil {
			return err
		}
		f := func(k string) float64 { v, _ := out.Stats.Float(k); return v }
		fmt.Printf("%8.0f %10.2f %8.4f %9d %10.3f %10.3f %10.3f %8.0f %5.0f%%\n", r, f("achieved_rate"), f("achieved_rate")/r, out.Requests,
			f("schedule_lag-p50")*1e3, f("schedule_lag-p99")*1e3, f("schedule_lag-max")*1e3, f("late_requests"), f("client_cpu_utilization")*100)
	}
	return nil
}

// memory measures the memory held per in-flight streaming request: 2,000
// clients each wait on a slow first token while we read the runtime's
// heap and stack use, and the process RSS.
func memory(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("memory", flag.ExitOnError)
	clients := fs.Int("clients", 2000, "clients (all in flight at once)")
	_ = fs.Parse(args)
	url, stop, err := startSim(ctx, 6*time.Second, 10*time.Millisecond, 16)
	if err != nil {
		return err
	}
	defer stop()
	runtime.GC()
	before := memNow()
	done := make(chan error, 1)
	var out bench.Outcome
	go func() {
		var err error
		out, err = bench.RunLLMeter(ctx, bench.Load{BaseURL: url, Clients: *clients, Requests: 1, MaxTokens: 16})
		done <- err
	}()
	time.Sleep(4 * time.Second) // all clients have sent and wait for their first token
	runtime.GC()
	during := memNow()
	goroutines := runtime.NumGoroutine()
	if err := <-done; err != nil {
		return err
	}
	failed, _ := out.Stats.Get("failed_requests")
	fmt.Printf("%d streams at once: %d requests, %v failed, %d goroutines while in flight\n", *clients, out.Requests, failed, goroutines)
	per := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(*clients) / 1024 }
	fmt.Printf("%d requests in flight: heap in use +%.1f KiB, stacks +%.1f KiB, total Go memory +%.1f KiB, RSS +%.1f KiB per request\n",
		*clients, per(before.heap, during.heap), per(before.stack, during.stack),
		per(before.heap+before.stack, during.heap+during.stack), per(before.rss, during.rss))
	return nil
}

type mem struct{ heap, stack, rss uint64 }

func memNow() mem {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{heap: ms.HeapInuse, stack: ms.StackInuse, rss: procStatus("VmRSS")}
}

// procStatus returns a /proc/self/status field in bytes (0 if unknown).
func procStatus(field string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func lowmem(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("lowmem", flag.ExitOnError)
	n := fs.Int("requests", 1_000_000, "total requests")
	clients := fs.Int("clients", 64, "clients")
	noChunks := fs.Bool("no-chunk-times", false, "record no chunk times (so no inter-token latency statistics)")
	_ = fs.Parse(args)
	url, stop, err := startSim(ctx, 0, 0, 16)
	if err != nil {
		return err
	}
	defer stop()
	dir, err := os.MkdirTemp("", "llmbench-lowmem-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	debug.FreeOSMemory()
	out, err := bench.RunLLMeter(ctx, bench.Load{BaseURL: url, Clients: *clients, Requests: *n / *clients,
		MaxTokens: 16, LowMemory: true, OutputPath: dir, NoChunkTimes: *noChunks})
	if err != nil {
		return err
	}
	fmt.Printf("low_memory run: %d requests (%d errors) in %.1f s (%.0f req/s), peak RSS %.1f MB\n",
		out.Requests, out.Errors, out.Elapsed.Seconds(), out.RPS(), float64(procStatus("VmHWM"))/1e6)
	return nil
}

// soak runs a long closed-loop load (low-memory mode, responses to disk)
// and samples the goroutines, the heap in use and the RSS at intervals:
// after the first sample they must not grow.
func soak(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	duration := fs.Duration("duration", 30*time.Minute, "length of the run")
	clients := fs.Int("clients", 64, "clients")
	every := fs.Duration("every", time.Minute, "sampling interval")
	bounded := fs.Bool("bounded", true, "bounded statistics (Runner.BoundedStats); false keeps every value, which grows the heap by design")
	_ = fs.Parse(args)
	url, stop, err := startSim(ctx, 20*time.Millisecond, 2*time.Millisecond, 16)
	if err != nil {
		return err
	}
	defer stop()
	dir, err := os.MkdirTemp("", "llmbench-soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	done := make(chan error, 1)
	var out bench.Outcome
	go func() {
		var err error
		out, err = bench.RunLLMeter(ctx, bench.Load{BaseURL: url, Clients: *clients, Duration: *duration, MaxTokens: 16, LowMemory: true, BoundedStats: *bounded, OutputPath: dir})
		done <- err
	}()
	fmt.Printf("%8s  %10s  %12s  %8s\n", "elapsed", "goroutines", "heap in use", "RSS")
	start := time.Now()
	var first, last mem
	var g0, g1 int
	t := time.NewTicker(*every)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			failed, _ := out.Stats.Get("failed_requests")
			fmt.Printf("%d requests, %v failed; from the first sample to the last: goroutines %d → %d, heap in use %+.1f MiB, RSS %+.1f MiB\n",
				out.Requests, failed, g0, g1, (float64(last.heap)-float64(first.heap))/(1<<20), (float64(last.rss)-float64(first.rss))/(1<<20))
			return nil
		case <-t.C:
			runtime.GC()
			m, g := memNow(), runtime.NumGoroutine()
			if n == 0 {
				first, g0 = m, g
			}
			last, g1 = m, g
			fmt.Printf("%8s  %10d  %9.1f MiB  %4.0f MiB\n", time.Since(start).Round(time.Second), g, float64(m.heap)/(1<<20), float64(m.rss)/(1<<20))
		}
	}
}

// payloads writes a payload file of -lines chat requests and measures the
// memory of opening it on demand (llmeter.OpenPayloadLines, what a run with
// a .jsonl file does) and, with -decoded, of decoding it whole
// (llmeter.LoadPayloads).
func payloads(args []string) error {
	fs := flag.NewFlagSet("payloads", flag.ExitOnError)
	lines := fs.Int("lines", 1_000_000, "payloads in the file")
	decoded := fs.Bool("decoded", false, "also measure LoadPayloads, which decodes every line")
	_ = fs.Parse(args)
	dir, err := os.MkdirTemp("", "llmbench-payloads")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := dir + "/payloads.jsonl"
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range *lines {
		fmt.Fprintf(w, `{"model": "m", "max_tokens": 128, "stream": true, "messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Question %d: summarise the plot of a novel of your choice in three sentences."}]}`+"\n", i)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return err
	}
	fi, _ := os.Stat(path)
	measure := func(name string, load func() (int, func(), error)) error {
		runtime.GC()
		before := memNow()
		start := time.Now()
		n, keep, err := load()
		if err != nil {
			return err
		}
		took := time.Since(start)
		runtime.GC()
		after := memNow()
		fmt.Printf("%-16s %d payloads (%.0f MB file) in %v: heap in use +%.1f MB (%.1f bytes per payload), RSS +%.0f MB\n", name, n,
			float64(fi.Size())/1e6, took.Round(time.Millisecond), (float64(after.heap)-float64(before.heap))/1e6,
			(float64(after.heap)-float64(before.heap))/float64(n), (float64(after.rss)-float64(before.rss))/1e6)
		keep()
		return nil
	}
	if err := measure("OpenPayloadLines", func() (int, func(), error) {
		pl, err := llmeter.OpenPayloadLines(path)
		if err != nil {
			return 0, nil, err
		}
		return pl.Len(), func() { pl.Close() }, nil
	}); err != nil {
		return err
	}
	if *decoded {
		return measure("LoadPayloads", func() (int, func(), error) {
			ps, err := llmeter.LoadPayloads(path)
			return len(ps), func() { runtime.KeepAlive(ps) }, err
		})
	}
	return nil
}
