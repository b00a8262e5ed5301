package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/schemas"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/awsep"
	"github.com/llmeter-go/llmeter/internal/httpep"
	"github.com/llmeter-go/llmeter/internal/jpath"
)

// The request's content type (and, non-streaming, the accepted one). The SDK
// only reads these.
var applicationJSON = "application/json"

var (
	listTextPath  = jpath.MustCompile(listGeneratedTextJMESPath)
	listCountPath = jpath.MustCompile(listTokenCountJMESPath)
)

// Invoke implements llmeter.Endpoint: it encodes p as JSON (inside the
// timer, as LLMeter does) and calls InvokeEndpoint, or
// InvokeEndpointWithResponseStream for the streaming endpoint, reporting
// what it parses to rec.
//
// Errors: an HTTP error answer of SageMaker (ValidationError, ModelError,
// throttling, …) is the SDK's error, wrapped ("sagemaker: …"), whose HTTP
// status classifies it; AWS throttling error codes, and a ModelError whose
// container answered 429, count as HTTP 429. An error in a 200 answer (an
// "error" line in a stream, a truthy "error" in a JSON body, a
// ModelStreamError or InternalStreamFailure event, details.finish_reason
// "error") is an *llmeter.APIError; malformed data a *llmeter.ProtocolError;
// a stream without TGI's final line wraps llmeter.ErrIncompleteStream;
// transport errors (a connection dropped mid-stream, the context's
// deadline) are returned wrapped. What was parsed before an error is kept.
func (e *Endpoint) Invoke(ctx context.Context, p llmeter.Payload, rec *llmeter.Recorder) error {
	body, err := llmeter.AppendRequestJSON(nil, map[string]any(p))
	if err != nil {
		return fmt.Errorf("sagemaker: encode payload: %w", err)
	}
	if e.stream {
		return e.invokeStream(ctx, body, rec)
	}
	return e.invokeJSON(ctx, body, rec)
}

func (e *Endpoint) componentName() *string {
	if e.component == "" {
		return nil
	}
	return &e.component
}

// --- non-streaming ---

func (e *Endpoint) invokeJSON(ctx context.Context, body []byte, rec *llmeter.Recorder) error {
	out, err := e.client.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
		EndpointName:           &e.info.EndpointName,
		ContentType:            &applicationJSON,
		Accept:                 &applicationJSON,
		InferenceComponentName: e.componentName(),
		Body:                   body,
	}, e.optFns...)
	if err != nil {
		return callError(err, rec)
	}
	// The SDK has read the whole body.
	rec.Received()
	reportCall(out.ResultMetadata, rec)
	return e.parseJSON(out.Body, rec)
}

// reportCall records the request id and retries of a successful call (the
// id of the AWS request, x-amzn-RequestId: LLMeter reads it from the body
// instead, defect D4).
func reportCall(md middleware.Metadata, rec *llmeter.Recorder) {
	id, retries, ok := awsep.CallInfo(md)
	rec.SetID(id)
	if ok {
		rec.SetRetries(retries)
	}
}

// parseJSON reads a non-streaming body: text and output tokens through the
// configured JMESPath expressions.
func (e *Endpoint) parseJSON(data []byte, rec *llmeter.Recorder) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return &llmeter.ProtocolError{Err: fmt.Errorf("sagemaker: malformed response %q: %w", httpep.Snippet(data, 80), err)}
	}
	first := v
	if list, ok := v.([]any); ok && len(list) > 0 {
		first = list[0]
	}
	obj, _ := first.(map[string]any)
	if ev, ok := obj["error"]; ok && httpep.Truthy(ev) {
		msg := httpep.MessageOf(ev)
		if msg == "" {
			b, _ := json.Marshal(ev)
			msg = httpep.Snippet(b, 512)
		}
		return &llmeter.APIError{Message: msg}
	}
	text, ok := e.textPath.Text(v, "\n")
	if !ok && e.textDefault {
		text, ok = listTextPath.Text(v, "\n")
	}
	if ok {
		rec.SetText(text)
	}
	if e.countPath != nil {
		n := e.countPath.Int(v)
		if n == nil && e.countDefault {
			n = listCountPath.Int(v)
		}
		if n != nil {
			rec.SetUsage(llmeter.Usage{OutputTokens: n})
		}
	}
	if d, ok := obj["details"].(map[string]any); ok && d["finish_reason"] == "error" {
		return errFinishError
	}
	return nil
}

// errFinishError is LMI's way of reporting a failed generation in a 200
// answer.
var errFinishError = &llmeter.APIError{Message: `generation failed (details.finish_reason "error")`}

// --- streaming ---

func (e *Endpoint) invokeStream(ctx context.Context, body []byte, rec *llmeter.Recorder) error {
	ctx, cs := awsep.WithCallState(ctx)
	out, err := e.client.InvokeEndpointWithResponseStream(ctx, &sagemakerruntime.InvokeEndpointWithResponseStreamInput{
		EndpointName:           &e.info.EndpointName,
		ContentType:            &applicationJSON,
		InferenceComponentName: e.componentName(),
		Body:                   body,
	}, append(append(make([]func(*sagemakerruntime.Options), 0, len(e.optFns)+1), e.optFns...), ownProtocol)...)
	if err != nil {
		return callError(err, rec)
	}
	reportCall(out.ResultMetadata, rec)
	stream := out.GetStream()
	defer stream.Close()

	p := getParser()
	defer p.release()
	for ev := range stream.Events() {
		// Other union members (none is defined besides PayloadPart) are
		// ignored (LLMeter prints them, which fails: defect D13).
		if part, ok := ev.(*types.ResponseStreamMemberPayloadPart); ok {
			if err := p.feed(part.Value.Bytes, rec); err != nil {
				return err
			}
		}
	}
	if err := stream.Err(); err != nil {
		return streamError(err)
	}
	// The SDK ends the event stream quietly when the body breaks off (it
	// takes io.ErrUnexpectedEOF for the end); the body's own error tells.
	if err := cs.BodyErr(); err != nil && !p.complete() {
		return fmt.Errorf("sagemaker: %w", err)
	}
	return p.finish(rec)
}

// streamError turns an error of the event stream into the response's error.
func streamError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorCode()
		var mse *types.ModelStreamError
		if errors.As(err, &mse) && mse.ErrorCode_ != nil && *mse.ErrorCode_ != "" {
			msg += " (" + *mse.ErrorCode_ + ")"
		}
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		return &eventError{api: &llmeter.APIError{Message: msg}, cause: err}
	}
	switch llmeter.ClassifyError(err) {
	case llmeter.ErrorClassTimeout, llmeter.ErrorClassCanceled, llmeter.ErrorClassConnection, llmeter.ErrorClassTLS:
		return fmt.Errorf("sagemaker: %w", err)
	case llmeter.ErrorClassProtocol: // already one (an oversized message)
		return fmt.Errorf("sagemaker: event stream: %w", err)
	}
	return &llmeter.ProtocolError{Err: fmt.Errorf("sagemaker: event stream: %w", err)}
}

// eventError is an exception event of the stream (ModelStreamError,
// InternalStreamFailure): an *llmeter.APIError that also unwraps to the SDK's
// error.
type eventError struct {
	api   *llmeter.APIError
	cause error
}

func (e *eventError) Error() string   { return e.api.Error() }
func (e *eventError) Unwrap() []error { return []error{e.api, e.cause} }

// --- errors of the call ---

// callError records what an SDK error tells (request id, attempts) and wraps
// it.
func callError(err error, rec *llmeter.Recorder) error {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		rec.SetID(re.ServiceRequestID())
	}
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) && me.Attempt > 0 {
		rec.SetRetries(me.Attempt - 1)
	}
	if isThrottle(err) {
		err = &throttleError{err}
	}
	return fmt.Errorf("sagemaker: %w", err)
}

// isThrottle reports AWS throttling error codes (SageMaker's
// ThrottlingException may come with HTTP 400), and ModelErrors whose
// container answered 429 (TGI's "Model is overloaded").
func isThrottle(err error) bool {
	var me *types.ModelError
	if errors.As(err, &me) {
		return me.OriginalStatusCode != nil && *me.OriginalStatusCode == http.StatusTooManyRequests
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		_, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]
		return ok
	}
	return false
}

// throttleError classifies a throttling error as HTTP 429 whatever its
// status.
type throttleError struct{ err error }

func (e *throttleError) Error() string       { return e.err.Error() }
func (e *throttleError) Unwrap() error       { return e.err }
func (e *throttleError) HTTPStatusCode() int { return http.StatusTooManyRequests }

// ownProtocol gives a streaming call a protocol, and so an event-stream
// codec, of its own: the client's shared codec keeps per-message state
// (smithy-go v1.28.9), on which concurrent streams of one client race.
func ownProtocol(o *sagemakerruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonSageMakerRuntime)
}
