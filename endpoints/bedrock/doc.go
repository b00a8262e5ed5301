// Package bedrock holds the Amazon Bedrock endpoints of llmeter. It ports
// LLMeter's BedrockConverse and BedrockConverseStream (the Converse and
// ConverseStream APIs, one request shape for all models) and BedrockInvoke and
// BedrockInvokeStream (InvokeModel and InvokeModelWithResponseStream, each
// model's own JSON, read with configurable JMESPaths). The four endpoint types
// are registered with llmeter.RegisterEndpointType, so llmeter.LoadEndpoint
// rebuilds them from run_config.json (LLMeter cannot reload them, defect D8).
//
// # Usage
//
//	ep, err := bedrock.NewConverseEndpoint(bedrock.ConverseConfig{
//		ModelID: "us.anthropic.claude-haiku-4-5-20251001-v1:0", Region: "us-east-1", Stream: true})
//	payload, err := bedrock.CreateConversePayload([]prompt.Item{prompt.Text("Tell me a joke")}, 256, nil)
//	resp := llmeter.Invoke(ctx, ep, payload)
//
// The endpoints call Bedrock through the AWS SDK for Go v2
// (service/bedrockruntime), which signs requests with SigV4 and decodes
// event streams; it retries only when MaxAttempts (LLMeter's max_attempts)
// is above its default of 1, because retries hide errors and distort
// latency (LLMeter's default is 3; llmeter.Runner.Retries is the retry
// setting common to every endpoint). Region and credentials come from the config or the
// standard AWS chain (environment, shared files, SSO, roles); EndpointURL
// points the client elsewhere (a VPC endpoint, a gateway, the simulator in
// package sim). Retries happen inside the timer, as in LLMeter, and are
// reported in the response's retries.
//
// The SDK's event-stream reader decodes each frame on two goroutines of its
// own, with a few dozen allocations per frame; bench_test.go measures the
// cost per chunk. The SDK's own logger is silenced: the library never
// prints.
//
// # Converse payloads
//
// PreparePayload sets "modelId" and, when the payload has no (or a null)
// "inferenceConfig", the endpoint's InferenceConfig (or {}); the caller's map
// is never modified. The request body is the prepared payload without
// "modelId", encoded with llmeter.AppendRequestJSON: whatever the user wrote
// (system, toolConfig, additionalModelRequestFields, guardrailConfig, fields
// newer than this SDK, …) reaches Bedrock unchanged, and []byte values (media
// from CreateConversePayload, or __llmeter_bytes__ in payload files) are sent
// as base64, the wire form of Bedrock blobs. The SDK is called with only the
// model id; a middleware replaces the body it serializes before SigV4 signs
// the request, and the SDK still decodes the response and its event stream.
// Converse is a JSON API, so an invalid payload comes back from Bedrock as a
// ValidationException (HTTP 400).
//
// # InvokeModel payloads
//
// The payload is the model's own request body, sent as JSON (accept and
// contentType application/json, encoded inside the timer as in LLMeter);
// nothing is injected. Binary data ([]byte) cannot be sent: PreparePayload
// rejects such payloads. Text and token counts are found in the response with
// JMESPaths (InvokeConfig); the defaults suit models with OpenAI Chat
// Completions-like bodies. An empty path takes the default, Disabled turns a
// lookup off.
//
// # Parsing and timing
//
// Converse: the body is read in full, the Recorder is told it was received
// (the time to last token), then the SDK parses it: the id is the request id
// (x-amzn-RequestId), retries the SDK's retry count, the text the
// concatenation of the message's text blocks, and usage.inputTokens,
// outputTokens and cacheReadInputTokens the token counts.
//
// ConverseStream: a contentBlockDelta's non-empty text is visible text (the
// first sets the time to first token, each moves the time to last token); a
// reasoningContent delta counts for the time to first token only with
// ReasoningCountsForTTFT (LLMeter's ttft_visible_tokens_only=False), and is
// never text; every contentBlockStop moves the time to last token; the usage
// of metadata events is summed (a zero stays a zero, unknown stays nil). The
// stream must end with messageStop and metadata.
//
// InvokeModel: the body is read in full, then received, then decoded as JSON;
// the id is the body's "id" when it is a string, else the request id;
// GeneratedTextJMESPath gives the text (a list of strings joined by "\n"),
// the count paths the token counts. InvokeModelWithResponseStream: each chunk
// is decoded as JSON; an "id" in it becomes the response id; the text path's
// match (a list joined by "") is visible text; the token counts are the last
// numbers the count paths matched in any chunk.
//
// # Errors
//
// Everything parsed before an error is kept in the response.
//
//   - HTTP errors are the SDK's, wrapped ("bedrock: operation error Bedrock
//     Runtime: Converse, exceeded maximum number of attempts, 3, https
//     response error StatusCode: 429, RequestID: …, ThrottlingException: …");
//     llmeter.ClassifyError reads their status (http_429, http_4xx,
//     http_5xx). The request id and retry count are recorded also for failed
//     calls.
//   - An exception event in a stream (throttlingException,
//     internalServerException, …) is a *StreamError, "Bedrock <key>:
//     <message>" as in LLMeter, classified by the HTTP status the API
//     reference documents for it, so that a mid-stream throttlingException
//     counts as http_429 like an HTTP 429. It sets the time to last token.
//     Exceptions LLMeter does not list are *llmeter.APIError.
//   - Malformed responses or event streams (bad JSON, bad frames, a chunk
//     that is not JSON) are *llmeter.ProtocolError.
//   - A ConverseStream that ends without messageStop and metadata, and an
//     InvokeModelWithResponseStream without a chunk holding
//     "amazon-bedrock-invocationMetrics" (which Bedrock adds to the last
//     chunk of every model's stream), wrap llmeter.ErrIncompleteStream.
//   - Transport errors, including a connection dropped mid-stream (which the
//     SDK's event-stream reader alone would take for the end of the stream)
//     and context deadlines, are returned wrapped ("bedrock: …").
//
// # Saved configuration
//
// EndpointConfig saves region (as resolved), max_attempts, endpoint_url (when
// set, credentials in it redacted) and, for Converse, inference_config and
// ttft_visible_tokens_only, for InvokeModel LLMeter's generated_text_jmespath,
// generated_token_count_jmespath, input_text_jmespath and
// input_token_count_jmespath (null when disabled). AWS credentials are never
// saved: a reloaded endpoint uses the standard chain.
//
// # Divergences from LLMeter
//
//   - Converse's time to last token is taken when the body has been read, before
//     the SDK parses it (LLMeter: after parsing); InvokeModel's is likewise
//     after the body is read, before JSON parsing, as in LLMeter.
//   - The Go SDK ends an event stream at an exception event, so an
//     InvokeModelWithResponseStream exception ends the parse (LLMeter keeps
//     looping); the error is recorded the same way.
//   - A ConverseStream without messageStop and metadata, or an
//     InvokeModelWithResponseStream without invocation metrics, is an error;
//     a connection dropped mid-stream is an error (boto3 may take it for the
//     end of the stream).
//   - Converse usage zeros are kept when summing metadata events, as the spec
//     asks (older LLMeter versions skipped them).
//   - Mid-stream exceptions are classified by their documented HTTP status.
package bedrock
