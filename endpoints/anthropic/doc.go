// Package anthropic is the Anthropic Messages API endpoint of llmeter, for
// api.anthropic.com and any Anthropic-compatible server. It ports LLMeter's
// AnthropicMessages (non-streaming) and AnthropicMessagesStream (streaming);
// both endpoint types are registered with llmeter.RegisterEndpointType, so
// llmeter.LoadEndpoint can rebuild them from run_config.json.
//
// # Usage
//
//	ep, err := anthropic.NewMessagesEndpoint(anthropic.Config{ModelID: "claude-sonnet-4-5", Stream: true})
//	payload, err := anthropic.CreatePayload("Tell me a joke", 256, nil, nil)
//	resp := llmeter.Invoke(ctx, ep, payload)
//
// BaseURL defaults to $ANTHROPIC_BASE_URL, else https://api.anthropic.com;
// requests go to BaseURL + "/v1/messages". The API key defaults to
// $ANTHROPIC_API_KEY (sent as "x-api-key"), the auth token to
// $ANTHROPIC_AUTH_TOKEN (sent as "Authorization: Bearer"); neither
// environment variable is read when the config sets either credential.
// "anthropic-version" is Config.Version (default 2023-06-01) and
// "anthropic-beta" the comma-separated Config.Beta. The endpoint talks HTTP
// directly with net/http (no SDK, no retries: every attempt is measured as
// it happened); NewHTTPClient builds the client it uses by default, tuned
// for load generation.
//
// # Gateways
//
// Unlike LLMeter, where the provider name selects an SDK client (anthropic,
// bedrock-mantle, vertex, foundry), Provider is metadata only: the server is
// whatever BaseURL points at, and credentials go in APIKey, AuthToken or
// Headers. Any server that speaks the Messages API works this way, for
// example Amazon Bedrock Mantle (BaseURL
// https://bedrock-mantle.<region>.api.aws/anthropic, with an Amazon Bedrock
// API key in APIKey or AuthToken, whichever the gateway expects) or a LiteLLM
// proxy (its base URL, with the proxy key in AuthToken).
//
// # Payload
//
// PreparePayload sets "model" and "stream" (true for the streaming type,
// false otherwise) in a copy of the payload; the caller's payload is never
// modified. The request body is the payload encoded once with
// llmeter.AppendRequestJSON (sorted keys, json.Number values sent verbatim)
// into a pooled buffer. CreatePayload builds LLMeter's payload shape,
// optionally with a "thinking" configuration.
//
// # Parsing and timing
//
// Non-streaming: the body is read in full, then the Recorder is told the
// response was received (time to last token), then the JSON is parsed: id,
// the concatenated text of the content blocks of type "text" (thinking and
// redacted_thinking blocks are skipped; without any text block the text is
// null), usage input_tokens, output_tokens (which include thinking tokens)
// and cache_read_input_tokens (the cached input tokens). The reasoning token
// count stays null: the API does not report it separately.
//
// Streaming: the body is read as Server-Sent Events, dispatched on the
// event name (or, for events without one, the data's "type"):
//
//   - message_start: the response id, and the usage it carries (input
//     tokens, cache-read tokens, the output tokens so far).
//   - content_block_delta: a non-empty text_delta is visible text: the first
//     one sets the time to first token, the last one the time to last token.
//     thinking_delta and signature_delta set the time to first token only
//     when Config.ReasoningCountsForTTFT is true; they are never text.
//   - message_delta: the cumulative usage (output tokens; input and cache
//     counts when the event carries them).
//   - message_stop ends the stream.
//   - ping, content_block_start, content_block_stop and event types the
//     parser does not know are ignored.
//   - error ({"type": "error", "error": {"type": "overloaded_error",
//     "message": "Overloaded"}}) ends the stream with an error.
//
// The stream parser is built for the hot path of a load generator: SSE
// events are read without copying (internal/sse), and the common event
// shapes (content_block_delta and friends) are decoded by a small scanner
// (internal/jsonscan) over input that json.Valid accepted, without
// allocating; any event it cannot decode exactly as encoding/json would goes
// to encoding/json. FuzzFastEvent checks that the two agree.
//
// # Errors
//
// Everything parsed before an error is kept in the response.
//
//   - HTTP status outside 2xx: *llmeter.StatusError with the provider's
//     message ({"type": "error", "error": {"type": …, "message": …}}), else
//     the first 512 bytes of the body (classes http_429, http_4xx, http_5xx;
//     Anthropic's 529 overloaded_error is http_5xx).
//   - An error event in a stream, or a 200 JSON body of type "error":
//     *llmeter.APIError "<error type>: <message>", e.g. "overloaded_error:
//     Overloaded" (class api).
//   - Malformed JSON, or a streaming request answered with application/json:
//     *llmeter.ProtocolError (class protocol).
//   - A stream that ends without message_stop: an error wrapping
//     llmeter.ErrIncompleteStream, even if text arrived (class protocol).
//   - Transport errors, such as a connection dropped mid-stream or the
//     context deadline, are returned wrapped ("anthropic: …"), so errors.Is
//     and errors.As see the cause (classes connection, timeout, …).
//
// # Saved configuration
//
// EndpointConfig saves base_url (without any user:password@, and with the
// values of query parameters named like key, token, secret, sig, password or
// auth replaced by "REDACTED"), version, beta (when set), the sorted names
// of extra headers as header_names, and for the streaming type
// ttft_visible_tokens_only (the negation of ReasoningCountsForTTFT, as
// LLMeter saves it). Header values are not saved because they are often
// credentials, so an endpoint reloaded with llmeter.LoadEndpoint sends no
// extra headers; to restore them, read the saved map with ConfigFromMap,
// set Headers (and credentials) and call NewMessagesEndpoint. The API key
// and auth token are never saved; a reloaded endpoint reads the
// environment.
//
// # Divergences from LLMeter
//
//   - Provider does not select a client and is not validated (see Gateways).
//   - A non-streaming request sends "stream": false.
//   - A stream without message_stop is an error.
//   - message_delta's input and cache-read counts, when present, replace
//     those of message_start (they are cumulative).
//   - A non-streaming response without text blocks has a null text.
//   - No SDK retries: retries stays null.
package anthropic
