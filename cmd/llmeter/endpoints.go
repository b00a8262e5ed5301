package main

import (
	"crypto/tls"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/endpoints/anthropic"
	"github.com/llmeter-go/llmeter/endpoints/bedrock"
	"github.com/llmeter-go/llmeter/endpoints/httpapi"
	"github.com/llmeter-go/llmeter/endpoints/openai"
	"github.com/llmeter-go/llmeter/endpoints/sagemaker"
	"github.com/llmeter-go/llmeter/internal/httpep"
	promptpkg "github.com/llmeter-go/llmeter/prompt"
	"github.com/llmeter-go/llmeter/sim"
	"github.com/llmeter-go/llmeter/tokenizer"
)

// endpointOptions are what an endpoint type is built from.
type endpointOptions struct {
	BaseURL      string // "" for AWS types: the service's own URL for Region
	Model        string
	APIKey       string
	Region       string
	EndpointName string
	Headers      map[string]string
	Stream       bool
	Clients      int
	Sim          bool // the built-in simulator: AWS types get fake credentials
	Insecure     bool // --insecure: TLS certificates are not verified
}

// httpClient returns c (nil: the endpoint's default), or with --insecure a
// client that does not verify TLS certificates.
func (o endpointOptions) httpClient(c *http.Client) *http.Client {
	if !o.Insecure {
		return c
	}
	if c == nil {
		c = httpep.NewClient(o.Clients)
	}
	t, ok := c.Transport.(*http.Transport)
	if !ok {
		return c
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.InsecureSkipVerify = true
	return &http.Client{Transport: t}
}

// endpointType is one value of --endpoint.
type endpointType struct {
	help       string
	envBaseURL string // environment variable for the base URL
	aws        bool   // the destination is an AWS region (or --base-url)
	keyHint    string // how to give credentials, for error messages
	simPath    string // appended to the simulator's URL to make the base URL
	// needsName: --endpoint-name names the API's endpoint (SageMaker), and
	// the model id defaults to it.
	needsName bool
	// build returns the endpoint and the URL its requests go to.
	build func(o endpointOptions) (llmeter.Endpoint, string, error)
	// payload builds a request from a prompt.
	payload func(prompt string, maxTokens int, stream bool) (llmeter.Payload, error)
}

// endpointTypes are the values of --endpoint.
var endpointTypes = map[string]endpointType{
	"openai": {
		help:       "OpenAI Chat Completions API (any OpenAI-compatible server)",
		envBaseURL: openai.EnvBaseURL,
		keyHint:    "--api-key / " + openai.EnvAPIKey,
		simPath:    "/v1",
		build: func(o endpointOptions) (llmeter.Endpoint, string, error) {
			ep, err := openai.NewChatEndpoint(openai.ChatConfig{
				ModelID:      o.Model,
				EndpointName: o.EndpointName,
				BaseURL:      o.BaseURL,
				APIKey:       o.APIKey,
				Headers:      o.Headers,
				Stream:       o.Stream,
				HTTPClient:   o.httpClient(openai.NewHTTPClient(o.Clients)),
			})
			if err != nil {
				return nil, "", err
			}
			return ep, ep.URL(), nil
		},
		payload: func(prompt string, maxTokens int, _ bool) (llmeter.Payload, error) {
			return openai.CreatePayload([]string{prompt}, maxTokens, nil)
		},
	},
	"openai-responses": {
		help:       "OpenAI Responses API",
		envBaseURL: openai.EnvBaseURL,
		keyHint:    "--api-key / " + openai.EnvAPIKey,
		simPath:    "/v1",
		build: func(o endpointOptions) (llmeter.Endpoint, string, error) {
			ep, err := openai.NewResponsesEndpoint(openai.ResponsesConfig{
				ModelID:      o.Model,
				EndpointName: o.EndpointName,
				BaseURL:      o.BaseURL,
				APIKey:       o.APIKey,
				Headers:      o.Headers,
				Stream:       o.Stream,
				HTTPClient:   o.httpClient(openai.NewHTTPClient(o.Clients)),
			})
			if err != nil {
				return nil, "", err
			}
			return ep, ep.URL(), nil
		},
		payload: func(prompt string, maxTokens int, _ bool) (llmeter.Payload, error) {
			return openai.CreateResponsesPayload([]string{prompt}, maxTokens, "", nil)
		},
	},
	"anthropic": {
		help:       "Anthropic Messages API (and Anthropic-compatible gateways)",
		envBaseURL: anthropic.EnvBaseURL,
		keyHint:    "--api-key / " + anthropic.EnvAPIKey,
		build: func(o endpointOptions) (llmeter.Endpoint, string, error) {
			ep, err := anthropic.NewMessagesEndpoint(anthropic.Config{
				ModelID:      o.Model,
				EndpointName: o.EndpointName,
				BaseURL:      o.BaseURL,
				APIKey:       o.APIKey,
				Headers:      o.Headers,
				Stream:       o.Stream,
				HTTPClient:   o.httpClient(anthropic.NewHTTPClient(o.Clients)),
			})
			if err != nil {
				return nil, "", err
			}
			return ep, ep.URL(), nil
		},
		payload: func(prompt string, maxTokens int, _ bool) (llmeter.Payload, error) {
			return anthropic.CreatePayload(prompt, maxTokens, nil, nil)
		},
	},
}

func init() {
	for name, help := range map[string]string{
		"ollama":          "Ollama's native chat API (/api/chat, NDJSON)",
		"ollama-generate": "Ollama's native generate API (/api/generate, NDJSON)",
		"tgi":             "Hugging Face Text Generation Inference (/generate, /generate_stream)",
	} {
		preset := name
		if name == "ollama" {
			preset = "ollama-chat"
		}
		endpointTypes[name] = endpointType{
			help:    help,
			keyHint: "--header Authorization=…",
			build: func(o endpointOptions) (llmeter.Endpoint, string, error) {
				cfg, err := httpapi.FromPreset(preset, o.BaseURL, o.Model, o.Stream)
				if err != nil {
					return nil, "", err
				}
				if o.EndpointName != "" {
					cfg.EndpointName = o.EndpointName
				}
				cfg.Headers, cfg.HTTPClient = o.Headers, o.httpClient(httpep.NewClient(o.Clients))
				ep, err := httpapi.New(cfg)
				if err != nil {
					return nil, "", err
				}
				return ep, ep.URL(), nil
			},
			payload: func(prompt string, maxTokens int, _ bool) (llmeter.Payload, error) {
				return httpapi.CreatePayload(preset, prompt, maxTokens)
			},
		}
	}
}

// awsOptions are the AWS settings of an endpoint: with the simulator, a
// region and made-up credentials.
func awsOptions(o endpointOptions) (region, endpointURL string, creds aws.CredentialsProvider) {
	region, endpointURL = o.Region, o.BaseURL
	if o.Sim {
		creds = credentials.NewStaticCredentialsProvider("SIMULATOR", "SIMULATOR", "")
		if region == "" {
			region = "us-east-1"
		}
	}
	return region, endpointURL, creds
}

// awsDest describes where an AWS endpoint's requests go, for messages.
func awsDest(url, service, region string) string {
	if url != "" {
		return url
	}
	return service + " in " + region
}

func init() {
	endpointTypes["bedrock-converse"] = endpointType{
		help:    "Amazon Bedrock Converse / ConverseStream",
		aws:     true,
		keyHint: "the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, …)",
		build: func(o endpointOptions) (llmeter.Endpoint, string, error) {
			region, url, creds := awsOptions(o)
			ep, err := bedrock.NewConverseEndpoint(bedrock.ConverseConfig{
				ModelID: o.Model, EndpointName: o.EndpointName, Region: region, EndpointURL: url,
				Stream: o.Stream, Credentials: creds, HTTPClient: o.httpClient(nil),
			})
			if err != nil {
				return nil, "", err
			}
			return ep, awsDest(url, "bedrock-runtime", ep.Region()), nil
		},
		payload: func(prompt string, maxTokens int, _ bool) (llmeter.Payload, error) {
			return bedrock.CreateConversePayload([]promptpkg.Item{promptpkg.Text(prompt)}, maxTokens, nil)
		},
	}
	endpointTypes["bedrock-invoke"] = endpointType{
		help:    "Amazon Bedrock InvokeModel / InvokeModelWithResponseStream (OpenAI-style bodies by default)",
		aws:     true,
		keyHint: "the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, …)",
		build: func(o endpointOptions) (llmeter.Endpoint, string, error) {
			region, url, creds := awsOptions(o)
			ep, err := bedrock.NewInvokeEndpoint(bedrock.InvokeConfig{
				ModelID: o.Model, EndpointName: o.EndpointName, Region: region, EndpointURL: url,
				Stream: o.Stream, Credentials: creds, HTTPClient: o.httpClient(nil),
			})
			if err != nil {
				return nil, "", err
			}
			return ep, awsDest(url, "bedrock-runtime", ep.Region()), nil
		},
		payload: func(prompt string, maxTokens int, _ bool) (llmeter.Payload, error) {
			return bedrock.CreateInvokePayload([]string{prompt}, maxTokens, nil)
		},
	}
	endpointTypes["sagemaker"] = endpointType{
		help:      "Amazon SageMaker real-time endpoint (TGI/JumpStart-style JSON)",
		aws:       true,
		keyHint:   "the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, …)",
		needsName: true,
		build: func(o endpointOptions) (llmeter.Endpoint, string, error) {
			region, url, creds := awsOptions(o)
			ep, err := sagemaker.NewEndpoint(sagemaker.Config{
				EndpointName: o.EndpointName, ModelID: o.Model, Region: region, EndpointURL: url,
				Stream: o.Stream, Credentials: creds, HTTPClient: o.httpClient(nil),
			})
			if err != nil {
				return nil, "", err
			}
			return ep, awsDest(url, "sagemaker-runtime endpoint "+o.EndpointName, ep.Region()), nil
		},
		payload: func(prompt string, maxTokens int, stream bool) (llmeter.Payload, error) {
			items := []promptpkg.Item{promptpkg.Text(prompt)}
			if stream {
				return sagemaker.CreateStreamPayload(items, maxTokens, nil, nil)
			}
			return sagemaker.CreatePayload(items, maxTokens, nil, nil)
		},
	}
}

func endpointNames() []string { return slices.Sorted(maps.Keys(endpointTypes)) }

// endpointFlags are the flags that choose and configure the endpoint, shared
// by every command that sends requests.
type endpointFlags struct {
	endpoint, baseURL, model, apiKey string
	region, endpointName, config     string
	tokenizer                        string
	headers                          []string
	stream, noStream                 bool
	simTTFT, simITL, simPrefill      time.Duration
	simTokens, simCapacity           int
	insecure                         bool
	from                             *savedRun // --from, when it chooses the endpoint
}

func (f *endpointFlags) register(cmd *cobra.Command, fs *pflag.FlagSet) {
	fs.StringVar(&f.endpoint, "endpoint", "openai", "API type: "+strings.Join(endpointNames(), ", "))
	fs.StringVar(&f.baseURL, "base-url", "", "API base URL, e.g. https://api.openai.com/v1 (default $OPENAI_BASE_URL or $ANTHROPIC_BASE_URL by --endpoint; none: the built-in simulator)")
	fs.StringVar(&f.model, "model", "", "model id (required with a base URL; default "+defaultSimModel+" for the simulator)")
	fs.StringVar(&f.apiKey, "api-key", "", "API key (default $OPENAI_API_KEY or $ANTHROPIC_API_KEY by --endpoint)")
	fs.StringArrayVar(&f.headers, "header", nil, "extra HTTP header `K=V` (repeatable)")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify TLS certificates (a self-signed test server); the summary warns")
	fs.StringVar(&f.endpointName, "endpoint-name", "", "endpoint name saved with the results (SageMaker: the endpoint to call)")
	fs.StringVar(&f.region, "region", "", "AWS region of Bedrock and SageMaker (default $AWS_REGION; none and no --base-url: the simulator)")
	fs.StringVar(&f.config, "endpoint-config", "", "endpoint settings from a JSON `file` (the \"endpoint\" object of a run_config.json)")
	fs.StringVar(&f.tokenizer, "tokenizer", "dummy", "counts tokens the API does not report (and samples heatmap prompts): dummy (words), tiktoken:ENCODING|MODEL, hf:PATH to a tokenizer.json")
	fs.BoolVar(&f.stream, "stream", true, "stream the responses (time to first token needs it)")
	fs.BoolVar(&f.noStream, "no-stream", false, "do not stream the responses")
	fs.DurationVar(&f.simTTFT, "sim-ttft", defaultSimTTFT, "simulator: time to first token")
	fs.DurationVar(&f.simITL, "sim-itl", defaultSimITL, "simulator: time between output tokens")
	fs.DurationVar(&f.simPrefill, "sim-prefill", defaultSimPrefill, "simulator: time to first token added per prompt token")
	fs.IntVar(&f.simTokens, "sim-tokens", defaultSimTokens, "simulator: mean output tokens (±50%)")
	fs.IntVar(&f.simCapacity, "sim-capacity", 0, "simulator: requests served at once, others queue (0: unlimited)")
	cmd.MarkFlagFilename("endpoint-config", "json")
	cmd.RegisterFlagCompletionFunc("endpoint", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, n := range endpointNames() {
			out = append(out, n+"\t"+endpointTypes[n].help)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}

// target is a validated choice of endpoint.
type target struct {
	spec      endpointType
	tokenizer llmeter.Tokenizer
	saved     map[string]any // from --endpoint-config
	baseURL   string         // "" with sim: the simulator's
	sim       bool
	model     string
	region    string
	headers   map[string]string
	stream    bool
	f         *endpointFlags
}

var simFlags = []string{"sim-ttft", "sim-itl", "sim-prefill", "sim-tokens", "sim-capacity"}

// check validates the endpoint flags; its errors are usage errors.
func (f *endpointFlags) check(cmd *cobra.Command, e *env) (*target, error) {
	changed := cmd.Flags().Changed
	if changed("stream") && changed("no-stream") {
		return nil, usageErrorf("give --stream or --no-stream, not both")
	}
	t := &target{f: f, stream: f.stream && !f.noStream, region: f.region}
	tok, err := tokenizer.Load(f.tokenizer)
	if err != nil {
		return nil, usageErrorf("--tokenizer: %v", err)
	}
	t.tokenizer = tok
	for _, h := range f.headers {
		k, v, found := strings.Cut(h, "=")
		if !found || strings.TrimSpace(k) == "" {
			return nil, usageErrorf("--header %q: want K=V", h)
		}
		if t.headers == nil {
			t.headers = map[string]string{}
		}
		t.headers[strings.TrimSpace(k)] = v
	}
	switch {
	case f.simTTFT < 0 || f.simITL < 0 || f.simPrefill < 0:
		return nil, usageErrorf("--sim-ttft, --sim-itl and --sim-prefill must not be negative")
	case f.simTokens < 1:
		return nil, usageErrorf("--sim-tokens must be at least 1, got %d", f.simTokens)
	case f.simCapacity < 0:
		return nil, usageErrorf("--sim-capacity must not be negative, got %d", f.simCapacity)
	}
	if f.from != nil {
		t.saved = f.from.endpoint
		t.model, _ = t.saved["model_id"].(string)
		t.sim = f.from.sim != nil
		if f.from.tokenizer != nil && !changed("tokenizer") {
			t.tokenizer = f.from.tokenizer
		}
		return t, nil
	}
	if f.config != "" {
		for _, name := range []string{"endpoint", "base-url", "model", "region", "endpoint-name", "stream", "no-stream"} {
			if changed(name) {
				return nil, usageErrorf("--endpoint-config holds the endpoint's settings; do not also give --%s", name)
			}
		}
		b, err := os.ReadFile(f.config)
		if err != nil {
			return nil, usageErrorf("--endpoint-config: %v", err)
		}
		if err := json.Unmarshal(b, &t.saved); err != nil || t.saved == nil {
			return nil, usageErrorf("--endpoint-config %s: not a JSON object: %v", f.config, err)
		}
		if _, ok := t.saved["endpoint_type"].(string); !ok {
			return nil, usageErrorf("--endpoint-config %s: no \"endpoint_type\"", f.config)
		}
		t.model, _ = t.saved["model_id"].(string)
		return t, nil
	}
	var ok bool
	if t.spec, ok = endpointTypes[f.endpoint]; !ok {
		return nil, usageErrorf("unknown --endpoint %q (known: %s)", f.endpoint, strings.Join(endpointNames(), ", "))
	}
	t.baseURL = f.baseURL
	if t.baseURL == "" && t.spec.envBaseURL != "" {
		t.baseURL = e.getenv(t.spec.envBaseURL)
	}
	if t.spec.aws && t.region == "" {
		t.region = e.getenv("AWS_REGION")
		if t.region == "" {
			t.region = e.getenv("AWS_DEFAULT_REGION")
		}
	}
	// No destination: the simulator. For AWS types a region is one.
	t.sim = t.baseURL == "" && (!t.spec.aws || t.region == "")
	t.model = f.model
	if t.spec.needsName {
		if f.endpointName == "" {
			if !t.sim {
				return nil, usageErrorf("--endpoint %s needs --endpoint-name, the name of the endpoint to call", f.endpoint)
			}
			f.endpointName = "sim-endpoint"
		}
		if t.model == "" {
			t.model = f.endpointName
		}
	}
	dest := "--base-url"
	if t.spec.envBaseURL != "" {
		dest += " or " + t.spec.envBaseURL
	}
	if t.spec.aws {
		dest += ", --region or AWS_REGION"
	}
	if !t.sim {
		if t.model == "" {
			return nil, usageErrorf("--model is required with a destination (%s)", dest)
		}
		for _, name := range simFlags {
			if changed(name) {
				return nil, usageErrorf("--%s is for the built-in simulator, which runs only without a destination (%s)", name, dest)
			}
		}
	} else if t.model == "" {
		t.model = defaultSimModel
	}
	return t, nil
}

// open builds the endpoint, starting the simulator first when the run goes
// there. destination is where requests go, for messages; close stops the
// simulator.
func (t *target) open(clients int, note func(string, ...any)) (ep llmeter.Endpoint, url, destination string, close func(), err error) {
	close = func() {}
	if t.saved != nil {
		saved := t.saved
		if t.sim { // --from a run that went to the built-in simulator
			srv, _ := sim.Start(t.f.simConfig(t.model))
			close = srv.Close
			if saved, err = t.f.from.savedEndpoint(srv.URL); err != nil {
				close()
				return nil, "", "", func() {}, usageErrorf("%v", err)
			}
			note("The saved run went to the built-in simulator: using a new one at %s\n", srv.URL)
		}
		if len(t.headers) > 0 { // --header, which saved configurations never hold
			saved = maps.Clone(saved)
			hs := map[string]any{}
			for k, v := range t.headers {
				hs[k] = v
			}
			saved["headers"] = hs
		}
		ep, err = llmeter.LoadEndpoint(saved)
		if err != nil {
			close()
			if t.f.from != nil {
				return nil, "", "", func() {}, usageErrorf("--from %s: %v", t.f.from.dir, err)
			}
			return nil, "", "", close, usageErrorf("--endpoint-config %s: %v", t.f.config, err)
		}
		dest, _ := saved["base_url"].(string)
		if dest == "" {
			dest, _ = saved["endpoint_url"].(string)
		}
		if dest == "" {
			dest = ep.Info().EndpointType
		}
		return ep, dest, dest, close, nil
	}
	baseURL := t.baseURL
	if t.sim {
		srv, _ := sim.Start(t.f.simConfig(t.model))
		close = srv.Close
		baseURL = srv.URL + t.spec.simPath
		// Not a mere note: the results are not those of a real API.
		note("No destination given: using the built-in simulator at %s (see `llmeter simulate`)\n", baseURL)
	}
	ep, url, err = t.spec.build(endpointOptions{
		BaseURL: baseURL, Model: t.model, APIKey: t.f.apiKey, Region: t.region, EndpointName: t.f.endpointName,
		Headers: t.headers, Stream: t.stream, Clients: clients, Sim: t.sim, Insecure: t.f.insecure,
	})
	if err != nil {
		close()
		return nil, "", "", func() {}, usageErrorf("%v", err)
	}
	destination = baseURL
	if destination == "" {
		destination = url
	}
	return ep, url, destination, close, nil
}

// simConfig is the built-in simulator of the --sim-* flags.
func (f *endpointFlags) simConfig(model string) sim.Config {
	return sim.Config{
		TTFT:            f.simTTFT,
		PrefillPerToken: f.simPrefill,
		ITL:             f.simITL,
		OutputTokens:    f.simTokens,
		OutputJitter:    defaultSimJitter,
		Capacity:        f.simCapacity,
		Model:           model,
	}
}

// payload builds the request for a prompt.
func (t *target) payload(prompt string, maxTokens int) (llmeter.Payload, error) {
	if t.saved != nil {
		return nil, usageErrorf("with --endpoint-config, give the requests with --payload")
	}
	p, err := t.spec.payload(prompt, maxTokens, t.stream)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return p, nil
}

func (t *target) keyHint() string {
	if t.saved != nil {
		return "the credentials of the endpoint in " + t.f.config
	}
	return t.spec.keyHint
}
