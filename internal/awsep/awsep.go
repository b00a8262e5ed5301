// Package awsep is the plumbing shared by llmeter's AWS endpoints (Bedrock,
// SageMaker): one way to build an aws.Config from the endpoint's settings and
// the standard credential chain, and to read the request id and retry count
// the SDK records for each call.
package awsep

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"
)

// DefaultMaxAttempts is 1: the SDK makes no retries of its own. Retries
// hide errors and distort latency, so they are off by default and, when
// wanted, made by the Runner (llmeter.Runner.Retries), which counts them and
// includes their time in the latency. (LLMeter's max_attempts for Bedrock is
// 3; an explicit MaxAttempts still turns the SDK's retries on, and they are
// counted in "retries" through CallInfo.)
const DefaultMaxAttempts = 1

// Config is what an AWS endpoint needs to build its client.
type Config struct {
	// Region defaults to the standard chain ($AWS_REGION, the profile, …).
	Region string
	// MaxAttempts is the SDK's total attempts per call (standard retry
	// mode): 1 means no retries; 0 means DefaultMaxAttempts (1).
	MaxAttempts int
	// EndpointURL overrides the service URL (a VPC endpoint, a gateway, or
	// the simulator). It is saved in run_config.json; credentials never are.
	EndpointURL string
	// HTTPClient defaults to the SDK's client (which honours a custom CA
	// bundle from AWS_CA_BUNDLE) tuned for load generation.
	HTTPClient *http.Client
	// Credentials override the standard chain (tests, or callers with their
	// own provider).
	Credentials aws.CredentialsProvider
}

// Load resolves the AWS configuration: region, credentials and retry policy
// from cfg and the standard chain (environment, shared config and
// credentials files, SSO, container and instance roles). Credentials are
// resolved lazily, at the first request, and cached by the SDK.
func Load(ctx context.Context, cfg Config) (aws.Config, error) {
	attempts := cfg.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	// The HTTP client is set after loading: the loader refuses a plain
	// *http.Client when a custom CA bundle is configured.
	opts := []func(*config.LoadOptions) error{
		config.WithRetryMode(aws.RetryModeStandard),
		config.WithRetryMaxAttempts(attempts),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	if ac.Region == "" {
		return aws.Config{}, fmt.Errorf("aws config: no region: set the endpoint's region, $AWS_REGION or a profile's region")
	}
	if cfg.EndpointURL != "" {
		ac.BaseEndpoint = aws.String(cfg.EndpointURL)
	}
	var hc aws.HTTPClient = cfg.HTTPClient
	if cfg.HTTPClient == nil {
		hc = defaultClient(ac)
	}
	ac.HTTPClient = watchClient{hc}
	return ac, nil
}

// CallInfo returns the request id and the number of retries the SDK recorded
// for a call (from the operation's ResultMetadata); ok is false for
// what is not recorded.
func CallInfo(md middleware.Metadata) (requestID string, retries int, retriesOK bool) {
	requestID, _ = awsmiddleware.GetRequestIDMetadata(md)
	if r, ok := retry.GetAttemptResults(md); ok && len(r.Results) > 0 {
		return requestID, len(r.Results) - 1, true
	}
	return requestID, 0, false
}
