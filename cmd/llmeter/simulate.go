package main

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmeter-go/llmeter/sim"
)

type simulateFlags struct {
	addr               string
	ttft, prefill, itl time.Duration
	tokens, capacity   int
	jitter, errorRate  float64
	errors             []string
	faults             []string
	faultDelay         time.Duration
	noUsage            bool
	seed               uint64
	model              string
}

func newSimulateCmd(e *env) *cobra.Command {
	f := &simulateFlags{}
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Serve a simulated LLM API (OpenAI, Anthropic, Bedrock, SageMaker, TGI, Ollama)",
		Long: `Serve a simulated LLM API until Ctrl-C or SIGTERM, to try llmeter, to check
what the client itself costs, or to test how a setup behaves with slow,
limited or failing servers. One port speaks every protocol llmeter does,
streaming or not, on the providers' own paths:

  OpenAI Chat Completions   POST /v1/chat/completions
  OpenAI Responses          POST /v1/responses
  Anthropic Messages        POST /v1/messages
  Amazon Bedrock            POST /model/{id}/converse, /converse-stream, /invoke,
                            /invoke-with-response-stream (AWS event stream;
                            SigV4 is not checked)
  Amazon SageMaker          POST /endpoints/{name}/invocations,
                            /invocations-response-stream
  TGI                       POST /generate, /generate_stream
  Ollama                    POST /api/chat, /api/generate

Each response takes --ttft (+ --prefill-per-token for each prompt token) to
its first token, then --itl per token; it has --tokens output tokens (spread
by --jitter, capped by the request's max_tokens). --capacity limits how many
requests are served at once (the others queue), and --error-rate makes that
fraction of requests fail with one of --errors: 429, 500 or drop (the
connection is cut mid-stream).

--fault KIND=RATE injects one kind of fault into that fraction of requests
(repeatable), in each protocol's own shapes; a request whose prompt holds
the marker [[sim-fault:KIND]] gets that fault whatever the rates. Kinds:

  401 403 429 500 503   that HTTP status, with the provider's error body
                        (429 with Retry-After)
  drop, reset           the connection closed / reset (RST) mid-stream
  stall                 no bytes for --fault-delay mid-stream, then the rest
  slow-start            no headers for --fault-delay, then the response
  truncate              the stream ends cleanly without its terminator
  malformed             an event that does not parse (AWS: a bad CRC)
  error-event           the provider's in-stream error event, then the end
  oversized             one 64 MiB text event (a 64 MiB body unstreamed)

Mid-stream faults strike after about half of the tokens.`,
		Example: `  # Serve on 127.0.0.1:8000, then run against it from another terminal
  llmeter simulate
  llmeter run --base-url http://127.0.0.1:8000/v1 --model sim-model

  # AWS endpoints need a region and some credentials (not checked)
  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x llmeter run --endpoint bedrock-converse \
      --base-url http://127.0.0.1:8000 --region us-east-1 --model sim-model

  # A slow, saturated server: 4 requests at a time, 2% of them throttled
  llmeter simulate --ttft 800ms --itl 40ms --capacity 4 --error-rate 0.02 --errors 429

  # 5% throttled, 1% stalled for 45 s, and one request reset on demand
  llmeter simulate --fault 429=0.05 --fault stall=0.01 --fault-delay 45s
  #   (a prompt containing [[sim-fault:reset]] gets its connection reset)

  # Any free port (the address is printed)
  llmeter simulate --addr 127.0.0.1:0`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) }),
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8000", "address to listen on (`host:port`; port 0 picks a free one)")
	fs.DurationVar(&f.ttft, "ttft", defaultSimTTFT, "time to first token")
	fs.DurationVar(&f.prefill, "prefill-per-token", 0, "added to the time to first token for each prompt token")
	fs.DurationVar(&f.itl, "itl", defaultSimITL, "time between output tokens")
	fs.IntVar(&f.tokens, "tokens", defaultSimTokens, "mean number of output tokens")
	fs.Float64Var(&f.jitter, "jitter", defaultSimJitter, "spread of output lengths: uniform in tokens×(1±jitter)")
	fs.IntVar(&f.capacity, "capacity", 0, "requests served at once, the others wait (0: unlimited)")
	fs.Float64Var(&f.errorRate, "error-rate", 0, "fraction of requests that fail (0 to 1)")
	fs.StringSliceVar(&f.errors, "errors", []string{"429", "500", "drop"}, "kinds of failure, drawn uniformly: 429, 500, drop")
	fs.StringArrayVar(&f.faults, "fault", nil, "inject a fault into a fraction of requests: `KIND=RATE` (repeatable; kinds above)")
	fs.DurationVar(&f.faultDelay, "fault-delay", 30*time.Second, "how long a stall or slow-start fault lasts")
	fs.BoolVar(&f.noUsage, "no-usage", false, "never report token usage (clients must count tokens themselves)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of all random draws (output lengths, failures)")
	fs.StringVar(&f.model, "model", defaultSimModel, "model name in responses when the request names none")
	cmd.RegisterFlagCompletionFunc("errors", cobra.FixedCompletions([]string{"429", "500", "drop"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (f *simulateFlags) config() (sim.Config, error) {
	cfg := sim.Config{
		TTFT: f.ttft, PrefillPerToken: f.prefill, ITL: f.itl,
		OutputTokens: f.tokens, OutputJitter: f.jitter, Capacity: f.capacity,
		ErrorRate: f.errorRate, NoUsage: f.noUsage, Seed: f.seed, Model: f.model,
		FaultDelay: f.faultDelay,
	}
	switch {
	case f.ttft < 0 || f.prefill < 0 || f.itl < 0:
		return cfg, usageErrorf("--ttft, --prefill-per-token and --itl must not be negative")
	case f.tokens < 1:
		return cfg, usageErrorf("--tokens must be at least 1, got %d", f.tokens)
	case !(f.jitter >= 0 && f.jitter <= 1):
		return cfg, usageErrorf("--jitter must be between 0 and 1, got %v", f.jitter)
	case f.capacity < 0:
		return cfg, usageErrorf("--capacity must not be negative, got %d", f.capacity)
	case !(f.errorRate >= 0 && f.errorRate <= 1):
		return cfg, usageErrorf("--error-rate must be between 0 and 1, got %v", f.errorRate)
	case f.faultDelay <= 0:
		return cfg, usageErrorf("--fault-delay must be positive, got %v", f.faultDelay)
	}
	total := f.errorRate
	for _, s := range f.faults {
		k, r, ok := strings.Cut(s, "=")
		kind := sim.ErrorKind(strings.TrimSpace(k))
		if !ok || !slices.Contains(sim.FaultKinds, kind) {
			return cfg, usageErrorf("--fault %q: want KIND=RATE with KIND one of %s", s, faultKindList())
		}
		rate, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || !(rate >= 0 && rate <= 1) {
			return cfg, usageErrorf("--fault %q: the rate must be a number between 0 and 1", s)
		}
		total += rate
		cfg.Faults = append(cfg.Faults, sim.Fault{Kind: kind, Rate: rate})
	}
	if total > 1 {
		return cfg, usageErrorf("--error-rate and the --fault rates add up to %v, more than 1", total)
	}
	for _, k := range f.errors {
		switch kind := sim.ErrorKind(strings.TrimSpace(k)); kind {
		case sim.Error429, sim.Error500, sim.ErrorDropMidStream:
			cfg.ErrorKinds = append(cfg.ErrorKinds, kind)
		default:
			return cfg, usageErrorf("--errors: unknown kind %q (known: 429, 500, drop)", k)
		}
	}
	return cfg, nil
}

func faultKindList() string {
	s := make([]string, len(sim.FaultKinds))
	for i, k := range sim.FaultKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (f *simulateFlags) run(cmd *cobra.Command, e *env) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	ctx, stop := notifyContext(cmd.Context(),
		func(os.Signal) {
			e.con.Printf("Stopping the simulator… (Ctrl-C again to exit at once)\n")
		},
		func(os.Signal) { e.exit(exitInterrupted) })
	defer stop()
	return sim.ListenAndServe(ctx, f.addr, cfg, func(a net.Addr) {
		fmt.Fprintf(e.stdout, "Simulated LLM API listening on http://%s (OpenAI at /v1, Anthropic, Bedrock, SageMaker, TGI, Ollama)\n", a)
		fmt.Fprintf(e.stdout, "Run against it with: llmeter run --base-url http://%s/v1 --model %s\n", a, f.model)
		fmt.Fprintf(e.stdout, "  (or --endpoint anthropic|ollama|tgi --base-url http://%s; see llmeter simulate --help)\n", a)
		fmt.Fprintf(e.stdout, "Press Ctrl-C to stop.\n")
	})
}
