// Package openai is the OpenAI Chat Completions endpoint of llmeter, for
// api.openai.com and any OpenAI-compatible server (vLLM, gateways, Bedrock
// Mantle, …). It ports LLMeter's OpenAICompletionEndpoint (non-streaming) and
// OpenAICompletionStreamEndpoint (streaming); both endpoint types are
// registered with llmeter.RegisterEndpointType, so llmeter.LoadEndpoint can
// rebuild them from run_config.json.
//
// # Usage
//
//	ep, err := openai.NewChatEndpoint(openai.ChatConfig{ModelID: "gpt-4o-mini", Stream: true})
//	payload, err := openai.CreatePayload([]string{"Tell me a joke"}, 256, nil)
//	resp := llmeter.Invoke(ctx, ep, payload)
//
// BaseURL defaults to $OPENAI_BASE_URL, else https://api.openai.com/v1, and
// the API key to $OPENAI_API_KEY (sent as "Authorization: Bearer <key>").
// The endpoint talks HTTP directly with net/http (no SDK, no retries: every
// attempt is measured as it happened); NewHTTPClient builds the client it
// uses by default, tuned for load generation.
//
// # Payload
//
// PreparePayload sets "model" and, when streaming, "stream": true and
// "stream_options": {"include_usage": true} (unless the payload already has a
// truthy stream_options), so that the server reports token usage in a final
// chunk; when not streaming it sets "stream": false and drops
// stream_options. The caller's payload is never modified. The request body is
// the payload encoded once with llmeter.AppendRequestJSON (sorted keys,
// json.Number values sent verbatim) into a pooled buffer.
//
// # Parsing and timing
//
// Non-streaming: the body is read in full, then the Recorder is told the
// response was received (time to last token), then the JSON is parsed: id,
// choices[0].message.content (null content means no text), usage
// prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens and
// completion_tokens_details.reasoning_tokens.
//
// Streaming: the body is read as Server-Sent Events. The response id is the
// first chunk's id. Every chunk whose choices[0] (index 0) has a non-empty
// delta.content is visible text: the first one sets the time to first token,
// the last one the time to last token. A role-only first chunk, null or empty
// content, keep-alive comments and reasoning deltas ("reasoning_content",
// "reasoning") are not text. Any chunk with a "usage" object sets the token
// counts, which never come from counting chunks (servers may put several
// tokens in one chunk); without usage they stay nil and the Runner's
// tokenizer fallback fills them. "data: [DONE]" ends the stream.
//
// The stream parser is built for the hot path of a load generator: SSE
// events are read without copying (internal/sse), and the common chunk shape
// (id, choices[0].index, choices[0].delta.content, anything else skipped) is
// decoded by a small scanner (internal/jsonscan) over input that json.Valid
// accepted, without allocating; any chunk it cannot decode exactly as
// encoding/json would (a usage or error object, keys in another case or
// escaped, duplicate keys, unexpected types) goes to encoding/json.
// FuzzFastChunk checks that the two agree.
//
// # Errors
//
// Everything parsed before an error is kept in the response.
//
//   - HTTP status outside 2xx: *llmeter.StatusError with the provider's
//     message ({"error": {"message": …}}, {"error": "…"}, {"message": …} or
//     {"detail": …}), else the first 512 bytes of the body (classes http_429,
//     http_4xx, http_5xx).
//   - An "error" object in a stream (or an "event: error" event), or in a 200
//     JSON body: *llmeter.APIError with its message (class api).
//   - Malformed JSON, or a streaming request answered with application/json:
//     *llmeter.ProtocolError (class protocol).
//   - A stream that ends without "data: [DONE]": an error wrapping
//     llmeter.ErrIncompleteStream, even if text arrived (class protocol).
//   - Transport errors, such as a connection dropped mid-stream or the
//     context deadline, are returned wrapped ("openai: …"), so errors.Is and
//     errors.As see the cause (classes connection, timeout, …).
//
// # Saved configuration
//
// EndpointConfig saves base_url (without any user:password@, and with the
// values of query parameters named like key, token, secret, sig, password or
// auth replaced by "REDACTED") and, when extra
// headers are configured, their sorted names as header_names. Header values
// are not saved because they are often credentials (api-key, cookies, …), so
// an endpoint reloaded with llmeter.LoadEndpoint sends no extra headers;
// to restore them, read the saved map with ChatConfigFromMap, set Headers
// (and APIKey) and call NewChatEndpoint. The API key is never saved; a
// reloaded endpoint reads $OPENAI_API_KEY.
//
// # Divergences from LLMeter
//
//   - Text is taken only from the choice with index 0 (LLMeter reads
//     choices[0] whatever its index, which interleaves choices when n > 1).
//   - A stream without "data: [DONE]" is an error (the Python SDK accepts it).
//   - A non-streaming request does not send stream_options.
//   - No SDK retries: retries stays null.
//
// # Multimodal Chat Completions payloads
//
// CreateMultimodalPayload builds a user message from prompt.Text and
// prompt.Media items (read with prompt.FromPath or prompt.FromBytes), in
// order: images (JPEG, PNG, GIF, WebP) become image_url parts with a base64
// data URL, MP3 and WAV audio input_audio parts, PDF documents file parts
// (file_data as a data URL, and filename when the item was read from a
// file). Video cannot be sent inline and other MIME types are refused. A
// single text item is sent as plain string content.
//
// # Responses API
//
// ResponsesEndpoint ports LLMeter's OpenAIResponseEndpoint and
// OpenAIResponseStreamEndpoint: POST BaseURL + "/responses", with the same
// base URL, API key, headers, HTTP client, saved configuration and error
// classes as the Chat Completions endpoint.
//
//	ep, err := openai.NewResponsesEndpoint(openai.ResponsesConfig{ModelID: "gpt-5-mini", Stream: true})
//	payload, err := openai.CreateResponsesPayload([]string{"Tell me a joke"}, 256, "Be brief.", nil)
//	resp := llmeter.Invoke(ctx, ep, payload)
//
// PreparePayload sets "model" and "stream" (true when streaming, unless the
// payload has a truthy stream; false otherwise, dropping stream_options).
// ParsePayload returns "input" when it is a string, else the texts of its
// messages joined by "\n".
//
// Non-streaming: the text is the concatenation of the output_text parts of
// the output's message items (what the SDKs call output_text; a top-level
// "output_text" field, which some compatible servers send, is used when
// there are none); the usage gives input_tokens, output_tokens,
// input_tokens_details.cached_tokens and
// output_tokens_details.reasoning_tokens. A response with status "failed" is
// an *llmeter.APIError "<code>: <message>" (or the message, or "Response
// API request failed") and gets no time to last token, as in LLMeter. A
// response with status "incomplete" (max_output_tokens reached, content
// filter) is a success with the text it has; the reason is not recorded.
//
// Streaming: the body is read as Server-Sent Events; an event's type is the
// "type" of its data, else its "event:" name. response.created gives the
// id; every non-empty response.output_text.delta is visible text (first one:
// time to first token, last one: time to last token);
// response.reasoning_text.delta and response.reasoning_summary_text.delta
// set the time to first token only with ReasoningCountsForTTFT (LLMeter's
// ttft_visible_tokens_only=False) and are never text; response.completed
// and response.incomplete end the stream and give the usage;
// response.failed ends it with an *llmeter.APIError (same format) and moves
// the time to last token to its arrival; an "error" event, or an "error"
// object in any event, is an *llmeter.APIError; a stream that ends (or sends
// "data: [DONE]") before one of those three terminal events wraps
// llmeter.ErrIncompleteStream. Other events are ignored. As for chat chunks,
// text deltas and ignored events are decoded by a small allocation-free
// scanner (fastEvent) after json.Valid, and everything else by
// encoding/json; FuzzFastEvent checks the two agree.
//
// EndpointConfig saves base_url, header_names and, for the streaming
// endpoint, "ttft_visible_tokens_only" (the negation of
// ReasoningCountsForTTFT), which ResponsesConfigFromMap reads back.
//
// Divergences of the Responses endpoints from LLMeter:
//
//   - Streaming requests do not get stream_options {"include_usage": true}:
//     that is a Chat Completions option; the Responses API's stream_options
//     only has include_obfuscation, and it always reports usage in
//     response.completed.
//   - Usage is also read from response.incomplete and response.failed
//     (LLMeter reads it from response.completed only).
//   - "error" events fail the response (the SDK yields them and LLMeter
//     ignores them), and a stream without a terminal event is an error.
//   - CreateResponsesPayload requires some input and a positive
//     max_output_tokens (LLMeter does not check).
package openai
