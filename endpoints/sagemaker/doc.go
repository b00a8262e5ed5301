// Package sagemaker is the Amazon SageMaker real-time endpoint of llmeter,
// for containers that speak the JSON of Hugging Face Text Generation
// Inference (TGI): TGI itself, the LMI (DJL) containers and JumpStart
// models. It ports LLMeter's SageMakerEndpoint (InvokeEndpoint) and
// SageMakerStreamEndpoint (InvokeEndpointWithResponseStream); both endpoint
// types are registered with llmeter.RegisterEndpointType, so
// llmeter.LoadEndpoint rebuilds them from run_config.json.
//
// # Usage
//
//	ep, err := sagemaker.NewEndpoint(sagemaker.Config{EndpointName: "my-tgi-endpoint", Stream: true})
//	payload, err := sagemaker.CreateStreamPayload([]prompt.Item{prompt.Text("Tell me a joke")}, 256, nil, nil)
//	resp := llmeter.Invoke(ctx, ep, payload)
//
// Calls go through the AWS SDK for Go v2 (service/sagemakerruntime), signed
// with SigV4. The region and credentials come from the Config or the
// standard AWS chain (environment, shared files, SSO, container and instance
// roles); the region is required and saved, credentials never are. The SDK
// retries only when MaxAttempts is above its default of 1 (retries hide
// errors; llmeter.Runner.Retries is the common setting); LLMeter has no
// retry setting for SageMaker (boto3's defaults apply).
// EndpointURL points the client elsewhere (a VPC endpoint, a gateway, the
// simulator of package sim). InferenceComponent addresses one inference
// component of the endpoint.
//
// # Payload
//
// The payload is sent as it is, as JSON (encoded with
// llmeter.AppendRequestJSON, inside the timer, as LLMeter does: "transport
// serialization is fair"). The streaming endpoint's PreparePayload removes
// parameters.decoder_input_details (TGI refuses it when streaming) and adds
// "stream": true when the payload has no "stream" key. LLMeter does this to
// the caller's dict; here the payload is copied and the caller's map is
// never modified. CreatePayload and CreateStreamPayload build LLMeter's
// payload: {"inputs": <text>, "parameters": {"max_new_tokens": N,
// "details": true, …}}, with Bedrock-style content blocks as inputs for
// multimodal prompts.
//
// # Parsing and timing
//
// Non-streaming: once the SDK has read the body the Recorder is told the
// response was received (time to last token), then the body is parsed as
// JSON: the text through GeneratedTextJMESPath (default "generated_text";
// a list of strings is joined by "\n") and the output token count through
// TokenCountJMESPath (default "details.generated_tokens"). TGI answers
// SageMaker's /invocations with a one-element list, [{"generated_text": …}],
// where LLMeter's defaults find nothing; the default paths therefore also try
// "[0].generated_text" and "[0].details.generated_tokens". The id is the AWS
// request id (x-amzn-RequestId) and retries the SDK's retry count, both from
// the call's metadata (LLMeter reads them from the body, where they are not:
// defect D4, as is its time to last token, an absolute clock reading).
//
// Streaming: the PayloadPart bytes are cut into lines; a line may be split
// across parts and a part may hold several lines. Each line, stripped of
// white space and of a leading "data:", is TGI's StreamResponse
// ({"token": {"text": …}, "generated_text": …, "details": …}); blank lines,
// SSE comments and fields, and lines that are not a JSON object are skipped,
// so TGI's server-sent events and LMI's JSON Lines both work. Every
// non-empty token.text is visible text: the first sets the time to first
// token, the last the time to last token. Special tokens (token.special,
// such as "</s>") are text too, as in LLMeter. Every line replaces the
// remembered details; the output token count is details.generated_tokens of
// the last line when that line has a non-empty details object (0 when it
// lacks the key, the number of token lines when it is null), else the
// number of token lines. The streaming endpoint does not use the JMESPath
// settings (as in LLMeter).
//
// A stream is complete when a line carried generated_text or details, as
// TGI's and LMI's last line does. A stream that ends without one (including
// an empty stream) is an error wrapping llmeter.ErrIncompleteStream, with the
// text received kept and no token count. A last line without a line break
// is parsed (LLMeter loops forever on it).
//
// The line splitting reuses pooled buffers, and common lines are decoded by
// a small scanner over input json.Valid accepted, without allocating; lines
// it cannot decode exactly as encoding/json would go to encoding/json
// (FuzzFastLine checks that the two agree). The SDK's event stream reader
// allocates per event; see BenchmarkStreamParse.
//
// # Errors
//
// Everything parsed before an error is kept in the response.
//
//   - An error answer of the call (ValidationError 400, ModelError 424 for
//     an error status of the container, InternalFailure 500,
//     ServiceUnavailable 503, ThrottlingException, …), after the SDK's
//     retries: the SDK's error, wrapped ("sagemaker: operation error …"),
//     classified by its HTTP status (http_4xx, http_5xx). AWS throttling
//     error codes, whatever their status, and a ModelError whose container
//     answered 429, are http_429. The request id and, when the attempts ran
//     out, the retries are recorded.
//   - An "error" line in a stream with a truthy value (TGI's {"error": …,
//     "error_type": …}), a truthy "error" in a JSON body, the stream's
//     ModelStreamError or InternalStreamFailure events, or LMI's
//     details.finish_reason "error": *llmeter.APIError (class api).
//   - Malformed JSON, a stream line without token.text that is not a final
//     line (a container streaming OpenAI chat completion chunks: use the
//     openai endpoint for those), malformed event stream frames:
//     *llmeter.ProtocolError (class protocol).
//   - A stream without TGI's final line: llmeter.ErrIncompleteStream (class
//     protocol).
//   - Transport errors, such as a connection dropped mid-stream or the
//     context's deadline, are returned wrapped ("sagemaker: …"). The SDK
//     takes a body that breaks off for the end of the event stream; the
//     endpoint's HTTP transport records the body's read error so that the
//     drop is reported (class connection).
//
// # Saved configuration
//
// EndpointConfig saves LLMeter's keys generated_text_jmespath,
// input_text_jmespath, token_count_jmespath (null when disabled) and region
// (the resolved one), plus max_attempts and, when set, endpoint_url
// (credentials in it redacted) and inference_component_name. LLMeter's
// constructor takes unknown keys as **kwargs, so LLMeter loads this map, and
// ConfigFromMap reads LLMeter's (its "kwargs" and "provider" are ignored).
//
// # Divergences from LLMeter
//
//   - The caller's payload is never modified.
//   - input_prompt is the value at InputTextJMESPath (LLMeter has no
//     _parse_payload for SageMaker: its input_prompt is null, defect D3).
//   - The id is the AWS request id, the time to last token a duration
//     (defect D4); retries come from the SDK.
//   - The default JMESPath paths also read TGI's list answer.
//   - The time to first token is that of the first non-empty token text
//     (LLMeter: the first token line, even empty).
//   - A stream without a final line is an error; a last line without a line
//     break is parsed; a dropped connection is an error; events other than
//     PayloadPart are ignored (LLMeter prints them, which fails: D13).
//   - A JSON line without token.text that is neither final nor an error is a
//     ProtocolError, as in LLMeter's latest version.
//   - LMI's finish_reason "error" fails the response.
//   - Max attempts are configurable (default 1: no SDK retries).
package sagemaker
