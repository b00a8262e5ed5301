package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/awsep"
	"github.com/llmeter-go/llmeter/internal/httpep"
)

// LLMeter's class names, used as endpoint_type in run_config.json.
const (
	TypeConverse       = "BedrockConverse"
	TypeConverseStream = "BedrockConverseStream"
	TypeInvoke         = "BedrockInvoke"
	TypeInvokeStream   = "BedrockInvokeStream"
)

// Defaults shared by all Bedrock endpoints.
const (
	Provider            = "bedrock"
	DefaultEndpointName = "amazon bedrock"
	DefaultMaxAttempts  = awsep.DefaultMaxAttempts
)

// settings are the client settings every Bedrock endpoint has.
type settings struct {
	region      string // resolved
	maxAttempts int    // resolved
	endpointURL string
}

// newClient builds the bedrock-runtime client of an endpoint: region,
// credentials and standard retries from awsep, plus the middlewares that
// connect the SDK to llmeter (see call).
func newClient(name string, cfg awsep.Config) (*bedrockruntime.Client, settings, error) {
	if cfg.MaxAttempts < 0 {
		return nil, settings{}, fmt.Errorf("bedrock: %s: MaxAttempts must be >= 0, got %d", name, cfg.MaxAttempts)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	ac, err := awsep.Load(context.Background(), cfg)
	if err != nil {
		return nil, settings{}, fmt.Errorf("bedrock: %s: %w", name, err)
	}
	client := bedrockruntime.NewFromConfig(ac, func(o *bedrockruntime.Options) {
		o.APIOptions = append(slices.Clip(o.APIOptions), addMiddlewares)
		// The library never prints; the SDK's default logger writes warnings
		// (e.g. about undrained bodies of failed calls) to stderr.
		o.Logger = logging.Nop{}
	})
	return client, settings{region: ac.Region, maxAttempts: cfg.MaxAttempts, endpointURL: cfg.EndpointURL}, nil
}

// ownProtocol gives a streaming call a protocol, and so an event-stream
// codec, of its own. The client's shared codec keeps per-message state
// (smithy-go v1.28.9), on which concurrent streams of one client race.
func ownProtocol(o *bedrockruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonBedrockFrontendService)
}

// saveTo writes the client settings into a saved endpoint configuration.
func (s settings) saveTo(m map[string]any) {
	m["region"] = s.region
	m["max_attempts"] = s.maxAttempts
	if s.endpointURL != "" {
		m["endpoint_url"] = httpep.RedactURL(s.endpointURL)
	}
}

// --- per-call state shared with the SDK's middleware stack ---

// call is the state of one invocation, reachable from the SDK's middlewares
// through the context. The SDK runs the middleware stack on the calling
// goroutine, so rec is only used there.
type call struct {
	rec *llmeter.Recorder
	// body, when not nil, replaces the request body the SDK serialized
	// (Converse: the payload as the user wrote it; InvokeModel: the same
	// bytes).
	body []byte
	// received: read a 2xx body in full, then call rec.Received (the time to
	// last token of a non-streaming call), before the SDK parses it.
	received bool
	// md is the metadata of the whole operation (request id, attempts),
	// also when it failed.
	md middleware.Metadata
	// cs is what the transport (internal/awsep) saw of the response body.
	cs *awsep.CallState
}

type callKey struct{}

func withCall(ctx context.Context, c *call) context.Context {
	ctx, c.cs = awsep.WithCallState(ctx)
	return context.WithValue(ctx, callKey{}, c)
}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// transportErr returns the transport error seen while reading a streamed
// body, if any. The SDK's event-stream reader treats an unexpected EOF as the
// end of the stream; this is how a dropped connection is told apart.
func (c *call) transportErr() error { return c.cs.BodyErr() }

// report records the request id and the number of retries of the call
// (from the SDK's metadata, or from the error when the call failed).
func (c *call) report(rec *llmeter.Recorder, err error) {
	id, retries, ok := awsep.CallInfo(c.md)
	if err != nil {
		if id == "" {
			var re *awshttp.ResponseError
			if errors.As(err, &re) {
				id = re.ServiceRequestID()
			}
		}
		if !ok {
			var me *awsretry.MaxAttemptsError
			if errors.As(err, &me) && me.Attempt > 0 {
				retries, ok = me.Attempt-1, true
			}
		}
	}
	rec.SetID(id)
	if ok {
		rec.SetRetries(retries)
	}
}

// addMiddlewares installs llmeter's hooks in every operation's stack.
func addMiddlewares(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(captureMetadata{}, middleware.Before); err != nil {
		return err
	}
	if err := stack.Serialize.Insert(replaceBody{}, "OperationSerializer", middleware.After); err != nil {
		return err
	}
	return stack.Deserialize.Insert(responseHook{}, "OperationDeserializer", middleware.After)
}

// captureMetadata keeps the operation's metadata (request id, retry
// attempts), which the SDK does not return with an error.
type captureMetadata struct{}

func (captureMetadata) ID() string { return "llmeterCaptureMetadata" }

func (captureMetadata) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleInitialize(ctx, in)
	if c := callFrom(ctx); c != nil {
		c.md = md
	}
	return out, md, err
}

// replaceBody sends call.body instead of the body the SDK serialized from
// its typed input. It runs before signing, so SigV4 signs what is sent.
type replaceBody struct{}

func (replaceBody) ID() string { return "llmeterRequestBody" }

func (replaceBody) HandleSerialize(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (
	middleware.SerializeOutput, middleware.Metadata, error,
) {
	if c := callFrom(ctx); c != nil && c.body != nil {
		req, ok := in.Request.(*smithyhttp.Request)
		if !ok {
			return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("bedrock: unexpected transport request %T", in.Request)
		}
		// awsep's client hides the reader's WriteTo from net/http (an SDK
		// race closes it under a streaming response).
		r, err := req.SetStream(bytes.NewReader(c.body))
		if err != nil {
			return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("bedrock: request body: %w", err)
		}
		r.ContentLength = int64(len(c.body))
		if r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/json")
		}
		in.Request = r
	}
	return next.HandleSerialize(ctx, in)
}

// responseHook sits between the transport and the SDK's deserializer. For a
// successful non-streaming response it reads the whole body and reports it
// received before the SDK parses it; for a stream it watches the body for
// transport errors.
type responseHook struct{}

func (responseHook) ID() string { return "llmeterResponseHook" }

func (responseHook) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	c := callFrom(ctx)
	if err != nil || c == nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, md, err
	}
	if !c.received {
		return out, md, nil // a stream: awsep's client watches its body
	}
	data, err := readBody(resp.Response)
	if err != nil {
		resp.Body = http.NoBody // closed; nothing left for the SDK to drain
		return out, md, err
	}
	c.rec.Received()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return out, md, nil
}

// readBody reads a whole non-streaming body (at most httpep.MaxResponseBody
// bytes) and closes it.
func readBody(resp *http.Response) ([]byte, error) {
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= httpep.MaxResponseBody {
		buf.Grow(int(n))
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, httpep.MaxResponseBody+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if buf.Len() > httpep.MaxResponseBody {
		return nil, &llmeter.ProtocolError{Err: fmt.Errorf("bedrock: response body larger than %d bytes", httpep.MaxResponseBody)}
	}
	return buf.Bytes(), nil
}

// --- errors ---

// StreamError is an exception event in a Bedrock response stream
// (ConverseStream, InvokeModelWithResponseStream). Its message is LLMeter's,
// "Bedrock <key>: <message>". HTTPStatusCode is the status the Bedrock API
// reference documents for the exception, so that llmeter.ClassifyError counts
// it like the same exception returned as an HTTP error: throttlingException
// (429) as http_429, internalServerException (500) and
// serviceUnavailableException (503) as http_5xx, validationException (400),
// modelTimeoutException (408) and modelStreamErrorException (424) as
// http_4xx.
type StreamError struct {
	Key        string // e.g. "throttlingException"
	Message    string
	StatusCode int
}

func (e *StreamError) Error() string { return "Bedrock " + e.Key + ": " + e.Message }

// HTTPStatusCode returns the documented HTTP status of the exception.
func (e *StreamError) HTTPStatusCode() int { return e.StatusCode }

// streamExceptions are LLMeter's BEDROCK_STREAM_ERROR_TYPES with the HTTP
// status of each in the API reference (API_runtime_ResponseStream,
// API_runtime_ConverseStreamOutput).
var streamExceptions = map[string]int{
	"internalServerException":     500,
	"modelStreamErrorException":   424,
	"modelTimeoutException":       408,
	"serviceUnavailableException": 503,
	"throttlingException":         429,
	"validationException":         400,
}

// streamErr turns the error that ended an SDK event stream into llmeter's
// error types: an exception event becomes a *StreamError (or an
// *llmeter.APIError for exceptions LLMeter does not list), anything else a
// *llmeter.ProtocolError (bad framing, bad event).
func streamErr(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		key := ae.ErrorCode()
		if key != "" {
			key = strings.ToLower(key[:1]) + key[1:]
		}
		msg := ae.ErrorMessage()
		if code, ok := streamExceptions[key]; ok {
			return &StreamError{Key: key, Message: msg, StatusCode: code}
		}
		return &llmeter.APIError{Message: "Bedrock " + key + ": " + msg}
	}
	return &llmeter.ProtocolError{Err: fmt.Errorf("bedrock: event stream: %w", err)}
}

// callErr wraps an error returned by an SDK operation: responses the SDK
// could not parse are protocol errors; everything else (HTTP errors, which
// llmeter.ClassifyError classifies by their status, transport errors) keeps
// its chain.
func callErr(err error) error {
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		return &llmeter.ProtocolError{Err: fmt.Errorf("bedrock: %w", err)}
	}
	return fmt.Errorf("bedrock: %w", err)
}

// --- saved configuration helpers ---

func ptrInt32(v *int32) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

// stringKeys reads the string values of keys from m into their
// destinations; a missing or null key leaves the destination alone.
func stringKeys(m map[string]any, fields map[string]*string) error {
	for key, dst := range fields {
		v, ok := m[key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("bedrock: %s: want a string, got %T", key, v)
		}
		*dst = s
	}
	return nil
}

// intKey reads a whole number (int, float64 or json.Number) from m[key].
func intKey(m map[string]any, key string, dst *int) error {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	var f float64
	switch x := v.(type) {
	case int:
		*dst = x
		return nil
	case int64:
		f = float64(x)
	case float64:
		f = x
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return fmt.Errorf("bedrock: %s: %w", key, err)
		}
	default:
		return fmt.Errorf("bedrock: %s: want a number, got %T", key, v)
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return fmt.Errorf("bedrock: %s: want a whole number, got %v", key, v)
	}
	*dst = int(f)
	return nil
}

// boolKey reads a boolean from m[key]; ok is false when it is missing or
// null.
func boolKey(m map[string]any, key string) (v, ok bool, err error) {
	x, present := m[key]
	if !present || x == nil {
		return false, false, nil
	}
	b, isBool := x.(bool)
	if !isBool {
		return false, false, fmt.Errorf("bedrock: %s: want a boolean, got %T", key, x)
	}
	return b, true, nil
}

// awsConfig is the part of both endpoint configs that builds the client.
func awsConfig(region string, maxAttempts int, endpointURL string, hc *http.Client, creds aws.CredentialsProvider) awsep.Config {
	return awsep.Config{Region: region, MaxAttempts: maxAttempts, EndpointURL: endpointURL, HTTPClient: hc, Credentials: creds}
}
