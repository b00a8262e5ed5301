// Package httpapi is llmeter's generic JSON-over-HTTP endpoint, for any
// model API that takes a JSON body and answers with JSON, a stream of
// Server-Sent Events or newline-delimited JSON: Hugging Face TGI's
// /generate, Ollama's native API, a team's own service. Where the text,
// token counts, id and errors are in the response is configured with
// JMESPath expressions (https://jmespath.org). Presets configure known APIs
// (TGI, Ollama's /api/generate and /api/chat).
//
// The endpoint type is registered with llmeter.RegisterEndpointType as
// "HTTPEndpoint", so llmeter.LoadEndpoint can rebuild it from
// run_config.json. LLMeter has no such class: its users reach these APIs
// through LiteLLM (its LiteLLM endpoint). With llmeter, there are two
// routes: this package, which talks to the API directly, or a LiteLLM proxy
// in front of it, which is OpenAI-compatible, so the openai endpoint with
// the proxy's address as its base URL (--base-url) measures it, proxy
// included.
//
// # Usage
//
//	cfg, err := httpapi.FromPreset("ollama-chat", "http://localhost:11434", "llama3.2", true)
//	ep, err := httpapi.New(cfg)
//	payload, err := httpapi.CreatePayload("ollama-chat", "Why is the sky blue?", 256)
//	resp := llmeter.Invoke(ctx, ep, payload)
//
// or, for a service of one's own:
//
//	ep, err := httpapi.New(httpapi.Config{
//		URL:              "https://llm.internal.example/v1/complete",
//		Headers:          map[string]string{"X-Api-Key": key},
//		Stream:           httpapi.NDJSON,
//		TextPath:         "delta",
//		OutputTokensPath: "usage.output",
//		DonePath:         "finished",
//	})
//
// # Payload
//
// The payload is sent as the JSON body (encoded once with
// llmeter.AppendRequestJSON: sorted keys, json.Number values verbatim),
// with Content-Type: application/json and an Accept header matching the
// stream mode (application/json, text/event-stream or
// application/x-ndjson). PreparePayload merges Config.Inject into a copy of
// the payload (objects merge key by key, so {"parameters": {"details":
// true}} keeps the payload's other parameters) and then sets
// Config.ModelField, when set, to the model id; the caller's payload is
// never modified. ParsePayload returns what InputTextPath finds in the
// payload (a string, or strings joined by "\n"), or nil.
//
// # Paths
//
// Every path is a JMESPath expression evaluated on the response decoded by
// encoding/json (numbers as float64), or on each decoded stream event:
//
//   - TextPath (required): the text, a string or a list of strings joined
//     without separator;
//   - InputTokensPath, OutputTokensPath: whole numbers; in a stream the
//     last event where a path finds one wins, so both running totals and a
//     final summary work (increments are not summed);
//   - IDPath: the response id (a string or a whole number); in a stream,
//     the first one found;
//   - ErrorPath (default "error"): a match that is true by JMESPath's rules
//     (not null, false, "", [] or {}) is an error, with the match's message
//     (a string, an object's "message", else its JSON); "`null`" disables it;
//   - DonePath: true (by the same rules) on the last event of a complete
//     stream, such as Ollama's "done"; when set, a stream ending without it
//     is an error, and reading stops at that event.
//
// Counts that are not found stay nil, and the Runner's tokenizer fallback
// may fill them; a count of zero is kept.
//
// # Parsing and timing
//
// Non-streaming: the body is read in full, then the Recorder is told the
// response was received (time to last token; there is no time to first
// token), then the JSON is parsed.
//
// SSE: each event's data is a JSON document; "data: [DONE]" ends the stream
// (and counts as complete), empty data and comments are skipped, and an
// "event: error" event is an error with its data's message. A streaming
// request answered with application/json is parsed as a whole body but
// fails with a protocol error (no time to first token can be measured).
//
// NDJSON: each non-blank line is a JSON document, whatever the response's
// Content-Type (some servers label NDJSON application/json); lines end in
// "\n" or "\r\n" and may hold up to MaxLineSize bytes.
//
// In both stream modes, every event whose text is non-empty is visible
// text: the first sets the time to first token, the last the time to last
// token. Events are read without copying, and when every event path is a
// plain chain of fields ("response", "message.content",
// "details.generated_tokens") the values are found directly in the event's
// bytes, without decoding it into Go values, so that a stream costs no
// allocation per event beyond the text kept; other expressions decode each
// event. Both ways give the same results (see FuzzFastEvent).
//
// # Errors
//
// Everything parsed before an error is kept in the response.
//
//   - HTTP status outside 2xx: *llmeter.StatusError with the API's message
//     ({"error": "…"}, {"error": {"message": …}}, {"message": …},
//     {"detail": …}), else the start of the body (classes http_429,
//     http_4xx, http_5xx).
//   - An ErrorPath match in a 200 body or a stream event, or an SSE
//     "event: error": *llmeter.APIError (class api).
//   - A body or event that is not JSON, or a line longer than MaxLineSize:
//     *llmeter.ProtocolError (class protocol).
//   - A stream that ends before an event matching DonePath: an error
//     wrapping llmeter.ErrIncompleteStream (class protocol).
//   - Transport errors, such as a connection dropped mid-stream or the
//     context deadline, are returned wrapped ("httpapi: …").
//
// # Saved configuration
//
// EndpointConfig saves every setting except the values of Headers, which
// are often credentials: "url" (without user:password@, and with the values
// of query parameters named like key, token, secret, sig, password or auth
// replaced by "REDACTED"), "method", "stream", "model_field", "inject", the
// paths ("text_path", "input_tokens_path", "output_tokens_path", "id_path",
// "error_path", "done_path", "input_text_path") and "header_names". An
// endpoint reloaded with llmeter.LoadEndpoint therefore sends no extra
// headers: read the saved map with ConfigFromMap, set Headers, and call
// New.
package httpapi
